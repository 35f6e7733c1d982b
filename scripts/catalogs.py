"""Keep the UI catalogs in step with the code.

    python scripts/catalogs.py update   # extract messages.pot, merge into vi and en .po files
    python scripts/catalogs.py compile  # build the .mo files
    python scripts/catalogs.py check    # exit 1 if the catalogs miss a message or vi is untranslated
    python scripts/catalogs.py fill vi.json  # update, then set vi translations from {msgid: msgstr}, compile
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "handlers" / "locales"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHOD_MAP = [("bot/**.py", "python"), ("handlers/**.py", "python")]


def extract() -> Catalog:
    """Every translatable message in the code, as a template catalog."""
    template = Catalog(project="hatinh-dvc-bot", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map=METHOD_MAP, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(locale: str) -> Path:
    return LOCALES / locale / "LC_MESSAGES" / "messages.po"


def read(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, fuzzy=False)
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, no_location=True, sort_output=True, width=100, omit_header=False)


def update() -> None:
    template = extract()
    write(template, LOCALES / "messages.pot")
    for locale in ("vi", "en"):
        catalog = read(locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        write(catalog, po_path(locale))


def compile_all() -> None:
    for locale in ("vi", "en"):
        catalog = read(locale)
        with (po_path(locale).with_suffix(".mo")).open("wb") as fh:
            write_mo(fh, catalog)


def problems() -> list[str]:
    """What is wrong with the catalogs: messages missing from a catalog, untranslated vi entries."""
    wanted = {m.id for m in extract() if m.id}
    found: list[str] = []
    for locale in ("vi", "en"):
        catalog = read(locale)
        have = {m.id for m in catalog if m.id}
        for missing in sorted(wanted - have, key=str):
            found.append(f"{locale}: not in catalog: {missing!r}")
    vi = read("vi")
    for message in vi:
        if message.id and message.id in wanted and (not message.string or message.fuzzy):
            found.append(f"vi: untranslated: {message.id!r}")
    return found


def fill(mapping: dict[str, str]) -> list[str]:
    """Update the catalogs, then set the given vi translations; return what is still untranslated."""
    update()
    catalog = read("vi")
    for message in catalog:
        if message.id and message.id in mapping:
            message.string = mapping[message.id]
            message.flags.discard("fuzzy")
    write(catalog, po_path("vi"))
    compile_all()
    return [m.id for m in catalog if m.id and not m.string]


def _locked(action):
    """Run ``action`` holding a lock, so two people filling at once don't clobber each other."""
    import fcntl

    with open(LOCALES / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return action()


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "update":
        _locked(update)
    elif action == "compile":
        _locked(compile_all)
    elif action == "fill":
        import json

        mapping = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
        left = _locked(lambda: fill(mapping))
        print("still untranslated in vi:", *left, sep="\n  " if left else " ")
    elif action == "check":
        issues = problems()
        print("\n".join(issues) or "catalogs OK")
        sys.exit(1 if issues else 0)
    else:
        sys.exit(__doc__)
