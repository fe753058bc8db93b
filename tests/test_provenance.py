"""Build provenance: commit and "modified", recorded artifact keys, the reproduce block."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from lsreport.artifacts import ArtifactData
from lsreport.provenance import (BuildProvenance, RecordingStore, build_provenance, git_commit,
                                 reproduce_markdown)


def _git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.org")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "a.txt").write_text("one\n")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-qm", "first")
    return tmp_path


def test_commit_clean_dirty_and_untracked(repo):
    head = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo) == head[:12]
    (repo / "scratch.txt").write_text("untracked files do not change what the build ran\n")
    assert git_commit(repo) == head[:12]
    (repo / "a.txt").write_text("two\n")
    assert git_commit(repo) == head[:12] + " (modified)"


def test_commit_outside_git(tmp_path):
    assert git_commit(tmp_path).startswith("unknown")


def test_recording_store_records_each_opened_key_once(tmp_path):
    writer = RecordingStore(tmp_path)
    for key in ("k1", "k2"):
        writer.save("faces", key, ArtifactData(arrays={"x": np.arange(3)}))
    reader = RecordingStore(tmp_path, read_only=True)
    assert reader.opened == {}
    reader.load("faces", "k2")
    reader.get_or_compute("faces", "k1", lambda: None)
    reader.load("faces", "k2")
    assert reader.opened == {"faces": ["k2", "k1"]}


def test_build_date_follows_source_date_epoch(monkeypatch):
    from lsreport.config import load_config

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13 UTC
    prov = build_provenance(load_config("smoke"))
    assert prov.date == "2023-11-14"
    assert prov.profile == "smoke"
    assert "Python" in prov.platform


def test_reproduce_block_names_keys_commit_and_commands():
    prov = BuildProvenance("9.9", "abcdef123456 (modified)", "smoke", "synthetic faces",
                           "fp0123", "2026-01-02", "Linux x86_64, Python 3.11")
    md = reproduce_markdown(prov, {"latents": ["lat1"], "faces": ["fac1"], "model": ["mod1"]},
                            chapter="chapters/03-x.qmd", figures=["fig-a", "fig-b"])
    assert md.startswith('::: {.callout-note collapse="true"')
    assert "## Reproduce this chapter" in md
    # steps in pipeline order, each with its key
    assert md.index("faces `fac1`") < md.index("model `mod1`") < md.index("latents `lat1`")
    assert "abcdef123456 (modified)" in md and "git checkout abcdef123456\n" in md
    assert "lsreport run --profile smoke --upto latents" in md
    assert "LSREPORT_PROFILE=smoke quarto render chapters/03-x.qmd" in md
    assert "lsreport figure fig-a --profile smoke" in md
    assert md.rstrip().endswith(":::")


def test_regenerate_runs_the_last_step_in_pipeline_order():
    from lsreport.provenance import regenerate_commands

    cmds = regenerate_commands("p", None, ["sweep", "generation", "faces"])
    assert cmds == ["lsreport run --profile p --upto sweep"]


def test_cite_block_names_page_book_version_and_commit():
    from lsreport.provenance import BookMeta, cite_markdown
    from test_citation import bib_entries

    meta = BookMeta("A Book", "The authors", "https://example.org/book/")
    prov = BuildProvenance("9.9", "abcdef123456", "smoke", "d", "fp", "2031-05-06", "Linux")
    md = cite_markdown(meta, prov, chapter="chapters/06-gen.qmd", chapter_title="Generating faces")
    assert "## Cite this page" in md and 'collapse="true"' in md
    assert "“Generating faces.” In *A Book*" in md
    bib = md.split("```bibtex\n")[1].split("```")[0]
    (entry,) = bib_entries(bib).values()
    assert entry["type"] == "incollection" and entry["booktitle"] == "A Book"
    assert entry["url"] == "https://example.org/book/chapters/06-gen.html"
    assert entry["year"] == "2031" and entry["note"] == "lsreport 9.9, commit abcdef123456"
    # the preface cites the book at its site address
    home = cite_markdown(meta, prov, chapter="index.qmd", chapter_title="Preface")
    (entry,) = bib_entries(home.split("```bibtex\n")[1].split("```")[0]).values()
    assert entry["type"] == "book" and entry["url"] == "https://example.org/book/"
