"""Questions people typed (retired held-out files) taught to the matcher: content/lexicon/asked.tsv."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from content import matcher_cache
from content.kb import TOPICS_DIR, KnowledgeBase
from content.matcher import Matcher
from content.matcher_asked import ASKED_FILE, example_keys, read_asked, read_asked_rows
from content.text import fold_key

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from faq_accuracy import RETIRED, SEALED  # noqa: E402


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
    assert taught._choice_counts == plain._choice_counts


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
