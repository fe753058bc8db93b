# The book and its tests, on a fresh machine:
#
#   make book    # venv + install, run the pipeline, quarto render: HTML + PDF into _book/
#   make pdf     # the same, but fail when the PDF cannot be made (no TeX)
#   make preview # quarto preview for authors (re-renders a chapter on save)
#   make test    # venv + install, run every test (slow ones included)
#   make fast-dlib  # optional: dlib built against OpenBLAS, the face metrics ~5x faster
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

.PHONY: book pdf html preview pipeline test install clean screenshot bench fast-dlib fast-dlib-undo

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

# Optional. The dlib-bin wheel computes its face network without BLAS; built
# from source against OpenBLAS, a face descriptor takes ~16 ms instead of ~80
# and the generation step about half the time, its numbers equal to 5
# significant digits (not bit for bit: BLAS sums in another order). Needs a
# C++ compiler, CMake and the OpenBLAS headers (Debian: apt-get install
# build-essential cmake libopenblas-dev); the build takes 10 to 15 minutes on
# 2 cores. It replaces the module files of dlib-bin in the venv; the wheel
# stays in build/dlib-wheel and unpacked in build/dlib-blas (for
# benchmarks/bench_dlib_blas.py). `make fast-dlib-undo` puts dlib-bin back.
DLIB_VERSION ?= 20.0.1
fast-dlib: $(STAMP)
	$(BIN)/pip wheel --no-deps --no-binary dlib "dlib==$(DLIB_VERSION)" -w build/dlib-wheel
	rm -rf build/dlib-blas && mkdir -p build/dlib-blas
	cd build/dlib-blas && $(CURDIR)/$(BIN)/python -m zipfile -e ../dlib-wheel/dlib-$(DLIB_VERSION)-*.whl .
	@PYTHONPATH=build/dlib-blas $(BIN)/python -c "import dlib, sys; sys.exit(0 if dlib.DLIB_USE_BLAS else \
		'dlib was built without BLAS: install the OpenBLAS headers (Debian: libopenblas-dev), delete build/dlib-wheel and run make fast-dlib again')"
	$(BIN)/pip install --no-deps --force-reinstall build/dlib-wheel/dlib-$(DLIB_VERSION)-*.whl
	$(BIN)/python -c "import dlib; print('dlib', dlib.__version__, 'with BLAS:', dlib.DLIB_USE_BLAS)"

fast-dlib-undo: $(STAMP)
	$(BIN)/pip uninstall -y dlib
	$(BIN)/pip install --no-deps --force-reinstall dlib-bin

# needs Chromium (Debian: apt-get install chromium) and a rendered book
screenshot:
	scripts/screenshot.sh _book/index.html $(SHOTS)/index.png
	scripts/screenshot.sh _book/$(PAGE).html $(SHOTS)/$(notdir $(PAGE)).png

# timings as ratios against a baseline run side by side (see benchmarks/)
bench: $(STAMP)
	@set -e; for b in benchmarks/bench_*.py; do \
		echo "== $$b"; $(BIN)/python "$$b" $(BENCH_ARGS); \
	done
