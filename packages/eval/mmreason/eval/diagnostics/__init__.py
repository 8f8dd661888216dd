"""Visual-attention diagnostics (the observation that motivates VGPO, arXiv 2604.09349).

    python -m mmreason.eval.diagnostics diagnostics.n=32 model.path=/ckpt/Qwen2.5-VL-7B-Instruct

For each response step: the share of attention paid to image tokens, to the question (the other
prompt tokens) and to earlier generated text, split by correct / incorrect answers; the late/early
visual accumulation ratio; the raw visual focus ρ per token (`mmreason.core.focus.visual_focus`, the
function VGPO's weights use in its normalised form). Writes `summary.json` and PNGs.

Modules: `attention` (pure math on tensors), `data` (records or synthetic shape images),
`run` (generation + one teacher-forced eager forward per batch + summary), `plots`.
"""

from mmreason.core.focus import visual_focus  # the one visual-focus function (raw here: normalise=False)

from .attention import KEY_SETS, attention_shares, key_masks, late_early_ratio, progress_bins, uniform_shares
from .data import load_records, synthetic_records
from .run import DiagnosticsConfig, run_diagnostics, summarize, trace_batch

__all__ = [
    "KEY_SETS",
    "DiagnosticsConfig",
    "attention_shares",
    "key_masks",
    "late_early_ratio",
    "load_records",
    "progress_bins",
    "run_diagnostics",
    "summarize",
    "synthetic_records",
    "trace_batch",
    "uniform_shares",
    "visual_focus",
]
