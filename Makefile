# tickcast: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint unit system-deps clean help

help:
	@echo "make demo   - set up and run the demo (bundled sample, API on 127.0.0.1:8000)"
	@echo "make test   - set up, lint, type-check and run every test"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# System packages the tests need: a real redis-server (Debian's package).
system-deps:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (Debian package)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server >/dev/null; }

demo: $(STAMP)
	$(BIN)/tickcast demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check tickcast tests
	$(BIN)/mypy

test: $(STAMP) system-deps lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
