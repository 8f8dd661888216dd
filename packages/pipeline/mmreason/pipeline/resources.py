"""What a pipeline run records about where it ran: wall time and peak memory per stage, package versions.

    with StageMeter() as m:          # m.result -> {"seconds", "peak_rss_mb", "peak_rss_scope", "peak_cuda_mb"}
        run_stage()
    environment()                    # python, platform, torch/CUDA, the versions of the packages the stages use

Peak RSS is the pipeline process's own (child processes such as the math-verify server are not counted).
On Linux the kernel's high-water mark is reset when a stage starts (`/proc/self/clear_refs`, "5"), so the
value is the stage's own peak ("stage"); elsewhere it is the process's peak so far ("process").
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from importlib import metadata
from pathlib import Path

PACKAGES = ("mmreason", "torch", "transformers", "tokenizers", "datasets", "hydra-core", "omegaconf", "numpy",
            "pillow", "matplotlib", "wandb", "math-verify", "networkx", "vllm")


def _vm_hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _cuda():
    try:
        import torch

        return torch.cuda if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a dependency
        return None


class StageMeter:
    """Context manager measuring a block's wall time and peak memory (module docstring)."""

    def __enter__(self) -> StageMeter:
        self.scope = "stage" if _reset_hwm() and _vm_hwm_mb() is not None else "process"
        self.cuda = _cuda()
        if self.cuda is not None:
            self.cuda.reset_peak_memory_stats()
        self.t0 = time.perf_counter()
        self.result: dict = {}
        return self

    def __exit__(self, *exc) -> None:
        hwm = _vm_hwm_mb() if self.scope == "stage" else None
        if hwm is None:  # ru_maxrss: KiB on Linux, bytes on macOS
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        self.result = {"seconds": round(time.perf_counter() - self.t0, 2), "peak_rss_mb": round(hwm, 1),
                       "peak_rss_scope": self.scope}
        if self.cuda is not None:
            self.result["peak_cuda_mb"] = round(self.cuda.max_memory_allocated() / 2**20, 1)


def environment() -> dict:
    """Python, OS, CPU/GPU and the installed versions of PACKAGES (absent ones left out)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    env = {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
           "packages": versions}
    cuda = _cuda()
    if cuda is not None:
        env["gpus"] = [cuda.get_device_name(i) for i in range(cuda.device_count())]
    return env
