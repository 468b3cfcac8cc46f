# `make demo` and `make test` do all set-up from nothing: Debian packages, .venv, Python packages.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SYSSTAMP := $(VENV)/.system-stamp

.PHONY: setup demo test test-fast lint bench clean

setup: $(SYSSTAMP) $(STAMP)

$(SYSSTAMP): scripts/setup-system.sh
	sh scripts/setup-system.sh
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

demo: setup
	$(VENV)/bin/tinyscope analyze zoo:mnist-cnn
	$(VENV)/bin/tinyscope study zoo:mnist-cnn --preset seed -o out/demo

test: setup
	$(PY) -m ruff check tinyscope tests bench
	$(PY) -m pytest -q -n 2 --durations=15 -p no:cacheprovider

test-fast: setup
	$(PY) -m pytest -q -m "not sim and not e2e and not fuzz"

lint: setup
	$(PY) -m ruff check tinyscope tests bench

clean:
	rm -rf $(VENV) out .tinyscope-cache
