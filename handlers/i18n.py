"""UI translations (Babel catalogs under handlers/locales) and vi_VN number and date formatting.

Message ids are English; ``vi`` is the default language and must be fully translated.
The locale of the message being handled lives in a ContextVar, so concurrent users never
see each other's language.
"""

from __future__ import annotations

import gettext as _gettext
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_decimal
from babel.numbers import format_percent as _format_percent
from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SUPPORTED = ("vi", "en")
BABEL_LOCALES = {"vi": "vi_VN", "en": "en_US"}

current_locale: ContextVar[str] = ContextVar("current_locale", default="vi")


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The catalog for ``locale``: the compiled .mo, else compiled in memory from the .po."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    if po.exists():
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return _gettext.NullTranslations()


def normalize_locale(code: str | None, default: str = "vi") -> str:
    """Map a platform language code ("en-US", "vi") to a supported UI locale."""
    if not code:
        return default
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in SUPPORTED else default


def gettext(message: str) -> str:
    """Translate ``message`` into the current locale."""
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (translated when shown)."""
    return message


@contextmanager
def use_locale(locale: str):
    """Run a block in ``locale`` (restores the previous one after)."""
    token = current_locale.set(normalize_locale(locale))
    try:
        yield
    finally:
        current_locale.reset(token)


def babel_locale(locale: str | None = None) -> Locale:
    return Locale.parse(BABEL_LOCALES[normalize_locale(locale or current_locale.get())])


def format_number(value: float | int, locale: str | None = None) -> str:
    """1234 → "1.234" in Vietnamese."""
    return format_decimal(value, locale=babel_locale(locale))


def format_percent(fraction: float, digits: int = 1, locale: str | None = None) -> str:
    """0.632 → "63,2%" in Vietnamese."""
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    return _format_percent(fraction, format=pattern, locale=babel_locale(locale))


def format_date(value: date, locale: str | None = None, words: bool = False) -> str:
    """A date as "25/06/2024", or in words ("thứ Ba, 25 tháng 6, 2024") with ``words``."""
    if words:
        return _format_date(value, format="full", locale=babel_locale(locale))
    return _format_date(value, format="dd/MM/yyyy", locale=babel_locale(locale))


def format_datetime(value: datetime, tzinfo=None, locale: str | None = None) -> str:
    return _format_datetime(value, format="HH:mm dd/MM/yyyy", tzinfo=tzinfo, locale=babel_locale(locale))
