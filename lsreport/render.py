"""Render the book: Quarto when it is installed, a built-in fallback otherwise.

The book is a Quarto project (``_quarto.yml``, ``index.qmd``, ``chapters/``).
With a ``quarto`` executable on ``PATH`` :func:`render_book` runs
``quarto render`` with the profile in ``$LSREPORT_PROFILE``. Without one it
executes every chapter the way Quarto's Jupyter engine does and writes plain
HTML pages:

1. read the ``.qmd`` with jupytext's R Markdown reader (``#|`` cell options
   stay in the cell source, the YAML front matter becomes a raw cell);
2. run the cells in one ``python3`` kernel of *this* Python, working
   directory the chapter's folder, and evaluate inline `` `{python} expr` ``
   expressions in document order in the same kernel, as Quarto does;
3. number chapters, sections, figures and tables as a Quarto book does,
   resolve ``@sec-``/``@fig-``/``@tbl-``/``@eq-`` references and ``[@key]``
   citations against ``bibliography:``, and honour the cell options
   ``include``, ``echo``, ``output`` (``false``/``asis``), ``eval``,
   ``error``, ``warning``, ``fig-cap``, ``fig-subcap``, ``fig-alt``,
   ``tbl-cap`` and ``layout-ncol``;
4. write ``<output>/<chapter>.html`` with nbconvert (images embedded), and
   keep the executed notebooks under ``<output>/notebooks/``.

The fallback is a stand-in for machines without Quarto (CI, this project's
build machine), not a second Quarto: it has no code folding, no PDF, no
freeze and no search. Anything it does not understand is left as text.

Examples
--------
>>> render_book("smoke", engine="fallback")  # doctest: +SKIP
lsreport render: Quarto not found on PATH; built-in fallback renderer ...
"""

from __future__ import annotations

import ast
import base64
import copy
import hashlib
import html
import json
import mimetypes
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml

__all__ = [
    "ENGINES",
    "BookSpec",
    "ChapterEntry",
    "ChapterExecutionError",
    "RenderResult",
    "cell_options",
    "execute_chapter",
    "execute_notebook",
    "find_quarto",
    "parse_bibtex",
    "qmd_to_notebook",
    "read_book",
    "render_book",
]

#: Accepted values of ``engine``.
ENGINES = ("auto", "quarto", "fallback")
#: Seconds one cell may run before the fallback gives up on it.
DEFAULT_TIMEOUT = 1800

# Quarto's own pattern for inline expressions (src/resources/jupyter/notebook.py).
INLINE_RE = re.compile(r"(?<!`)`\{python\}[ \t]([^`]+)`")
_OPTION_RE = re.compile(r"^#\s*\| ?")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)(?:[ \t]+\{([^{}]*)\})?[ \t]*$")
_DIV_OPEN_RE = re.compile(r"^\s*:{3,}\s*(?:\{(.*)\}|([\w-]+))\s*$")
_DIV_CLOSE_RE = re.compile(r"^\s*:{3,}\s*$")
_KEY = r"[A-Za-z0-9_][\w:.#$%&+?~/-]*\w|[A-Za-z0-9_]"
# one pass over "[... @key ...]" groups and bare "@key" (citations or cross-references)
_REF_RE = re.compile(r"\[(?P<bracket>[^\[\]]*?-?@(?:" + _KEY + r")[^\[\]]*)\](?![(\[{])"
                     r"|(?<![\w@\[\]?])@(?P<key>" + _KEY + r")")
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)(?:\{([^{}]*)\})?")
_SPAN_RE = re.compile(r"(?<!!)\[([^\[\]]+)\]\{([^{}]*)\}")
_QMD_LINK_RE = re.compile(r"\]\(([^)\s#]+)\.qmd(#[^)\s]*)?\)")
_EQ_LABEL_RE = re.compile(r"\$\$[ \t]*\{#(eq-[\w-]+)\}")
_XREF_KINDS = {"sec": "Section", "fig": "Figure", "tbl": "Table", "eq": "Equation"}


class ChapterExecutionError(RuntimeError):
    """A chapter cell or inline expression failed; the message names both."""

    def __init__(self, chapter: str, where: str, detail: str):
        self.chapter, self.where, self.detail = chapter, where, detail
        super().__init__(f"{chapter}: {where} failed\n{detail}")


# ------------------------------------------------------------ the book spec


@dataclass(frozen=True)
class ChapterEntry:
    """One chapter of ``_quarto.yml``: its path (POSIX, project-relative) and part."""

    path: str
    part: str | None = None

    @property
    def html_path(self) -> str:
        """Where the page lands inside the output folder (as Quarto puts it)."""
        return posixpath.splitext(self.path)[0] + ".html"


@dataclass(frozen=True)
class BookSpec:
    """What the fallback needs from ``_quarto.yml``."""

    root: Path
    title: str
    chapters: tuple[ChapterEntry, ...]
    output_dir: str = "_book"
    bibliography: tuple[str, ...] = ()
    css: tuple[str, ...] = ()
    execute: dict = field(default_factory=dict)
    author: str = ""

    @property
    def parts(self) -> list[tuple[str | None, list[ChapterEntry]]]:
        """Chapters grouped by part, in book order."""
        groups: list[tuple[str | None, list[ChapterEntry]]] = []
        for ch in self.chapters:
            if not groups or groups[-1][0] != ch.part:
                groups.append((ch.part, []))
            groups[-1][1].append(ch)
        return groups


def _project_root() -> Path:
    from .config import profiles_dir

    return profiles_dir().parent


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def read_book(root: str | os.PathLike | None = None) -> BookSpec:
    """Parse ``_quarto.yml``: title, chapters in order with their parts, options.

    Parameters
    ----------
    root : path, optional
        The project folder; default the repository root.

    Returns
    -------
    BookSpec

    Raises
    ------
    FileNotFoundError
        When ``_quarto.yml`` or a chapter it lists is missing.
    ValueError
        When ``book.chapters`` is empty or malformed.
    """
    root = Path(root) if root else _project_root()
    cfg_path = root / "_quarto.yml"
    if not cfg_path.exists():
        raise FileNotFoundError(f"no _quarto.yml in {root}")
    data = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    book = data.get("book") or {}
    entries: list[ChapterEntry] = []

    def add(item: Any, part: str | None) -> None:
        if isinstance(item, str):
            entries.append(ChapterEntry(item, part))
        elif isinstance(item, dict) and "part" in item:
            title = str(item["part"])
            if title.endswith(".qmd") and (root / title).exists():
                title = _qmd_title((root / title).read_text(encoding="utf-8")) or title
            for sub in item.get("chapters") or []:
                add(sub, title)
        elif isinstance(item, dict) and "href" in item:
            entries.append(ChapterEntry(str(item["href"]), part))
        else:
            raise ValueError(f"{cfg_path}: cannot read chapter entry {item!r}")

    for item in book.get("chapters") or []:
        add(item, None)
    for item in book.get("appendices") or []:
        add(item, "Appendices")
    if not entries:
        raise ValueError(f"{cfg_path}: book.chapters lists no chapters")
    missing = [e.path for e in entries if not (root / e.path).exists()]
    if missing:
        raise FileNotFoundError(f"{cfg_path} lists chapters that do not exist: {', '.join(missing)}")
    html_fmt = ((data.get("format") or {}).get("html") or {})
    author = book.get("author") or ""
    if isinstance(author, list):
        author = ", ".join(str(a.get("name", a)) if isinstance(a, dict) else str(a) for a in author)
    return BookSpec(
        root=root,
        title=str(book.get("title") or data.get("title") or root.name),
        chapters=tuple(entries),
        output_dir=str((data.get("project") or {}).get("output-dir") or "_book"),
        bibliography=_as_tuple(data.get("bibliography")),
        css=_as_tuple(html_fmt.get("css") if isinstance(html_fmt, dict) else None),
        execute=dict(data.get("execute") or {}),
        author=str(author),
    )


def _qmd_title(text: str) -> str:
    front = _front_matter(text)
    if front.get("title"):
        return str(front["title"])
    for line, fenced in _lines(text):
        m = None if fenced else _HEADING_RE.match(line)
        if m and len(m.group(1)) == 1:
            return m.group(2).strip()
    return ""


def _front_matter(text: str) -> dict:
    m = re.match(r"\A---[ \t]*\n(.*?\n)---[ \t]*(\n|\Z)", text, re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


# ---------------------------------------------------------- qmd -> notebook


def cell_options(source: str) -> dict:
    """The ``#|`` options at the top of a code cell, parsed as YAML.

    Raises
    ------
    ValueError
        When the option lines are not a YAML mapping.
    """
    lines = []
    for line in source.splitlines():
        m = _OPTION_RE.match(line)
        if not m:
            break
        lines.append(re.sub(r":\s+$", ":", line[m.end():]))
    if not lines:
        return {}
    try:
        opts = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid #| options:\n" + "\n".join(lines) + f"\n({exc})") from exc
    if not isinstance(opts, dict):
        raise ValueError("invalid #| options (not key: value lines):\n" + "\n".join(lines))
    return opts


def _strip_options(source: str) -> str:
    lines = source.splitlines()
    n = 0
    while n < len(lines) and _OPTION_RE.match(lines[n]):
        n += 1
    return "\n".join(lines[n:])


def qmd_to_notebook(text: str):
    """A ``.qmd`` as a notebook, read as Quarto's Jupyter engine reads it.

    The YAML front matter is moved to ``nb.metadata["lsreport"]["front_matter"]``;
    each code cell keeps its ``#|`` lines and gets its parsed options in
    ``cell.metadata["lsreport"]["options"]``.
    """
    import jupytext
    import nbformat

    nb = jupytext.reads(text, fmt="Rmd")
    front: dict = {}
    if nb.cells and nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---"):
        front = _front_matter(nb.cells[0].source + "\n")
        del nb.cells[0]
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nb.metadata["lsreport"] = {"front_matter": front}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["lsreport"] = {"options": cell_options(cell.source)}
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    nbformat.validate(nb)
    return nb


# ---------------------------------------------------------------- execution


def _kernel_manager_class():
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPythonKernelManager(AsyncKernelManager):
        """``python3`` from ipykernel of this interpreter, whatever kernelspecs
        a user has installed (a stale one could point at another Python)."""

        @default("kernel_spec_manager")
        def _default_ksm(self):
            return KernelSpecManager(kernel_dirs=[], parent=self)

    return ThisPythonKernelManager


def _kernel_env(extra: dict | None) -> dict:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel must use the inline backend to return PNGs
    env.update(extra or {})
    return env


def _inline_text(data: dict) -> str:
    """How Quarto shows an inline result: markdown if offered, else the plain
    text, with the quotes of a string removed."""
    if "text/markdown" in data:
        return str(data["text/markdown"])
    text = str(data.get("text/plain", ""))
    if text[:1] in ("'", '"', "("):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        if isinstance(value, str):
            return value
    return text


def _cell_where(cell, number: int, line: int | None) -> str:
    label = cell.metadata.get("lsreport", {}).get("options", {}).get("label")
    first = next((ln for ln in _strip_options(cell.source).splitlines() if ln.strip()), "")
    where = f"code cell {number}"
    if line:
        where += f" (line {line})"
    return where + (f" [{label}]" if label else "") + f": {first[:60]!r}"


def execute_notebook(nb, *, cwd: str | os.PathLike, name: str = "notebook",
                     timeout: int = DEFAULT_TIMEOUT, env: dict | None = None,
                     defaults: dict | None = None, cell_lines: dict | None = None):
    """Run a notebook from :func:`qmd_to_notebook` as Quarto's Jupyter engine does.

    Code cells run in order (option lines stripped, ``eval: false`` skipped,
    ``error: true`` allowed to fail); each markdown cell's inline expressions
    are evaluated when it is reached, replaced by their result and recorded
    in ``cell.metadata["user_expressions"]``.

    Parameters
    ----------
    nb : NotebookNode
    cwd : path
        Working directory of the kernel (the chapter's folder).
    name : str
        What error messages call the notebook (the chapter path).
    timeout : int
        Seconds per cell.
    env : dict, optional
        Extra environment variables for the kernel.
    defaults : dict, optional
        Cell options that apply unless a cell sets its own (``execute:``).
    cell_lines : dict, optional
        Cell index -> line in the source file, for error messages.

    Returns
    -------
    NotebookNode
        An executed copy.

    Raises
    ------
    ChapterExecutionError
        On the first failing cell or inline expression.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = copy.deepcopy(nb)
    defaults = dict(defaults or {})
    cell_lines = cell_lines or {}
    client = NotebookClient(nb, kernel_manager_class=_kernel_manager_class(),
                            kernel_name="python3", timeout=timeout, allow_errors=False,
                            record_timing=False, resources={"metadata": {"path": str(cwd)}},
                            # the kernel's start-up chatter (TCP transport notice) is noise here
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    number = 0
    with client.setup_kernel(env=_kernel_env(env)):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                _evaluate_inline(client, cell, name)
                continue
            if cell.cell_type != "code":
                continue
            number += 1
            opts = {**defaults, **cell.metadata.get("lsreport", {}).get("options", {})}
            if not opts.get("eval", True):
                continue
            source = cell.source
            cell.source = _strip_options(source)
            client.allow_errors = bool(opts.get("error", False))
            try:
                client.execute_cell(cell, index, execution_count=number)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                where = _cell_where(cell, number, cell_lines.get(index))
                raise ChapterExecutionError(name, where, _ANSI_RE.sub("", str(exc))) from exc
            finally:
                cell.source = source
                client.allow_errors = False
    return nb


def _evaluate_inline(client, cell, name: str) -> None:
    expressions = INLINE_RE.findall(cell.source)
    if not expressions:
        return
    exprs = {str(i): e for i, e in enumerate(expressions)}
    reply = client.wait_for_reply(client.kc.execute("", silent=False, store_history=False,
                                                    user_expressions=exprs))
    content = (reply or {}).get("content", {})
    if content.get("status") != "ok":
        raise ChapterExecutionError(name, "inline code",
                                    f"{content.get('ename')}: {content.get('evalue')}")
    results = []
    for key, expr in exprs.items():
        res = content["user_expressions"][key]
        if res.get("status") != "ok":
            raise ChapterExecutionError(
                name, f"inline expression `{{python}} {expr}`",
                f"{res.get('ename')}: {res.get('evalue')}")
        results.append({"expression": expr, "result": _inline_text(res.get("data", {}))})
    it = iter(results)
    cell.source = INLINE_RE.sub(lambda m: next(it)["result"], cell.source)
    cell.metadata["user_expressions"] = results


def _cell_lines(text: str, nb) -> dict[int, int]:
    out, pos = {}, 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source:
            continue
        found = text.find(cell.source, pos)
        if found >= 0:
            out[i] = text.count("\n", 0, found)  # the line of the opening fence
            pos = found + len(cell.source)
    return out


def execute_chapter(path: str | os.PathLike, *, name: str | None = None,
                    timeout: int = DEFAULT_TIMEOUT, env: dict | None = None,
                    defaults: dict | None = None):
    """Read one ``.qmd`` and execute it in its own folder (see :func:`execute_notebook`)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    nb = qmd_to_notebook(text)
    front_exec = nb.metadata["lsreport"]["front_matter"].get("execute") or {}
    return execute_notebook(nb, cwd=path.parent, name=name or str(path), timeout=timeout,
                            env=env, defaults={**(defaults or {}), **front_exec},
                            cell_lines=_cell_lines(text, nb))


def _asis_to_markdown(nb) -> None:
    """``output: asis``: what the cell printed becomes markdown of the page."""
    import nbformat

    cells = []
    for cell in nb.cells:
        cells.append(cell)
        opts = cell.metadata.get("lsreport", {}).get("options", {}) if cell.cell_type == "code" else {}
        if opts.get("output") != "asis":
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                parts.append(out.get("text", ""))
            elif out.get("output_type") in ("display_data", "execute_result"):
                data = out.get("data", {})
                parts.append(data.get("text/markdown") or data.get("text/html")
                             or data.get("text/plain", ""))
        cell.outputs = []
        md = nbformat.v4.new_markdown_cell("\n".join(parts))
        md["id"] = f"{cell.get('id', 'cell')}-asis"
        cells.append(md)
    nb.cells = cells


# ------------------------------------------------------------- bibliography


def parse_bibtex(text: str) -> dict[str, dict[str, str]]:
    """A small BibTeX reader: ``{key: {"type": ..., field: value}}``.

    Enough for the fallback's citations; braces and the commonest LaTeX
    escapes are removed, ``--`` becomes an en dash.
    """
    entries: dict[str, dict[str, str]] = {}
    pos = 0
    while True:
        m = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,").search(text, pos)
        if not m:
            return entries
        kind, key = m.group(1).lower(), m.group(2)
        i, fields = m.end(), {"type": kind}
        while i < len(text):
            fm = re.compile(r"\s*(\w[\w-]*)\s*=\s*").match(text, i)
            if not fm:
                break
            i = fm.end()
            value, i = _bib_value(text, i)
            fields[fm.group(1).lower()] = _bib_clean(value)
            cm = re.compile(r"\s*,?").match(text, i)
            i = cm.end()
        end = text.find("}", i)
        pos = end + 1 if end >= 0 else len(text)
        if kind not in ("comment", "preamble", "string"):
            entries[key] = fields


def _bib_value(text: str, i: int) -> tuple[str, int]:
    if text[i] in "{\"":
        close = "}" if text[i] == "{" else '"'
        depth, j = 0, i
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if (close == "}" and depth == 0) or (close == '"' and c == '"' and j > i and depth == 0):
                return text[i + 1:j], j + 1
            j += 1
        raise ValueError("unterminated BibTeX value")
    m = re.compile(r"[^,}\s]+").match(text, i)
    return (m.group(0), m.end()) if m else ("", i)


_LATEX = {r'\"o': "ö", r'\"a': "ä", r'\"u': "ü", r'\"O': "Ö", r'\"A': "Ä", r'\"U': "Ü",
          r"\'e": "é", r"\`e": "è", r"\ss": "ß", r"\&": "&", r"\%": "%", r"\_": "_"}


def _bib_clean(value: str) -> str:
    parts = re.split(r"(\$[^$]*\$)", value)  # math stays for MathJax
    for i in range(0, len(parts), 2):
        text = parts[i]
        for tex, char in _LATEX.items():
            text = text.replace("{" + tex + "}", char).replace(tex, char)
        text = text.replace("---", "\u2014").replace("--", "\u2013")
        text = text.replace("``", "\u201c").replace("''", "\u201d")
        parts[i] = text.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _authors(entry: dict) -> list[str]:
    raw = entry.get("author") or entry.get("editor") or entry.get("organization") or "Anonymous"
    return [a.strip() for a in re.split(r"\s+and\s+", raw) if a.strip()]


def _last_name(author: str) -> str:
    if "," in author:
        return author.split(",")[0].strip()
    return author.split()[-1] if author.split() else author


def _cite_names(entry: dict) -> str:
    names = [_last_name(a) for a in _authors(entry)]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def _year(entry: dict) -> str:
    return entry.get("year") or (entry.get("date") or "n.d.")[:4]


def _reference_html(key: str, e: dict) -> str:
    authors = _authors(e)
    who = ", ".join(authors[:-1]) + (", and " if len(authors) > 2 else " and ") + authors[-1] \
        if len(authors) > 1 else authors[0]
    venue = e.get("journal") or e.get("booktitle") or e.get("howpublished") or e.get("publisher") \
        or e.get("school") or e.get("institution") or ""
    bits = [f"{html.escape(who)} ({html.escape(_year(e))}).",
            f"“{html.escape(e.get('title', ''))}.”"]
    if venue:
        v = f"<em>{html.escape(venue)}</em>"
        if e.get("volume"):
            v += f" {html.escape(e['volume'])}"
            if e.get("number"):
                v += f"({html.escape(e['number'])})"
        if e.get("pages"):
            v += f": {html.escape(e['pages'])}"
        bits.append(v + ".")
    if e.get("doi"):
        doi = e["doi"]
        bits.append(f'<a href="https://doi.org/{html.escape(doi)}">https://doi.org/{html.escape(doi)}</a>')
    elif e.get("url"):
        bits.append(f'<a href="{html.escape(e["url"])}">{html.escape(e["url"])}</a>')
    return f'<div id="ref-{html.escape(key)}" class="csl-entry">{" ".join(bits)}</div>'


# --------------------------------------------------- numbering and labels


@dataclass
class _Ref:
    kind: str           # "Chapter", "Section", "Figure", "Table", "Equation"
    number: str | None  # None: unnumbered (shown by title)
    title: str
    page: str           # html path of the page holding it
    anchor: str


@dataclass
class _ChapterInfo:
    entry: ChapterEntry
    title: str = ""
    number: str | None = None
    headings: dict = field(default_factory=dict)   # (cell, line) -> (number, id, level)
    labels: dict = field(default_factory=dict)     # label -> _Ref


def _lines(text: str) -> Iterable[tuple[str, bool]]:
    """Lines of markdown with a flag: inside a fenced code block."""
    fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE_RE.match(line)
        if fence is None and m:
            fence = m.group(1)
            yield line, True
        elif fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            yield line, True
        else:
            yield line, False


def _attrs(text: str | None) -> tuple[str | None, list[str], dict]:
    ident, classes, kv = None, [], {}
    try:
        tokens = shlex.split(text or "")
    except ValueError:
        tokens = (text or "").split()
    for tok in tokens:
        if tok.startswith("#"):
            ident = tok[1:]
        elif tok.startswith("."):
            classes.append(tok[1:])
        elif tok == "-":
            classes.append("unnumbered")
        elif "=" in tok:
            k, v = tok.split("=", 1)
            kv[k] = v
    return ident, classes, kv


def _plain(md: str) -> str:
    """Markdown inline text as plain text (for titles in navigation)."""
    return re.sub(r"[*_`]", "", md).strip()


def _md_events(text: str) -> Iterable[tuple[int, str, Any]]:
    """Walk markdown lines the way both numbering and rendering see them.

    Yields ``(line_index, event, data)`` with event one of ``"code"`` (a line
    of a fenced code block), ``"open"`` (a fenced div: ``(id, classes,
    attributes)``), ``"close"``, ``"title"`` (the heading that titles a
    callout), ``"heading"`` (a regex match) and ``"text"``. Lines of divs
    hidden from HTML (``content-visible when-format="pdf"``) are not yielded.
    """
    stack: list[bool] = []          # per open div: visible?
    want_title = False
    for li, (line, fenced) in enumerate(_lines(text)):
        visible = all(stack)
        if fenced:
            if visible:
                yield li, "code", line
            continue
        m_open = _DIV_OPEN_RE.match(line)
        if m_open:
            ident, classes, kv = _attrs(m_open.group(1) or f".{m_open.group(2)}")
            fmt = kv.get("when-format", "html")
            shown = visible and not (("content-visible" in classes and fmt != "html")
                                     or ("content-hidden" in classes and fmt == "html"))
            stack.append(shown)
            if shown:
                want_title = any(c.startswith("callout") for c in classes) and "title" not in kv
                yield li, "open", (ident, classes, kv)
            continue
        if _DIV_CLOSE_RE.match(line) and stack:
            if stack.pop() and all(stack):
                yield li, "close", None
            continue
        if not visible:
            continue
        m = _HEADING_RE.match(line)
        if m and want_title:
            want_title = False
            yield li, "title", m
        elif m:
            yield li, "heading", m
        else:
            if line.strip():
                want_title = False
            yield li, "text", line


def _scan(nb, entry: ChapterEntry, chapter_number: int) -> _ChapterInfo:
    """Number the chapter's headings, figures, tables and equations like Quarto."""
    info = _ChapterInfo(entry)
    page = entry.html_path
    front = nb.metadata.get("lsreport", {}).get("front_matter", {})
    counters = {"fig": 0, "tbl": 0, "eq": 0}
    sections = [0, 0, 0, 0, 0, 0]

    def prefix(n: int) -> str:
        return f"{info.number}.{n}" if info.number else str(n)

    def add(label: str, title: str) -> None:
        kind = label.split("-", 1)[0]
        counters[kind] += 1
        info.labels[label] = _Ref(_XREF_KINDS[kind], prefix(counters[kind]), title, page, label)

    # the chapter's title and whether it is numbered come first
    title_h1 = None
    for ci, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            title_h1 = next(((ci, li, m) for li, ev, m in _md_events(cell.source)
                             if ev == "heading" and len(m.group(1)) == 1), None)
            if title_h1:
                break
    if title_h1:
        ident, classes, _ = _attrs(title_h1[2].group(3))
        info.title = title_h1[2].group(2).strip()
        numbered = "unnumbered" not in classes
    else:
        info.title = str(front.get("title") or posixpath.basename(entry.path))
        ident, numbered = None, True
    info.number = str(chapter_number) if numbered else None
    if ident:
        info.labels[ident] = _Ref("Chapter", info.number, _plain(info.title), page, ident)

    for ci, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            opts = cell.metadata.get("lsreport", {}).get("options", {})
            label = str(opts.get("label") or "")
            if opts.get("include", True) is not False and label.split("-", 1)[0] in ("fig", "tbl"):
                add(label, str(opts.get("fig-cap") or opts.get("tbl-cap") or ""))
            continue
        if cell.cell_type != "markdown":
            continue
        for li, ev, data in _md_events(cell.source):
            if ev == "heading":
                level = len(data.group(1))
                ident, classes, _ = _attrs(data.group(3))
                if (ci, li) == (title_h1 or (None, None))[:2]:
                    info.headings[(ci, li)] = (info.number, ident, 1)
                    continue
                num = None
                if info.number and level > 1 and "unnumbered" not in classes:
                    sections[level - 1] += 1
                    for deeper in range(level, len(sections)):
                        sections[deeper] = 0
                    num = ".".join([info.number] + [str(x) for x in sections[1:level]])
                info.headings[(ci, li)] = (num, ident, level)
                if ident:
                    info.labels[ident] = _Ref("Section", num, _plain(data.group(2)), page, ident)
            elif ev == "text":
                for im in _IMAGE_RE.finditer(data):
                    ident, _, _ = _attrs(im.group(3))
                    if ident and ident.startswith(("fig-", "tbl-")):
                        add(ident, im.group(1))
                for em in _EQ_LABEL_RE.finditer(data):
                    add(em.group(1), "")
    return info


# ----------------------------------------------------------- presentation


class _Page:
    """Everything one page needs to turn markdown and cells into HTML."""

    def __init__(self, info: _ChapterInfo, labels: dict[str, _Ref], bib: dict,
                 bib_html: str, unresolved: list[str], chapter_dir: Path | None = None):
        self.info, self.labels, self.bib = info, labels, bib
        self.chapter_dir = chapter_dir
        self.bib_html, self.unresolved = bib_html, unresolved
        self.page = info.entry.html_path

    # -- references
    def href(self, ref: _Ref) -> str:
        if ref.page == self.page:
            return f"#{ref.anchor}"
        rel = posixpath.relpath(ref.page, posixpath.dirname(self.page) or ".")
        return f"{rel}#{ref.anchor}"

    def xref(self, key: str, bare: bool = False) -> str | None:
        ref = self.labels.get(key)
        if ref is None:
            return None
        if ref.number is None:
            text = ref.title
        elif bare:
            text = ref.number
        else:
            text = f"{ref.kind} {ref.number}"
        return f'<a href="{html.escape(self.href(ref))}" class="quarto-xref">{text}</a>'

    def cite(self, key: str, *, intext: bool, suppress: bool = False, locator: str = "") -> str | None:
        e = self.bib.get(key)
        if e is None:
            return None
        refs = self.labels["__references__"].page
        target = "" if refs == self.page else posixpath.relpath(refs, posixpath.dirname(self.page) or ".")
        href = html.escape(f"{target}#ref-{key}")
        year = _year(e) + (f", {locator}" if locator else "")
        if intext:
            text = f"{_cite_names(e)} ({year})"
        else:
            text = year if suppress else f"{_cite_names(e)} {year}"
        return f'<a href="{href}" class="citation">{html.escape(text)}</a>'

    def missing(self, key: str) -> str:
        self.unresolved.append(f"{self.info.entry.path}: @{key}")
        return f'<strong class="lsr-unresolved">?@{html.escape(key)}</strong>'

    def _bracket(self, body: str) -> str | None:
        parsed = []
        for item in body.split(";"):
            im = re.match(r"^(.*?)(-?)@(" + _KEY + r")(.*)$", item.strip(), re.S)
            if not im:
                return None
            parsed.append(im.groups())
        out, cites = [], False
        for pre, minus, key, post in parsed:
            pre, post = pre.strip(), post.strip().lstrip(",").strip()
            if key.split("-", 1)[0] in _XREF_KINDS:
                text = self.xref(key, bare=bool(minus)) or self.missing(key)
            else:
                cites = True
                text = self.cite(key, intext=False, suppress=bool(minus), locator=post) \
                    or self.missing(key)
                post = ""
            out.append(" ".join(x for x in (pre, text, post) if x))
        return f"({'; '.join(out)})" if cites else ", ".join(out)

    def _ref(self, m: re.Match) -> str:
        if m.group("bracket") is not None:
            done = self._bracket(m.group("bracket"))
            return m.group(0) if done is None else done
        key = m.group("key")
        if key.split("-", 1)[0] in _XREF_KINDS:
            return self.xref(key) or self.missing(key)
        return self.cite(key, intext=True) or self.missing(key)

    # -- markdown
    def inline(self, text: str) -> str:
        """Cross-references, citations, spans and ``.qmd`` links in running text."""
        def plain(seg: str) -> str:
            seg = _QMD_LINK_RE.sub(lambda m: f"]({m.group(1)}.html{m.group(2) or ''})", seg)
            seg = _REF_RE.sub(self._ref, seg)
            return _SPAN_RE.sub(lambda m: f'<span class="{" ".join(_attrs(m.group(2))[1])}">'
                                          f"{m.group(1)}</span>", seg)

        parts = re.split(r"(`+[^`]*?`+|<[^>]+>)", text)  # leave code spans and HTML tags alone
        return "".join(p if i % 2 else plain(p) for i, p in enumerate(parts))

    def embed(self, src: str) -> str:
        """A local image as a data URI, so pages stand alone (as Quarto's
        ``embed-resources`` would make them)."""
        if self.chapter_dir is None or re.match(r"^(\w+:|/|#)", src):
            return src
        path = self.chapter_dir / src
        mime = mimetypes.guess_type(path.name)[0]
        if not path.is_file() or not mime:
            return src
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"

    def image(self, m: re.Match) -> str:
        ident, _, kv = _attrs(m.group(3))
        cap, src = m.group(1), self.embed(m.group(2))
        ref = self.labels.get(ident or "")
        if ref is None:
            return f"![{cap}]({src})"
        alt = kv.get("fig-alt", _plain(cap))
        caption = f"{ref.kind} {ref.number}" + (f": {self.inline(cap)}" if cap else "")
        return (f'<a id="{ident}" class="lsr-anchor"></a>\n\n![{alt}]({src})\n\n'
                f'<p class="figure-caption">{caption}</p>')

    def markdown(self, ci: int, text: str) -> str:
        """One markdown cell with headings numbered, divs and references resolved.

        A fenced div becomes one balanced HTML block (its content rendered
        here): nbconvert re-parses raw HTML blocks and would close a lone
        ``<div>`` on the spot.
        """
        stack: list[tuple[str, list[str]]] = [("", [])]   # (opening tag, lines)
        for li, ev, data in _md_events(text):
            out = stack[-1][1]
            if ev == "code":
                out.append(data)
            elif ev == "open":
                ident, classes, kv = data
                cls = [c for c in classes if c not in ("content-visible", "content-hidden")]
                callout = any(c.startswith("callout-") for c in cls)
                if callout:
                    cls = ["callout"] + cls
                attr = (f' id="{html.escape(ident)}"' if ident else "") + \
                    (f' class="{html.escape(" ".join(cls))}"' if cls else "")
                stack.append((f"<div{attr}>", []))
                if ident == "refs":
                    stack[-1][1].append(self.bib_html)
                if callout and kv.get("title"):
                    stack[-1][1].append(f'<p class="callout-title">{html.escape(kv["title"])}</p>\n')
            elif ev == "close":
                if len(stack) > 1:
                    tag, inner = stack.pop()
                    stack[-1][1].append(_div_block(tag, "\n".join(inner)))
            elif ev == "title":
                out.append(f'<p class="callout-title">{self.inline(data.group(2))}</p>\n')
            elif ev == "heading":
                num, ident, _ = self.info.headings.get((ci, li), (None, _attrs(data.group(3))[0], 0))
                num_html = f'<span class="header-section-number">{num}</span> ' if num else ""
                if ident:
                    out.append(f'<a id="{html.escape(ident)}" class="lsr-anchor"></a>\n')
                out.append(f"{data.group(1)} {num_html}{self.inline(data.group(2))}")
            else:
                line = _IMAGE_RE.sub(self.image, data)
                line = _EQ_LABEL_RE.sub(
                    lambda em: (f"\\tag{{{self.labels[em.group(1)].number}}}$$"
                                f'<span id="{em.group(1)}"></span>')
                    if em.group(1) in self.labels else "$$", line)
                out.append(self.inline(line))
        while len(stack) > 1:  # a div left open in this cell: close it here
            tag, inner = stack.pop()
            stack[-1][1].append(_div_block(tag, "\n".join(inner)))
        return "\n".join(stack[0][1])


def _div_block(tag: str, inner_md: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    inner = markdown2html_mistune(inner_md)
    # a blank line would end the raw HTML block early; keep lines non-blank
    inner = re.sub(r"\n\s*\n", "\n<!-- -->\n", inner.strip())
    return f"\n{tag}\n{inner}\n</div>\n"


def _html_output(markup: str) -> dict:
    import nbformat

    return nbformat.v4.new_output("display_data", data={"text/html": markup})


def _present(nb, page: _Page, defaults: dict):
    """A copy of an executed notebook shaped for reading (options applied)."""
    import nbformat

    nb = copy.deepcopy(nb)
    info = page.info
    cells = []
    front = nb.metadata.get("lsreport", {}).get("front_matter", {})
    defaults = {**defaults, **(front.get("execute") or {})}
    has_h1 = any(level == 1 for _, _, level in info.headings.values())
    if not has_h1:
        num = f'<span class="header-section-number">{info.number}</span> ' if info.number else ""
        cells.append(nbformat.v4.new_markdown_cell(f"# {num}{html.escape(info.title)}"))
    if front.get("subtitle"):
        cells.append(nbformat.v4.new_markdown_cell(f'<p class="subtitle">{html.escape(str(front["subtitle"]))}</p>'))
    for ci, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = page.markdown(ci, cell.source)
            cells.append(cell)
            continue
        if cell.cell_type != "code":
            continue
        opts = {**defaults, **cell.metadata.get("lsreport", {}).get("options", {})}
        if opts.get("include", True) is False:
            continue
        cell.source = _strip_options(cell.source)
        tags = []
        if opts.get("echo", True) is False:
            tags.append("remove_input")
        outputs = list(cell.get("outputs", []))
        if opts.get("output", True) is False:
            outputs = []
        if opts.get("warning", True) is False:
            outputs = [o for o in outputs if not (o.get("output_type") == "stream"
                                                  and o.get("name") == "stderr")]
        label = str(opts.get("label") or "")
        ref = page.labels.get(label) if label else None
        if opts.get("layout-ncol"):
            tags.append(f"lsr-ncol-{int(opts['layout-ncol'])}")
        cap_key = "tbl-cap" if label.startswith("tbl-") else "fig-cap"
        cap = opts.get(cap_key)
        if cap or ref:
            kind_num = f"{ref.kind} {ref.number}" if ref and ref.number else ""
            text = ": ".join(s for s in (kind_num, page.inline(str(cap or ""))) if s)
            sub = opts.get("fig-subcap")
            if isinstance(sub, list):
                text += " " + " ".join(f"({chr(97 + i)}) {page.inline(str(s))}"
                                       for i, s in enumerate(sub))
            alt = html.escape(str(opts.get("fig-alt") or _plain(str(cap or ""))), quote=True)
            anchor = _html_output(f'<a id="{html.escape(label)}" class="lsr-anchor lsr-fig-anchor" '
                                  f'data-alt="{alt}"></a>') if label else None
            caption = _html_output(f'<p class="{"table" if cap_key == "tbl-cap" else "figure"}-caption">'
                                   f"{text}</p>")
            if cap_key == "tbl-cap":
                outputs = [o for o in (anchor, caption) if o] + outputs
            else:
                outputs = ([anchor] if anchor else []) + outputs + [caption]
        cell.outputs = outputs
        cell.metadata["tags"] = tags
        if not cell.source.strip():
            tags.append("remove_input")
        cells.append(cell)
    nb.cells = cells
    nb.metadata["title"] = _plain(info.title)
    return nb


# ---------------------------------------------------------- HTML templates

_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
{%- for href in resources.lsreport.css %}
<link rel="stylesheet" href="{{ href }}">
{%- endfor %}
{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook lsr-page" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<nav class="lsr-sidebar" aria-label="Book contents">{{ resources.lsreport.sidebar }}</nav>
<main class="lsr-main">
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.lsreport.pager }}
<footer class="lsr-footer">{{ resources.lsreport.footer }}</footer>
</main>
</body>
{% endblock body_footer %}
"""

_CONTENTS_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>{css}</head>
<body class="lsr-page"><nav class="lsr-sidebar" aria-label="Book contents">{sidebar}</nav>
<main class="lsr-main"><h1>{title}</h1>{contents}
<footer class="lsr-footer">{footer}</footer></main></body></html>
"""


def _nav_title(info: _ChapterInfo) -> str:
    num = f'<span class="chapter-number">{info.number}</span> ' if info.number else ""
    return num + html.escape(_plain(info.title))


def _sidebar(book: BookSpec, infos: dict[str, _ChapterInfo], page: str) -> str:
    def rel(target: str) -> str:
        return posixpath.relpath(target, posixpath.dirname(page) or ".")

    items = [f'<p class="lsr-book-title"><a href="{html.escape(rel("index.html"))}">'
             f"{html.escape(book.title)}</a></p>"]
    for part, chapters in book.parts:
        if part:
            items.append(f'<p class="lsr-part">{html.escape(part)}</p>')
        items.append("<ul>")
        for ch in chapters:
            cls = ' class="active"' if ch.html_path == page else ""
            items.append(f'<li{cls}><a href="{html.escape(rel(ch.html_path))}">'
                         f"{_nav_title(infos[ch.path])}</a></li>")
        items.append("</ul>")
    return "\n".join(items)


def _pager(book: BookSpec, infos: dict[str, _ChapterInfo], page: str) -> str:
    paths = [c.html_path for c in book.chapters]
    if page not in paths:
        return ""
    i = paths.index(page)
    out = ['<nav class="lsr-pager">']
    for j, cls, arrow in ((i - 1, "prev", "←"), (i + 1, "next", "→")):
        if 0 <= j < len(paths):
            ch = book.chapters[j]
            href = posixpath.relpath(ch.html_path, posixpath.dirname(page) or ".")
            text = f"{arrow} {_nav_title(infos[ch.path])}" if cls == "prev" \
                else f"{_nav_title(infos[ch.path])} {arrow}"
            out.append(f'<a class="{cls}" href="{html.escape(href)}">{text}</a>')
        else:
            out.append(f'<span class="{cls}"></span>')
    return "\n".join(out + ["</nav>"])


def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="lab", template_file="lsreport-book.html.j2",
                            extra_loaders=[DictLoader({"lsreport-book.html.j2": _TEMPLATE})],
                            exclude_input_prompt=True, exclude_output_prompt=True,
                            # nbconvert's own embedding re-parses inline HTML and breaks
                            # <a>…</a> apart; _Page.embed inlines markdown images instead
                            embed_images=False)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags=("remove_input",),
                                                         enabled=True), enabled=True)
    return exporter


def _set_alt_text(markup: str) -> str:
    """Give each figure's images the chapter's ``fig-alt`` (or caption) text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, features="html.parser")
    for anchor in soup.select("a.lsr-fig-anchor[data-alt]"):
        cell = anchor.find_parent(class_="jp-Cell")
        alt = anchor["data-alt"]
        if cell is None or not alt:
            continue
        for img in cell.select("img"):
            if img.get("alt", "").startswith("No description"):
                img["alt"] = alt
    return str(soup)


def _write_page(exporter, nb, path: Path, resources: dict, chapter_dir: Path) -> None:
    res = {"metadata": {"name": _plain(nb.metadata.get("title", "")), "path": str(chapter_dir)},
           "lsreport": resources}
    body, _ = exporter.from_notebook_node(nb, resources=res)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_set_alt_text(body), encoding="utf-8")


# ---------------------------------------------------------------- results


@dataclass
class RenderResult:
    """What :func:`render_book` did."""

    engine: str
    profile: str
    output_dir: Path
    pages: list[Path] = field(default_factory=list)
    notebooks: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    #: Cross-references and citations the fallback could not resolve.
    unresolved: list[str] = field(default_factory=list)


def find_quarto() -> str | None:
    """Path of the ``quarto`` executable, or None."""
    return shutil.which("quarto")


def _select(book: BookSpec, chapters: Sequence[str] | None) -> list[ChapterEntry]:
    if chapters is None:
        return list(book.chapters)
    picked = []
    for want in chapters:
        want = str(want)
        hits = [c for c in book.chapters
                if want in (c.path, posixpath.basename(c.path), posixpath.splitext(posixpath.basename(c.path))[0])]
        if not hits:
            raise ValueError(f"chapter {want!r} is not in _quarto.yml; chapters: "
                             + ", ".join(c.path for c in book.chapters))
        picked.extend(h for h in hits if h not in picked)
    return [c for c in book.chapters if c in picked]


def render_book(profile: str | None = None, *, engine: str = "auto",
                output_dir: str | os.PathLike | None = None, timeout: int = DEFAULT_TIMEOUT,
                chapters: Sequence[str] | None = None, root: str | os.PathLike | None = None,
                to: str = "html", log: Callable[[str], None] | None = None) -> RenderResult:
    """Render the book with Quarto, or with the built-in fallback.

    Parameters
    ----------
    profile : str, optional
        Profile the chapters load results for; default ``$LSREPORT_PROFILE``
        or ``"default"``. The pipeline must have run for it (``make book``).
    engine : {"auto", "quarto", "fallback"}
        ``"auto"`` uses Quarto when ``quarto`` is on ``PATH``.
    output_dir : path, optional
        Default: ``project.output-dir`` of ``_quarto.yml`` (``_book``),
        relative to the project root.
    timeout : int
        Fallback only: seconds one cell may run.
    chapters : list of str, optional
        Render only these chapters (paths as in ``_quarto.yml``, file names or
        stems); cross-references to the others still resolve.
    root : path, optional
        The project folder (tests use a small book of their own).
    to : str
        Quarto only: the format to render, ``"html"`` (no LaTeX needed) or
        ``"all"`` (every format of ``_quarto.yml``, PDF included).
    log : callable, optional
        Where progress lines go; default ``print``.

    Returns
    -------
    RenderResult

    Raises
    ------
    ChapterExecutionError
        Fallback: a cell or inline expression failed; names chapter and cell.
    RuntimeError
        ``engine="quarto"`` without Quarto, or ``quarto render`` failed.
    """
    from .config import PROFILE_ENV, load_config

    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    log = log or (lambda s: print(s, flush=True))
    profile = profile or os.environ.get(PROFILE_ENV) or "default"
    cfg = load_config(profile)  # fail fast on a misspelt profile
    book = read_book(root)
    out = Path(output_dir) if output_dir else Path(book.output_dir)
    out = out if out.is_absolute() else book.root / out
    quarto = find_quarto() if engine in ("auto", "quarto") else None
    if engine == "quarto" and not quarto:
        raise RuntimeError("engine='quarto' but no quarto executable is on PATH; install Quarto "
                           "(https://quarto.org) or use engine='fallback'")
    env = {PROFILE_ENV: profile}
    if quarto:
        log(f"lsreport render: engine=quarto ({quarto}), profile {profile!r}")
        return _render_quarto(quarto, book, cfg, out, env, _select(book, chapters), chapters, to, log)
    log(f"lsreport render: engine=fallback (Quarto not found on PATH; built-in renderer: "
        f"jupytext + nbclient + nbconvert), profile {profile!r}")
    return _render_fallback(book, profile, out, env, _select(book, chapters), timeout, log)


def _freeze_fingerprint(cfg) -> str:
    from . import __version__
    from .config import celeba_path

    blob = json.dumps([__version__, cfg.to_dict(), cfg.resolved_data_source(), celeba_path(cfg)],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _render_quarto(quarto, book, cfg, out, env, selected, chapters, to, log) -> RenderResult:
    # `freeze: auto` re-executes a chapter only when its source changes, so a
    # build for another profile or data set would reuse stale outputs: drop
    # _freeze/ when what the chapters load from has changed.
    freeze = book.root / "_freeze"
    stamp = freeze / "lsreport-fingerprint.json"
    fingerprint = _freeze_fingerprint(cfg)
    if freeze.exists():
        old = json.loads(stamp.read_text()).get("fingerprint") if stamp.exists() else None
        if old != fingerprint:
            log(f"lsreport render: profile or data changed since the last build; clearing {freeze}")
            shutil.rmtree(freeze)
    qenv = dict(os.environ, **env, QUARTO_PYTHON=sys.executable)
    qenv["PATH"] = os.path.dirname(sys.executable) + os.pathsep + qenv.get("PATH", "")
    targets = [c.path for c in selected] if chapters is not None else [None]
    t0 = time.perf_counter()
    for target in targets:
        cmd = [quarto, "render"] + ([target] if target else [])
        if to != "all":
            cmd += ["--to", to]
        cmd += ["--output-dir", str(out)]
        log("  " + " ".join(shlex.quote(c) for c in cmd))
        proc = subprocess.run(cmd, cwd=book.root, env=qenv)
        if proc.returncode:
            raise RuntimeError(f"quarto render failed (exit {proc.returncode}): {' '.join(cmd)}")
    freeze.mkdir(exist_ok=True)
    stamp.write_text(json.dumps({"profile": cfg.profile, "fingerprint": fingerprint}))
    return RenderResult("quarto", cfg.profile, out, pages=sorted(out.rglob("*.html")),
                        seconds={"total": time.perf_counter() - t0})


def _render_fallback(book: BookSpec, profile: str, out: Path, env: dict,
                     selected: list[ChapterEntry], timeout: int, log) -> RenderResult:
    result = RenderResult("fallback", profile, out)
    nb_dir = out / "notebooks"
    nb_dir.mkdir(parents=True, exist_ok=True)
    import nbformat

    executed = {}
    for i, ch in enumerate(selected, 1):
        t0 = time.perf_counter()
        log(f"  [{i}/{len(selected)}] {ch.path} ...")
        nb = execute_chapter(book.root / ch.path, name=ch.path, timeout=timeout, env=env,
                             defaults=book.execute)
        dest = nb_dir / (posixpath.splitext(ch.path)[0].replace("/", "__") + ".ipynb")
        nbformat.write(nb, dest)
        result.notebooks.append(dest)
        result.seconds[ch.path] = time.perf_counter() - t0
        log(f"      done in {result.seconds[ch.path]:.1f} s")
        _asis_to_markdown(nb)
        executed[ch.path] = nb

    # number everything before writing any page, so references across
    # chapters resolve (chapters not rendered now are read from source)
    infos: dict[str, _ChapterInfo] = {}
    number = 0
    for ch in book.chapters:
        nb = executed.get(ch.path)
        if nb is None:
            nb = qmd_to_notebook((book.root / ch.path).read_text(encoding="utf-8"))
        info = _scan(nb, ch, number + 1)
        number += 1 if info.number else 0
        infos[ch.path] = info
    labels: dict[str, _Ref] = {}
    for info in infos.values():
        labels.update(info.labels)
    refs_entry = next((c for c in book.chapters if posixpath.basename(c.path) == "references.qmd"),
                      book.chapters[-1])
    labels["__references__"] = _Ref("", None, "", refs_entry.html_path, "")
    bib: dict = {}
    for b in book.bibliography:
        bib.update(parse_bibtex((book.root / b).read_text(encoding="utf-8")))
    bib_html = '<div id="refs" class="references csl-bib-body">\n' + "\n".join(
        _reference_html(k, e) for k, e in sorted(
            bib.items(), key=lambda kv: (_last_name(_authors(kv[1])[0]).lower(), _year(kv[1]), kv[0]))
    ) + "\n</div>"

    exporter = _exporter()
    for css in book.css:
        if (book.root / css).exists():
            (out / css).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(book.root / css, out / css)
    footer = html.escape(f"Built by lsreport's fallback renderer with profile “{profile}” "
                         f"on {time.strftime('%Y-%m-%d %H:%M')}.")
    for ch in selected:
        page_path = ch.html_path
        page = _Page(infos[ch.path], labels, bib, bib_html, result.unresolved,
                     chapter_dir=(book.root / ch.path).parent)
        nb = _present(executed[ch.path], page, book.execute)
        resources = {
            "css": [posixpath.relpath(c, posixpath.dirname(page_path) or ".") for c in book.css],
            "sidebar": _sidebar(book, infos, page_path),
            "pager": _pager(book, infos, page_path),
            "footer": footer,
        }
        _write_page(exporter, nb, out / page_path, resources, (book.root / ch.path).parent)
        result.pages.append(out / page_path)

    if not (out / "index.html").exists():
        contents = _sidebar(book, infos, "index.html")
        css = "".join(f'<link rel="stylesheet" href="{html.escape(c)}">' for c in book.css)
        (out / "index.html").write_text(_CONTENTS_PAGE.format(
            title=html.escape(book.title), css=css, sidebar=contents, contents=contents,
            footer=footer), encoding="utf-8")
        result.pages.append(out / "index.html")
    for miss in result.unresolved:
        log(f"  warning: unresolved reference {miss}")
    log(f"lsreport render: wrote {len(result.pages)} page(s) to {out}")
    return result
