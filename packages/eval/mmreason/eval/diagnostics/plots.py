"""PNG plots of a diagnostics summary (matplotlib, Agg backend): attention shares and ρ against the
normalised response step (correct vs incorrect), and the histogram of late/early ratios."""

from __future__ import annotations

import math
from pathlib import Path

from .attention import KEY_SETS

STYLE = {"correct": ("tab:green", "-"), "incorrect": ("tab:red", "--")}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None and not math.isnan(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


def _save(fig, path: Path) -> str:
    from mmreason.core.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _plt().close(fig)
    return path.name


def _legend(ax, summary: dict, group: str) -> str:
    agg = summary["aggregate"][group]
    return f"{group} (n={agg['n']})"


def plot_shares(summary: dict, path: Path) -> str:
    plt = _plt()
    x = summary["bin_centres"]
    fig, axes = plt.subplots(1, len(KEY_SETS), figsize=(4.2 * len(KEY_SETS), 3.4), sharex=True)
    for ax, name in zip(axes, KEY_SETS):
        for group, (colour, ls) in STYLE.items():
            if summary["aggregate"][group]["n"]:
                xs, ys = _series(x, summary["aggregate"][group]["curves"][f"{name}_share"])
                ax.plot(xs, ys, ls, color=colour, marker="o", ms=3, label=_legend(ax, summary, group))
        if name == "image" and summary["aggregate"]["all"]["n"]:
            xs, ys = _series(x, summary["aggregate"]["all"]["curves"].get("uniform_image_share", []))
            ax.plot(xs, ys, ":", color="grey", label="uniform attention (all)")
        ax.set_title(f"attention to {name} tokens")
        ax.set_xlabel("normalised response step")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of attention (mean over heads, layers)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{summary.get('model', '')}: attention shares per decoding step", fontsize=10)
    return _save(fig, path)


def plot_rho(summary: dict, path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for group, (colour, ls) in STYLE.items():
        if summary["aggregate"][group]["n"]:
            xs, ys = _series(summary["bin_centres"], summary["aggregate"][group]["curves"]["rho"])
            ax.plot(xs, ys, ls, color=colour, marker="o", ms=3, label=_legend(ax, summary, group))
    ax.set_xlabel("normalised response step")
    ax.set_ylabel("ρ = cos(h_t, mean image h)")
    ax.set_title("visual focus ρ (raw cosine, last layer)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_ratio_hist(summary: dict, path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    data = {
        g: [
            s["late_early_ratio"]
            for s in summary["samples"]
            if s["correct"] == (g == "correct") and s["late_early_ratio"] is not None
        ]
        for g in STYLE
    }
    allv = [v for vs in data.values() for v in vs]
    # bins span the data, the paper's values and 1.0, so the reference lines and the bars share a scale
    uni_v = summary["aggregate"]["all"].get("uniform_late_early_ratio_mean")
    lo = min(allv + [0.4] + ([uni_v] if uni_v is not None else []))
    hi = max(allv + [1.1])
    bins = [lo + (hi - lo) * i / 30 for i in range(31)]
    for g, (colour, _) in STYLE.items():
        if data[g]:
            ax.hist(data[g], bins=bins, alpha=0.55, color=colour, label=f"{g} (n={len(data[g])})")
    for g, v in summary.get("paper_late_early_ratio", {}).items():
        ax.axvline(v, color=STYLE[g][0], ls=":", lw=1, label=f"VGPO paper, {g}: {v}")
    uni = summary["aggregate"]["all"].get("uniform_late_early_ratio_mean")
    if uni is not None:
        ax.axvline(uni, color="grey", ls="--", lw=1, label=f"uniform attention (mean): {uni:.2f}")
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_xlabel("late / early visual attention ratio")
    ax.set_ylabel("samples")
    ax.legend(fontsize=7)
    return _save(fig, path)


def write_plots(summary: dict, out_dir: str | Path) -> list[str]:
    """Write attention_shares.png, visual_focus.png, late_early_ratio.png; returns their names."""
    out = Path(out_dir)
    return [
        plot_shares(summary, out / "attention_shares.png"),
        plot_rho(summary, out / "visual_focus.png"),
        plot_ratio_hist(summary, out / "late_early_ratio.png"),
    ]


__all__ = ["plot_ratio_hist", "plot_rho", "plot_shares", "write_plots"]
