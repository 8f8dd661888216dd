#!/usr/bin/env bash
# One bf16-mixed FSDP2 step of a Qwen2.5-VL-3B-shaped random-init model on every GPU of this node: tokens/s and peak
# memory (scripts/gpu_check_fsdp.py). Needs a CUDA torch; nothing is downloaded.
#   bash scripts/gpu_check_fsdp.sh                 # all GPUs, 4 samples/rank × (1024 prompt + 256 image + 1024 response)
#   bash scripts/gpu_check_fsdp.sh --checkpointing # with gradient checkpointing
#   NPROC=1 bash scripts/gpu_check_fsdp.sh --smoke # a 2-layer model on the CPU: checks the script itself
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
NPROC="${NPROC:-$(nvidia-smi -L 2>/dev/null | wc -l)}"
[[ "$NPROC" -ge 1 ]] || NPROC=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}" TOKENIZERS_PARALLELISM=false
exec "$PY" -m torch.distributed.run --standalone --nproc_per_node="$NPROC" "$ROOT/scripts/gpu_check_fsdp.py" "$@"
