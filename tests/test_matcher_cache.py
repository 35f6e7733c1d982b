"""The built matcher is kept on disk and read back whole by the next start (content/matcher_cache.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from content import matcher_cache
from content.kb import KnowledgeBase
from content.matcher import Matcher
from content.matcher_text import OUT_OF_SCOPE_EXAMPLES
from tests.test_matcher import read_rows

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def kb():
    return KnowledgeBase.load()


def index_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{matcher_cache.PREFIX}*.pickle"))


def test_a_restart_reads_the_same_matcher_back_instead_of_building_it(kb, tmp_path):
    built = Matcher.from_kb(kb, tmp_path)
    [kept] = index_files(tmp_path)
    topics = list(kb.topics.values())
    key = matcher_cache.index_key(topics, OUT_OF_SCOPE_EXAMPLES)
    assert kept.name == f"{matcher_cache.PREFIX}{key}.pickle"

    def must_not_build():
        raise AssertionError("built again although the cache holds it")

    read, cached = matcher_cache.load_or_build(Matcher, must_not_build, key, tmp_path)
    assert cached and read is not built
    questions = [q for name in ("questions-extra.tsv", "questions-holdout2.tsv") for q, _ in read_rows(DATA / name)]
    questions += ["how do I pay fees online", "mk", "cảm ơn nhiều", "giá vàng hôm nay"]
    for question in questions:  # the same decision, scores, suggestions and features
        assert read.match(question) == built.match(question), question
    # the joint matrix is shared again by the centroids and the learned weights, not copied
    assert np.shares_memory(read._centroids._centroids, read._joint)


def with_example(topics, example):
    return [SimpleNamespace(id=t.id, title=t.title, examples=[*t.examples, example] if i == 0 else t.examples,
                            body_vi=t.body_vi, examples_en=t.examples_en, body_en=t.body_en, related=t.related)
            for i, t in enumerate(topics)]


def test_a_change_of_content_builds_afresh_and_old_files_go(kb, tmp_path):
    topics = list(kb.topics.values())
    Matcher.from_kb(kb, tmp_path)
    [first] = index_files(tmp_path)
    names = []
    for example in ("một câu hỏi mới", "thêm một câu hỏi nữa"):
        changed = with_example(topics, example)
        key = matcher_cache.index_key(changed, OUT_OF_SCOPE_EXAMPLES)
        names.append(f"{matcher_cache.PREFIX}{key}.pickle")
        Matcher.from_kb(SimpleNamespace(topics=changed), tmp_path)
    assert first.name not in names and len(set(names)) == 2
    # the newest and the one before it are kept (two versions may run side by side while deploying)
    assert matcher_cache.FILES_KEPT == 2 and sorted(p.name for p in index_files(tmp_path)) == sorted(names)


def test_an_unreadable_cache_file_is_rebuilt_not_fatal(kb, tmp_path, caplog):
    Matcher.from_kb(kb, tmp_path)
    [kept] = index_files(tmp_path)
    kept.write_bytes(kept.read_bytes()[:1000])  # cut short, as by a full disk
    matcher = Matcher.from_kb(kb, tmp_path)
    assert matcher.match("nộp lệ phí trực tuyến như thế nào").topic is not None
    assert "unreadable" in caplog.text
    key = kept.name.removeprefix(matcher_cache.PREFIX).removesuffix(".pickle")
    _, cached = matcher_cache.load_or_build(Matcher, lambda: None, key, tmp_path)
    assert cached  # written whole again
