"""Run the diagnostics: generate, teacher-force once with attentions, summarise, plot.

For each batch of records: the response is generated (HFBackend, greedy by default), then ONE
teacher-forced forward over prompt + response with eager attention and `output_attentions=True`
gives, per response step, the attention shares (image / question / generated) and the last-layer
hidden states for ρ. Only one batch's attentions (all layers) are alive at a time; peak memory is
layers × batch × heads × S² floats, so keep `batch_size` small for real models.

Per-sample results are appended to `<out_dir>/samples.jsonl` as they are computed, tagged with a key
of everything that determines them; a rerun with the same settings resumes. `summary.json` and the
PNGs are written atomically at the end.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import statistics
from pathlib import Path
from typing import Any

import torch

from mmreason.core.focus import visual_focus

from ..config import DiagnosticsConfig
from .attention import KEY_SETS, attention_shares, key_masks, late_early_ratio, progress_bins, uniform_shares

log = logging.getLogger(__name__)

PAPER_LATE_EARLY = {"correct": 0.68, "incorrect": 0.53}  # VGPO (arXiv 2604.09349) observation, RLVR 7B model


# ---------------------------------------------------------------- one batch


def _encode_images_first(model, inputs: dict) -> dict:
    """Run the vision tower on its own (without `output_attentions`) and hand its output to the
    forward as `mm_encoder_outputs`: otherwise the vision blocks' attention maps (patches² per head,
    large for real images) are recorded too. Falls back to pixel_values where unsupported."""
    import inspect

    if (
        "pixel_values" not in inputs
        or "mm_encoder_outputs" not in inspect.signature(model.model.forward).parameters
    ):
        return inputs
    rest = dict(inputs)
    pixels = rest.pop("pixel_values")
    rest["mm_encoder_outputs"] = {
        "image": model.model.get_image_features(pixels, rest["image_grid_thw"], return_dict=True)
    }
    return rest


@torch.no_grad()
def trace_batch(
    model, processor, chats, responses: list[list[int]], min_pixels=None, max_pixels=None
) -> list[dict]:
    """Teacher-force `responses[i]` after `chats[i]` in one eager forward with attentions.

    Per sample: `shares` (T rows of 3, in KEY_SETS order), `rho` [T], `late_early_ratio` (None if undefined),
    `uniform_late_early_ratio` (the same ratio under uniform causal attention: the dilution baseline),
    key counts, and `share_sum_error` = max_t |1 - Σ shares| (0 up to rounding; see attention.py).
    """
    from mmreason.core.models import append_responses, build_batch, image_token_mask

    batch = build_batch(processor, chats, True, min_pixels, max_pixels)
    full = append_responses(batch, responses, processor.tokenizer.pad_token_id)
    device = next(model.parameters()).device
    full = {k: v.to(device) for k, v in full.items()}
    rmask = full.pop("response_mask")
    out = model.model(**_encode_images_first(model, full), use_cache=False, output_attentions=True)
    attn = getattr(out, "attentions", None)
    if not attn or any(a is None for a in attn):
        raise RuntimeError(
            "the model returned no attention weights: load it with attn_implementation='eager' "
            "(sdpa / flash attention do not materialise them)"
        )
    S, R = full["input_ids"].shape[1], rmask.shape[1]
    image = image_token_mask(full["input_ids"], model) & full["attention_mask"].bool()
    km = key_masks(full["attention_mask"], image, rmask)
    shares = attention_shares(attn, km, torch.arange(S - R, S, device=device))  # [B, R, 3]
    hidden = out.last_hidden_state
    del attn, out  # free the attention maps before the next batch
    rho = visual_focus(hidden, image, rmask, normalise=False)  # raw cosine: comparable across samples
    ratio = late_early_ratio(shares[..., 0], rmask)
    uniform_image = uniform_shares(km, torch.arange(S - R, S, device=device))[..., 0]
    uniform_ratio = late_early_ratio(uniform_image, rmask)
    shares, rho, ratio, uniform_ratio, km = (x.cpu() for x in (shares, rho, ratio, uniform_ratio, km))
    results = []
    for b, resp in enumerate(responses):
        T = len(resp)
        s = shares[b, :T]
        results.append(
            {
                "n_tokens": T,
                "n_keys": {name: int(km[b, i].sum()) for i, name in enumerate(KEY_SETS)},
                "shares": [[round(float(v), 6) for v in row] for row in s],
                "rho": [round(float(v), 6) for v in rho[b, :T]],
                "late_early_ratio": _finite(ratio[b]),
                "uniform_late_early_ratio": _finite(uniform_ratio[b]),
                "share_sum_error": float((s.sum(-1) - 1).abs().max()) if T else 0.0,
            }
        )
    return results


# ---------------------------------------------------------------- summary


def _finite(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _mean(xs) -> float | None:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return sum(xs) / len(xs) if xs else None


def _curve(per_sample: list[list[float]], n_bins: int) -> list[float | None]:
    """Per-bin mean over samples of their binned series (empty bins skipped; None if all empty)."""
    binned = [progress_bins(v, n_bins) for v in per_sample if v]
    return [_mean([b[i] for b in binned]) for i in range(n_bins)]


def _uniform_image(sample: dict) -> list[float]:
    """Image share per step under uniform causal attention: n_image / (n_prompt + t + 1)."""
    k = sample["n_keys"]
    return [k["image"] / (k["image"] + k["question"] + t + 1) for t in range(sample["n_tokens"])]


def aggregate(samples: list[dict], n_bins: int) -> dict[str, Any]:
    """Means over samples (each sample's per-step mean first), ratio stats and binned curves."""
    out: dict[str, Any] = {"n": len(samples)}
    for i, name in enumerate(KEY_SETS):
        out[f"mean_{name}_share"] = _mean([_mean([r[i] for r in s["shares"]]) for s in samples])
    ratios = [s["late_early_ratio"] for s in samples if s["late_early_ratio"] is not None]
    out["late_early_ratio_mean"] = _mean(ratios)
    out["late_early_ratio_median"] = statistics.median(ratios) if ratios else None
    out["n_with_ratio"] = len(ratios)
    out["uniform_late_early_ratio_mean"] = _mean([s.get("uniform_late_early_ratio") for s in samples])
    out["mean_rho"] = _mean([_mean(s["rho"]) for s in samples])
    out["mean_n_tokens"] = _mean([s["n_tokens"] for s in samples])
    out["curves"] = {
        **{
            f"{name}_share": _curve([[r[i] for r in s["shares"]] for s in samples], n_bins)
            for i, name in enumerate(KEY_SETS)
        },
        "uniform_image_share": _curve([_uniform_image(s) for s in samples if "n_keys" in s], n_bins),
        "rho": _curve([s["rho"] for s in samples], n_bins),
    }
    return out


def summarize(samples: list[dict], n_bins: int, meta: dict | None = None) -> dict[str, Any]:
    groups = {
        "all": samples,
        "correct": [s for s in samples if s["correct"]],
        "incorrect": [s for s in samples if not s["correct"]],
    }
    return {
        **(meta or {}),
        "key_sets": list(KEY_SETS),
        "bin_centres": [(i + 0.5) / n_bins for i in range(n_bins)],
        "n_samples": len(samples),
        "accuracy": _mean([float(s["correct"]) for s in samples]),
        "max_share_sum_error": max((s["share_sum_error"] for s in samples), default=0.0),
        "paper_late_early_ratio": PAPER_LATE_EARLY,
        "aggregate": {g: aggregate(v, n_bins) for g, v in groups.items()},
        "samples": samples,
    }


# ---------------------------------------------------------------- the job


def run_diagnostics(cfg) -> dict[str, Any]:
    """The whole job for a composed `diagnostics` config (keys `model`, `diagnostics`). Returns the
    summary dict (also written to `<out_dir>/summary.json`, with the PNGs beside it)."""
    from rich.progress import Progress

    from mmreason.core.chat import record_to_chat
    from mmreason.core.config import ModelConfig, to_dataclass
    from mmreason.core.generation.base import SamplingParams
    from mmreason.core.generation.hf import HFBackend
    from mmreason.core.io import JsonlAppender, atomic_write_json, read_jsonl
    from mmreason.core.models import load_policy
    from mmreason.core.schema import make_id

    from .data import load_records
    from .plots import write_plots

    dcfg = to_dataclass(cfg.diagnostics, DiagnosticsConfig)
    mcfg = to_dataclass(cfg.model, ModelConfig)
    if mcfg.attn_implementation != "eager":
        log.info("diagnostics: loading the model with eager attention (was %s)", mcfg.attn_implementation)
        mcfg = dataclasses.replace(mcfg, attn_implementation="eager")
    out_dir = Path(dcfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    records = load_records(dcfg.data, dcfg.n, dcfg.seed, dcfg.split, dcfg.images_only)
    from mmreason.core.grading import grade

    grader_name = "mmreason.core.grading.grade"
    model, processor = load_policy(mcfg)
    backend = HFBackend(model, processor, dcfg.batch_size, mcfg.min_pixels, mcfg.max_pixels)
    params = SamplingParams(
        temperature=dcfg.temperature,
        top_p=dcfg.top_p,
        max_new_tokens=dcfg.max_new_tokens,
        seed=dcfg.seed if dcfg.temperature > 0 else None,
    )
    key = make_id(
        backend.describe(),
        dataclasses.asdict(mcfg),
        dcfg.data,
        dcfg.split,
        dcfg.seed,
        dcfg.max_new_tokens,
        dcfg.temperature,
        dcfg.top_p,
        dcfg.system,
        dcfg.template,
    )
    cache_path = out_dir / "samples.jsonl"
    done = {}
    if dcfg.resume:
        done = {r["id"]: r for r in read_jsonl(cache_path) if isinstance(r, dict) and r.get("key") == key}
    else:
        cache_path.unlink(missing_ok=True)
    todo = [r for r in records if r["id"] not in done]
    position = {r["id"]: i for i, r in enumerate(records)}
    if done:
        log.info(
            "diagnostics: resuming, %d of %d samples already in %s",
            len(records) - len(todo),
            len(records),
            cache_path,
        )

    with JsonlAppender(cache_path) as sink, Progress() as progress:
        task = progress.add_task("diagnostics", total=len(records), completed=len(records) - len(todo))
        for start in range(0, len(todo), dcfg.batch_size):
            part = todo[start : start + dcfg.batch_size]
            chats = [record_to_chat(r, dcfg.system, dcfg.template) for r in part]
            if params.seed is not None:  # a distinct sampling seed per batch, from its first record's index
                params = dataclasses.replace(params, seed=dcfg.seed + position[part[0]["id"]])
            completions = [c[0] for c in backend.generate(chats, params)]
            traces = trace_batch(
                model, processor, chats, [c.token_ids for c in completions], mcfg.min_pixels, mcfg.max_pixels
            )
            for rec, comp, tr in zip(part, completions, traces):
                sample = {
                    "key": key,
                    "id": rec["id"],
                    "task_type": rec["task_type"],
                    "answer": rec["answer"],
                    "prediction": comp.text,
                    "finish_reason": comp.finish_reason,
                    "correct": bool(
                        grade(comp.text, rec["answer"], rec["answer_type"], list(rec["choices"]))
                    ),
                    **tr,
                }
                sink.write(sample)
                done[rec["id"]] = sample
            progress.advance(task, len(part))

    samples = [{k: v for k, v in done[r["id"]].items() if k != "key"} for r in records]
    meta = {
        "model": backend.describe(),
        "grader": grader_name,
        "config": dataclasses.asdict(dcfg),
        "step_definition": "step t = attention row of response token t (sees prompt, earlier response tokens, itself)",
        "late_early_definition": "sum of image share over the last floor(T/2) steps / over the first floor(T/2)",
        "rho_definition": "raw cos(last-layer h_t, mean last-layer h over image tokens), not min-max normalised",
    }
    summary = summarize(samples, dcfg.n_bins, meta)
    summary["plots"] = write_plots(summary, out_dir)
    atomic_write_json(out_dir / "summary.json", summary)
    return summary


__all__ = [
    "DiagnosticsConfig",
    "aggregate",
    "run_diagnostics",
    "summarize",
    "trace_batch",
]
