"""``lsreport analyse FILE``: the book's statistics for latent vectors from anywhere.

:func:`analyse_file` checks a ``.npy``/``.npz`` of N x D latent vectors (and
a Keras decoder and encoder, if given) before it writes anything, runs the
pipeline with ``data.source = "latents"`` (:mod:`lsreport.data.latents`),
and renders a small book into the output folder: a first page saying what
was analysed, the statistics chapters (3-5), the generation chapters (6-7)
when a decoder is given, and the latent explorer. Everything is built in a
scratch folder beside the output and moved into place at the end, so a
failure leaves no half-written output (and an older output stays whole).

The output folder holds the rendered HTML, ``lsreport-analyse.toml`` (the
profile that reproduces it) and ``findings.json`` (the headline numbers and
verdicts, for scripts and tests).

Examples
--------
>>> analyse_file("z.npy", out="z-analysis")                       # doctest: +SKIP
>>> analyse_file("z.npz", decoder="decoder.keras", out="report")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["AnalyseResult", "AnalysedFile", "CloudVerdict", "analyse_file", "book_chapters",
           "cloud_verdict", "what_was_analysed", "MARKER", "STATS_CHAPTERS", "GENERATION_CHAPTERS",
           "EXPLORER_CHAPTER"]

#: Written into every output folder; only a folder holding it is replaced.
MARKER = "findings.json"
STATS_CHAPTERS = ("chapters/03-component-distributions.qmd",
                  "chapters/04-correlations-and-ellipses.qmd",
                  "chapters/05-multivariate-normality-and-pca.qmd")
GENERATION_CHAPTERS = ("chapters/06-generating-faces.qmd", "chapters/07-latent-paths.qmd")
EXPLORER_CHAPTER = "chapters/09-explorer.qmd"


@dataclass(frozen=True)
class CloudVerdict:
    """Is the cloud roughly multivariate normal, and why: chapter 5's verdict, in brief.

    A view of :class:`lsreport.findings.cloud.CloudFindings` (the rule and
    its tolerance live there): the variance of the squared Mahalanobis
    distances d² against its normal value 2D, and the share of var(d²) that
    comes from co-varying squared principal-component scores (a scale
    mixture such as a multivariate t when it dominates).
    """

    n: int
    d: int
    var_ratio: float
    var_tol: float
    looks_normal: bool
    verdict: str
    mardia_kurtosis_z: float
    tail_ratio_99: float
    dependence_share: float
    scale_mixture: bool

    @property
    def reason(self) -> str:
        return (f"var(d²) is {self.var_ratio:.2f} times its normal value 2D = {2 * self.d} "
                f"(within {self.var_tol:.0%} counts as normal); {self.dependence_share:.0%} of "
                f"it comes from squared principal-component scores that rise and fall together")

    def to_dict(self) -> dict:
        return {**asdict(self), "reason": self.reason}


def cloud_verdict(analysis, z_train: np.ndarray, cfg=None) -> CloudVerdict:
    """The :class:`CloudVerdict` of an analysis of ``z_train`` (chapter 5's findings)."""
    from .findings.cloud import cloud_findings

    f = cloud_findings(analysis, np.asarray(z_train), cfg=cfg, rng=np.random.default_rng(0))
    md = analysis.mardia
    return CloudVerdict(n=int(f.n_samples), d=int(f.d), var_ratio=float(f.var_ratio),
                        var_tol=float(f.VAR_TOL), looks_normal=bool(f.roughly_normal),
                        verdict=str(f.verdict_sentence),
                        mardia_kurtosis_z=float(md.full_kurtosis_z) if md is not None else float("nan"),
                        tail_ratio_99=float(f.tail_99), dependence_share=float(f.split.dependence_share),
                        scale_mixture=bool(f.scale_mixture_dominates))


@dataclass(frozen=True)
class AnalysedFile:
    """What the first page of an analysis book says about its input."""

    description: str
    path: str
    sha256: str
    n: int
    d: int
    n_train: int
    split_from_file: bool
    decoder: str
    encoder: str

    @property
    def split_sentence(self) -> str:
        if self.n_train == self.n:
            return f"The statistics use all {self.n:,} vectors."
        how = "the file's split" if self.split_from_file else "a random split"
        return (f"The statistics use the {self.n_train:,} training vectors of {how}; the others "
                f"are held out for the generation chapters.")

    @property
    def decoder_sentence(self) -> str:
        if not self.decoder:
            return ("No decoder was given, so the chapters on generating faces and latent paths "
                    "are left out, and the explorer shows no faces.")
        enc = (f"the encoder {Path(self.encoder).name}" if self.encoder else
               "no encoder (the decoder's images of the file's vectors are encoded exactly by "
               "looking their vectors up)")
        return (f"The decoder {Path(self.decoder).name} turns vectors into images, with {enc}; "
                f"the generation chapters compare sampled images with the decoder's images of "
                f"the held-out vectors, which stand in for real faces.")


def what_was_analysed(ctx=None) -> AnalysedFile:
    """The :class:`AnalysedFile` of the book's profile (``book.context()`` by default)."""
    from . import book

    ctx = ctx or book.context()
    lat = book.load("latents")
    meta = lat.meta
    d = ctx.cfg.data
    return AnalysedFile(description=meta.get("description", ""), path=meta.get("path", d.path),
                        sha256=meta.get("sha256", ""), n=int(meta.get("n", len(lat.z))),
                        d=int(lat.z.shape[1]), n_train=int(np.sum(np.asarray(lat.split) == 0)),
                        split_from_file=bool(meta.get("split_from_file", False)),
                        decoder=d.decoder, encoder=d.encoder)


# ------------------------------------------------------------------ the book

_INDEX = """\
# What was analysed {{.unnumbered}}

```{{python}}
#| include: false
import lsreport.book as book
from lsreport import analyse
ctx = book.setup()
src, cloud = analyse.what_was_analysed(ctx), analyse.cloud_verdict(book.load("analysis"), book.load("latents").split_z("train"), ctx.cfg)
```

This book was made by `lsreport analyse` from a file of latent vectors, not
from the autoencoder of *The latent space of a plain autoencoder on faces*.
It runs that book's statistics on them: `{{python}} src.description`
`{{python}} src.split_sentence` `{{python}} src.decoder_sentence`

**File.** `{{python}} src.path` (SHA-256 `{{python}} src.sha256[:16]`…).

**Roughly multivariate normal?** `{{python}} cloud.verdict`: `{{python}} cloud.reason`.
@sec-multivariate-normality-and-pca explains the rule and the other tests.

The chapters: distributions of the single components
(@sec-component-distributions), correlations and confidence ellipses of
pairs (@sec-correlations-and-ellipses), the cloud as a whole
(@sec-multivariate-normality-and-pca){generation}, and an explorer of any
pair of components (@sec-explorer).
"""


def book_chapters(root: Path, with_decoder: bool) -> list:
    """The ``book.chapters`` list of an analysis book (the chapters that exist in ``root``)."""
    stats = [c for c in STATS_CHAPTERS if (root / c).exists()]
    items: list = ["index.qmd", {"part": "The latent distribution", "chapters": stats}]
    if with_decoder:
        gen = [c for c in GENERATION_CHAPTERS if (root / c).exists()]
        if gen:
            items.append({"part": "Generating faces", "chapters": gen})
    if (root / EXPLORER_CHAPTER).exists():
        items.append(EXPLORER_CHAPTER)
    if (root / "chapters/references.qmd").exists():
        items.append("chapters/references.qmd")
    return items


def _write_project(project: Path, src: Path, *, title: str, with_decoder: bool,
                   chapters: list | None) -> None:
    import yaml

    (project / "chapters").mkdir(parents=True)
    for c in (*STATS_CHAPTERS, *GENERATION_CHAPTERS, EXPLORER_CHAPTER, "chapters/references.qmd"):
        if (src / c).exists():
            shutil.copyfile(src / c, project / c)
    if (src / "assets").exists():
        shutil.copytree(src / "assets", project / "assets")
    spec = yaml.safe_load((src / "_quarto.yml").read_text(encoding="utf-8"))
    proj = spec.setdefault("project", {})
    for k in ("pre-render", "post-render", "render"):
        proj.pop(k, None)
    proj["output-dir"] = "_book"
    bk = spec.setdefault("book", {})
    bk["title"] = title
    bk["subtitle"] = "The statistics of “The latent space of a plain autoencoder on faces”, run by lsreport analyse"
    for k in ("appendices", "site-url", "repo-url", "cover-image"):
        bk.pop(k, None)
    items = book_chapters(project, with_decoder)
    if chapters is not None:
        keep = set(chapters) | {"index.qmd"}
        items = [i for i in items if isinstance(i, str) and i in keep] + [
            {**i, "chapters": [c for c in i["chapters"] if c in keep]} for i in items
            if isinstance(i, dict) and any(c in keep for c in i["chapters"])]
        items.sort(key=lambda i: 0 if i == "index.qmd" else 2 if i == "chapters/references.qmd" else 1)
    bk["chapters"] = items
    ex = spec.get("execute") or {}
    ex.pop("cache", None)  # Quarto refuses inline `{python}` expressions under Jupyter Cache
    spec["execute"] = {**ex, "freeze": False}
    spec.pop("citation", None)
    spec.pop("google-scholar", None)
    spec.pop("appendix-cite-as", None)
    fmt = spec.get("format", {})
    spec["format"] = {"html": fmt.get("html", {})}
    (project / "_quarto.yml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True),
                                         encoding="utf-8")
    gen = (", generating faces from sampled vectors (@sec-generating-faces) and paths through "
           "the latent space (@sec-latent-paths)") if with_decoder and any(
        (project / c).exists() for c in GENERATION_CHAPTERS) else ""
    text = _INDEX.format(generation=gen)
    if not (project / EXPLORER_CHAPTER).exists() or (chapters is not None and EXPLORER_CHAPTER not in chapters):
        text = text.replace(", and an explorer of any\npair of components (@sec-explorer)", "")
    (project / "index.qmd").write_text(text, encoding="utf-8")


# ------------------------------------------------------------------ the command


@dataclass
class AnalyseResult:
    """What :func:`analyse_file` made."""

    out: Path
    findings: dict
    rendered: bool
    seconds: dict = field(default_factory=dict)
    pages: list = field(default_factory=list)


def _profile_text(base: str, file: Path, decoder: Path | None, encoder: Path | None,
                  split: tuple | None) -> str:
    lines = ["# written by `lsreport analyse`: the profile that reproduces this analysis",
             f'extends = "{base}"',
             f'description = "latent vectors from {file.name}, analysed by lsreport analyse"',
             "", "[data]", 'source = "latents"', f"path = {json.dumps(str(file))}",
             f"decoder = {json.dumps(str(decoder) if decoder else '')}",
             f"encoder = {json.dumps(str(encoder) if encoder else '')}"]
    if split is not None:
        lines.append(f"split = [{', '.join(repr(float(s)) for s in split)}]")
    return "\n".join(lines) + "\n"


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise FileExistsError(f"{out} exists and is not the output of an earlier `lsreport analyse` "
                              f"(no {MARKER} in it); choose another --out or remove it")


def analyse_file(file: str | os.PathLike, *, decoder: str | os.PathLike | None = None,
                 encoder: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
                 profile: str = "default", render: bool = True,
                 chapters: list | None = None, env: dict | None = None,
                 log: Callable[[str], None] | None = None) -> AnalyseResult:
    """Analyse a file of latent vectors and render the book's chapters for it.

    Parameters
    ----------
    file : path
        ``.npy`` or ``.npz`` of N x D latent vectors (see :mod:`lsreport.data.latents`).
    decoder, encoder : path, optional
        Keras ``.keras`` models; the decoder enables chapters 6-7 and the
        explorer's faces.
    out : path, optional
        Output folder; default ``<file stem>-analysis`` beside the file. An
        existing folder is replaced only if an earlier run made it.
    profile : str
        The profile whose statistics, sampling and quality settings are used
        (``default``; tests use ``smoke``).
    render : bool
        Render the book (needs Quarto); without it only ``findings.json``
        and the profile are written.
    chapters : list of str, optional
        Render only these chapters (paths as ``chapters/NN-....qmd``); the
        first page is always rendered.
    env : dict, optional
        Extra environment for Quarto and the chapters (e.g. ``LSREPORT_CACHE``).
    log : callable, optional
        Where progress lines go; default ``print``.

    Returns
    -------
    AnalyseResult

    Raises
    ------
    FileNotFoundError
        ``file`` or a model file does not exist.
    LatentFileError
        Bad input (see :func:`lsreport.data.latents.read_latent_file`,
        :func:`~lsreport.data.latents.check_decoder`); nothing is written.
    FileExistsError
        ``out`` holds something else.
    """
    from . import pipeline
    from .config import load_config
    from .data import latents as lat_src

    log = log or (lambda s: print(s, flush=True))
    t0 = time.perf_counter()
    file = Path(file).expanduser().resolve()
    decoder = Path(decoder).expanduser().resolve() if decoder else None
    encoder = Path(encoder).expanduser().resolve() if encoder else None
    if encoder and not decoder:
        raise lat_src.LatentFileError("--encoder needs --decoder: an encoder alone adds nothing "
                                      "to an analysis of given latents")
    base = load_config(profile)
    split = None if decoder else (1.0, 0.0, 0.0)
    lf = lat_src.read_latent_file(file, shares=split or base.data.split, seed=base.data.seed)
    if decoder:
        dec = lat_src.load_keras_model(decoder, "decoder")
        shape = lat_src.check_decoder(dec, lf.d)
        if encoder:
            lat_src.check_encoder(lat_src.load_keras_model(encoder, "encoder"), lf.d, shape)
    out = Path(out).expanduser().resolve() if out else file.parent / f"{file.stem}-analysis"
    _check_out(out)
    log(f"lsreport analyse: {lf.describe()} decoder: {decoder.name if decoder else 'none'}")

    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    env = dict(env or {})
    saved = {k: os.environ.get(k) for k in env}
    try:
        os.environ.update(env)
        stage.mkdir(parents=True)
        project = stage / "book"
        project.mkdir()
        prof = project / "lsreport-analyse.toml"
        prof.write_text(_profile_text(base.profile, file, decoder, encoder, split), encoding="utf-8")
        cfg = load_config(prof)
        seconds = {}
        t = time.perf_counter()
        a = pipeline.run(cfg, upto="analysis", progress=False)
        seconds["analysis"] = time.perf_counter() - t
        lat = pipeline.latents(cfg, progress=False)
        findings = {"file": str(file), "sha256": lf.sha256, "n": lf.n, "d": lf.d,
                    "n_train": int(a.n_samples), "decoder": str(decoder or ""),
                    "cloud": cloud_verdict(a, lat.split_z("train"), cfg).to_dict(),
                    "summary": {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                                for k, v in a.summary().items()}}
        if decoder and (chapters is None or any(c in chapters for c in GENERATION_CHAPTERS)):
            t = time.perf_counter()
            log("lsreport analyse: generating and measuring samples with the decoder ...")
            pipeline.generation(cfg, progress=False)
            seconds["generation"] = time.perf_counter() - t
        final = stage / "out"
        pages: list = []
        if render:
            from .render import render_book

            src = pipeline.project_root()
            _write_project(project, src, title=f"Latent vectors of {file.name}",
                           with_decoder=bool(decoder), chapters=chapters)
            t = time.perf_counter()
            render_book(str(prof), to="html", root=project, output_dir=final,
                        env={**env, "LSREPORT_PROFILE": str(prof)}, log=log)
            seconds["render"] = time.perf_counter() - t
            pages = sorted(p.relative_to(final).as_posix() for p in final.rglob("*.html"))
        else:
            final.mkdir()
        shutil.copyfile(prof, final / prof.name)
        seconds["total"] = time.perf_counter() - t0
        findings["seconds"] = seconds
        findings["pages"] = pages
        (final / MARKER).write_text(json.dumps(findings, indent=2, default=float), encoding="utf-8")
        # swap into place: the old output (if any) is removed only once the new one is complete
        old = stage / "old"
        if out.exists():
            os.replace(out, old)
        os.replace(final, out)
        log(f"lsreport analyse: {findings['cloud']['verdict']}; wrote {out} in {seconds['total']:.0f} s")
        return AnalyseResult(out, findings, render, seconds, pages)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(stage, ignore_errors=True)
