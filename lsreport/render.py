"""What Quarto does not do for us; Quarto renders the book (HTML and PDF).

- :func:`prerender`, the ``pre-render`` step of ``_quarto.yml``: the profile
  from ``$LSREPORT_PROFILE``, the pipeline (cached steps return at once), and
  ``_freeze/`` cleared when profile or data changed (``freeze: auto`` looks
  only at a chapter's source);
- :func:`render_book` (``make book``): find or install Quarto, PDF only with
  TeX, chapters in *this* Python;
- :func:`execute_chapter`: one chapter in a Jupyter kernel (jupytext +
  nbclient), for tests on machines without Quarto.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["QuartoNotFoundError", "RenderResult", "ChapterExecutionError", "book_chapters",
           "cell_options", "execute_chapter", "find_quarto", "find_tex", "freeze_fingerprint",
           "guard_freeze", "prerender", "render_book"]

#: Seconds one cell may run in :func:`execute_chapter`.
DEFAULT_TIMEOUT = 1800
#: Quarto's own pattern for inline expressions (src/resources/jupyter/notebook.py).
INLINE_RE = re.compile(r"(?<!`)`\{python\}[ \t]([^`]+)`")
_OPTION_RE = re.compile(r"^#\s*\| ?")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NO_QUARTO = ("Quarto is needed to render the book and could not be installed. Get it from "
             "https://quarto.org/docs/get-started/ or with conda: "
             "`conda install -c conda-forge quarto`, then run `make book` again.")
NO_TEX = ("the PDF needs TeX: `quarto install tinytex`, or TeX Live "
          "(Debian: apt-get install texlive-xetex texlive-latex-extra)")


class QuartoNotFoundError(RuntimeError):
    """No ``quarto`` executable, and installing ``quarto-cli`` failed or was not asked for."""


class ChapterExecutionError(RuntimeError):
    """A chapter cell or inline expression failed; the message names both."""

    def __init__(self, chapter: str, where: str, detail: str):
        super().__init__(f"{chapter}: {where} failed\n{detail}")


def _root(root=None) -> Path:
    from .pipeline import project_root

    return Path(root) if root else project_root()


def book_chapters(root: str | os.PathLike | None = None) -> list[str]:
    """The chapter files of ``_quarto.yml`` in book order (parts flattened)."""
    data = yaml.safe_load((_root(root) / "_quarto.yml").read_text(encoding="utf-8")) or {}
    book = data.get("book") or {}

    def flat(items):
        for item in items or []:
            if isinstance(item, dict):
                yield from flat(item.get("chapters"))
            else:
                yield str(item)

    return list(flat((book.get("chapters") or []) + (book.get("appendices") or [])))


def freeze_fingerprint(cfg) -> str:
    """A hash of what the chapters' outputs depend on besides their source."""
    from . import __version__
    from .config import STEP_REVISIONS, celeba_path

    blob = json.dumps([__version__, cfg.to_dict(), cfg.resolved_data_source(), celeba_path(cfg),
                       STEP_REVISIONS], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def guard_freeze(cfg, root=None, log=print) -> bool:
    """Clear ``_freeze/`` (True) when it was made for another profile or data:
    ``freeze: auto`` re-executes a chapter only when its *source* changes."""
    freeze = _root(root) / "_freeze"
    stamp = freeze / "lsreport-fingerprint.json"
    fingerprint = freeze_fingerprint(cfg)
    old = json.loads(stamp.read_text())["fingerprint"] if stamp.exists() else None
    cleared = freeze.exists() and old != fingerprint
    if cleared:
        log(f"lsreport: profile or data changed since the last build; clearing {freeze}")
        shutil.rmtree(freeze)
    freeze.mkdir(exist_ok=True)
    stamp.write_text(json.dumps({"profile": cfg.profile, "fingerprint": fingerprint}))
    return cleared


def prerender(profile: str | None = None, *, root=None, upto: str = "sweep", log=print):
    """Quarto's ``pre-render`` step: run the pipeline, then guard ``_freeze/``
    (``profile``: default ``$LSREPORT_PROFILE``; ``root``: the Quarto project)."""
    from . import pipeline
    from .config import load_config

    cfg = load_config(profile)
    t0 = time.perf_counter()
    log(f"lsreport pre-render: profile {cfg.profile!r}, data {cfg.resolved_data_source()!r}")
    pipeline.run(cfg, upto=upto, progress=os.environ.get("QUARTO_PROJECT_SCRIPT_QUIET") != "1")
    guard_freeze(cfg, root, log)
    log(f"lsreport pre-render: pipeline ready in {time.perf_counter() - t0:.1f} s")
    return cfg


def find_quarto(install: bool = False, log=print) -> str:
    """The ``quarto`` executable: on ``PATH``, else beside this Python; with
    ``install=True`` a missing one comes from PyPI (``pip install quarto-cli``).
    Raises :class:`QuartoNotFoundError` saying how to get Quarto."""
    here = Path(sys.executable).parent / "quarto"
    found = shutil.which("quarto") or (str(here) if here.exists() else None)
    if found:
        return found
    if not install:
        raise QuartoNotFoundError(NO_QUARTO)
    log("lsreport: quarto not found on PATH; installing quarto-cli from PyPI ...")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "quarto-cli"])
    if proc.returncode == 0 and here.exists():
        return str(here)
    raise QuartoNotFoundError(NO_QUARTO)


def find_tex() -> str | None:
    """A TeX engine Quarto can use (TeX Live on ``PATH`` or TinyTeX), or None."""
    tinytex = sorted(glob.glob(os.path.expanduser("~/.TinyTeX/bin/*/")))
    hits = [shutil.which(e, path=os.pathsep.join([os.environ.get("PATH", ""), *tinytex]))
            for e in ("lualatex", "xelatex", "pdflatex")]
    return next((h for h in hits if h), None)


@dataclass
class RenderResult:
    """What :func:`render_book` did (``output``: Quarto's, when captured)."""

    profile: str
    output_dir: Path
    formats: list[str]
    seconds: float
    pdf: Path | None = None
    notes: list[str] = field(default_factory=list)
    output: str = ""


def render_book(profile: str | None = None, *, to: str = "auto", root=None,
                output_dir: str | os.PathLike | None = None, install_quarto: bool = False,
                env: dict | None = None, capture: bool = False, log=print) -> RenderResult:
    """``quarto render`` the book for a profile: HTML, and the PDF when TeX is there.

    ``to="auto"`` renders HTML and PDF, or the HTML only (with a note) where
    no TeX is found; ``"all"`` and ``"pdf"`` insist on the PDF, ``"html"``
    skips it. ``root``/``output_dir`` default to this repository and
    ``_book``; ``install_quarto`` pip-installs ``quarto-cli`` when Quarto is
    missing; ``env`` is extra environment for Quarto (tests point
    ``LSREPORT_CACHE`` elsewhere); ``capture`` keeps Quarto's output in
    ``RenderResult.output``. Raises :class:`QuartoNotFoundError` or
    ``RuntimeError`` (no TeX for a PDF asked for; ``quarto render`` failed).
    """
    from .config import PROFILE_ENV, load_config

    if to not in ("auto", "html", "pdf", "all"):
        raise ValueError(f"to={to!r}: choose auto, html, pdf or all")
    profile = str(profile or os.environ.get(PROFILE_ENV) or "default")
    load_config(profile)  # fail fast on a misspelt profile
    quarto = find_quarto(install=install_quarto, log=log)
    notes = []
    if to == "auto":
        to = "all" if find_tex() else "html"
        if to == "html":
            notes.append(f"HTML only: {NO_TEX}; `make pdf` insists on it")
    elif to != "html" and not find_tex():
        raise RuntimeError(f"no PDF: {NO_TEX}")
    formats = {"all": ["html", "pdf"]}.get(to, [to])
    root = _root(root)
    cmd = [quarto, "render"] + ([] if to == "all" else ["--to", to])
    if output_dir:
        cmd += ["--output-dir", str(Path(output_dir).resolve())]
    log(f"lsreport render: {' '.join(cmd)} (profile {profile!r}, {quarto})")
    t0 = time.perf_counter()
    # this Python for the pre-render script and the python3 kernel of the chapters
    qenv = dict(os.environ, **{PROFILE_ENV: profile, "QUARTO_PYTHON": sys.executable})
    qenv["PATH"] = os.path.dirname(sys.executable) + os.pathsep + qenv.get("PATH", "")
    proc = subprocess.run(cmd, cwd=root, env={**qenv, **(env or {})}, text=True,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.STDOUT if capture else None)
    if proc.returncode:
        raise RuntimeError(f"quarto render failed (exit {proc.returncode})"
                           + (f":\n{proc.stdout[-5000:]}" if capture else ""))
    out = Path(output_dir).resolve() if output_dir else root / "_book"
    pdfs = sorted(out.glob("*.pdf"))
    for note in notes:
        log(f"lsreport render: {note}")
    log(f"lsreport render: {', '.join(formats)} in {out} after {time.perf_counter() - t0:.0f} s")
    return RenderResult(profile, out, formats, time.perf_counter() - t0,
                        pdfs[0] if pdfs and "pdf" in formats else None, notes, proc.stdout or "")


def cell_options(source: str) -> dict:
    """The ``#|`` options at the top of a code cell, parsed as YAML."""
    lines = []
    for line in source.splitlines():
        if not (m := _OPTION_RE.match(line)):
            break
        lines.append(line[m.end():])
    opts = yaml.safe_load("\n".join(lines)) if lines else {}
    if not isinstance(opts, dict):
        raise ValueError("invalid #| options (not key: value lines):\n" + "\n".join(lines))
    return opts


def _kernel_manager_class():
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPythonKernelManager(AsyncKernelManager):
        """``python3`` of this interpreter, whatever kernelspecs are installed."""

        @default("kernel_spec_manager")
        def _default_ksm(self):
            return KernelSpecManager(kernel_dirs=[], parent=self)

    return ThisPythonKernelManager


def _inline(client, cell, name: str) -> None:
    """Evaluate a markdown cell's `` `{python} expr` `` in the kernel, as Quarto does."""
    import ast

    exprs = dict(enumerate(INLINE_RE.findall(cell.source)))
    if not exprs:
        return
    reply = client.wait_for_reply(client.kc.execute(
        "", silent=False, store_history=False, user_expressions={str(k): v for k, v in exprs.items()}))
    results = []
    for key, expr in exprs.items():
        res = reply["content"].get("user_expressions", {}).get(str(key), {})
        if res.get("status") != "ok":
            raise ChapterExecutionError(name, f"inline `{{python}} {expr}`",
                                        f"{res.get('ename')}: {res.get('evalue')}")
        data = res.get("data", {})
        text = str(data.get("text/markdown", data.get("text/plain", "")))
        if "text/markdown" not in data and text[:1] in "'\"":
            text = ast.literal_eval(text)  # Quarto shows a string without its quotes
        results.append({"expression": expr, "result": text})
    it = iter(results)
    cell.source = INLINE_RE.sub(lambda m: next(it)["result"], cell.source)
    cell.metadata["user_expressions"] = results


def execute_chapter(path: str | os.PathLike, *, env: dict | None = None,
                    timeout: int = DEFAULT_TIMEOUT, name: str | None = None):
    """Run one ``.qmd`` in a ``python3`` kernel of this Python, without Quarto.

    Read with jupytext (``#|`` lines stay in the cells), code cells run in
    order in the chapter's folder (``eval: false`` skipped, ``error: true``
    may fail), inline expressions are evaluated when their markdown cell is
    reached. The notebook returned has each code cell's options in
    ``cell.metadata["lsreport"]["options"]``, inline results in
    ``cell.metadata["user_expressions"]`` and the front matter in
    ``nb.metadata["lsreport"]["front_matter"]``. Raises
    :class:`ChapterExecutionError` naming the first failing cell or expression.
    """
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    name = name or str(path)
    nb = jupytext.reads(path.read_text(encoding="utf-8"), fmt="Rmd")
    front = {}
    if nb.cells and nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---"):
        front = yaml.safe_load(nb.cells.pop(0).source.strip().strip("-")) or {}
    nb.metadata = {"kernelspec": {"name": "python3", "language": "python",
                                  "display_name": "Python 3"}, "lsreport": {"front_matter": front}}
    kenv = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # inline PNGs
    kenv.update(env or {})
    client = NotebookClient(nb, kernel_manager_class=_kernel_manager_class(),
                            kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    defaults = front.get("execute") or {}
    number = 0
    with client.setup_kernel(env=kenv):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                _inline(client, cell, name)
            if cell.cell_type != "code":
                continue
            number += 1
            opts = cell_options(cell.source)
            cell.metadata["lsreport"] = {"options": opts}
            if not {**defaults, **opts}.get("eval", True):
                continue
            client.allow_errors = bool({**defaults, **opts}.get("error", False))
            try:
                client.execute_cell(cell, index, execution_count=number)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                where = f"code cell {number}" + (f" [{opts['label']}]" if "label" in opts else "")
                raise ChapterExecutionError(name, where, _ANSI_RE.sub("", str(exc))) from exc
    return nb
