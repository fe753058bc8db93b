"""Find code names in the prose of a rendered HTML page (shared by test_prose and test_quarto)."""

from __future__ import annotations

import re

#: snake_case words (``d2_var_ratio``, ``crop_fraction``) and upper-case constants (``LSREPORT_CELEBA``)
IDENTIFIER_RE = re.compile(r"(?<![\w/.-])(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w/-])")
#: a dotted configuration key such as ``data.crop_fraction`` or ``model.latent_dim``
DOTTED_RE = re.compile(r"\b[a-z]+\.[a-z]+_[a-z_]+\b")
#: names that are words of the trade, not code (a machine architecture)
ALLOWED = {"x86_64"}
SKIP = "script, style, code, pre, kbd, samp, .math, .sourceCode, .cell-code, .code-copy-button, nav, header, footer, .sidebar, #quarto-sidebar, #TOC, .csl-entry"


def identifiers_in_prose(html: str) -> list[str]:
    """Code names and literal backticks in the text a reader sees (code elements excluded).

    Returns
    -------
    list of str
        Each offending word (or "`" for a literal backtick), in page order.
    """
    from bs4 import BeautifulSoup

    doc = BeautifulSoup(html, "html.parser")
    main = doc.find("main") or doc
    for tag in main.select(SKIP):
        tag.decompose()
    text = main.get_text(" ")
    found = [w for w in IDENTIFIER_RE.findall(text) if w not in ALLOWED] + DOTTED_RE.findall(text)
    found += ["`"] * text.count("`")
    return found
