#!/usr/bin/env python3
"""Quarto's ``pre-render`` step (``_quarto.yml``): run the pipeline first.

Quarto runs this file with its Python (``$QUARTO_PYTHON``, else ``python3``
on ``PATH``) in the project folder. When that Python lacks the package (a
shell without the venv activated) and ``.venv`` exists, it re-runs itself
with ``.venv/bin/python``. The work is :func:`lsreport.render.prerender`:
the pipeline for ``$LSREPORT_PROFILE`` (cached steps return at once), and
``_freeze/`` cleared when the profile or data changed.
"""

import os

from _project_python import ROOT, ensure_lsreport

ensure_lsreport("pre-render")
from lsreport.render import prerender  # noqa: E402

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prerender(root=ROOT)
