"""/help under the Vietnamese command names; the CLI finds units by name (issue 13, the newcomer)."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from bot.cli.reports import cmd_invite_create
from db.invites import Invite
from db.models import Role, User
from tests.conftest import Talker
from tests.e2e import running_bot


async def test_help_lists_the_vietnamese_command_names_one_line_each(app):
    from db.admin import grant_role

    async with app.sessions() as session:
        await grant_role(session, "console", "1", "official")
        await session.commit()
    official = Talker(app, "1")
    await official.say("/help")
    lines = official.text.splitlines()
    for name in ("/baocao", "/baocaocuatoi", "/phananh", "/tiendo", "/dangky", "/xoadulieu", "/export"):
        assert len([line for line in lines if line.startswith(f"{name} – ")]) == 1, name
    assert not [line for line in lines if line.startswith(("/report ", "/myreports ", "/deletemydata "))]

    await official.say("/language")
    await official.press("lang:en")
    await official.say("/help")
    assert "/report – " in official.text and "/baocao – " not in official.text


async def test_a_citizen_sees_only_their_commands(talker):
    await talker.say("/help")
    assert "/xoadulieu – " in talker.text and "/baocao" not in talker.text and "/phananh" not in talker.text


def cli(tmp_path, monkeypatch, capsys, *argv):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_units_find_lists_codes_by_name_without_accents(tmp_path, monkeypatch, capsys):
    code, out, _err = cli(tmp_path, monkeypatch, capsys, "units", "find", "cam", "xuyen")
    assert code == 0 and out.splitlines() == ["18673\tXã Cẩm Xuyên\txã/phường"]
    code, out, _err = cli(tmp_path, monkeypatch, capsys, "units", "find", "thach")
    assert code == 0 and len(out.splitlines()) >= 2 and all("Thạch" in line for line in out.splitlines())
    code, _out, err = cli(tmp_path, monkeypatch, capsys, "units", "find", "khong co xa nay")
    assert code == 1 and "Không tìm thấy" in err


def test_invite_create_takes_a_name_and_prints_the_join_line(tmp_path, monkeypatch, capsys):
    code, out, _err = cli(tmp_path, monkeypatch, capsys, "invite", "create", "--role", "team", "--unit", "cẩm xuyên")
    assert code == 0
    lines = out.splitlines()
    invite_code = lines[0]
    assert f"/join {invite_code}" in out and "Xã Cẩm Xuyên (18673)" in out
    assert f"t.me/<tên bot>?start={invite_code}" in out  # no token: the link's shape, and how to get it


def test_an_ambiguous_name_lists_the_choices_and_creates_nothing(tmp_path, monkeypatch, capsys):
    code, out, err = cli(tmp_path, monkeypatch, capsys, "invite", "create", "--role", "official", "--unit", "thach")
    assert code == 1 and out == ""
    assert "Thạch Hà" in err and "Thạch Khê" in err and "18562" in err
    code, out, err = cli(tmp_path, monkeypatch, capsys, "admin", "grant", "telegram:5", "official", "--unit", "thach")
    assert code == 1 and "18562" in err
    code, out, _err = cli(tmp_path, monkeypatch, capsys, "admin", "grant", "telegram:5", "official",
                          "--unit", "thach ha")
    assert code == 0 and "telegram:5 → official (18562)" in out
    code, out, err = cli(tmp_path, monkeypatch, capsys, "invite", "create", "--role", "team", "--unit", "Sở Tư pháp")
    assert code == 1 and "xã/phường" in err


async def test_invite_create_prints_the_deep_link_with_the_bots_name(tmp_path, capsys):
    async with running_bot(tmp_path) as (fake, app):
        args = argparse.Namespace(role="team", unit="Cẩm Xuyên", uses=1, days=7.0)
        assert await cmd_invite_create(args, app) == 0
        out = capsys.readouterr().out
        invite_code = out.splitlines()[0]
        assert f"https://t.me/{fake.BOT_USERNAME}?start={invite_code}" in out

        # The link works: the member who opens it joins the commune.
        mark = fake.mark()
        fake.user_sends_text(77, f"/start {invite_code}")
        await fake.wait_messages(77, 1, since=mark)
        async with app.sessions() as session:
            member = await session.scalar(select(User).where(User.platform_user_id == "77"))
            assert member.role is Role.team and member.unit_code == "18673"
            assert (await session.scalar(select(Invite))).uses_left == 0


def test_the_matcher_command_builds_the_matcher_into_its_cache(tmp_path, monkeypatch, capsys):
    # what a deployment runs before starting the bot (deploy/hatinh-bot@.service, ExecStartPre)
    import shutil

    from content.kb import KnowledgeBase
    from content.matcher import default_cache_dir

    cache = tmp_path / "cache"
    (cache / "hatinh-dvc-bot").mkdir(parents=True)
    for learned in default_cache_dir().glob("learned-*.npz"):  # built by the session's fixture:
        shutil.copy(learned, cache / "hatinh-dvc-bot")  # the learning itself is not under test here
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    code, out, _err = cli(tmp_path, monkeypatch, capsys, "matcher")
    topics = len(KnowledgeBase.load().topics)
    assert code == 0 and f"({topics} chủ đề)" in out and str(cache / "hatinh-dvc-bot") in out
    assert len(list((cache / "hatinh-dvc-bot").glob("index-*.pickle"))) == 1
