"""No logic in the book: every .qmd only reads results and draws.

The rule of the book (DESIGN.md, STYLE.md, issue 12): numbers and verdicts
come from tested findings objects in :mod:`lsreport.findings`; a chapter's
cells and inline expressions read attributes, format them and call the
drawing functions. This test parses every Python cell and every inline
``{python} expr`` of every ``.qmd`` of the project with :mod:`ast` and fails on

* ``def``, ``lambda``, ``class``;
* ``if`` statements, conditional expressions (``a if c else b``),
  ``for``/``while`` loops, comprehensions and generator expressions, ``try``;
* comparisons and boolean operators (a threshold in disguise);
* a bare number assigned to a name (``tol = 0.2``: a threshold literal);

and on a hidden setup cell (``#| include: false``) or any other cell with
more than :data:`MAX_LINES` lines of code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Code lines a cell may hold (option lines, comments and blank lines do not count).
MAX_LINES = 5
_SKIP = {"_book", ".quarto", "_freeze", ".venv", "node_modules", "site-packages"}

_CELL = re.compile(r"^```\{python\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)
_INLINE = re.compile(r"(?<!`)`\{python\}\s+(.+?)`(?!`)")

_FORBIDDEN = {
    ast.FunctionDef: "a function definition (def)",
    ast.AsyncFunctionDef: "a function definition (async def)",
    ast.Lambda: "a lambda",
    ast.ClassDef: "a class definition",
    ast.If: "an if statement",
    ast.IfExp: "a conditional expression (a if c else b)",
    ast.For: "a for loop",
    ast.AsyncFor: "a for loop",
    ast.While: "a while loop",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Try: "a try statement",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator (and/or)",
    ast.Match: "a match statement",
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    _FORBIDDEN[ast.TryStar] = "a try statement"


def _is_number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _numbers_assigned(node: ast.AST) -> bool:
    """``x = 0.2``, ``x: float = 0.2``, ``a, b = 0.1, 0.2``."""
    if isinstance(node, ast.Assign):
        value = node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        value = node.value
    else:
        return False
    if isinstance(value, ast.Tuple):
        return any(_is_number(v) for v in value.elts)
    return _is_number(value)


def logic_in(source: str) -> list[str]:
    """What ``source`` (a cell or an inline expression) holds that a chapter must not."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.append(f"line {node.lineno}: a boolean operator (not)")
        for kind, what in _FORBIDDEN.items():
            if isinstance(node, kind):
                found.append(f"line {getattr(node, 'lineno', '?')}: {what}")
        if _numbers_assigned(node):
            found.append(f"line {node.lineno}: a number assigned to a name (a threshold literal)")
    return found


def code_lines(cell: str) -> list[str]:
    """The lines of a cell that count as code."""
    return [ln for ln in cell.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def qmd_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.qmd") if not _SKIP & set(p.relative_to(ROOT).parts))


def problems(text: str) -> list[str]:
    """Every breach of the rules in one .qmd's text."""
    out = []
    for m in _CELL.finditer(text):
        cell = m.group(1)
        where = f"cell at line {text[: m.start()].count(chr(10)) + 1}"
        try:
            found = logic_in(cell)
        except SyntaxError as exc:
            found = [f"does not parse ({exc.msg})"]
        out += [f"{where}: {x}" for x in found]
        n = len(code_lines(cell))
        if n > MAX_LINES:
            kind = "setup cell" if re.search(r"^#\|\s*include:\s*false", cell, re.M) else "cell"
            out.append(f"{where}: {kind} has {n} lines of code (at most {MAX_LINES})")
    prose = _CELL.sub("", text)
    for m in _INLINE.finditer(prose):
        expr = m.group(1).strip()
        try:
            found = logic_in(expr)
        except SyntaxError as exc:
            found = [f"does not parse ({exc.msg})"]
        out += [f"inline `{expr[:60]}`: {x}" for x in found]
    return out


# ----------------------------------------------------------------- the rule


@pytest.mark.parametrize("path", qmd_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_logic_in_the_book(path):
    found = problems(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(found)


def test_every_chapter_is_checked():
    names = {p.name for p in qmd_files()}
    assert "index.qmd" in names
    assert {f"0{i}" for i in range(1, 9)} <= {n[:2] for n in names}


# ------------------------------------------------------- the checker itself

_BAD = [
    ("def f(x):\n    return x\n", "function definition"),
    ("g = lambda x: x\n", "lambda"),
    ("if a.x > 1:\n    print(1)\n", "if statement"),
    ("w = 'yes' if a.ok else 'no'\n", "conditional expression"),
    ("for k in ks:\n    plot(k)\n", "for loop"),
    ("while True:\n    break\n", "while loop"),
    ("xs = [k for k in ks]\n", "list comprehension"),
    ("', '.join(f'{k}' for k in ks)\n", "generator expression"),
    ("{k: 1 for k in ks}\n", "dict comprehension"),
    ("tol = 0.2\n", "threshold literal"),
    ("lo, hi = 0.1, -0.2\n", "threshold literal"),
    ("ok = a.x >= a.y\n", "comparison"),
    ("ok = a.x and a.y\n", "boolean operator"),
    ("ok = not a.x\n", "boolean operator (not)"),
    ("try:\n    f()\nexcept Exception:\n    pass\n", "try"),
]


@pytest.mark.parametrize("source, what", _BAD, ids=[w for _, w in _BAD])
def test_checker_finds(source, what):
    assert any(what in x for x in logic_in(source)), logic_in(source)


def test_checker_allows_reading_formatting_and_drawing():
    ok = ("fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3.4))\n"
          "plots.plot_qq(f.qq_normal, ax=left)\n"
          "f.fit_table(f.analysis.components, 8)\n"
          "x = f\"{f.share:.1%} of {f.n:,} and {f.tol * 100:.0f}\"\n"
          "ctx = book.setup()\n")
    assert logic_in(ok) == []


def test_problems_reads_cells_inline_code_and_lengths():
    text = ("# T\n\n```{python}\n#| include: false\nimport a\nimport b\nimport c\nimport d\n"
            "import e\nimport f\n```\n\nProse `{python} f\"{x:.1f}\"` and "
            "`{python} 'a' if f.ok else 'b'` and ``{python} code`` shown.\n\n"
            "```{python}\n#| label: fig-x\nplots.plot(f.x)  # a comment\n```\n")
    found = problems(text)
    assert any("setup cell has 6 lines" in x for x in found)
    assert any("inline `'a' if f.ok else 'b'`" in x and "conditional" in x for x in found)
    assert len(found) == 2, found
