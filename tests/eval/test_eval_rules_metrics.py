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


# ---------------------------------------------------------------- uncertainty and baselines (the pipeline report)


def test_wilson_interval_matches_hand_computed_values():
    from mmreason.eval.metrics import wilson_interval

    # 8/10, z = 1.96: centre (0.8 + 0.19207) / 1.38415 = 0.71675, half 1.96·sqrt(0.016 + 0.009604) / 1.38415 = 0.22659
    lo, hi = wilson_interval(8, 10)
    assert abs(lo - 0.49016) < 1e-5 and abs(hi - 0.94332) < 1e-5
    lo, hi = wilson_interval(0, 10)  # never below 0; upper = z²/n / (1 + z²/n) = 0.38415 / 1.38415
    assert lo == 0.0 and abs(hi - 0.27753) < 1e-5
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_clopper_pearson_matches_the_exact_binomial_tails():
    from mmreason.eval.metrics import clopper_pearson

    lo, hi = clopper_pearson(15, 20)  # tables: (0.5090, 0.9134)
    assert abs(lo - 0.50895) < 1e-4 and abs(hi - 0.91343) < 1e-4
    lo, hi = clopper_pearson(0, 10)  # upper = 1 - 0.025^(1/10)
    assert lo == 0.0 and abs(hi - (1 - 0.025 ** 0.1)) < 1e-9


def test_paired_difference_mcnemar_and_its_exact_conditional_interval():
    from mmreason.eval.metrics import mcnemar_exact_p, paired_difference

    # 100 questions: 5 right only for A, 15 right only for B, 80 the same for both
    a = [1] * 5 + [0] * 15 + [0] * 80
    b = [0] * 5 + [1] * 15 + [0] * 80
    d = paired_difference(a, b)
    assert (d["n"], d["n10"], d["n01"]) == (100, 5, 15) and abs(d["diff"] - 0.10) < 1e-12
    # p = 2·P(X <= 5), X ~ Bin(20, 1/2) = 2·(1 + 20 + 190 + 1140 + 4845 + 15504) / 2^20
    assert abs(d["p_mcnemar"] - 2 * 21700 / 2**20) < 1e-12 and d["p_mcnemar"] < 0.05
    # interval: (m/n)(2π - 1) over the Clopper-Pearson interval of π = 15/20: 0.2·(2·0.50895 - 1), 0.2·(2·0.91343 - 1)
    assert abs(d["low"] - 0.00358) < 1e-4 and abs(d["high"] - 0.16537) < 1e-4
    assert mcnemar_exact_p(0, 0) == 1.0 and mcnemar_exact_p(3, 3) == 1.0
    same = paired_difference([1, 0, 1], [1, 0, 1])
    assert (same["diff"], same["low"], same["high"], same["p_mcnemar"]) == (0.0, 0.0, 0.0, 1.0)


def test_chance_and_best_constant_baselines():
    from mmreason.eval.metrics import best_constant, chance_accuracy

    assert chance_accuracy("choice", ["a", "b", "c", "d"]) == 0.25 and chance_accuracy("boolean", []) == 0.5
    assert chance_accuracy("number", []) == 0.0 and chance_accuracy("text", []) == 0.0
    assert best_constant(["B", "A", "B", "C", "A"]) == ("A", 2)  # a tie goes to the first in sorted order
    assert best_constant(["12", " 12", "7"]) == ("12", 2) and best_constant([]) == (None, 0)
