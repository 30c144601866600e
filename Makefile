# XAI Workbook: two commands on a fresh machine.
#   make lab    set up .venv if needed, then open JupyterLab on notebooks/
#   make test   set up .venv if needed, then lint, unit tests, every notebook in fast mode (run
#               once, by the book's build: tests/publishing/test_book.py), the book read in a
#               browser, the nbgrader round trip and the JupyterLab browser test (installs
#               Debian's chromium if it can)
# Other targets: setup, book (the executed notebooks as a static HTML book, full mode, cached:
# build/book/html; BOOK_ARGS=--fast for CI's fast-mode build), bench, lint, strip (remove
# notebook outputs).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PIP_VERSION := 26.3
KERNEL := xai-workbook
LAB_ARGS ?=
BOOK_ARGS ?=

.PHONY: setup lab test lint browser book bench strip

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==$(PIP_VERSION)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[lab,dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (XAI Workbook)"
	@# nbgrader (a dev dependency, for the grading test) switches its JupyterLab menus and server
	@# extensions on when installed; keep the learner's JupyterLab as it was (docs/teaching.md
	@# says how a teacher switches them back on)
	@for extension in formgrader validate_assignment assignment_list course_list; do \
	  $(VENV)/bin/jupyter server extension disable --sys-prefix \
	    nbgrader.server_extensions.$$extension >/dev/null 2>&1 || exit 1; done
	$(VENV)/bin/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1
	@touch $(STAMP)

setup: $(STAMP)

lab: setup
	@echo "English: notebooks/NN_*.ipynb    中文版 (Chinese edition): notebooks/zh/NN_*.ipynb"
	cd notebooks && ../$(VENV)/bin/jupyter lab $(LAB_ARGS)

lint: setup
	$(VENV)/bin/ruff check xai_helpers tests benchmarks notebooks data tools conftest.py

# Debian's chromium (and a small CJK font, so screenshots show Chinese) for the browser tests
# (tests/widgets/test_browser.py, tests/publishing/test_book.py). Best effort: where they cannot
# be installed (no apt, no root) the tests are skipped and say why (under CI they fail).
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy || \
	  { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	    $$SUDO apt-get update -qq >/dev/null 2>&1; \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei \
	      >/dev/null 2>&1; } || \
	  echo "note: could not install chromium (needs apt and root); the browser test will be skipped"

# The notebooks run once, in fast mode, inside tests/publishing/test_book.py: each one is a
# test (test_notebook_runs[...]) that executes it through the book's jupyter-cache and fails
# with the cell's traceback, as `pytest --nbval-lax notebooks` did; the same executed outputs
# then make the book that the browser reads. Executing them a second time for the book would
# cost as much again as all the notebooks (CI has 20 minutes in all).
test: lint browser
	XAI_FAST=1 $(VENV)/bin/pytest tests --durations=15

# A static HTML book of every notebook executed in full mode (what a learner runs): landing
# page, outputs and figures, math, search, Chinese text; build/book/html is a folder to host
# anywhere. Execution is cached (build/book/jupyter_cache): a rebuild runs only the notebooks
# whose code changed, and all of them after a change to xai_helpers, data/ or the pins.
book: setup
	$(PY) tools/book.py $(BOOK_ARGS)

bench: setup
	$(PY) -m benchmarks

strip: setup
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb
