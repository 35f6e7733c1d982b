"""The knowledge base: real content passes the checker, and each checker rule catches a broken file."""

from __future__ import annotations

from pathlib import Path

import pytest

from content.kb import (
    CATEGORIES,
    CATEGORY_NAMES_EN,
    KnowledgeBase,
    check_content,
    default_ids_file,
    main,
    read_topic_ids,
    telegram_html_problems,
)
from content.text import fold_key

REPO = Path(__file__).resolve().parent.parent
SAMPLE_QUESTIONS = REPO.parent / "shared" / "eval" / "questions-sample.tsv"


# --- the real content ---------------------------------------------------------------------


def test_real_content_has_no_problems():
    assert check_content() == []


def test_every_topic_id_has_a_topic_in_file_order():
    kb = KnowledgeBase.load()
    ids = read_topic_ids()
    assert len(ids) == 29
    assert list(kb.topics) == ids


def test_in_repo_topic_ids_match_the_shared_list():
    assert read_topic_ids(REPO / "content" / "topics.tsv") == read_topic_ids(default_ids_file())


def test_every_category_has_topics_and_an_english_name():
    kb = KnowledgeBase.load()
    assert list(CATEGORY_NAMES_EN) == list(CATEGORIES)
    for category in CATEGORIES:
        assert kb.by_category(category), category


def test_get_returns_the_topic_or_none():
    kb = KnowledgeBase.load()
    assert kb.get("portal.submit").category == "portal"
    assert kb.get("no.such.topic") is None


@pytest.mark.skipif(not SAMPLE_QUESTIONS.is_file(), reason="shared eval sample not beside the clone")
def test_no_example_copies_an_evaluation_question():
    lines = SAMPLE_QUESTIONS.read_text(encoding="utf-8").splitlines()[1:]
    sample = {fold_key(line.split("\t", 1)[0]) for line in lines if line.strip()}
    copied = [e for t in KnowledgeBase.load() for e in t.examples if fold_key(e) in sample]
    assert copied == []


def test_body_en_falls_back_to_vietnamese_when_missing():
    import dataclasses

    topic = dataclasses.replace(KnowledgeBase.load().get("portal.submit"), body_en=None)
    assert topic.body("en") == topic.body_vi
    assert topic.body("vi") == topic.body_vi


def test_body_en_is_used_when_present():
    topic = KnowledgeBase.load().get("portal.submit")
    assert topic.body_en
    assert topic.body("en") == topic.body_en
    assert topic.body("en_US") == topic.body_en


# --- broken files in tmp_path ---------------------------------------------------------------

BODY = '1. Bấm <b>Nộp</b>.\n<a href="https://dichvucong.gov.vn">dichvucong.gov.vn</a>'


def _examples(prefix: str, count: int = 8) -> list[str]:
    return [f"{prefix} câu hỏi số {n}" for n in range(count)]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join('"' + item.replace('"', '\\"') + '"' for item in items) + "]"


def write_topic(
    directory: Path,
    topic_id: str,
    *,
    file_stem: str | None = None,
    body: str = BODY,
    examples: list[str] | None = None,
    related: list[str] | None = None,
    sources: list[str] | None = None,
    category: str = "portal",
    extra: str = "",
) -> Path:
    path = directory / f"{file_stem or topic_id}.toml"
    path.write_text(
        f'id = "{topic_id}"\n'
        f'title = "Tiêu đề {topic_id}"\n'
        f'category = "{category}"\n'
        f"related = {_toml_list(related or [])}\n"
        f"sources = {_toml_list(['https://dichvucong.gov.vn'] if sources is None else sources)}\n"
        "last_reviewed = 2026-11-26\n"
        f"examples = {_toml_list(examples if examples is not None else _examples(topic_id))}\n"
        f"examples_en = {_toml_list([f'{topic_id} question number {n}' for n in range(5)])}\n"
        f"{extra}"
        f"body_vi = '''\n{body}\n'''\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def kb_dir(tmp_path: Path) -> tuple[Path, Path]:
    """A valid two-topic knowledge base and its ids file."""
    topics = tmp_path / "topics"
    topics.mkdir()
    ids_file = tmp_path / "topics.tsv"
    ids_file.write_text("id\tcovers\nalpha\tA\nbeta\tB\n", encoding="utf-8")
    write_topic(topics, "alpha", related=["beta"])
    write_topic(topics, "beta")
    return topics, ids_file


def problems_in(kb_dir: tuple[Path, Path]) -> list[str]:
    return check_content(*kb_dir)


def test_valid_temporary_knowledge_base_has_no_problems(kb_dir):
    assert problems_in(kb_dir) == []


def test_checker_catches_a_too_long_body(kb_dir):
    write_topic(kb_dir[0], "beta", body="1. " + "chữ " * 400)
    assert any(p.startswith("beta.toml: body_vi too long") for p in problems_in(kb_dir))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("<b>unclosed", "unclosed"),
        ("<script>alert(1)</script>", "<script>"),
        ("<b><i>bad nesting</b></i>", "does not match"),
        ('<a href="javascript:alert(1)">x</a>', "not an http(s) URL"),
        ("<a>no link</a>", "without href"),
        ("Phí & lệ phí", "stray '&'"),
        ("1 < 2", "unescaped"),
        ("xuống dòng<br/>", "self-closing"),
        ('<b class="x">x</b>', "attribute"),
        ("<p>đoạn</p>", "<p>"),
    ],
)
def test_checker_catches_invalid_telegram_html(kb_dir, body, fragment):
    write_topic(kb_dir[0], "beta", body=body)
    problems = problems_in(kb_dir)
    assert any(p.startswith("beta.toml: body_vi") and fragment in p for p in problems), problems


def test_html_check_accepts_what_telegram_accepts():
    text = (
        "<b>Đậm</b> <i>nghiêng</i> <u>gạch</u> <s>xóa</s> <code>/join ABC</code> "
        '<blockquote>trích</blockquote> &lt;mã&gt; &amp; &quot; &#8470; '
        '<a href="https://dichvucong.hatinh.gov.vn">cổng tỉnh</a>'
    )
    assert telegram_html_problems(text) == []


def test_checker_catches_an_unknown_related_id(kb_dir):
    write_topic(kb_dir[0], "beta", related=["gamma"])
    assert "beta.toml: broken related link 'gamma'" in problems_in(kb_dir)


def test_checker_catches_a_topic_without_source(kb_dir):
    write_topic(kb_dir[0], "beta", sources=[])
    assert "beta.toml: no source" in problems_in(kb_dir)


def test_checker_catches_a_source_that_is_not_a_url(kb_dir):
    write_topic(kb_dir[0], "beta", sources=["báo Hà Tĩnh"])
    assert any("source is not an http(s) URL" in p for p in problems_in(kb_dir))


def test_checker_catches_duplicate_examples_across_topics(kb_dir):
    # Same question once with and once without diacritics and with other punctuation.
    write_topic(kb_dir[0], "alpha", related=["beta"], examples=_examples("alpha", 7) + ["Nộp hồ sơ thế nào?"])
    write_topic(kb_dir[0], "beta", examples=_examples("beta", 7) + ["nop ho so the nao"])
    problems = problems_in(kb_dir)
    assert any(p.startswith("beta.toml: example") and "duplicates one in alpha.toml" in p for p in problems)


def test_checker_catches_an_unknown_id(kb_dir):
    write_topic(kb_dir[0], "gamma")
    assert "gamma.toml: unknown id 'gamma' (not in topics.tsv)" in problems_in(kb_dir)


def test_checker_catches_a_missing_topic_file(kb_dir):
    (kb_dir[0] / "beta.toml").unlink()
    problems = problems_in(kb_dir)
    assert any(p.startswith("beta.toml: missing topic file") for p in problems)
    assert "alpha.toml: broken related link 'beta'" in problems


def test_checker_catches_an_id_that_does_not_match_the_file_name(kb_dir):
    (kb_dir[0] / "beta.toml").unlink()
    write_topic(kb_dir[0], "beta", file_stem="betta")
    assert "betta.toml: id 'beta' does not match the file name" in problems_in(kb_dir)


def test_checker_catches_seven_examples(kb_dir):
    write_topic(kb_dir[0], "beta", examples=_examples("beta", 7))
    assert "beta.toml: only 7 examples (need at least 8)" in problems_in(kb_dir)


def test_checker_asks_for_five_english_examples(kb_dir):
    topics, _ids = kb_dir
    path = topics / "beta.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("beta question number 4", "beta question number 3"), encoding="utf-8")
    problems = problems_in(kb_dir)
    assert any("beta.toml: example repeated within the topic" in p for p in problems)
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("examples_en")),
                    encoding="utf-8")
    assert any("beta.toml: no examples_en" in p for p in problems_in(kb_dir))


def test_checker_catches_an_unknown_category(kb_dir):
    write_topic(kb_dir[0], "beta", category="weather")
    assert any(p.startswith("beta.toml: unknown category 'weather'") for p in problems_in(kb_dir))


def test_checker_catches_missing_fields(kb_dir):
    (kb_dir[0] / "beta.toml").write_text('id = "beta"\nexamples = []\n', encoding="utf-8")
    problems = problems_in(kb_dir)
    for field in ("title", "category", "last_reviewed", "body_vi"):
        assert f"beta.toml: missing {field}" in problems


def test_checker_reports_toml_syntax_errors_without_crashing(kb_dir):
    (kb_dir[0] / "beta.toml").write_text('id = "beta\ntitle = \n', encoding="utf-8")
    problems = problems_in(kb_dir)
    assert any(p.startswith("beta.toml: TOML syntax error") for p in problems)


def test_checker_also_checks_the_english_body(kb_dir):
    write_topic(kb_dir[0], "beta", extra="body_en = '<b>open'\n")
    assert any(p.startswith("beta.toml: body_en") for p in problems_in(kb_dir))


def test_main_prints_ok_or_problems_and_returns_the_exit_code(kb_dir, capsys):
    topics, ids_file = kb_dir
    assert main([str(topics), str(ids_file)]) == 0
    assert "OK: 2 topics" in capsys.readouterr().out
    write_topic(topics, "beta", examples=_examples("beta", 3))
    assert main([str(topics), str(ids_file)]) == 1
    assert "beta.toml: only 3 examples" in capsys.readouterr().out


def test_main_on_the_real_content_reports_29_topics(capsys):
    assert main([]) == 0
    assert capsys.readouterr().out.strip() == "OK: 29 topics"
