"""Which unit a row of a figures file means (pure): by code, by name ("UBND xã Cẩm Bình",
"Phường Sông Trí", "Cẩm Bình"), and by the former name of a merged commune ("xã Cẩm Huy (cũ)")
through the cited table ``content/units/former_names.toml``.

A former name that the table maps to two or more current units (a commune split between two new
ones, or two former communes of the same name) is never guessed: the row is refused and the
candidates are listed, so the official writes the current name or the code.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from content.text import fold_key, nfc_lower

FORMER_NAMES_FILE = Path(__file__).parent / "units" / "former_names.toml"
KIND_PREFIXES = ("thanh pho ", "thi xa ", "phuong ", "xa ", "thi tran ", "huyen ", "thon ", "to dan pho ", "tinh ",
                 "so ")
AUTHORITY_PREFIXES = ("uy ban nhan dan ", "ubnd ")
EXACT_KIND_PREFIXES = ("thành phố ", "thị xã ", "phường ", "xã ", "thị trấn ", "huyện ", "thôn ", "tổ dân phố ",
                       "tỉnh ", "sở ")
EXACT_AUTHORITY_PREFIXES = ("ủy ban nhân dân ", "uỷ ban nhân dân ")
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)
FORMER = re.compile(r"\(\s*cu\s*\)|\bcu$")


class UnitRef(NamedTuple):
    """What the importer needs to know about a unit (``db.models.AdminUnit`` fits too)."""

    code: str
    name: str
    level: str
    parent_code: str | None = None


def strip_kind(key: str) -> str:
    """A folded unit name without "UBND" and its kind: "ubnd xa cam binh" -> "cam binh"."""
    for prefix in AUTHORITY_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    for prefix in KIND_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _exact_key(text: str) -> str:
    """Like ``fold_key`` but keeping diacritics: "Thạch Hạ" and "Thạch Hà" stay apart."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", nfc_lower(text).replace("(cũ)", " "))).strip()


def _strip_authority(key: str) -> str:
    for prefix in AUTHORITY_PREFIXES + EXACT_AUTHORITY_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _strip_exact_kind(key: str) -> str:
    key = _strip_authority(key)
    for prefix in EXACT_KIND_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def former_key(name: str) -> str:
    """The key a former name is looked up by: folded, without "(cũ)", "UBND" and its kind."""
    return strip_kind(FORMER.sub("", fold_key(name)).strip())


def load_former_names(path: Path = FORMER_NAMES_FILE) -> dict[str, tuple[str, ...]]:
    """Former unit name, as written in the table ("Phường Đại Nài") -> the current unit code(s) it
    went into. More than one code means the name is ambiguous: the importer refuses it and lists them.
    """
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    mapping: dict[str, list[str]] = {}
    for item in data.get("former", []):
        codes = mapping.setdefault(str(item["name"]).strip(), [])
        if str(item["current_code"]) not in codes:
            codes.append(str(item["current_code"]))
    return {name: tuple(codes) for name, codes in mapping.items()}


def check_former_names(units: Iterable, path: Path = FORMER_NAMES_FILE) -> list[str]:
    """``content check``: every row of the former-names table names a current unit by its code and name."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return [f"{path.name}: không đọc được TOML ({exc})"]
    names = {str(u.code): u.name for u in units}
    problems = []
    for number, row in enumerate(data.get("former", []), 1):
        code, name = str(row.get("current_code", "")), row.get("current_name")
        if not row.get("name") or code not in names:
            problems.append(f"{path.name}: dòng [[former]] thứ {number} ({row.get('name')}): không có tên cũ hoặc "
                            f"mã đơn vị hiện nay '{code}' không có")
        elif name is not None and name != names[code]:
            problems.append(f"{path.name}: dòng [[former]] thứ {number} ({row['name']}): mã {code} là "
                            f"{names[code]}, không phải {name}")
    return problems


class Resolver:
    """Which current unit(s) a name means.

    A name that is a current unit's name means that unit, even when a former unit had the same name
    (since 01/07/2025 "Phường Trần Phú" is today's ward); "(cũ)" asks for the former unit. With
    diacritics written, they count ("Phường Thạch Hạ", a former ward, is not "Xã Thạch Hà").
    """

    def __init__(self, units: Iterable, former: dict[str, str | tuple[str, ...] | list[str]]) -> None:
        self.by_code = {str(u.code): u for u in units}
        self.by_key: dict[str, list] = {}
        self.by_bare: dict[str, list] = {}
        self.former_exact: dict[str, list] = {}
        self.former_folded: dict[str, list] = {}
        for name, codes in former.items():
            codes = (codes,) if isinstance(codes, str) else codes
            for code in codes:
                unit = self.by_code.get(str(code))
                if unit is None:
                    continue
                for table, key in ((self.former_exact, _strip_exact_kind(_exact_key(name))),
                                   (self.former_folded, former_key(name))):
                    if unit not in table.setdefault(key, []):
                        table[key].append(unit)
        for unit in self.by_code.values():
            key = fold_key(unit.name)
            self.by_key.setdefault(key, []).append(unit)
            self.by_bare.setdefault(strip_kind(key), []).append(unit)

    def by_name(self, name: str) -> tuple[list, bool]:
        """The units a name may mean, and whether it was written as a former name ("xã X (cũ)")."""
        folded = fold_key(name)
        former = bool(FORMER.search(folded))
        folded = _strip_authority(FORMER.sub("", folded).strip())
        exact = _strip_authority(_exact_key(name))
        marked = exact != folded  # written with diacritics
        bare, exact_bare = strip_kind(folded), _strip_exact_kind(exact)
        old = (self.former_exact.get(exact_bare) if marked else None) or self.former_folded.get(bare, [])
        if former:
            return list(old), True
        kind_written = bare != folded
        current = self.by_key.get(folded, []) if kind_written else self.by_bare.get(bare, [])
        same = [u for u in current if not marked or _exact_key(u.name).endswith(exact if kind_written else exact_bare)]
        if same:
            return same, False
        if old:
            return list(old), False
        return list(current or self.by_bare.get(bare, [])), False

    def is_current_name(self, name: str) -> bool:
        """Whether ``name`` (without "(cũ)") is the name of one or more current units."""
        bare = former_key(name)
        return bare in self.by_bare

    def closest(self, name: str, n: int = 3) -> list:
        bare = former_key(name)
        names = difflib.get_close_matches(bare, list(self.by_bare), n=n, cutoff=0.6)
        return [unit for key in names for unit in self.by_bare[key]][:n]


def describe(units: list) -> str:
    return ", ".join(f"{u.name} (mã {u.code})" for u in units)
