# newswatch: the two commands are `make run` and `make test`; everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install run test test-slow lint format kafka-up kafka-down kafka-status clean

help:
	@echo "make run        start local Kafka, poller and worker on the sample feeds; print alerts (Ctrl-C stops all)"
	@echo "make test       lint, then the whole test suite on a real local Kafka"
	@echo "make test-slow  the heavy scenarios (crash, rebalance, burst, broker failover) and the long fuzz profile"
	@echo "make kafka-up / kafka-down / kafka-status   the local broker on its own (it keeps its data)"
	@echo "make clean      remove .venv and .cache, including the local broker's data (alerts, offsets, feed state)"

# The venv is rebuilt when the pinned dependencies change.
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	@echo "make install: Python dependencies into $(VENV) (pinned in requirements*.lock; ~40 s the first time)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# The matcher's native core (matcher/native, Rust + PyO3): rebuilt into the venv when its sources change.
# Cargo comes from rustup (~/.cargo/bin); maturin (pinned in requirements-dev.lock) drives the build.
NATIVE := matcher/native
NATIVE_STAMP := $(VENV)/.native-installed
NATIVE_SOURCES := $(NATIVE)/Cargo.toml $(NATIVE)/Cargo.lock $(NATIVE)/pyproject.toml $(wildcard $(NATIVE)/src/*.rs)
NATIVE_PATH := $(CURDIR)/$(BIN):$(HOME)/.cargo/bin:$(PATH)

$(NATIVE_STAMP): $(STAMP) $(NATIVE_SOURCES)
	@PATH="$(NATIVE_PATH)" command -v cargo >/dev/null || { echo "make install: the matcher needs Rust (cargo); install it with rustup" >&2; exit 1; }
	@echo "make install: compiling the matcher's Rust core ($(NATIVE); ~40 s the first time)"
	@PATH="$(NATIVE_PATH)" $(BIN)/pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps \
		--force-reinstall ./$(NATIVE)
	@touch $@

SYSTEM_STAMP := .cache/.system-deps

$(SYSTEM_STAMP): scripts/install-system-deps
	@echo "make install: Debian packages (prometheus, alertmanager, kcat, Java, Maven, Chromium and its driver), only those missing"
	@scripts/install-system-deps
	@mkdir -p .cache && touch $@

COMPOSE_SCHEMA := .cache/compose-spec.json

$(COMPOSE_SCHEMA): scripts/fetch-compose-schema
	scripts/fetch-compose-schema

install: $(STAMP) $(NATIVE_STAMP) $(SYSTEM_STAMP) $(COMPOSE_SCHEMA)
	@echo "make install: done; the newswatch command is .venv/bin/newswatch (or: source .venv/bin/activate)"

run: install
	$(BIN)/newswatch run

# The pytest session fixture reuses a broker already answering on NEWSWATCH_KAFKA_BOOTSTRAP
# (default 127.0.0.1:9092) or starts the local one and stops it at the end.
test: install lint
	$(BIN)/pytest -q

test-slow: install
	$(BIN)/pytest -q -m slow
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -q -m fuzz

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

kafka-up: install
	$(BIN)/newswatch kafka up

kafka-down: install
	$(BIN)/newswatch kafka down

kafka-status: install
	$(BIN)/newswatch kafka status

clean:
	-$(BIN)/newswatch kafka down 2>/dev/null
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache *.egg-info $(NATIVE)/target
