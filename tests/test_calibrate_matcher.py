"""bench/calibrate_matcher.py: the thresholds it chooses."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from calibrate_matcher import Reading, calibrate  # noqa: E402

from content.matcher_calibration import VI_FEATURES  # noqa: E402


def reading(evidence: float, out_of_scope: float, right: bool | None) -> Reading:
    """A Vietnamese reading: ``right`` None is an out-of-scope question."""
    features = (evidence, 0.0, 0.0, 0.0, 0.0, 0.0, out_of_scope)
    ok = frozenset() if right is None else frozenset({"a" if right else "b"})
    return Reading("vi", features, ["a", "b"], None, ok)


def test_a_question_the_matcher_knows_nothing_about_is_never_asked_back():
    # in-scope questions with no evidence that happen to be right would pull the thresholds down
    # to the probability of a question with every feature 0 ("asdfgh"): they must stay above it
    rows = ([reading(0.6, 0.0, True)] * 60 + [reading(0.0, 0.0, True)] * 40
            + [reading(0.0, 0.0, False)] * 10 + [reading(0.1, 0.9, None)] * 60)
    found, _scores = calibrate(rows, VI_FEATURES, ("evidence", "out_of_scope"))
    nothing = found.probability([0.0] * len(VI_FEATURES))
    assert found.clarify > nothing
    assert found.decide(nothing) == "abstain"
    assert found.decide(found.probability(reading(0.6, 0.0, True).features)) == "answer"
