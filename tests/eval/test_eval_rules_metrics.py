"""Answer rules and metric arithmetic on hand-made inputs."""

import math

import pytest

from mmreason.eval import metrics, rules


def test_choice_letter_forms():
    assert rules.choice_letter("B") == "B"
    assert rules.choice_letter("(C) 12") == "C"
    assert rules.choice_letter("The answer is (D).") == "D"
    assert rules.choice_letter("\\boxed{A}") == "A"
    assert rules.choice_letter("E", n_choices=4) is None
    assert rules.choice_letter("cat") is None


def test_letter_set_and_yes_no():
    assert rules.letter_set("A, C") == frozenset({"A", "C"})
    assert rules.letter_set("B and D") == frozenset({"B", "D"})
    assert rules.letter_set("is a square") == frozenset()  # lower-case words are not labels
    assert rules.yes_no("Yes, it is.") == "yes"
    assert rules.yes_no("No") == "no"
    assert rules.yes_no("yes or no?") is None
    assert rules.yes_no("maybe") is None


def test_to_float():
    assert rules.to_float("1,200") == 1200
    assert rules.to_float("2π") == pytest.approx(2 * math.pi)
    assert rules.to_float("\\frac{1}{2}") == 0.5
    assert rules.to_float("45°") == 45
    assert rules.to_float("12 cm") == 12
    assert rules.to_float("x+1") is None


def test_parse_inline_choices():
    assert rules.parse_inline_choices("Q?\nChoices:\nA:30°\nB:60°\nC:90°") == ["30°", "60°", "90°"]
    assert rules.parse_inline_choices("A. 3;B. 4;C. 5") == ["3", "4", "5"]
    assert rules.parse_inline_choices("Options: A: red, B: blue") == ["red", "blue"]
    assert rules.parse_inline_choices("What is B?") == []


def test_group_accuracy_multilabel():
    got = metrics.group_accuracy([["x", "y"], "x", ["y"], None], [True, False, True, True])
    assert got == {"x": 0.5, "y": 1.0}


def test_all_correct_rate():
    # groups a: (T, T) -> ok, b: (T, F) -> not ok, c: (F) -> not ok
    assert metrics.all_correct_rate(["a", "b", "a", "b", "c"], [True, True, True, False, False]) == pytest.approx(1 / 3)


def test_wemath_four_dimensional_by_hand():
    problems = [
        ([True, True], True),  # CM strict + loose
        ([True, False], True),  # RM strict, CM loose
        ([False, False], False),  # IK
        ([True, True, True], False),  # IG
        ([False, False], True),  # RM strict + loose
    ]
    m = metrics.wemath_four_dimensional(problems)
    assert m["n_problems"] == 5
    assert (m["n_IK"], m["n_IG"], m["n_CM_strict"], m["n_CM_loose"], m["n_RM_strict"], m["n_RM_loose"]) == (1, 1, 1, 2, 2, 1)
    assert m["IK"] == 0.2 and m["IG"] == 0.2 and m["CM_strict"] == 0.2 and m["CM_loose"] == 0.4
    assert m["RM_strict"] == pytest.approx(2 / 3) and m["RM_loose"] == pytest.approx(1 / 3)
    assert m["score_strict"] == pytest.approx((5 - 0.5 - 2 - 1) / 5)
    assert m["score_loose"] == pytest.approx((5 - 0.5 - 1 - 1) / 5)
