# The book and its tests, on a fresh machine:
#
#   make book    # venv + install, run the pipeline, quarto render: HTML + PDF into _book/
#   make pdf     # the same, but fail when the PDF cannot be made (no TeX)
#   make preview # quarto preview for authors (re-renders a chapter on save)
#   make test    # venv + install, run every test (slow ones included)
#
# Rendering is Quarto's. Without `quarto` on PATH, `make book` installs the
# quarto-cli wheel from PyPI into .venv; without TeX it renders the HTML only.
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

.PHONY: book pdf html preview pipeline test install clean screenshot bench

# the pipeline first (progress in the terminal), then `quarto render`, whose
# pre-render step (scripts/prerender.py) finds every step cached
book: pipeline
	$(BIN)/lsreport render --profile $(PROFILE) --install-quarto

pdf: pipeline
	$(BIN)/lsreport render --profile $(PROFILE) --install-quarto --to all

html: pipeline
	$(BIN)/lsreport render --profile $(PROFILE) --install-quarto --to html

pipeline: $(STAMP)
	$(BIN)/lsreport run --upto sweep --profile $(PROFILE)

preview: pipeline
	source $(BIN)/activate && LSREPORT_PROFILE=$(PROFILE) QUARTO_PYTHON=$(abspath $(BIN)/python) quarto preview

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
	rm -rf _book .quarto _freeze

# needs Chromium (Debian: apt-get install chromium) and a rendered book
screenshot:
	scripts/screenshot.sh _book/index.html $(SHOTS)/index.png
	scripts/screenshot.sh _book/$(PAGE).html $(SHOTS)/$(notdir $(PAGE)).png

# timings as ratios against a baseline run side by side (see benchmarks/)
bench: $(STAMP)
	@set -e; for b in benchmarks/bench_*.py; do \
		echo "== $$b"; $(BIN)/python "$$b" $(BENCH_ARGS); \
	done
