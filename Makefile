# XAI Workbook: two commands on a fresh machine.
#   make lab    set up .venv if needed, then open JupyterLab on notebooks/
#   make test   set up .venv if needed, then lint, unit tests, every notebook in fast mode and
#               the JupyterLab browser test (installs Debian's chromium if it can)
# Other targets: setup, bench, lint, strip (remove notebook outputs).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PIP_VERSION := 26.3
KERNEL := xai-workbook
LAB_ARGS ?=

.PHONY: setup lab test lint browser bench strip

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==$(PIP_VERSION)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[lab,dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (XAI Workbook)"
	@touch $(STAMP)

setup: $(STAMP)

lab: setup
	cd notebooks && ../$(VENV)/bin/jupyter lab $(LAB_ARGS)

lint: setup
	$(VENV)/bin/ruff check xai_helpers tests benchmarks notebooks data tools conftest.py

# Debian's chromium (and a small CJK font, so screenshots show Chinese) for the browser test
# (tests/test_browser.py). Best effort: where they cannot be installed (no apt, no root) the
# test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy || \
	  { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	    $$SUDO apt-get update -qq >/dev/null 2>&1; \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei \
	      >/dev/null 2>&1; } || \
	  echo "note: could not install chromium (needs apt and root); the browser test will be skipped"

test: lint browser
	XAI_FAST=1 $(VENV)/bin/pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 --durations=10

bench: setup
	$(PY) -m benchmarks

strip: setup
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb
