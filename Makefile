# The book's two commands (see README.md):
#   make book   set up .venv, execute the notebooks, build the HTML book and open it
#   make test   set up .venv, run every test (library, notebooks, book build with warnings as errors)
# and a few more: make lab, make bench, make lint, make clean.

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HTML   := _build/html/index.html
TORCH  := $(shell grep -E '^torch==' requirements.txt)

# Where pip may also look for PyTorch. "auto": PyTorch's CPU-only index on a Linux machine without
# an NVIDIA driver (the default PyPI build for Linux carries several GB of CUDA libraries);
# nothing extra elsewhere (macOS and Windows get CPU/MPS builds from PyPI). GPU users set it to the
# CUDA index that pytorch.org's selector gives, e.g. `make book TORCH_INDEX=<url>`; "none" disables it.
TORCH_INDEX ?= auto
ifeq ($(TORCH_INDEX),auto)
  TORCH_INDEX := $(shell if [ "$$(uname -s)" = Linux ] && ! command -v nvidia-smi >/dev/null 2>&1; \
                   then echo https://download.pytorch.org/whl/cpu; fi)
endif
ifeq ($(TORCH_INDEX),none)
  TORCH_INDEX :=
endif

.PHONY: book test lab bench lint clean setup

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "== installing PyTorch ($(TORCH)$(if $(TORCH_INDEX), from $(TORCH_INDEX) or PyPI)) =="
	$(PY) -m pip install --disable-pip-version-check -q --retries 1 --no-deps \
	    $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) "$(TORCH)"
	@echo "== installing requirements.txt (with torch's own dependencies) and rnnlib (editable) =="
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@touch $@

# Jupyter Book's execution cache keys on each notebook's code cells, not on rnnlib: empty it
# whenever rnnlib or the requirements change, so a build never serves stale results. `make test`
# fills it as nbval executes the notebooks, so the book build that follows executes none of them
# again (tests/nbcache.py says how).
fresh-cache = $(PY) tests/nbcache.py fresh

book: $(STAMP)
	@$(fresh-cache)
	RNNLIB_PROGRESS=0 $(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo; echo "The book is at: file://$(CURDIR)/$(HTML)"
	@if [ -z "$$CI" ] && { [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ "$$(uname -s)" = Darwin ]; }; then \
	  $(PY) -m webbrowser -t "file://$(CURDIR)/$(HTML)" >/dev/null 2>&1 || true; fi

test: $(STAMP)
	@test -n "$$(ls chapters/*.ipynb 2>/dev/null)" || { echo "no notebooks in chapters/: nothing to test is a failure"; exit 1; }
	$(VENV)/bin/ruff check rnnlib tests benchmarks tools conftest.py
	@$(fresh-cache)
	@echo "== library tests, doctests and every notebook (nbval) =="
	@RNNLIB_PROGRESS=0 $(PY) -m pytest --doctest-modules --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
	    -p no:cacheprovider rnnlib tests chapters; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here"; exit 1; fi; exit $$rc
	@echo "== the book, warnings as errors (the notebooks come from the execution cache) =="
	@$(fresh-cache)
	RNNLIB_PROGRESS=0 $(VENV)/bin/jupyter-book build . -W -n --keep-going
	$(PY) tests/check_offline_html.py _build/html
	@echo "All tests passed; the book is at file://$(CURDIR)/$(HTML)"

lab: $(STAMP)
	@test -x $(VENV)/bin/jupyter-lab || $(PY) -m pip install -q "jupyterlab==4.6.6"
	$(VENV)/bin/jupyter-lab chapters/

bench: $(STAMP)
	$(PY) -m benchmarks.bench_rnn

lint: $(STAMP)
	$(VENV)/bin/ruff check rnnlib tests benchmarks tools conftest.py

clean:
	rm -rf _build .pytest_cache
