# `make run` starts the whole app; `make test` runs the whole suite (CONTRACT §1).
# Both create .venv and install what they need the first time; later runs skip that.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PG_URL := $(filter postgresql%,$(DATABASE_URL) $(TEST_DATABASE_URL))
# Test processes in parallel (pytest-xdist); most tests wait on real processes, not the CPU.
TEST_WORKERS ?= 4

.PHONY: run test lint format bench clean help

help:
	@echo "make run   - start web, workers and (embedded) Redis on http://127.0.0.1:$${PORT:-8000}"
	@echo "make test  - run the whole test suite (real Redis, real database)"
	@echo "make lint  - ruff"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m compileall -q app scripts worker.py wsgi.py >/dev/null
	@touch $@

$(VENV)/.test-deps: requirements-test.txt $(VENV)/.deps
	$(PY) -m pip install --quiet -r requirements-test.txt
	@touch $@

$(VENV)/.pg-deps: requirements-postgres.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-postgres.txt
	@touch $@

PG_DEPS := $(if $(PG_URL),$(VENV)/.pg-deps,)

run: $(VENV)/.deps $(PG_DEPS)
	$(PY) scripts/run.py

test: $(VENV)/.test-deps $(PG_DEPS)
	$(BIN)/ruff check app tests bench scripts worker.py wsgi.py
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.test-deps
	$(BIN)/ruff check app tests bench scripts worker.py wsgi.py

format: $(VENV)/.test-deps
	$(BIN)/ruff format app tests bench scripts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
