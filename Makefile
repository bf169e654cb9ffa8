# reformsim: `make demo` and `make test` each bootstrap .venv with a Python >= 3.12 they find.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Find a Python >= 3.12: on PATH first, then pyenv's installs (python3 may be 3.11 here).
PYTHON_FOR_VENV := $(shell for c in python3.13 python3.12 python3 python \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV); do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
	    command -v $$c; break; fi; done)

.PHONY: demo test venv clean baseline bench

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON_FOR_VENV)" ]; then echo "error: no Python >= 3.12 found (tried python3.13, python3.12, python3, pyenv versions)" >&2; exit 2; fi
	@echo "Using $(PYTHON_FOR_VENV)"
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	rm -rf out/demo  # a fresh demo each time (an older model version's results would not match)
	$(PY) -m reformsim demo --out out/demo

test: $(STAMP)
	$(PY) -m pytest -q

baseline: $(STAMP)
	$(PY) tests/update_baseline.py

bench: $(STAMP)
	$(PY) benchmarks/run_n_street.py

clean:
	rm -rf $(VENV) out .pytest_cache
