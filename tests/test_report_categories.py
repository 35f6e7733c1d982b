"""Report categories are seed data (content/report_categories.toml); labels live in one place."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from db import reports as repo
from db.reports import CATEGORIES_FILE, ReportCategory, ReportStatus, category_seeds, seed_categories
from handlers.i18n import use_locale
from handlers.reports.export import HEADERS, report_table
from handlers.reports.labels import STATUS_LABELS, kind_label, status_label
from tests.conftest import make_settings


def test_the_file_lists_the_eight_starting_categories_with_other_last():
    seeds = category_seeds()
    assert [s["key"] for s in seeds] == ["vneid", "portal", "payment", "copy", "device", "internet", "awareness",
                                         "other"]
    assert all(s["name"] and s["name_en"] and s["active"] for s in seeds)


async def test_a_category_added_to_the_file_reaches_an_existing_database_at_start(tmp_path):
    settings = make_settings(tmp_path)
    app = App(settings)
    await app.prepare()
    async with app.sessions() as session:
        first = {c.key: c.id for c in await repo.categories(session)}
    await app.aclose()

    edited = tmp_path / "categories.toml"
    text = CATEGORIES_FILE.read_text(encoding="utf-8")
    head, other = text.split('[[category]]\nkey = "other"')
    edited.write_text(head + '[[category]]\nkey = "zalo"\nname = "Ứng dụng Zalo"\nname_en = "Zalo app"\n\n'
                      '[[category]]\nkey = "other"' + other,
                      encoding="utf-8")
    app = App(settings)
    await app.prepare()  # a restart with the shipped file adds nothing and changes no id
    async with app.sessions() as session:
        assert await seed_categories(session, edited) == 1
        assert await seed_categories(session, edited) == 0  # idempotent
        await session.commit()
        cats = await repo.categories(session)
    await app.aclose()
    keys = [c.key for c in cats]
    assert keys[-2:] == ["zalo", "other"]  # the file's order is the buttons' order
    assert first == {c.key: c.id for c in cats if c.key != "zalo"}


async def test_a_category_set_inactive_in_the_file_is_no_longer_offered(app, tmp_path):
    edited = tmp_path / "categories.toml"
    edited.write_text(CATEGORIES_FILE.read_text(encoding="utf-8").replace(
        'key = "device"\n', 'key = "device"\nactive = false\n'), encoding="utf-8")
    async with app.sessions() as session:
        await seed_categories(session, edited)
        await session.commit()
        offered = [c.key for c in await repo.categories(session)]
        kept = await session.scalar(select(ReportCategory).where(ReportCategory.key == "device"))
    assert "device" not in offered and kept is not None


async def test_the_export_and_the_chat_use_the_same_status_and_kind_labels(app):
    with use_locale("vi"):
        chat = {s.value: status_label(s.value) for s in ReportStatus}
        assert chat["new"] == "Mới" and chat["not_responsible"] == "Không thuộc thẩm quyền"
        assert kind_label("good_practice") == "Cách làm hay"
    assert set(STATUS_LABELS) == set(ReportStatus)
    from datetime import UTC, datetime

    async with app.sessions() as session:
        rows = await report_table(session, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC),
                                  None, app.settings.tz)
    assert rows == [HEADERS]
