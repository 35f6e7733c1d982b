"""The knowledge base: one TOML file per topic, its loader and its content checker.

Run the checker with ``python -m content.kb`` (the bot CLI calls :func:`main` as
``python -m bot content check``).
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path

from content.text import fold_key

TOPICS_DIR = Path(__file__).parent / "topics"
REPO_ROOT = Path(__file__).resolve().parent.parent

MAX_BODY_CHARS = 1500  # one Zalo text message
MIN_EXAMPLES = 8
MIN_EXAMPLES_EN = 5  # English example questions, matched when a question is in English
TITLE_EN_LONGEST = 60  # an English heading longer than this is no button title

CATEGORIES: dict[str, str] = {
    "portal": "Cổng Dịch vụ công & tài khoản",
    "payment": "Thanh toán trực tuyến",
    "ecopy": "Chứng thực bản sao điện tử",
    "procedure": "Thủ tục thường gặp",
    "safety": "An toàn & hỗ trợ",
    "campaign": "Chiến dịch",
}

CATEGORY_NAMES_EN: dict[str, str] = {
    "portal": "Public service portal & accounts",
    "payment": "Online payment",
    "ecopy": "Electronic certified copies",
    "procedure": "Common procedures",
    "safety": "Safety & help",
    "campaign": "Campaign",
}


@dataclass(frozen=True)
class Topic:
    """One guide: what the bot answers for a family of questions."""

    id: str
    title: str
    category: str
    examples: tuple[str, ...]
    examples_en: tuple[str, ...]
    related: tuple[str, ...]
    sources: tuple[str, ...]
    last_reviewed: date
    body_vi: str
    body_en: str | None
    path: Path

    def body(self, locale: str = "vi") -> str:
        """Return the body in ``locale``, falling back to Vietnamese."""
        if locale.lower().startswith("en") and self.body_en:
            return self.body_en
        return self.body_vi

    def title_in(self, locale: str = "vi") -> str:
        """The title in ``locale`` (``title_en`` for English)."""
        return self.title_en if locale.lower().startswith("en") else self.title

    @cached_property
    def title_en(self) -> str:
        """The English body's bold first line when it is a short heading (up to
        ``TITLE_EN_LONGEST`` characters), else the Vietnamese title. Read once per topic: every
        English answer shows several topics' titles on its buttons."""
        if self.body_en:
            from content.matcher_text import english_heading  # here: its word tables load only when needed

            first = english_heading(self.body_en).strip()
            if first and len(first) <= TITLE_EN_LONGEST:
                return first
        return self.title


def default_ids_file() -> Path:
    """Return the canonical topic-id list: the shared copy beside the clone if present."""
    shared = REPO_ROOT.parent / "shared" / "topics.tsv"
    return shared if shared.is_file() else Path(__file__).parent / "topics.tsv"


def read_topic_ids(ids_file: Path | None = None) -> list[str]:
    """Return the topic ids (first column of topics.tsv, header skipped), in file order."""
    ids: list[str] = []
    for line in (ids_file or default_ids_file()).read_text(encoding="utf-8").splitlines():
        first = line.split("\t", 1)[0].strip()
        if first and first != "id" and not first.startswith("#"):
            ids.append(first)
    return ids


def _as_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()


def _topic_from_data(data: dict, path: Path) -> Topic:
    body_en = data.get("body_en")
    return Topic(
        id=str(data["id"]),
        title=str(data["title"]),
        category=str(data["category"]),
        examples=_as_tuple(data.get("examples")),
        examples_en=_as_tuple(data.get("examples_en")),
        related=_as_tuple(data.get("related")),
        sources=_as_tuple(data.get("sources")),
        last_reviewed=data["last_reviewed"],
        body_vi=str(data["body_vi"]).strip(),
        body_en=str(body_en).strip() if body_en else None,
        path=path,
    )


class KnowledgeBase:
    """All topics, ordered as topics.tsv."""

    def __init__(self, topics: dict[str, Topic]) -> None:
        self.topics = topics

    @classmethod
    def load(cls, directory: Path = TOPICS_DIR, ids_file: Path | None = None) -> KnowledgeBase:
        """Read every ``*.toml`` in ``directory``; raise ``ValueError`` on a malformed file."""
        loaded: dict[str, Topic] = {}
        for path in sorted(Path(directory).glob("*.toml")):
            try:
                with path.open("rb") as handle:
                    topic = _topic_from_data(tomllib.load(handle), path)
            except (tomllib.TOMLDecodeError, KeyError) as exc:
                raise ValueError(f"{path.name}: cannot load topic: {exc}") from exc
            loaded[topic.id] = topic
        try:
            order = read_topic_ids(ids_file)
        except OSError:
            order = []
        ordered = {tid: loaded[tid] for tid in order if tid in loaded}
        ordered.update({tid: topic for tid, topic in loaded.items() if tid not in ordered})
        return cls(ordered)

    def get(self, topic_id: str) -> Topic | None:
        return self.topics.get(topic_id)

    def by_category(self, category: str) -> list[Topic]:
        return [topic for topic in self.topics.values() if topic.category == category]

    def __len__(self) -> int:
        return len(self.topics)

    def __iter__(self):
        return iter(self.topics.values())


# --- Telegram HTML check --------------------------------------------------------------------

# Telegram's HTML parse mode: these tags only (we allow the subset the project uses).
ALLOWED_TAGS = {"b", "i", "u", "s", "code", "a", "blockquote"}
ALLOWED_ATTRS = {"a": {"href"}, "blockquote": {"expandable"}}
# Telegram accepts only these named entities, plus numeric ones.
_BAD_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")


class _TelegramHTMLChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed by Telegram")
            return
        for name, _value in attrs:
            if name not in ALLOWED_ATTRS.get(tag, set()):
                self.problems.append(f"attribute {name!r} not allowed on <{tag}>")
        if tag == "a":
            href = dict(attrs).get("href")
            if not href:
                self.problems.append("<a> without href")
            elif not href.startswith(("http://", "https://")):
                self.problems.append(f"<a href> is not an http(s) URL: {href!r}")
        if tag in self.stack and tag == "a":
            self.problems.append("nested <a>")
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.problems.append(f"self-closing tag <{tag}/> is not allowed by Telegram")

    def handle_endtag(self, tag):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"closing tag </{tag}> is not allowed by Telegram")
            return
        if not self.stack or self.stack[-1] != tag:
            expected = f"</{self.stack[-1]}>" if self.stack else "no closing tag"
            self.problems.append(f"</{tag}> does not match the open tag (expected {expected})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data):
        if "<" in data or ">" in data:
            self.problems.append("unescaped < or > in text (write &lt; / &gt;)")

    def handle_comment(self, data):
        self.problems.append("HTML comments are not allowed by Telegram")

    def handle_decl(self, decl):
        self.problems.append("declarations are not allowed by Telegram")

    def handle_pi(self, data):
        self.problems.append("processing instructions are not allowed by Telegram")

    def unknown_decl(self, data):
        self.problems.append("CDATA / unknown declarations are not allowed by Telegram")


def telegram_html_problems(text: str) -> list[str]:
    """Return why Telegram's HTML parse mode would reject ``text`` (empty list if fine)."""
    problems: list[str] = []
    for match in _BAD_AMPERSAND.finditer(text):
        snippet = text[match.start() : match.start() + 12].split()[0]
        problems.append(f"stray '&' (write &amp;) near {snippet!r}")
    checker = _TelegramHTMLChecker()
    checker.feed(text)
    checker.close()
    if checker.rawdata:  # an unterminated tag such as "<b" stays unparsed
        problems.append(f"unterminated markup: {checker.rawdata[:20]!r}")
    problems.extend(checker.problems)
    if checker.stack:
        problems.append("unclosed tag(s): " + ", ".join(f"<{t}>" for t in checker.stack))
    return problems


# --- content check --------------------------------------------------------------------------

_REQUIRED = ("id", "title", "category", "last_reviewed", "body_vi")


def _is_http_url(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"https?://\S+\.\S+", value) is not None


def check_content(topics_dir: Path = TOPICS_DIR, ids_file: Path | None = None) -> list[str]:
    """Return every problem in the topic files as ``"<file>: <problem>"`` lines."""
    topics_dir = Path(topics_dir)
    problems: list[str] = []
    try:
        known_ids = read_topic_ids(ids_file)
    except OSError as exc:
        return [f"{ids_file or default_ids_file()}: cannot read topic ids: {exc}"]
    known = set(known_ids)

    parsed: dict[str, tuple[Path, dict]] = {}
    for path in sorted(topics_dir.glob("*.toml")):
        name = path.name
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{name}: TOML syntax error: {exc}")
            continue
        except OSError as exc:
            problems.append(f"{name}: cannot read: {exc}")
            continue
        for key in _REQUIRED:
            if key not in data or data[key] in ("", None):
                problems.append(f"{name}: missing {key}")
        topic_id = data.get("id")
        if not isinstance(topic_id, str) or not topic_id:
            continue
        if topic_id != path.stem:
            problems.append(f"{name}: id {topic_id!r} does not match the file name")
        if topic_id not in known:
            problems.append(f"{name}: unknown id {topic_id!r} (not in topics.tsv)")
        if topic_id in parsed:
            problems.append(f"{name}: duplicate id {topic_id!r} (also in {parsed[topic_id][0].name})")
            continue
        parsed[topic_id] = (path, data)

    for topic_id in known_ids:
        if topic_id not in parsed:
            problems.append(f"{topic_id}.toml: missing topic file for id {topic_id!r}")

    seen_examples: dict[str, str] = {}
    for topic_id, (path, data) in parsed.items():
        name = path.name
        problems.extend(f"{name}: {p}" for p in _check_fields(data, parsed))
        for key, minimum in (("examples", MIN_EXAMPLES), ("examples_en", MIN_EXAMPLES_EN)):
            problems.extend(f"{name}: {p}" for p in
                            _check_examples(data.get(key), key, minimum, topic_id, seen_examples))
    return problems


def _check_examples(examples: object, key: str, minimum: int, topic_id: str,
                    seen_examples: dict[str, str]) -> list[str]:
    """Problems of one list of example questions (``seen_examples``: fold key -> topic id)."""
    problems: list[str] = []
    if key == "examples_en" and examples is None:
        return [f"no examples_en (need at least {minimum} English example questions)"]
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
        return [f"{key} must be a list of strings"]
    if len(examples) < minimum:
        problems.append(f"only {len(examples)} {key} (need at least {minimum})")
    for example in examples:
        folded = fold_key(example)
        if not folded:
            problems.append("empty example")
            continue
        other = seen_examples.get(folded)
        if other == topic_id:
            problems.append(f"example repeated within the topic: {example!r}")
        elif other:
            problems.append(f"example {example!r} duplicates one in {other}.toml")
        else:
            seen_examples[folded] = topic_id
    return problems


def _check_fields(data: dict, parsed: dict[str, tuple[Path, dict]]) -> list[str]:
    problems: list[str] = []
    category = data.get("category")
    if category and category not in CATEGORIES:
        problems.append(f"unknown category {category!r} (expected one of {', '.join(CATEGORIES)})")
    if "last_reviewed" in data and not isinstance(data["last_reviewed"], date):
        problems.append("last_reviewed must be a TOML date such as 2026-11-26")

    related = data.get("related", [])
    if not isinstance(related, list):
        problems.append("related must be a list of topic ids")
    else:
        for rid in related:
            if rid not in parsed:
                problems.append(f"broken related link {rid!r}")
            elif rid == data.get("id"):
                problems.append("related links to itself")

    sources = data.get("sources")
    if not sources or not isinstance(sources, list):
        problems.append("no source")
    else:
        for source in sources:
            if not _is_http_url(source):
                problems.append(f"source is not an http(s) URL: {source!r}")

    for key in ("body_vi", "body_en"):
        body = data.get(key)
        if body is None or (key == "body_en" and body == ""):
            continue
        if not isinstance(body, str):
            problems.append(f"{key} must be a string")
            continue
        body = body.strip()
        if len(body) > MAX_BODY_CHARS:
            problems.append(f"{key} too long ({len(body)} chars, max {MAX_BODY_CHARS})")
        problems.extend(f"{key}: {p}" for p in telegram_html_problems(body))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Print content problems; return 1 if any, else 0 after an "OK" line."""
    args = list(sys.argv[1:] if argv is None else argv)
    topics_dir = Path(args[0]) if args else TOPICS_DIR
    ids_file = Path(args[1]) if len(args) > 1 else None
    problems = check_content(topics_dir, ids_file)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    count = len(list(topics_dir.glob("*.toml")))
    print(f"OK: {count} topics")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
