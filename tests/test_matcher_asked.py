"""Questions taught to the matcher beyond the examples: those people typed (retired held-out files,
content/lexicon/asked.tsv) and those written to teach (content/lexicon/written.tsv)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from content import matcher_cache
from content.kb import TOPICS_DIR, KnowledgeBase
from content.matcher import Matcher
from content.matcher_asked import (
    ASKED_FILE,
    WRITTEN_FILE,
    asked_questions,
    example_keys,
    held_out_by_source,
    read_asked,
    read_asked_rows,
    taught_keys,
    written_questions,
)
from content.text import fold_key

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from faq_accuracy import RETIRED, SEALED  # noqa: E402

sys.path.insert(0, str(REPO / "scripts"))
from retire_questions import drop_test_twins, main, question_keys_of_tests, retire  # noqa: E402


def topic(id_: str, title: str, examples: list[str]) -> SimpleNamespace:
    return SimpleNamespace(id=id_, title=title, examples=examples, body_vi=title)


TOPICS = [
    topic("submit", "Nộp hồ sơ trực tuyến", ["nộp hồ sơ trực tuyến thế nào", "cách nộp hồ sơ qua mạng"]),
    topic("result", "Nhận kết quả", ["nhận kết quả ở đâu", "kết quả giải quyết hồ sơ xem ở đâu"]),
]


def test_an_asked_question_teaches_its_topic_words_no_example_uses():
    # "giấy hẹn" and "bưu điện" are in no example: only the asked question ties them to "result"
    asked = [("giấy hẹn trả qua bưu điện thì chờ mấy hôm", "result")]
    plain = Matcher(TOPICS, out_of_scope=((), ()), asked=())
    taught = Matcher(TOPICS, out_of_scope=((), ()), asked=asked)
    words = ["giay", "hen", "buu", "dien"]
    assert taught._learned.probabilities(words)[1] > plain._learned.probabilities(words)[1]
    assert taught._idf["fold"].keys() - plain._idf["fold"].keys() >= {"giay hen", "buu dien"}
    # the written examples stay what the fuzzy match and the example-level BM25 read
    assert taught._m == plain._m
    assert taught._sorted_choices == plain._sorted_choices


def test_asked_out_of_scope_questions_join_the_out_of_scope_class_and_unknown_topics_are_left_out():
    asked = [("giá lúa hôm nay bao nhiêu một cân", None), ("câu hỏi của một chủ đề khác", "elsewhere")]
    plain = Matcher(TOPICS, out_of_scope=(["thời tiết mai thế nào"], []), asked=())
    taught = Matcher(TOPICS, out_of_scope=(["thời tiết mai thế nào"], []), asked=asked)
    words = ["gia", "lua", "hom", "nay"]
    out_of_scope = len(TOPICS)  # the learned model's last class
    assert taught._learned.probabilities(words)[out_of_scope] > plain._learned.probabilities(words)[out_of_scope]
    assert "khac" not in taught._idf["fold"]  # the question of an unknown topic taught nothing


def test_an_english_asked_question_teaches_the_english_side():
    english = [SimpleNamespace(**vars(t), examples_en=[question], body_en=None)
               for t, question in zip(TOPICS, ["how to submit online", "where do I get my result"])]
    plain = Matcher(english, out_of_scope=((), ()), asked=())
    taught = Matcher(english, out_of_scope=((), ()), asked=[("when will the courier bring my result", "result")])
    assert "courier" not in plain._english._vocab
    assert "courier" in taught._english._vocab
    assert "courier" not in taught._idf["fold"]  # read as English: not a Vietnamese example


def test_the_asked_file_holds_only_retired_questions_none_of_them_an_example():
    kb = KnowledgeBase.load(TOPICS_DIR)
    rows = read_asked_rows()  # three columns on every line, or it raises
    assert len(rows) >= 2_000
    assert {source for _q, _t, source in rows} <= RETIRED
    assert not RETIRED & SEALED
    assert {t for _q, t, _s in rows} <= set(kb.topics) | {None}
    examples = example_keys(kb.topics.values())
    keys = [fold_key(q) for q, _t, _s in rows]
    assert not set(keys) & examples  # a held-out example never meets its twin in training
    assert len(keys) == len(set(keys))
    assert read_asked() == [(q, t) for q, t, _s in rows]


def test_the_asked_file_is_part_of_the_matcher_cache_key():
    assert ASKED_FILE in matcher_cache.sources()
    assert WRITTEN_FILE in matcher_cache.sources()


def test_the_written_questions_are_taught_and_none_of_them_is_a_test_question_or_an_example():
    kb = KnowledgeBase.load(TOPICS_DIR)
    rows = read_asked_rows(WRITTEN_FILE)
    assert len(rows) >= 1_000
    assert all(source.startswith("written-") for _q, _t, source in rows)
    assert {t for _q, t, _s in rows} <= set(kb.topics) | {None}
    keys = [fold_key(q) for q, _t, _s in rows]
    assert len(keys) == len(set(keys))
    assert not set(keys) & example_keys(kb.topics.values())
    assert not set(keys) & {fold_key(q) for q, _t, _s in read_asked_rows()}
    tests = question_keys_of_tests()  # every question file of tests/data, the sealed ones too
    assert {f"questions-holdout{n}.tsv" for n in (6, 17)} <= {p.name for p in (REPO / "tests" / "data").glob("*.tsv")}
    assert len(tests) > 5_000 and not set(keys) & tests
    # the matcher learns them after the asked ones; a retired file scored unseen still learns them
    written = list(written_questions())
    assert written and list(asked_questions()[-len(written):]) == written
    name, others, own = next(held_out_by_source(read_asked_rows()))
    assert own and others[-len(written):] == written
    assert not {fold_key(q) for q, _t in own} & {fold_key(q) for q, _t in others}


def first_question_of(pattern: str) -> str:
    """The first question of the first file of tests/data matching ``pattern``."""
    test_file = next((REPO / "tests" / "data").glob(pattern))
    return test_file.read_text(encoding="utf-8").splitlines()[1].split("\t")[0]


def test_writing_questions_to_teach_leaves_out_any_twin_of_a_test_question(tmp_path):
    a_test_question = first_question_of("questions-holdout1*.tsv")
    new = tmp_path / "new.tsv"
    new.write_text("question\ttopic\n"
                   f"{a_test_question.upper()}\tbot.about\n"
                   "mình muốn hỏi cách giữ bí mật mã otp của vneid khi có người lạ gọi\tsafety.scam\n"
                   "giá vàng hôm nay tăng hay giảm vậy bot\tnone\n", encoding="utf-8")
    out = tmp_path / "written.tsv"
    assert retire([new], out, "written-test") == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[1:] for line in lines] == [["safety.scam", "written-test"], ["none", "written-test"]]


def test_a_written_question_equal_to_a_new_test_question_is_dropped(tmp_path):
    a_test_question = first_question_of("questions-holdout2*.tsv")
    written = tmp_path / "written.tsv"
    written.write_text("# comment\n"
                       f"{a_test_question}\tbot.about\twritten-x\n"
                       "một câu hỏi không có trong tệp kiểm tra nào cả ạ\tbot.about\twritten-x\n", encoding="utf-8")
    assert drop_test_twins(written) == 1
    assert written.read_text(encoding="utf-8").splitlines() == [
        "# comment", "một câu hỏi không có trong tệp kiểm tra nào cả ạ\tbot.about\twritten-x"]


def test_retiring_a_held_out_file_leaves_out_a_twin_of_a_sealed_question(tmp_path):
    sealed = REPO / "tests" / "data" / sorted(SEALED)[0]
    taught = taught_keys(KnowledgeBase.load(TOPICS_DIR).topics.values())
    a_sealed_question = next(q for q in (line.split("\t")[0] for line in
                                         sealed.read_text(encoding="utf-8").splitlines()[1:])
                             if fold_key(q) not in taught)  # left out for being a test's twin only
    retired = tmp_path / "questions-holdout999.tsv"  # retired now: its own questions are taught
    retired.write_text("question\tacceptable\n"
                       f"{a_sealed_question.upper()}\tbot.about\n"
                       "một câu hỏi chỉ tệp này có, về chuyện nộp hồ sơ lúc nửa đêm\tportal.submit\n"
                       "giá phân bón tháng này bao nhiêu một bao\tnone\n", encoding="utf-8")
    asked = tmp_path / "asked.tsv"
    assert retire([retired], asked) == 0
    lines = asked.read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[1:] for line in lines] == [["portal.submit", "questions-holdout999.tsv"],
                                                        ["none", "questions-holdout999.tsv"]]
    # a file retired is not its own twin: retiring a file of tests/data keeps its questions
    assert fold_key(a_sealed_question) not in question_keys_of_tests(but=[sealed])
    assert fold_key(a_sealed_question) in question_keys_of_tests()


def test_retire_questions_explains_its_use_and_refuses_a_wrong_call(tmp_path, capsys):
    """--help prints the use (it once tried to read a file named "--help"); no file, a missing
    file, or a file with --drop-test-twins stop with a message, before anything is written."""
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert "--written" in capsys.readouterr().out
    for argv, says in (([], "name at least one question file"),
                       ([str(tmp_path / "nowhere.tsv")], "no such file"),
                       (["--drop-test-twins", str(tmp_path / "x.tsv")], "takes no file")):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        assert says in capsys.readouterr().err
