"""References, citation metadata and CITATION.cff (issue 10, items 1 and 2)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import lsreport

ROOT = Path(__file__).resolve().parents[1]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
PREFIX = "Autoencoders and latent space fragmentation – "


def bib_entries(text: str) -> dict[str, dict]:
    """A small BibTeX reader: ``{key: {field: value}}`` (values with their braces stripped)."""
    out = {}
    for m in re.finditer(r"@(\w+)\{([^,\s]+),(.*?)\n\}", text, re.S):
        fields = {f.lower(): v.strip().strip("{}").strip()
                  for f, v in re.findall(r"^\s*(\w+)\s*=\s*(\{.*\}|\S+),?\s*$", m.group(3), re.M)}
        out[m.group(2)] = {"type": m.group(1).lower(), **fields}
    return out


BIB = bib_entries((ROOT / "assets/references.bib").read_text(encoding="utf-8"))


def cited_keys() -> dict[str, set[str]]:
    """Citation keys per page: ``[@key]`` groups and bare ``@key`` outside cross-references."""
    pages = [ROOT / "index.qmd", *sorted((ROOT / "chapters").glob("*.qmd"))]
    out = {}
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"`[^`]*`", "", text)
        keys = set(re.findall(r"(?<![\w@])-?@([A-Za-z][\w:-]*\w)", text))
        out[page.name] = {k for k in keys if not re.match(r"(sec|fig|tbl|eq)-", k)}
    return out


def test_every_citation_resolves():
    missing = {p: sorted(k - BIB.keys()) for p, k in cited_keys().items() if k - BIB.keys()}
    assert not missing, f"citation keys not in assets/references.bib: {missing}"


def test_one_entry_per_post_of_the_series():
    series = {k: v for k, v in BIB.items() if v.get("title", "").startswith(PREFIX)}
    parts = sorted(v["title"][len(PREFIX):].split(" – ")[0] for v in series.values())
    assert parts == sorted(ROMAN), parts
    for key, v in series.items():
        assert v["author"] == "Mönchmeyer, Ralph", key
        assert v["date"].startswith("2023-"), key
        assert v["url"].startswith("https://linux-blog.anracom.com/2023/") or "/tag/" in v["url"], key
        # a URL that is no permalink (tag or archive page) must say so
        is_permalink = re.search(r"/2023/\d\d/\d\d/autoencoders-and-latent-space-fragmentation-",
                                 v["url"])
        assert is_permalink or "permalink" in v.get("note", "").lower(), key


def test_chapters_cite_the_posts_they_test():
    cites = cited_keys()
    expect = {"03-component-distributions.qmd": "moenchmeyer2023ii",
              "04-correlations-and-ellipses.qmd": "moenchmeyer2023iii",
              "05-multivariate-normality-and-pca.qmd": "moenchmeyer2023ix",
              "06-generating-faces.qmd": "moenchmeyer2023x",
              "07-latent-paths.qmd": "moenchmeyer2023vi"}
    for page, key in expect.items():
        assert key in cites[page], f"{page} does not cite {key}"
    assert not any(k.startswith("moenchmeyer2022") for ks in cites.values() for k in ks), \
        "a chapter cites the superseded 2022 series"


def test_citation_cff_version_is_the_package_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"].startswith("1.2")
    assert str(cff["version"]) == lsreport.__version__
    assert cff["title"] and cff["authors"]


def test_quarto_citation_metadata():
    q = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert q["citation"]["type"] == "book"
    assert q["book"]["site-url"].startswith("https://")
    assert q["google-scholar"] is True
    assert "bibtex" in q["appendix-cite-as"]
    assert "chapters/figures.qmd" in q["book"]["appendices"]
