#!/usr/bin/env python3
"""Quarto's ``post-render`` step (``_quarto.yml``): the figures' download files.

Writes every figure of the book as PNG and PDF into ``<output dir>/figures/``
with :func:`lsreport.figure.export_all`: each chapter's own cells, run once
more from the cached results (``lsreport figure --all`` does the same by
hand). In a publish build (``book.publish``) the figures that show source
images are skipped, as they are on the pages. A render of single chapters
exports only their figures (``$QUARTO_PROJECT_OUTPUT_FILES``).
"""

import os
from pathlib import Path

from _project_python import ROOT, ensure_lsreport

ensure_lsreport("post-render")
from lsreport.figure import export_all  # noqa: E402

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR") or ROOT / "_book")
    if not out.is_absolute():
        out = ROOT / out
    chapters = None
    if os.environ.get("QUARTO_PROJECT_RENDER_ALL") != "1":
        # Quarto gives post-render the pages it wrote, relative to the project
        pages = os.environ.get("QUARTO_PROJECT_OUTPUT_FILES", "").split("\n")
        chapters = []
        for page in filter(str.strip, pages):
            try:
                rel = (ROOT / page).resolve().relative_to(out.resolve())
            except ValueError:
                continue
            chapters.append(rel.with_suffix(".qmd").as_posix())
    written = export_all(out / "figures", root=ROOT, chapters=chapters)
    print(f"post-render: {sum(map(len, written.values()))} figure files in {out / 'figures'}")
