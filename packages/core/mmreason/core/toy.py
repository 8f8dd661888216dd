"""Generated toy tasks a tiny VLM can learn on a CPU: one image, a few coloured shapes, 4 choices.

    records = make_shape_records(256, seed=0, task="colour")   # train split
    heldout = make_shape_records(256, seed=1, task="colour")   # held-out split: another seed

Tasks (answer_type `choice`, 4 options, choices always in the same order so the letter names the option):
- `colour`:         one shape; "What colour is the shape?"           choices red, green, blue, yellow
- `largest_colour`: 2-3 shapes of different colours and clearly different sizes; colour of the largest
- `count`:          1-4 shapes of one colour; "How many shapes are there?" choices 1, 2, 3, 4

Deterministic: the same (n, seed, task, size) gives the same images, text and ids. Image width and
height are drawn from `size` = (min, max) pixels; records follow the schema (mmreason.core.schema).
"""

from __future__ import annotations

import json
import random

from PIL import Image, ImageDraw

from .schema import IMAGE_MARKER, choice_letters, make_id

COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (235, 200, 30)}
SHAPES = ("circle", "square", "triangle")
TASKS = ("colour", "largest_colour", "count")
QUESTIONS = {
    "colour": "What colour is the shape?",
    "largest_colour": "What colour is the largest shape?",
    "count": "How many shapes are there?",
}


def _draw(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], fill) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=fill)


def _free_box(rng: random.Random, w: int, h: int, side: int, taken: list) -> tuple[int, int, int, int]:
    """A square box of `side` px inside the image, not overlapping `taken` (best effort, 50 tries)."""
    box = (0, 0, side, side)
    for _ in range(50):
        x, y = rng.randint(0, max(0, w - side)), rng.randint(0, max(0, h - side))
        box = (x, y, x + side - 1, y + side - 1)
        if all(box[2] < t[0] or box[0] > t[2] or box[3] < t[1] or box[1] > t[3] for t in taken):
            break
    taken.append(box)
    return box


def make_shape_image(rng: random.Random, task: str, size: tuple[int, int] = (56, 112)) -> tuple[Image.Image, str]:
    """One image for `task` and its answer text (a colour name or a count)."""
    w, h = rng.randint(*size), rng.randint(*size)
    bg = tuple(rng.randint(235, 255) for _ in range(3))
    im = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(im)
    small = min(w, h)
    taken: list = []
    names = list(COLOURS)
    if task == "colour":
        colour = rng.choice(names)
        side = rng.randint(small // 3, small * 3 // 4)
        _draw(draw, rng.choice(SHAPES), _free_box(rng, w, h, side, taken), COLOURS[colour])
        return im, colour
    if task == "largest_colour":
        k = rng.randint(2, 3)
        colours = rng.sample(names, k)
        sides = sorted(rng.sample(range(small // 6, small // 2 + 1), k), reverse=True)
        sides = [sides[0]] + [min(s, int(sides[0] * 0.55)) for s in sides[1:]]  # the largest clearly wins
        for colour, side in zip(colours, sides):
            _draw(draw, rng.choice(SHAPES), _free_box(rng, w, h, max(4, side), taken), COLOURS[colour])
        return im, colours[0]
    if task == "count":
        k = rng.randint(1, 4)
        colour = rng.choice(names)
        for _ in range(k):
            side = rng.randint(small // 7, small // 4)
            _draw(draw, rng.choice(SHAPES), _free_box(rng, w, h, max(4, side), taken), COLOURS[colour])
        return im, str(k)
    raise ValueError(f"toy.py: unknown task {task!r}; known: {TASKS}")


def make_shape_records(
    n: int, seed: int = 0, task: str = "colour", size: tuple[int, int] = (56, 112)
) -> list[dict]:
    """`n` schema records for `task`, deterministic per `seed` (use different seeds for splits)."""
    if task not in TASKS:
        raise ValueError(f"toy.py: unknown task {task!r}; known: {TASKS}")
    lo, hi = int(size[0]), int(size[1])
    if not 28 <= lo <= hi:
        raise ValueError(f"toy.py: size must be (min, max) with 28 <= min <= max, got {size}")
    choices = list(COLOURS) if task != "count" else ["1", "2", "3", "4"]
    letters = choice_letters(len(choices))
    options = "\n".join(f"{letter}. {c}" for letter, c in zip(letters, choices))
    rng = random.Random(f"mmreason-toy/{task}/{seed}")
    out = []
    for i in range(n):
        im, truth = make_shape_image(rng, task, (lo, hi))
        answer = letters[choices.index(truth)]
        problem = f"{IMAGE_MARKER}{QUESTIONS[task]}\n{options}"
        out.append(
            {
                "id": make_id("toy", task, seed, i, list(size), prefix="toy-"),
                "images": [im],
                "problem": problem,
                "answer": answer,
                "answer_type": "choice",
                "choices": list(choices),
                "task_type": f"toy_{task}",
                "domain": "toy",
                "provenance": json.dumps({"generator": "mmreason.core.toy", "task": task, "seed": seed, "index": i}),
                "quality": "",
            }
        )
    return out


__all__ = ["COLOURS", "TASKS", "make_shape_image", "make_shape_records"]
