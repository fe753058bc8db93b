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
import sys
from pathlib import Path

ROOT = Path(os.environ.get("QUARTO_PROJECT_DIR") or Path(__file__).resolve().parents[1])

try:
    from lsreport.render import prerender
except ImportError:
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists() and Path(sys.executable).resolve() != venv.resolve():
        os.execv(str(venv), [str(venv), *sys.argv])
    sys.exit("pre-render: the lsreport package is not importable by "
             f"{sys.executable}; run `make install` and `source .venv/bin/activate`")

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prerender(root=ROOT)
