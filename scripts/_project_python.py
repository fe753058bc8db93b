"""What Quarto's ``pre-render`` and ``post-render`` scripts share.

Quarto runs them with its Python (``$QUARTO_PYTHON``, else ``python3`` on
``PATH``) in the project folder. When that Python lacks the package (a shell
without the venv activated) and ``.venv`` exists, :func:`ensure_lsreport`
re-runs the calling script with ``.venv/bin/python``.
"""

import os
import sys
from pathlib import Path

ROOT = Path(os.environ.get("QUARTO_PROJECT_DIR") or Path(__file__).resolve().parents[1])


def ensure_lsreport(step: str) -> None:
    """Return when ``lsreport`` imports; else re-exec with the venv, or exit saying why."""
    try:
        import lsreport  # noqa: F401
    except ImportError:
        venv = ROOT / ".venv" / "bin" / "python"
        # a venv's python is a link to the base interpreter, so compare prefixes
        if venv.exists() and Path(sys.prefix).resolve() != venv.parent.parent.resolve():
            os.execv(str(venv), [str(venv), *sys.argv])
        sys.exit(f"{step}: the lsreport package is not importable by "
                 f"{sys.executable}; run `make install` and `source .venv/bin/activate`")
