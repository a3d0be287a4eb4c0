# tickcast: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench lint system-deps broker frontend contract clean help

help:
	@echo "make demo   - set up and run the demo (bundled sample, API on 127.0.0.1:8000)"
	@echo "make test   - set up, lint, type-check and run every test"
	@echo "make bench  - run the benchmarks (JSON lines)"
	@echo "make broker - start a local Kafka broker (KRaft) on 127.0.0.1:9092"

# The core is Rust (rust/), compiled into tickcast/_core by maturin as pip installs the package;
# a change to its sources installs again. Cargo.lock is version 4: cargo 1.78 or newer.
RUST_SOURCES := rust/Cargo.toml rust/Cargo.lock $(wildcard rust/src/*.rs rust/src/*/*.rs) \
  build_backend/tickcast_build.py

$(STAMP): pyproject.toml $(RUST_SOURCES)
	@command -v cargo >/dev/null || { echo "tickcast's core is Rust: install a toolchain (1.78 or \
	newer) with rustup, https://rustup.rs, then run make again"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# System packages the tests need (Debian's): redis-server, Java 17 + Maven for the Kafka
# broker that infra/kafka/broker runs from Maven Central's jars (fetched once here), and
# prometheus for promtool, which checks infra/prometheus/prometheus.yml, and chromium with its
# driver for the live page's browser test, wrk for the API benchmark, nginx for the stack's entry
# point (infra/nginx/nginx.conf, tested in front of the demo), and docker-compose, whose
# `config` validates docker-compose.yml without a Docker engine.
APT_NEEDS := $(strip \
  $(if $(shell command -v redis-server),,redis-server) \
  $(if $(shell command -v java),,openjdk-17-jre-headless) \
  $(if $(shell command -v mvn),,maven) \
  $(if $(shell command -v promtool),,prometheus) \
  $(if $(shell command -v chromium),,chromium) \
  $(if $(shell command -v chromedriver),,chromium-driver) \
  $(if $(shell command -v wrk),,wrk) \
  $(if $(shell command -v nginx || test -x /usr/sbin/nginx && echo y),,nginx) \
  $(if $(shell command -v docker-compose),,docker-compose))

system-deps:
	@if [ -n "$(APT_NEEDS)" ]; then \
	  echo "installing $(APT_NEEDS) (Debian packages)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_NEEDS) >/dev/null; fi
	@infra/kafka/broker fetch

broker: system-deps  ## a local Kafka broker on 127.0.0.1:9092 (infra/kafka/broker stop ends it)
	infra/kafka/broker start

# The front end (frontend/): `npm ci` when its lock changes, a build into tickcast/api/app (which
# the API serves at /; not committed) when a source changes. Node.js 18 or newer (the tools are
# pinned to versions that run on Debian 12's nodejs 18 and on 20+): Debian's
# nodejs and npm are installed when npm is absent.
FRONTEND_SOURCES := $(addprefix frontend/,package-lock.json index.html vite.config.ts tsconfig.json) \
  $(shell find frontend/src -type f 2>/dev/null)
FRONTEND_DEPS := frontend/node_modules/.package-lock.json
APP := tickcast/api/app/index.html

$(FRONTEND_DEPS): frontend/package-lock.json
	@command -v npm >/dev/null || { echo "installing nodejs and npm (Debian packages)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(APP): $(FRONTEND_DEPS) $(FRONTEND_SOURCES)
	cd frontend && npm run --silent build
	@touch $@

frontend: $(APP)

bench: $(STAMP) system-deps  ## benchmarks, JSON lines (starts a broker and redis-server if needed)
	bench/run

demo: $(STAMP) $(APP)
	$(BIN)/tickcast demo

lint: $(STAMP) $(FRONTEND_DEPS)  ## Python: ruff, mypy; TypeScript: tsc, eslint, prettier
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd frontend && npm run --silent lint

test: $(STAMP) system-deps lint $(APP)
	cargo test --quiet --release --no-default-features --manifest-path rust/Cargo.toml
	cd frontend && npm test --silent
	$(BIN)/pytest

# The Python-Rust contract: contract/contract.toml written into rust/src/contract.rs and
# tickcast/contract.py (both committed; tests/unit/test_contract.py checks they are current).
contract: $(STAMP)
	$(BIN)/python contract/generate.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache rust/target tickcast/_core*.so \
	  frontend/node_modules tickcast/api/app
