"""Where a build came from: package version, commit, profile, data, results.

Every chapter ends with a collapsed "Reproduce this chapter" block
(:func:`lsreport.book.reproduce`) and the appendix "Figures" lists the
provenance of every figure. Both are made here from three things:

- :func:`build_provenance`: what is the same for the whole build (lsreport
  version, git commit with "modified" when the working tree differs from it,
  profile, data description and fingerprint, date, platform);
- :class:`RecordingStore`: an :class:`~lsreport.artifacts.ArtifactStore` that
  remembers the artifact key of every cached result a chapter opened, so
  the block names exactly the results the chapter's figures were drawn from;
- :func:`reproduce_markdown`: the block itself, as Quarto Markdown.

Examples
--------
>>> prov = build_provenance(load_config("smoke"))        # doctest: +SKIP
>>> prov.commit                                          # doctest: +SKIP
'f65ad73c1e2b (modified)'
"""

from __future__ import annotations

import datetime as _dt
import os
import platform as _platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from .artifacts import Artifact, ArtifactStore

__all__ = ["BuildProvenance", "RecordingStore", "build_provenance", "git_commit",
           "reproduce_markdown", "regenerate_commands", "BookMeta", "book_meta", "cite_markdown"]


def git_commit(root: str | os.PathLike | None = None) -> str:
    """The commit of the working tree, ``"<12 hex> (modified)"`` when it is dirty.

    Tracked files only decide "modified" (an untracked scratch file does not
    change what the build ran). Without git, or outside a repository,
    ``"unknown (not a git checkout)"``.
    """
    from .config import profiles_dir

    cwd = Path(root) if root else profiles_dir().parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (modified)" if dirty else head


def _build_date() -> str:
    # SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date of a rebuild
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date().isoformat()
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


@dataclass(frozen=True)
class BuildProvenance:
    """What one build of the book ran on.

    Attributes
    ----------
    version : str
        ``lsreport.__version__``.
    commit : str
        From :func:`git_commit`.
    profile : str
        The lsreport profile.
    data : str
        The data source in words (``FaceData.description`` when the faces
        are cached, else the configured source).
    data_fingerprint : str
        The faces artifact key: it hashes the ``data`` settings and the
        names and sizes of the source files, so a changed file changes it.
    date : str
        ISO date of the build (``$SOURCE_DATE_EPOCH`` when set).
    platform : str
        Operating system, machine and Python version.
    """

    version: str
    commit: str
    profile: str
    data: str
    data_fingerprint: str
    date: str
    platform: str

    def to_dict(self) -> dict:
        return asdict(self)


def build_provenance(cfg, faces=None) -> BuildProvenance:
    """The provenance of a build of ``cfg``.

    Parameters
    ----------
    cfg : Config
    faces : FaceData, optional
        The loaded faces; their description and key are used when given.
        Otherwise the fingerprint is computed from the source files (cheap:
        names and sizes, nothing is decoded).
    """
    from . import __version__

    if faces is not None:
        data, fp = faces.description, faces.key
    else:
        data = f"{cfg.resolved_data_source()} faces (not loaded in this build)"
        try:
            from .data import faces_key

            fp = faces_key(cfg)
        except (FileNotFoundError, ImportError, ValueError) as exc:
            fp = f"unknown ({exc})"
    plat = f"{_platform.system()} {_platform.machine()}, Python {_platform.python_version()}"
    return BuildProvenance(__version__, git_commit(), cfg.profile, data, fp, _build_date(), plat)


class RecordingStore(ArtifactStore):
    """An artifact store that remembers which results were opened.

    ``opened`` maps each step to the keys opened under it, in first-open
    order. The book's loaders open every result through the store, so after
    a chapter ran this is the list of artifacts its figures were drawn from
    (upstream ones included: loading latents opens faces and model too).
    """

    def __init__(self, root, *, read_only: bool = False):
        super().__init__(root, read_only=read_only)
        self.opened: dict[str, list[str]] = {}

    def load(self, step: str, key: str) -> Artifact:
        art = super().load(step, key)
        keys = self.opened.setdefault(step, [])
        if key not in keys:
            keys.append(key)
        return art


def regenerate_commands(profile: str, chapter: str | None, steps: list[str],
                        figures: list[str] = ()) -> list[str]:
    """Shell commands that rebuild a chapter (and its figures) from a checkout.

    Parameters
    ----------
    profile : str
    chapter : str or None
        Project-relative path of the chapter's ``.qmd``.
    steps : list of str
        Pipeline steps the chapter loaded; the last in pipeline order is run.
    figures : list of str
        Figure labels; one ``lsreport figure`` line for the first is shown.
    """
    from .pipeline import STEPS

    cmds = []
    if steps:
        last = max(steps, key=STEPS.index)
        cmds.append(f"lsreport run --profile {profile} --upto {last}")
    if chapter:
        cmds.append(f"LSREPORT_PROFILE={profile} quarto render {chapter}")
    if figures:
        cmds.append(f"lsreport figure {figures[0]} --profile {profile} --format pdf")
    return cmds


def reproduce_markdown(prov: BuildProvenance, opened: Mapping[str, list[str]], *,
                       chapter: str | None = None, figures: list[str] = (),
                       title: str = "Reproduce this chapter") -> str:
    """The collapsed "Reproduce this chapter" callout, as Quarto Markdown.

    Parameters
    ----------
    prov : BuildProvenance
    opened : mapping of str to list of str
        Step → artifact keys (:attr:`RecordingStore.opened`).
    chapter : str, optional
        The chapter's path, for the render command.
    figures : list of str
        The chapter's figure labels.
    """
    from .pipeline import STEPS

    order = sorted(opened, key=lambda s: STEPS.index(s) if s in STEPS else len(STEPS))
    keys = ", ".join(f"{s} `{k}`" for s in order for k in opened[s]) or "none"
    checkout = [] if prov.commit.startswith("unknown") else [f"git checkout {prov.commit.split()[0]}"]
    lines = [
        '::: {.callout-note collapse="true" appearance="simple" .reproduce}',
        f"## {title}",
        "",
        f"- **lsreport** {prov.version}, commit `{prov.commit}`",
        f"- **profile** `{prov.profile}`; **data fingerprint** `{prov.data_fingerprint}`",
        f"- **data** {prov.data}",
        f"- **results loaded** (artifact keys): {keys}",
        f"- **built** {prov.date} on {prov.platform}",
        "",
        "```sh",
        *checkout,
        *regenerate_commands(prov.profile, chapter, [s for s in order if s in STEPS], figures),
        "```",
        ":::",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class BookMeta:
    """What a citation of the book needs from ``_quarto.yml``."""

    title: str
    author: str
    site_url: str


def book_meta(root=None) -> BookMeta:
    """Title, author and ``site-url`` of the book (``_quarto.yml``)."""
    import yaml

    from .config import profiles_dir

    root = Path(root) if root else profiles_dir().parent
    book = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8")).get("book", {})
    author = book.get("author", "")
    if isinstance(author, list):
        author = " and ".join(a.get("name", "") if isinstance(a, dict) else str(a) for a in author)
    return BookMeta(str(book.get("title", "")), str(author), str(book.get("site-url", "")))


def _bib_escape(text: str) -> str:
    return text.replace("\\", "").replace("{", "").replace("}", "").replace("&", "\\&")


def cite_markdown(meta: BookMeta, prov: BuildProvenance, *, chapter: str | None = None,
                  chapter_title: str | None = None) -> str:
    """A collapsed "Cite this page" callout: a formatted citation and its BibTeX.

    Quarto builds no citation appendix for pages of a book (its HTML
    appendix step skips books), so the book prints its own. The entry names
    the page (a chapter of the book), its URL under ``site-url``, the
    lsreport version and the commit, so a cited figure can be traced to the
    build that made it.
    """
    import re

    year = prov.date[:4]
    page = (chapter or "index.qmd").rsplit(".", 1)[0] + ".html"
    index = not chapter or chapter == "index.qmd"
    url = (meta.site_url.rstrip("/") + ("/" if index else "/" + page)) if meta.site_url else ""
    version = f"lsreport {prov.version}" + (
        "" if prov.commit.startswith("unknown") else f", commit {prov.commit}")
    words = re.findall(r"[a-z]+", (chapter_title or "book").lower())
    key = "lsreport" + year + (words[0] if words else "")
    if chapter_title and not index:
        text = (f"{meta.author}. {year}. “{chapter_title}.” In *{meta.title}*. {version}. "
                f"<{url}>.")
        fields = [("title", chapter_title), ("booktitle", meta.title)]
        kind = "incollection"
    else:
        text = f"{meta.author}. {year}. *{meta.title}*. {version}. <{url}>."
        fields = [("title", meta.title)]
        kind = "book"
    fields = [("author", "{" + meta.author + "}"), *fields, ("year", year),
              ("url", url), ("note", version)]
    bib = "\n".join([f"@{kind}{{{key},", *[f"  {k} = {{{_bib_escape(v) if k != 'author' else v}}},"
                                            for k, v in fields], "}"])
    return "\n".join([
        '::: {.callout-tip collapse="true" appearance="simple" .cite-this}',
        "## Cite this page",
        "",
        text,
        "",
        "```bibtex",
        bib,
        "```",
        ":::",
    ]) + "\n"
