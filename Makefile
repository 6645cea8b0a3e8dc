# The two commands of the README: `make demo` and `make test`. Every target sets itself up on a
# fresh machine that has only a Rust toolchain and Python 3.11+.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
EXT := python/rmx/_rmx.abi3.so
RUST_SOURCES := $(shell find src crates -name '*.rs') $(wildcard Cargo.toml crates/*/Cargo.toml)

.PHONY: all build demo test test-rust test-python bench fuzz clean

all: build

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(DEPS): requirements-dev.txt | $(VPY)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements-dev.txt
	touch $@

# The extension, built into python/rmx/ (an editable install into .venv) in the `quick` profile,
# the one the Rust tests use: both share every compiled crate, so `make test` compiles rmx-graph
# once for the library and once for its unit tests, not again for the extension. Wheels for
# users are built with `maturin build --release` (thin LTO).
$(EXT): $(DEPS) $(RUST_SOURCES) pyproject.toml
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH maturin develop --profile quick --quiet
	touch $@

build: $(EXT)

demo: build
	$(VPY) -m rmx.examples.mnist

test: test-rust test-python

# Longer runs of the reader fuzzers than the test suite's (see benches/fuzz_readers.py).
fuzz: build
	$(VPY) benches/fuzz_readers.py --cases 200000

test-rust:
	cargo test --workspace --profile quick

test-python: build
	$(VPY) -m pytest tests

bench: build
	cargo bench -p rmx-engine --bench push
	$(VPY) benches/ndarray.py
	$(VPY) benches/layers.py
	$(VPY) benches/step_ops.py --workload mlp

clean:
	cargo clean
	rm -rf $(VENV) $(EXT)
