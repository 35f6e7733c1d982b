"""bench/calibrate_matcher.py: the thresholds it chooses."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402
from calibrate_matcher import Outcomes, Reading, calibrate, leads_of, score  # noqa: E402

from content.matcher_calibration import VI_FEATURES, Calibration  # noqa: E402


def reading(evidence: float, out_of_scope: float, right: bool | None, lead: float = 1.0) -> Reading:
    """A Vietnamese reading: ``right`` None is an out-of-scope question; ``lead``: the best topic's
    rank lead over the second, which is the right one when the best is not."""
    features = (evidence, 1.0, lead, 0.0, 0.0, 0.0, out_of_scope, 0.0)
    ok = frozenset() if right is None else frozenset({"a" if right else "b"})
    return Reading("vi", features, ["a", "b"], None, ok)


def test_a_question_the_matcher_knows_nothing_about_is_never_asked_back():
    # in-scope questions with no evidence that happen to be right would pull the thresholds down
    # to the probability of a question with every feature 0 ("asdfgh"): they must stay above it
    rows = ([reading(0.6, 0.0, True)] * 60 + [reading(0.0, 0.0, True)] * 40
            + [reading(0.0, 0.0, False)] * 10 + [reading(0.1, 0.9, None)] * 60)
    found, (_top1, _served, abstention) = calibrate(rows, VI_FEATURES, ("evidence", "out_of_scope"), 0.95)
    assert abstention == 1.0
    nothing = found.probability([0.0] * len(VI_FEATURES))
    assert found.clarify > nothing
    assert found.decide(nothing) == "abstain"
    assert found.decide(found.probability(reading(0.6, 0.0, True).features)) == "answer"


def test_a_confident_answer_with_a_small_lead_is_asked_back():
    cal = Calibration((1.0,), 0.0, answer=0.6, clarify=0.4, lead=0.3)
    assert cal.decide(0.9, 0.5) == "answer"
    assert cal.decide(0.9, 0.3) == "answer"  # at the threshold: answered
    assert cal.decide(0.9, 0.29) == "clarify"
    assert cal.decide(0.5, 0.01) == "clarify"  # already asked back
    assert cal.decide(0.3, 5.0) == "abstain"  # a lead never turns an abstention into an answer
    # no lead threshold: as before, even for a negative lead (English: the learned favourite is another)
    assert Calibration((1.0,), 0.0, 0.6, 0.4).decide(0.9, -0.3) == "answer"


def test_the_score_counts_each_decision_once():
    rows = [reading(0.9, 0.0, True), reading(0.9, 0.0, False, lead=0.1), reading(0.5, 0.0, True),
            reading(0.1, 0.0, True), reading(0.9, 0.0, None), reading(0.1, 0.0, None),
            Reading("vi", (), ["a"], "a", frozenset({"a"}))]  # forced: answered whatever the thresholds
    probs = np.array([0.9, 0.9, 0.5, 0.1, 0.9, 0.1, 0.0])
    leads = leads_of(rows, VI_FEATURES)
    # no lead gate: answered right (1st, 7th), the wrong one answered, the 3rd asked (offered), 4th abstained
    assert score(rows, probs, 0.6, 0.4, 0.0, leads) == (2 / 5, 3 / 5, 1 / 2)
    # a lead of 0.2: the wrong confident answer (lead 0.1) is asked back and its right topic offered
    assert score(Outcomes.of(rows), probs, 0.6, 0.4, 0.2, leads) == (2 / 5, 4 / 5, 1 / 2)
    # a lead above every lead: no one answered but the forced one
    assert score(rows, probs, 0.6, 0.4, 2.0, leads) == (1 / 5, 4 / 5, 1 / 2)


def test_a_tie_is_asked_back_whatever_the_lead_threshold():
    rows = [reading(0.9, 0.0, True, lead=0.001), reading(0.9, 0.0, True, lead=0.5)]
    assert list(leads_of(rows, VI_FEATURES)) == [-np.inf, 0.5]


def test_the_lead_threshold_turns_confident_sibling_confusions_into_did_you_mean():
    # confident answers: right ones lead by 1.0, wrong ones (the right topic second) by 0.1
    rows = ([reading(0.8, 0.0, True)] * 90 + [reading(0.8, 0.0, False, lead=0.1)] * 5
            + [reading(0.1, 0.9, None)] * 60)
    found, (top1, served, abstention) = calibrate(rows, VI_FEATURES, ("evidence", "out_of_scope"), 0.95, 0.9)
    assert 0.1 < found.lead <= 1.0
    wrong = reading(0.8, 0.0, False, lead=0.1)
    assert found.decide(found.probability(wrong.features), 0.1) == "clarify"
    assert found.decide(found.probability(reading(0.8, 0.0, True).features), 1.0) == "answer"
    assert (top1, served, abstention) == (90 / 95, 1.0, 1.0)
    # a top-1 floor the gate cannot keep: no gate when it would cost right answers
    rows = [reading(0.8, 0.0, True, lead=0.1)] * 90 + [reading(0.8, 0.0, False, lead=0.1)] * 5 + rows[95:]
    found, (top1, served, _) = calibrate(rows, VI_FEATURES, ("evidence", "out_of_scope"), 0.95, 0.9)
    assert found.lead <= 0.1 and top1 == 90 / 95


def test_top1_first_answers_what_serving_most_would_ask_back():
    # every confident answer leads by little: serving the most asks them all back ("did you mean"
    # holds the right one), which answers none at once; top-1 first (English) answers them
    rows = ([reading(0.8, 0.0, True, lead=0.1)] * 90 + [reading(0.8, 0.0, False, lead=0.1)] * 5
            + [reading(0.1, 0.9, None)] * 60)
    right = reading(0.8, 0.0, True, lead=0.1).features
    served_most, (top1, served, _) = calibrate(rows, VI_FEATURES, ("evidence", "out_of_scope"), 0.95)
    assert (top1, served) == (0.0, 1.0)
    assert served_most.decide(served_most.probability(right), 0.1) == "clarify"
    right_first, (top1, served, abstention) = calibrate(rows, VI_FEATURES, ("evidence", "out_of_scope"), 0.95,
                                                        top1_first=True)
    assert top1 == 90 / 95 and abstention >= 0.95
    assert right_first.decide(right_first.probability(right), 0.1) == "answer"
