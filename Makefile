# Downhill: `make run` serves the playground, `make test` runs every test, `make bench` measures.
# Each target creates .venv when it is missing, with a Python >= 3.12 found by scripts/find-python.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
ORACLE_VENV := .venv-oracle
PORT ?= 5006

.PHONY: run test bench oracle golden lint browser nginx clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

run: $(VENV)/.installed
	$(VENV)/bin/downhill --port $(PORT)

# The whole suite: lint, the live torch oracle (when python3.11 is here), unit, property and
# browser tests. Browser tests need Debian's chromium, the scale-out test Debian's nginx:
# both installed here when apt-get can.
test: $(VENV)/.installed browser nginx
	$(PY) -m ruff check .
	@if command -v python3.11 >/dev/null 2>&1; then $(MAKE) --no-print-directory oracle; \
	  else echo "*** python3.11 not found: live torch oracle skipped; golden files still checked ***"; fi
	$(PY) -m pytest -p no:cacheprovider

lint: $(VENV)/.installed
	$(PY) -m ruff check .

browser:
	@scripts/ensure-chromium

nginx:
	@scripts/ensure-nginx

# torch's CPU wheel on this machine is for Python 3.11 only; the core is pure numpy and runs there.
$(ORACLE_VENV)/.installed: scripts/oracle-requirements.txt
	@test -x $(ORACLE_VENV)/bin/python || python3.11 -m venv $(ORACLE_VENV)
	$(ORACLE_VENV)/bin/python -m pip install -q -r scripts/oracle-requirements.txt
	@touch $@

# Only the core's tests: the oracle venv has no panel (the app's tests do not belong there).
ORACLE_TESTS := tests/oracle tests/landscapes tests/optimizers tests/circuits
oracle: $(ORACLE_VENV)/.installed
	PYTHONPATH=$(CURDIR) $(ORACLE_VENV)/bin/python -m pytest -p no:cacheprovider -m oracle $(ORACLE_TESTS)

# Rewrite the golden files from live torch (commit the result): every scripts/make_golden*.py.
golden: $(ORACLE_VENV)/.installed
	@for script in scripts/make_golden*.py; do \
	  echo "$$script"; PYTHONPATH=$(CURDIR) $(ORACLE_VENV)/bin/python $$script || exit 1; done

bench: $(VENV)/.installed browser
	$(VENV)/bin/python -m pip install -q -e '.[bench]'
	@if command -v python3.11 >/dev/null 2>&1; then $(MAKE) --no-print-directory $(ORACLE_VENV)/.installed; fi
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(ORACLE_VENV) .pytest_cache .ruff_cache
