"""mmreason.core.grading: extraction, the five answer types, reward-hacking guards, the time budget's
mechanism (kill and replace). Wall-clock speed is measured in benchmarks/bench_grading.py, not here."""

from __future__ import annotations

import threading

import pytest

from mmreason.core.grading import (
    _mathverify,
    extract_answer,
    gold_error,
    grade,
    grade_detailed,
    normalize_number,
    normalize_text,
    read_boolean,
    warmup,
)

OPTS = ["10 cm", "12 cm", "14 cm", "16 cm"]  # B is "12 cm"


@pytest.fixture(scope="module")
def warm_pool():
    warmup()
    return _mathverify.pool()


# --------------------------------------------------------------------------------------------- extraction
EXTRACT_CASES = [
    ("so the result is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
    ("\\boxed{\\sqrt{\\frac{a}{b}}}", "\\sqrt{\\frac{a}{b}}"),  # nested braces
    ("first \\boxed{5} then again \\boxed{ 5 }", "5"),  # same content repeated is fine
    ("\\boxed{A} or \\boxed{B}", None),  # different boxes: rejected
    ("\\boxed{}", None),  # empty box: rejected
    ("\\boxed{\\boxed{7}}", "7"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces inside a box
    ("<think>maybe \\boxed{3}</think><answer>4</answer>", "4"),  # the tag wins over reasoning
    ("<answer>The answer is \\boxed{B}</answer>", "B"),
    ("<answer> 42 </answer>", "42"),
    ("<answer>3</answer> ... <answer>5</answer>", None),  # two different tags
    ("reasoning...\n**Answer:** B", "B"),
    ("The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
    ("We ask whether the answer is positive. So the answer is 5.", "5"),  # the last phrase counts
    ("Answer:\n  12 cm", "12 cm"),
    ("The correct option is (C).", "(C)"),
    ("after some thought\n(B)", "B"),
    ("after some thought\nB.", "B"),
    ("after some thought\nB", "B"),
    ("after some thought\nx", None),  # a lower-case last line is no choice letter
    ("I am not sure.", None),
    ("", None),
    ("\\boxed{12", None),  # truncated box
    ("\\boxed{5} and then \\boxed{12", None),  # a final box left unclosed: no answer, not the earlier one
    ("<answer> 42", None),  # unclosed answer tag (strict)
]


@pytest.mark.parametrize("text,expected", EXTRACT_CASES)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


# ---------------------------------------------------------------------------------------------- numbers
NUMBER_CASES = [
    ("12 cm", 12.0),
    ("$3.50", 3.5),
    ("\\$3.50", 3.5),
    ("45%", 45.0),  # literal; the percent rule lives in matching
    ("45\\%", 45.0),
    ("1,234", 1234.0),
    ("1,234,567.5", 1234567.5),
    ("1,2", None),  # not a thousands separator
    ("2.5e-3", 0.0025),
    ("1.5 \\times 10^{3}", 1500.0),
    ("3/4", 0.75),
    ("\\frac{3}{4}", 0.75),
    ("\\dfrac{-1}{2}", -0.5),
    ("-7", -7.0),
    ("\u22127", -7.0),  # unicode minus
    ("90^\\circ", 90.0),
    ("\\text{5 m/s}^2", 5.0),  # unit in \text{}, its power outside
    ("12\\,\\mathsf{cm}", 12.0),  # any of text.py's LaTeX text wrappers (one list for both modules)
    ("5 m/s^2", 5.0),
    ("12 and 15", None),
    ("3 or 4", None),
    ("1/0", None),
    ("1e400", None),  # overflows
    ("9" * 300, None),  # too long to be "a number"
    ("10^10^10", None),
    ("\\sqrt{2}", None),
    ("x", None),
]


@pytest.mark.parametrize("s,expected", NUMBER_CASES)
def test_normalize_number(s, expected):
    got = normalize_number(s)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-12)


def test_extract_lenient_reads_an_unclosed_tag():
    assert extract_answer("<answer> 42", lenient=True) == "42"
    assert extract_answer("\\boxed{42", lenient=True) is None  # an unclosed box never is


def test_normalize_text_and_boolean():
    assert normalize_text("  The \\text{Eiffel}   Tower! ") == "eiffel tower"
    assert read_boolean("No, it is not true.") is False
    assert read_boolean("No, it is not true.", lenient=False) is None  # strict: one yes/no word only
    assert read_boolean("\\textbf{Yes}.") is True
    assert read_boolean("\\left(x\\right)", lenient=True) is None  # LaTeX parsed: no word "right"
    assert read_boolean("Yes / No", lenient=True) is None


def test_chinese_yes_no_answers():
    # synth.language=zh true/false questions answer 是 (yes) / 否 (no); 对/正确, 错/错误/不是/不对 read the same
    assert read_boolean("是", lenient=False) is True and read_boolean("否", lenient=False) is False
    assert read_boolean("正确") is True and read_boolean("不对") is False and read_boolean("不是") is False
    assert read_boolean("是 / 否") is None  # both sides: no answer
    assert grade("答案：\\boxed{是}", "是", "boolean") and not grade("\\boxed{否}", "是", "boolean")
    assert grade("\\boxed{no}", "否", "boolean") and not grade("\\boxed{yes}", "否", "boolean")
    assert read_boolean("isn't it", lenient=True) is None  # a stray ASCII letter still casts no vote


# ------------------------------------------------------------------------------------------------ grade
# (prediction, gold, answer_type, choices, expected)
CHEAP_CASES = [
    # choice
    ("\\boxed{B}", "B", "choice", OPTS, True),
    ("The answer is (B).", "B", "choice", OPTS, True),
    ("B) 12 cm", "B", "choice", OPTS, True),
    ("12 cm", "B", "choice", OPTS, True),  # option text, via the short-response fallback
    ("So the length is 12 cm.\nAnswer: 12", "B", "choice", OPTS, True),  # numeric option text
    ("\\boxed{\\text{b}}", "B", "choice", OPTS, True),
    ("\\boxed{C}", "B", "choice", OPTS, False),
    ("B) 14 cm", "B", "choice", OPTS, False),  # letter and text disagree
    ("A. 10 cm\nB. 12 cm\nC. 14 cm\nD. 16 cm", "B", "choice", OPTS, False),  # lists every option
    ("Answer: A, B, C, D", "B", "choice", OPTS, False),
    ("Answer: B or C", "B", "choice", OPTS, False),
    ("\\boxed{A} or \\boxed{B}", "B", "choice", OPTS, False),
    ("\\boxed{B} \\boxed{B}", "B", "choice", OPTS, True),  # the same box twice is fine
    ("Answer: 12 cm or 14 cm", "B", "choice", OPTS, False),
    ("\\boxed{}", "B", "choice", OPTS, False),
    ("Options: (A) 10 cm (B) 12 cm (C) 14 cm (D) 16 cm\nAnswer:", "B", "choice", OPTS, False),  # echoed prompt
    ("Answer: B", "b", "choice", (), True),  # no option texts, lower-case gold
    # number
    ("The area is \\boxed{12}", "12", "number", (), True),
    ("\\boxed{12 cm^2}", "12", "number", (), True),
    ("Answer: $3.50", "3.5", "number", (), True),
    ("\\boxed{45\\%}", "0.45", "number", (), True),  # percent read as /100
    ("\\boxed{45\\%}", "45", "number", (), True),  # ... or literally
    ("\\boxed{0.45}", "45%", "number", (), True),
    ("\\boxed{45}", "0.45", "number", (), False),  # no percent sign anywhere: 45 != 0.45
    ("\\boxed{1,234}", "1234", "number", (), True),
    ("\\boxed{1.2345e3}", "1234.5", "number", (), True),
    ("\\boxed{\\frac{3}{4}}", "0.75", "number", (), True),
    ("\\boxed{3/4}", "0.75", "number", (), True),
    ("\\boxed{0.33333}", "1/3", "number", (), True),  # |diff| / (1/3) = 1e-5 < 1e-4
    ("\\boxed{0.333}", "1/3", "number", (), False),  # 1e-3 relative error
    ("\\boxed{0}", "0", "number", (), True),
    ("\\boxed{0.001}", "0", "number", (), False),  # absolute tolerance is 1e-8
    ("x = 5", "5", "number", (), True),
    ("Many think the answer is 12, but the answer is 15.", "12", "number", (), False),
    ("\\boxed{12} and \\boxed{15}", "12", "number", (), False),
    ("\\boxed{1e400}", "1e300", "number", (), False),  # overflow never equals
    ("\\boxed{" + "9" * 400 + "}", "1e300", "number", (), False),  # 400 digits: not read as a number
    ("12", "12", "number", (), True),  # the whole short response
    # text
    ("Answer: The Eiffel Tower.", "Eiffel Tower", "text", (), True),
    ("\\boxed{\\text{Paris}}", "paris", "text", (), True),
    ("Answer: Paris or London", "Paris", "text", (), False),
    ("Answer: London", "Paris", "text", (), False),
    ("  an   apple ", "Apple", "text", (), True),
    # boolean
    ("Yes", "Yes", "boolean", (), True),
    ("\\boxed{\\text{No}}", "No", "boolean", (), True),
    ("Answer: true", "Yes", "boolean", (), True),
    ("The statement is incorrect.\nAnswer: incorrect", "False", "boolean", (), True),
    ("Answer: yes or no", "Yes", "boolean", (), False),
    ("\\boxed{Yes} \\boxed{No}", "No", "boolean", (), False),
    ("Answer: No", "Yes", "boolean", (), False),
    # expression, settled without math-verify
    ("\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}", "expression", (), True),
    ("\\boxed{\\left( x+1 \\right)}", "(x+1)", "expression", (), True),
    ("\\boxed{0.5}", "\\frac{1}{2}", "expression", (), True),
    ("\\boxed{0.6}", "\\frac{1}{2}", "expression", (), False),
    ("\\boxed{}", "x", "expression", (), False),
]


@pytest.mark.parametrize("pred,gold,answer_type,choices,expected", CHEAP_CASES)
def test_grade_cheap(pred, gold, answer_type, choices, expected):
    assert grade(pred, gold, answer_type, choices) is expected


MATHVERIFY_CASES = [
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt3}{2}", "expression", True),
    ("\\boxed{x+1}", "1+x", "expression", True),
    ("\\boxed{2x+2}", "2(x+1)", "expression", True),
    ("\\boxed{x^2-1}", "(x-1)(x+1)", "expression", True),
    ("\\boxed{x^2+1}", "(x-1)(x+1)", "expression", False),
    ("\\boxed{\\sqrt{8}}", "2\\sqrt{2}", "expression", True),
    ("\\boxed{\\pi/2}", "\\frac{\\pi}{2}", "expression", True),
    ("\\boxed{x**2 + 1}", "x^2+1", "expression", True),  # Python power
    ("\\boxed{2^{10}}", "1024", "number", True),  # LaTeX number goes to math-verify
    ("\\boxed{2^{10}}", "1000", "number", False),
]


@pytest.mark.parametrize("pred,gold,answer_type,expected", MATHVERIFY_CASES)
def test_grade_math_verify(warm_pool, pred, gold, answer_type, expected):
    assert grade(pred, gold, answer_type) is expected


HARD_CASES = [  # (prediction, gold): the budget ends them (benchmarks/bench_grading.py times them)
    ("\\boxed{" + "(" * 100 + "x" + ")" * 100 + "}", "x"),
    ("\\boxed{10^10^10}", "1"),
    ("\\boxed{10^{10^{10}}}", "1"),  # sympy would compute a 10-billion-digit integer
    ("\\boxed{" + "+".join(f"x^{{{i}}}" for i in range(200)) + "}", "x"),
]


@pytest.mark.parametrize("pred,gold", HARD_CASES)
def test_hard_expressions_are_wrong(warm_pool, pred, gold):
    assert grade(pred, gold, "expression", timeout=1.0) is False  # none of these equals its gold


def test_pool_warmup_starts_workers(warm_pool):
    assert len(warm_pool._idle) == warm_pool.size, "warm workers should be waiting"
    assert warm_pool._server is not None and warm_pool._server.alive()


def test_timeout_kills_and_replaces_worker(warm_pool):
    pool = _mathverify.pool()
    before = pool.timeouts
    r = grade_detailed("\\boxed{10^{10^{10}}}", "2", "expression", timeout=0.5)
    assert (r.correct, r.reason) == (False, "timeout")
    assert pool.timeouts == before + 1
    # the same answer again: from the cache (no second timeout), still reported as a timeout
    r = grade_detailed("\\boxed{10^{10^{10}}}", "2", "expression", timeout=0.5)
    assert (r.correct, r.reason) == (False, "timeout") and pool.timeouts == before + 1
    # the replacement worker answers the next question correctly
    assert grade("\\boxed{3x+3}", "3(x+1)", "expression") is True
    assert len(pool._idle) == pool.size


def test_grade_off_the_main_thread(warm_pool):
    jobs = [
        ("\\boxed{x^2+2x+1}", "(x+1)^2", True),
        ("\\boxed{10^{10^{10}}}", "5", False),
        ("\\boxed{\\frac{2}{4}}", "\\frac12", True),
        ("\\boxed{y+1}", "x+1", False),
    ]
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def work(i, pred, gold):
        try:
            results[i] = grade(pred, gold, "expression")
        except BaseException as e:  # surfaced below: a ValueError from math-verify's signals would land here
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, p, g)) for i, (p, g, _) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert [results[i] for i in range(len(jobs))] == [e for _, _, e in jobs]


def _grade_in_child(q):
    try:
        q.put(grade("\\boxed{2x+2}", "2(x+1)", "expression"))
    except BaseException as e:
        q.put(repr(e))


def test_grade_in_forked_child(warm_pool):
    import multiprocessing as mp

    ctx = mp.get_context("fork")  # a forked child starts its own server (never its parent's sockets)
    q = ctx.Queue()
    p = ctx.Process(target=_grade_in_child, args=(q,), daemon=True)  # daemonic: no multiprocessing children
    p.start()
    try:
        assert q.get(timeout=60) is True
    finally:
        p.join(10)


def test_a_server_that_cannot_start_is_a_clear_error(monkeypatch):
    import sys

    pool = _mathverify.MathVerifyPool(1)
    monkeypatch.setattr(_mathverify, "_server_command", lambda: ([sys.executable, "-c", "raise SystemExit(7)"], {}))
    with pytest.raises(RuntimeError, match="math-verify server .* exited with code 7"):
        pool.verify("x", "x+0", 1.0)
    pool.shutdown()


def test_long_responses():  # their speed: benchmarks/bench_grading.py
    filler = "Let me think about this step by step. " * 50_000  # ~1.9 MB
    assert grade(filler + "\nAnswer: (B)", "B", "choice", OPTS) is True
    assert grade(filler + "\\boxed{12}", "12", "number") is True
    assert grade(filler, "B", "choice", OPTS) is False  # long and no answer: no fallback
    assert grade("{" * 200_000, "x", "expression") is False
    assert grade("\\boxed{" + "{" * 200_000, "x", "expression") is False  # unclosed, deep braces
    assert grade("\\boxed{" * 1200 + "5" + "}" * 1200, "5", "expression") is False  # 1200 nested boxes
    assert grade("The answer is " * 1000, "B", "choice", OPTS) is False  # many phrases, no answer
    assert grade("<answer>" * 2000 + "B</answer>", "B", "choice", OPTS) is True
    assert grade(" ".join("ABCD" * 2000), "B", "choice", OPTS) is False


def test_repeated_answers_are_cached(warm_pool, monkeypatch):
    assert grade("\\boxed{4y+4}", "4(y+1)", "expression") is True

    def no_worker(*a, **k):
        raise AssertionError("a repeated answer must come from the cache, not a worker")

    monkeypatch.setattr(_mathverify._Worker, "run", no_worker)
    for _ in range(200):
        assert grade("\\boxed{4y+4}", "4(y+1)", "expression") is True


# ------------------------------------------------------------------------------ adversarial replies (issue 13)
DIGITS = ["1", "2", "3", "4"]  # option C is "3"
# (reply, gold, answer_type, choices, expected) under the default (strict) rule. Each wrong one is a reply a
# policy could learn if it were graded correct: the gold's word, digit or letter appears only inside LaTeX,
# an unclosed box, option text inside a longer answer, several answers at once.
ADVERSARIAL_CASES = [
    # choice
    ("\\boxed{\\sqrt[3]{74}}", "C", "choice", DIGITS, False),  # issue 13: the "3" of \sqrt[3] picked option C
    ("\\boxed{\\frac{3}{7}}", "C", "choice", DIGITS, False),
    ("\\boxed{x^{3}}", "C", "choice", DIGITS, False),
    ("\\boxed{\\sqrt{9}}", "C", "choice", DIGITS, False),  # options are matched as text, never evaluated
    ("\\boxed{-3}", "C", "choice", DIGITS, False),  # punctuation is not dropped from a number
    ("\\boxed{33}", "C", "choice", DIGITS, False),
    ("\\boxed{\\triangle ABC}", "C", "choice", DIGITS, False),
    ("\\boxed{\\angle C}", "C", "choice", DIGITS, False),
    ("\\boxed{C", "C", "choice", DIGITS, False),  # unclosed
    ("The answer is 3 or 4", "C", "choice", DIGITS, False),
    ("Answer: C, D", "C", "choice", DIGITS, False),
    ("I think it is C", "C", "choice", DIGITS, False),  # a letter inside a sentence: lenient only
    ("\\boxed{C) 4}", "C", "choice", DIGITS, False),  # letter and text disagree
    ("\\boxed{C. because it is larger}", "C", "choice", DIGITS, False),  # lenient only
    ("The length is 12 cm, not 14 cm", "B", "choice", OPTS, False),  # option text inside a longer answer
    ("\\boxed{112 cm}", "B", "choice", OPTS, False),
    ("\\boxed{x-1}", "A", "choice", ["x+1", "x-1"], False),  # math options keep their signs
    ("\\boxed{x+1}", "A", "choice", ["x+1", "x-1"], True),
    ("\\boxed{C}", "C", "choice", DIGITS, True),
    ("\\boxed{\\mathrm{C}}", "C", "choice", DIGITS, True),
    ("\\boxed{3}", "C", "choice", DIGITS, True),  # the whole answer is option C's text
    ("\\boxed{3.0}", "C", "choice", DIGITS, True),
    ("Answer: C) 3", "C", "choice", DIGITS, True),
    # number
    ("\\boxed{42", "42", "number", (), False),  # issue 13: an unclosed box matched gold 42
    ("The answer is \\boxed{42", "42", "number", (), False),
    ("\\boxed{41} so \\boxed{42", "42", "number", (), False),
    ("\\boxed{42, 43}", "42", "number", (), False),
    ("\\boxed{42 \\text{ or } 43}", "42", "number", (), False),
    ("\\boxed{420}", "42", "number", (), False),
    ("\\boxed{-42}", "42", "number", (), False),
    ("\\boxed{\\text{forty-two}}", "42", "number", (), False),
    ("\\boxed{42}\\boxed{43}", "42", "number", (), False),
    ("\\boxed{4.2e1}", "42", "number", (), True),
    ("\\boxed{\\text{42}}", "42", "number", (), True),
    # text
    ("\\boxed{\\text{Paris}\\text{London}}", "Paris", "text", (), False),
    ("\\boxed{\\sqrt{Paris}}", "Paris", "text", (), False),
    ("\\boxed{\\text{Paris}", "Paris", "text", (), False),  # unclosed
    ("Answer: Paris, London", "Paris", "text", (), False),
    ("Answer: Pari", "Paris", "text", (), False),
    ("\\boxed{\\mathrm{Paris}}", "Paris", "text", (), True),
    # boolean
    ("\\boxed{\\left(x\\right)}", "yes", "boolean", (), False),  # issue 13: \right read as the word "right"
    ("\\boxed{\\right}", "yes", "boolean", (), False),
    ("\\boxed{\\Rightarrow}", "yes", "boolean", (), False),
    ("\\boxed{\\sqrt{yes}}", "yes", "boolean", (), False),
    ("\\boxed{\\checkmark}", "yes", "boolean", (), False),
    ("\\boxed{\\top}", "true", "boolean", (), False),
    ("\\boxed{\\neg}", "no", "boolean", (), False),
    ("\\boxed{\\nolimits}", "no", "boolean", (), False),
    ("\\boxed{yes", "yes", "boolean", (), False),
    ("Answer: yes and no", "yes", "boolean", (), False),
    ("Answer: Yes, it is correct", "yes", "boolean", (), False),  # a phrase: lenient only
    ("\\boxed{\\text{Yes}}", "yes", "boolean", (), True),
    ("\\boxed{\\textbf{Correct}.}", "yes", "boolean", (), True),
    ("\\boxed{\\text{right}}", "yes", "boolean", (), True),  # the word itself, in a text wrapper
    # expression (settled without math-verify)
    ("\\boxed{x+1", "x+1", "expression", (), False),
    ("\\boxed{x+1} \\boxed{x+2}", "x+1", "expression", (), False),
    ("\\boxed{}", "x+1", "expression", (), False),
]
ADVERSARIAL_MATHVERIFY = [  # (reply, gold, answer_type): all wrong; math-verify decides them
    ("\\boxed{\\sqrt[42]{1}}", "42", "number"),
    ("\\boxed{x_{42}}", "42", "number"),
    ("\\boxed{42 \\pm 1}", "42", "number"),
    ("\\boxed{\\{42, 43\\}}", "42", "number"),
    ("\\boxed{x \\geq 42}", "42", "number"),
    ("\\boxed{\\left(x\\right)}", "x+1", "expression"),
    ("\\boxed{\\sqrt{x+1}}", "x+1", "expression"),
    ("\\boxed{x+1 \\text{ or } x+2}", "x+1", "expression"),
    ("\\boxed{x+1, x+2}", "x+1", "expression"),
]


@pytest.mark.parametrize("pred,gold,answer_type,choices,expected", ADVERSARIAL_CASES)
def test_adversarial_replies(pred, gold, answer_type, choices, expected):
    assert grade(pred, gold, answer_type, choices) is expected


@pytest.mark.parametrize("pred,gold,answer_type", ADVERSARIAL_MATHVERIFY)
def test_adversarial_replies_math_verify(warm_pool, pred, gold, answer_type):
    assert grade(pred, gold, answer_type) is False


# (reply, gold, answer_type, choices, strict verdict, lenient verdict): what lenient=True relaxes, and what
# it does not (grade.py's docstring lists the rules)
LENIENT_CASES = [
    ("Option B is the right one", "B", "choice", OPTS, False, True),
    ("I think it is C", "C", "choice", DIGITS, False, True),
    ("\\boxed{C. because it is larger}", "C", "choice", DIGITS, False, True),
    ("Answer: not true", "False", "boolean", (), False, True),
    ("Answer: Yes, it is correct", "yes", "boolean", (), False, True),
    ("No, it is not true.", "no", "boolean", (), False, True),
    ("<answer> 42", "42", "number", (), False, True),  # truncated answer tag
    # never relaxed
    ("\\boxed{\\sqrt[3]{74}}", "C", "choice", DIGITS, False, False),
    ("\\boxed{\\triangle ABC}", "C", "choice", DIGITS, False, False),
    ("The length is 12 cm, not 14 cm", "B", "choice", OPTS, False, False),
    ("Answer: B or C", "B", "choice", OPTS, False, False),
    ("\\boxed{\\left(x\\right)}", "yes", "boolean", (), False, False),
    ("Answer: yes or no", "yes", "boolean", (), False, False),
    ("\\boxed{42", "42", "number", (), False, False),
    ("\\boxed{A} or \\boxed{B}", "B", "choice", OPTS, False, False),
]


@pytest.mark.parametrize("pred,gold,answer_type,choices,strict,lenient", LENIENT_CASES)
def test_lenient_relaxes_only_what_it_says(pred, gold, answer_type, choices, strict, lenient):
    assert grade(pred, gold, answer_type, choices) is strict
    assert grade(pred, gold, answer_type, choices, lenient=True) is lenient


def test_grade_detailed_reasons():
    assert grade_detailed("\\boxed{A} \\boxed{B}", "A", "choice", OPTS).reason.startswith("several")
    assert grade_detailed("\\boxed{}", "A", "choice", OPTS).reason == "empty box"
    assert grade_detailed("no idea " * 100, "A", "choice", OPTS).reason == "no answer"
    r = grade_detailed("Answer: 12", "B", "choice", OPTS)
    assert (r.correct, r.extracted, r.reason) == (True, "12", "correct")


@pytest.mark.parametrize(
    "gold,answer_type,choices,match",
    [
        ("B", "essay", (), "answer_type 'essay'"),
        ("Q", "choice", OPTS, "neither a letter"),
        ("maybe", "boolean", (), "not yes/no"),  # issue 13: trained until step 5, then crashed
        ("banana", "number", (), "neither a number"),  # issue 13: trained silently with reward 0
        ("  ", "text", (), "empty"),
        ("x+1", "choice", ["x+1", "x+1 "], "neither a letter"),  # two options with the same text
    ],
)
def test_bad_gold_raises(gold, answer_type, choices, match):
    with pytest.raises(ValueError, match=match):
        grade("\\boxed{B}", gold, answer_type, choices)


def test_gold_given_as_option_text():
    assert grade("\\boxed{B}", "12 cm", "choice", OPTS) is True
    assert grade("\\boxed{B}", "x-1", "choice", ["x+1", "x-1"]) is True


@pytest.mark.parametrize(
    "gold,answer_type",
    [("42", "number"), ("\\sqrt{2}", "number"), ("2^{10}", "number"), ("1,234 cm", "number"), ("no", "boolean"),
     ("\\text{True}", "boolean"), ("B", "choice"), ("x^2", "expression"), ("Eiffel Tower", "text")],
)
def test_readable_golds(gold, answer_type):
    choices = OPTS if answer_type == "choice" else ()
    assert gold_error(gold, answer_type, choices) is None


def test_no_eval(monkeypatch):
    import builtins

    def boom(*a, **k):
        raise AssertionError("eval called")

    monkeypatch.setattr(builtins, "eval", boom)
    assert grade("\\boxed{__import__('os')}", "1", "number") is False
    assert grade("\\boxed{3/4}", "0.75", "number") is True


def test_expression_text_is_never_executed(warm_pool, tmp_path):
    # sympify / parse_expr on the raw text would run this; grading must never execute a response
    marker = tmp_path / "pwned"
    pred = f"\\boxed{{__import__('pathlib').Path('{marker}').touch()}}"
    assert grade(pred, "1", "expression") is False
    assert not marker.exists()
