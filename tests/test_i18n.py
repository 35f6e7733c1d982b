"""The UI catalogs are complete, compiled, and really used; vi_VN formatting."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from handlers.i18n import LOCALES_DIR, _, format_date, format_number, format_percent, translations, use_locale

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import catalogs  # noqa: E402


def test_catalogs_are_up_to_date_and_vietnamese_is_fully_translated():
    problems = catalogs.problems()
    assert problems == [], "run `make catalogs` and translate:\n" + "\n".join(problems)


def test_a_known_string_really_comes_out_in_vietnamese():
    with use_locale("vi"):
        assert _("Main menu") == "Menu chính"
    with use_locale("en"):
        assert _("Main menu") == "Main menu"


def test_the_compiled_vietnamese_catalog_is_present_and_current():
    mo = LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.mo"
    po = mo.with_suffix(".po")
    assert mo.exists(), "run scripts/catalogs.py compile"
    from babel.messages.mofile import read_mo

    with mo.open("rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    with po.open("rb") as fh:
        from babel.messages.pofile import read_po

        source = {m.id: m.string for m in read_po(fh) if m.id}
    assert compiled == source
    assert translations("vi").gettext("Main menu") == "Menu chính"


def test_locales_do_not_leak_between_blocks():
    with use_locale("en"):
        with use_locale("vi"):
            assert _("Main menu") == "Menu chính"
        assert _("Main menu") == "Main menu"


def test_numbers_percentages_and_dates_use_vietnamese_conventions():
    with use_locale("vi"):
        assert format_number(1234) == "1.234"
        assert format_percent(0.632) == "63,2%"
        assert format_date(date(2024, 10, 10)) == "10/10/2024"
        assert "tháng 10" in format_date(date(2024, 10, 10), words=True)
