"""Bounded, seeded fuzz of `grade` (issue 13): generated adversarial replies of every answer type.

Properties, per answer type:
- no reply raises (random junk included: braces, backslashes, lone surrogates, control characters);
- no decoy is graded correct. A decoy lacks the gold's value: the gold's letter, digits or word appear
  only inside LaTeX commands (`\\sqrt[3]{..}`, `x_{7919}`, `\\left(..\\right)`), the box is unclosed, or the
  reply names other values or several at once;
- replies that do state the gold (in the accepted forms, behind random wrappers) are graded correct, so
  the decoy property cannot hold by a grader that says "wrong" to everything.
The first reply of each kind that breaks a property is shown in the failure.
"""

from __future__ import annotations

import random

import pytest

from mmreason.core.grading import grade, warmup

SEED = 13
WRAPS = [  # how the answer is presented
    lambda s: f"\\boxed{{{s}}}",
    lambda s: f"Step 1: look.\nAnswer: {s}",
    lambda s: f"<think>hmm</think><answer>{s}</answer>",
    lambda s: f"The final answer is ${s}$.",
    lambda s: f"so we get \\boxed{{\\boxed{{{s}}}}}",
]


def unclosed(s: str) -> str:
    return f"We conclude \\boxed{{{s}"


def junk(rng: random.Random) -> str:
    alphabet = "{}\\[]()^_$<>/ \n\tabcxyz0123ABC,.;:!?-+*=" + "\udc80\ud800\x00\u200b\u2212é漢"
    words = ["\\boxed{", "\\left", "\\right", "\\text{", "<answer>", "</answer>", "Answer:", "\\frac", "\\sqrt["]
    return "".join(rng.choice(alphabet) if rng.random() < 0.8 else rng.choice(words) for _ in range(rng.randint(1, 80)))


def in_command(rng: random.Random, tok: str) -> str:
    """`tok` inside a LaTeX command's argument, where it is not the answer."""
    n = rng.randint(2, 9)
    return rng.choice([
        f"\\sqrt[{tok}]{{{n}}}", f"\\frac{{{tok}}}{{{n}}}", f"{n}^{{{tok}}}", f"x_{{{tok}}}", f"\\log_{{{tok}}} {n}",
        f"\\mathcal{{{tok}}}", f"\\overline{{{tok}{n}}}", f"\\angle A{tok}B", f"\\vec{{{tok}}}", f"\\hat{{{tok}}}",
    ])


def joined(rng: random.Random, parts: list[str]) -> str:
    return rng.choice([" or ", ", ", " and ", " "]).join(parts)


# --------------------------------------------------------------------------------------- per answer type
def choice_case(rng):
    options = rng.choice([["1", "2", "3", "4"], ["red", "green", "blue", "yellow"], ["10 cm", "12 cm", "14 cm", "16 cm"]])
    g = rng.randrange(4)
    letter, text = "ABCD"[g], options[g]
    others = [i for i in range(4) if i != g]
    o = rng.choice(others)
    decoys = [
        in_command(rng, letter), in_command(rng, text.split()[0]),
        "ABCD"[o], options[o], f"({'ABCD'[o]})", f"{'ABCD'[o]}) {options[o]}", f"{letter}) {options[o]}",
        f"\\left({'ABCD'[o]}\\right)", joined(rng, [in_command(rng, letter), options[o]]),
        f"{rng.randint(50, 999)}", f"\\triangle AB{letter}", f"{letter}{letter}",
    ]
    several = [joined(rng, [letter, "ABCD"[o]]), joined(rng, [text, options[o]]), "A, B, C, D",
               f"\\boxed{{{letter}}} \\boxed{{{'ABCD'[o]}}}"]
    right = [letter, f"({letter})", f"{letter}) {text}", text, f"\\text{{{letter}}}", f"Option {letter}"]
    return (letter, options), decoys, several, right


def number_case(rng):
    gold = rng.choice([7919, 104729, 1299709])  # primes: no power, product or fraction of small numbers is one
    g = str(gold)
    a, b = rng.randint(2, 50), rng.randint(2, 50)
    decoys = [
        in_command(rng, g), f"-{g}", f"{g}{rng.randint(0, 9)}", f"{a}", f"{a}+{b}", f"\\frac{{{a}}}{{{b}}}",
        f"{g}^{{{a}}}", f"\\sqrt{{{g}}}", f"{g[:-1]}", f"\\text{{{g[:2]}}}{g[2:]}0",
    ]
    several = [joined(rng, [g, str(a)]), f"\\{{{g}, {a}\\}}", f"({g}, {a})", f"\\boxed{{{g}}} \\boxed{{{a}}}"]
    right = [g, f"{gold:,}", f"{g}.0", f"{g} cm", f"x = {g}", f"\\text{{{g}}}"]
    return (g, ()), decoys, several, right


def expression_case(rng):
    gold = "x^{2}+1"
    decoys = [
        "\\sqrt{x^{2}+1}", "(x^{2}+1)^{2}", "\\frac{x^{2}+1}{2}", "x^{2}+2", "x^{2}", "y^{2}+1",
        "\\left(x^{2}+1\\right)^{3}", "x^{3}+1", "2x^{2}+2", "x_{2}+1",
    ]
    several = ["x^{2}+1, x", "x^{2}+1 \\text{ or } x", "\\boxed{x^{2}+1} \\boxed{x}"]
    right = ["x^{2}+1", "1+x^{2}", "x^2 + 1", "\\left(x^{2}+1\\right)", "x**2+1"]
    return (gold, ()), decoys, several, right


def text_case(rng):
    gold = rng.choice(["Paris", "photosynthesis", "Eiffel Tower"])
    other = rng.choice(["London", "respiration", "Big Ben"])
    decoys = [in_command(rng, gold.split()[0]), other, f"\\text{{{other}}}", f"not {gold}", gold[:-1], f"{gold}ian",
              f"\\sqrt{{{gold}}}", f"\\text{{{gold}}}\\text{{{other}}}"]
    several = [joined(rng, [gold, other]), f"\\boxed{{{gold}}} \\boxed{{{other}}}"]
    right = [gold, gold.lower(), f"the {gold}.", f"\\text{{{gold}}}", f"\\mathrm{{{gold}}}"]
    return (gold, ()), decoys, several, right


def boolean_case(rng):
    yes = rng.random() < 0.5
    gold = rng.choice(["yes", "Yes", "true", "correct"] if yes else ["no", "No", "false", "incorrect"])
    word = rng.choice(["yes", "true", "correct", "right"] if yes else ["no", "false", "incorrect", "wrong"])
    opposite = rng.choice(["no", "false", "incorrect"] if yes else ["yes", "true", "correct"])
    decoys = [
        "\\left(x\\right)", "\\right", "\\Rightarrow", "\\rightarrow", "\\checkmark", "\\top", "\\bot", "\\neg",
        "\\nolimits", "\\notin", in_command(rng, word), opposite, f"\\text{{{opposite}}}", f"{word}ness", f"{word}s",
    ]
    several = [joined(rng, [word, opposite]), f"\\boxed{{{word}}} \\boxed{{{opposite}}}"]
    right = [word, word.upper(), f"\\text{{{word}}}", f"**{word.capitalize()}**.", f"\\textbf{{{word}}}"]
    return (gold, ()), decoys, several, right


CASES = {"choice": (choice_case, 120), "number": (number_case, 60), "expression": (expression_case, 30),
         "text": (text_case, 120), "boolean": (boolean_case, 120)}


@pytest.fixture(scope="module")
def warm():
    warmup()


@pytest.mark.parametrize("answer_type", list(CASES))
def test_fuzz_grade(warm, answer_type):
    make, rounds = CASES[answer_type]
    rng = random.Random(f"{SEED}-{answer_type}")
    graded_right, missed = [], []
    for _ in range(rounds):
        (gold, choices), decoys, several, right = make(rng)
        wrap = rng.choice(WRAPS)
        for reply, must_be_wrong in [(wrap(rng.choice(decoys)), True), (wrap(rng.choice(several)), True),
                                     (unclosed(rng.choice(right)), True), (junk(rng), False)]:
            verdict = grade(reply, gold, answer_type, choices)  # never raises
            assert isinstance(verdict, bool)
            if verdict and must_be_wrong:
                graded_right.append(reply)
        reply = wrap(rng.choice(right))
        if not grade(reply, gold, answer_type, choices):
            missed.append((reply, gold))
    assert not graded_right, f"{len(graded_right)} replies without the gold's value graded correct: {graded_right[:3]}"
    assert not missed, f"{len(missed)} right answers graded wrong: {missed[:3]}"
