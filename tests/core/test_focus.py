"""The one visual-focus function (core/focus.py): raw cosine for the diagnostics, per-sequence min-max for VGPO."""

import math

import torch

from mmreason.core.focus import masked_minmax, visual_focus

# positions: 0 pad, 1-2 image (mean (0.5, 0.5)), 3 question, 4-6 response
HIDDEN = torch.tensor([[[9.0, 9.0], [1, 0], [0, 1], [5, -3], [1, 1], [1, -1], [2, 0]]])
IMAGE = torch.tensor([[0, 1, 1, 0, 0, 0, 0]], dtype=torch.bool)


def test_raw_focus_is_the_cosine_to_the_image_mean_by_hand():
    # cos((1,1), (.5,.5)) = 1, cos((1,-1), .) = 0, cos((2,0), .) = 1/√2
    raw = visual_focus(HIDDEN, IMAGE, torch.tensor([[1, 1, 1]]), normalise=False)
    torch.testing.assert_close(raw, torch.tensor([[1.0, 0.0, 1 / math.sqrt(2)]]))
    raw = visual_focus(HIDDEN, IMAGE, torch.tensor([[1, 1, 0]]), normalise=False)
    torch.testing.assert_close(raw, torch.tensor([[1.0, 0.0, 0.0]]))  # padding -> 0, no min-max
    no_image = visual_focus(HIDDEN, torch.zeros_like(IMAGE), torch.tensor([[1, 1, 1]]), normalise=False)
    assert no_image.abs().max().item() == 0.0


def test_normalised_focus_is_the_min_max_of_the_raw_one():
    # [1, 0, 1/√2] -> [1, 0, 1/√2]; with the last token padding: [1, 0] -> [1, 0], padding 0
    for mask in (torch.tensor([[1, 1, 1]]), torch.tensor([[1, 1, 0]]), torch.tensor([[0, 1, 1]])):
        raw = visual_focus(HIDDEN, IMAGE, mask, normalise=False)
        norm = visual_focus(HIDDEN, IMAGE, mask, normalise=True)
        torch.testing.assert_close(norm, masked_minmax(raw, mask))
    torch.testing.assert_close(
        visual_focus(HIDDEN, IMAGE, torch.tensor([[0, 1, 1]]), normalise=True), torch.tensor([[0.0, 0.0, 1.0]])
    )  # (0, 1/√2) -> (0, 1); the first position is padding


def test_focus_is_detached_float32():
    h = HIDDEN.clone().requires_grad_(True)
    out = visual_focus(h.to(torch.float64), IMAGE, torch.tensor([[1, 1, 1]]), normalise=True)
    assert out.dtype == torch.float32 and not out.requires_grad
