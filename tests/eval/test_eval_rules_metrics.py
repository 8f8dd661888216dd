"""Answer rules and metric arithmetic on hand-made inputs."""

import math

import pytest

from mmreason.eval import metrics, rules

CHOICE_LETTER = [  # (reply, n_choices, expected)
    ("B", None, "B"), ("(C) 12", None, "C"), ("The answer is (D).", None, "D"), ("\\boxed{A}", None, "A"),
    ("**B** because the angles add up", None, "B"), ("So the answer is: B.", None, "B"),
    ("The answer is A because the sides match", None, "A"), ("Option A is wrong; the answer is C", None, "C"),
    ("The answer is C. Option A is wrong", None, "C"),
    # regressions: no case-insensitive letters, the article "A" / pronoun "I" pick nothing
    ("The answer is a right triangle with legs 3 and 4", None, None), ("A triangle has three sides", None, None),
    ("answer: a", None, None), ("I think it is the larger one", None, None), ("the answer is (b)", None, None),
    ("E", 4, None), ("cat", None, None), ("", None, None), (None, None, None),
]


@pytest.mark.parametrize("reply,n,expected", CHOICE_LETTER)
def test_choice_letter_table(reply, n, expected):
    assert rules.choice_letter(reply, n) == expected


STATED_LABELS = [  # LogicVista: (reply, digits, expected)
    ("So I pick option B", False, {"B"}),  # regression: was {B, I}
    ("The answer is B because 3 squares", False, {"B"}),  # regression: was {3, B}
    ("A, C", False, {"A", "C"}), ("B and D", False, {"B", "D"}), ("I choose A and C.", False, {"A", "C"}),
    ("The answers are B and D.", False, {"B", "D"}), ("(C)", False, {"C"}), ("C because it continues", False, {"C"}),
    ("The answer is 3", True, {"3"}), ("3", True, {"3"}), ("The answer is 3", False, set()),
    ("The answer is a square", False, set()), ("A square has four sides", False, set()),
    ("I am not sure", False, set()), ("Because of symmetry", False, set()), ("", False, set()),
]


@pytest.mark.parametrize("reply,digits,expected", STATED_LABELS)
def test_stated_labels_table(reply, digits, expected):
    assert rules.stated_labels(reply, digits) == frozenset(expected)


ANGLES = ["40°", "60°", "120°", "140°"]
CHOICE_ANSWER = [  # option value -> letter (MathVerse, MathVision, Geometry3K, MMK12): (reply, choices, expected)
    ("so angle CED = \\boxed{140°}", ANGLES, "D"), ("\\boxed{140}", ANGLES, "D"), ("Answer: 60°", ANGLES, "B"),
    ("\\boxed{C}", ANGLES, "C"), ("The answer is D: 140°", ANGLES, "D"),
    ("\\boxed{150°}", ANGLES, None), ("The answer is a right angle", ANGLES, None),
    ("The angle is 140° or 40°", ANGLES, None),  # no single stated value
    ("\\boxed{12}", ["$$10.5$$", "$$12$$", "$$13.5$$"], "B"), ("\\boxed{0.5}", ["1/2", "1/3"], "A"),
    ("\\boxed{tokyo}", ["osaka", "tokyo"], "B"), ("\\boxed{7}", ["7", "7.0"], None),  # two options equal 7
    ("", ANGLES, None),
]


@pytest.mark.parametrize("reply,choices,expected", CHOICE_ANSWER)
def test_choice_answer_table(reply, choices, expected):
    assert rules.choice_answer(reply, choices) == expected


YES_NO = [("Yes, it is.", "yes"), ("No", "no"), ("yes or no?", None), ("maybe", None), ("Not sure, no.", "no"),
          ("YES!", "yes"), ("Nobody knows", None), ("", None)]


@pytest.mark.parametrize("reply,expected", YES_NO)
def test_yes_no_table(reply, expected):
    assert rules.yes_no(reply) == expected


def test_letter_set_of_gold_answers():
    assert rules.letter_set("A, C") == frozenset({"A", "C"})
    assert rules.letter_set("B and D") == frozenset({"B", "D"})
    assert rules.letter_set("is a square") == frozenset()  # lower-case words are not labels


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


# the official per-benchmark rules, on adversarial replies ------------------------------------------------
MMSTAR = [("(b) dog", "B", True), ("Option c", "C", True), ("the answer is d", "D", True), ("B", "B", True),
          ("dog", "B", False), ("", "A", False), ("The answer: B", "B", False),  # not one of the official prefixes
          ("A triangle has three sides", "A", True)]  # MMStar_eval's prefix rule: the first character decides


@pytest.mark.parametrize("pred,gold,expected", MMSTAR)
def test_mmstar_prefix_rule_table(pred, gold, expected):
    from mmreason.eval.benchmarks.mmstar import mmstar_match

    assert mmstar_match(pred, gold) is expected


WEMATH = [("<Thought process>: x <Answer>: <<C>>", "C"), ("<Answer>: D.", "D"), ("Answer: <<H>>", "H"),
          ("Because the area is 4", "B"),  # four_dimensional_metrics.py reads the first character
          ("the area is 4", None), ("<Answer>: <<Z>>", None), ("", None)]


@pytest.mark.parametrize("reply,expected", WEMATH)
def test_wemath_official_letter_table(reply, expected):
    from mmreason.eval.benchmarks.wemath import official_letter

    assert official_letter(reply) == expected


DYNAMATH = [("2π", "6.2832", "float", True), ("3.1416 units", "3.1416", "float", True), ("3.15", "3.1416", "float", False),
            ("about three", "3.0", "float", False), ("(C) smaller", "C", "multiple choice", True),
            ("B", "C", "multiple choice", False), ("It is May", "May", "text", True), ("May", "June", "text", False)]


@pytest.mark.parametrize("answer,truth,atype,expected", DYNAMATH)
def test_dynamath_rule_table(answer, truth, atype, expected):
    from mmreason.eval.benchmarks.dynamath import dynamath_correct

    assert dynamath_correct(answer, truth, atype) is expected


COUNTS = [("<think>…</think><answer>4</answer>", 4), ("<answer> 12 </answer>", 12), ("<answer>four</answer>", None),
          ("\\boxed{7}", 7), ("\\boxed{4.5}", None), ("There are 4 items", None), ("", None)]


@pytest.mark.parametrize("reply,expected", COUNTS)
def test_superclevr_count_table(reply, expected):
    from mmreason.eval.benchmarks.superclevr import count_answer

    assert count_answer(reply) == expected
