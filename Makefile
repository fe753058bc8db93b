# The book and its tests, on a fresh machine:
#
#   make book    # venv + install, run the pipeline, render the book into _book/
#   make test    # venv + install, run every test (slow ones included)
#
# PROFILE picks the profile (smoke, default, full); it defaults to
# $LSREPORT_PROFILE, else "default". LSREPORT_CELEBA=/path/to/celeba makes the
# default profile use CelebA instead of the synthetic faces.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lsreport-installed
PROFILE ?= $(or $(LSREPORT_PROFILE),default)
# page of the book to screenshot besides index.html (make screenshot PAGE=...)
PAGE ?= chapters/03-component-distributions
SHOTS := _book/screenshots

.PHONY: book test install clean screenshot bench

book: $(STAMP)
	$(BIN)/lsreport run --upto sweep --profile $(PROFILE)
	$(BIN)/lsreport render --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest -q

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# reinstall only when the dependencies may have changed
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

clean:
	rm -rf _book .quarto

# needs Chromium (Debian: apt-get install chromium) and a rendered book
screenshot:
	scripts/screenshot.sh _book/index.html $(SHOTS)/index.png
	scripts/screenshot.sh _book/$(PAGE).html $(SHOTS)/$(notdir $(PAGE)).png

# timings as ratios against a baseline run side by side (see benchmarks/)
bench: $(STAMP)
	@set -e; for b in benchmarks/bench_*.py; do \
		echo "== $$b"; $(BIN)/python "$$b" $(BENCH_ARGS); \
	done
