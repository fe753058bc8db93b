"""Procedural cartoon faces with known generative factors.

Every image is drawn from 16 independent factors (:data:`FACTORS`): head
size and shape, position, skin tone, hair colour and length, eye size and
spacing, brow thickness, nose size, mouth width and curvature, background
hue, and the direction and strength of a lighting gradient. Each factor is a
*standardised* latent value with mean 0 and variance 1, drawn from one of
three distributions:

* ``"normal"``: N(0, 1);
* ``"uniform"``: U(-sqrt 3, sqrt 3), the uniform law with unit variance
  (excess kurtosis -1.2);
* ``"bimodal"``: an equal mixture of N(-0.9, s^2) and N(+0.9, s^2) with
  s = sqrt(1 - 0.9^2) = 0.436, so the variance is exactly 1; excess
  kurtosis ``(m^4 + 6 m^2 s^2 + 3 s^4) - 3 = -1.31`` with m = 0.9.

A value z becomes a drawing parameter linearly, ``centre + scale * z``, with
z clipped to [-2.5, 2.5] so that even the tails give plausible faces
(:data:`FACTORS` lists centre and scale). The face is drawn with
:mod:`skimage.draw` at ``render_size`` pixels and averaged down to
``image_size`` (a box filter when the ratio is an integer, Lanczos
otherwise), which anti-aliases the edges.

``data.synthetic.factor_distribution`` sets the law of every factor,
``data.synthetic.factor_overrides = {hair_length = "bimodal"}`` that of single
factors; each factor has its own random stream (from ``data.seed``), so
changing one factor's law leaves the others' values as they were.

Because the truth is known, this set is the control of the book: it says
what a latent space looks like when the data have exactly independent,
normal (or deliberately non-normal) factors.
"""

from __future__ import annotations

import colorsys
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from PIL import Image
from skimage import draw

from ..config import Config
from .base import (
    BadFileReport,
    Prepared,
    _workers_for,
    assign_split,
    grouped_order,
    package,
    run_chunks,
    split_phrase,
)

__all__ = [
    "FACTORS",
    "FACTOR_NAMES",
    "DISTRIBUTIONS",
    "BIMODAL_MEAN",
    "BIMODAL_SD",
    "Factor",
    "sample_factors",
    "factor_distributions",
    "factor_pdf",
    "factor_parameters",
    "render_face",
    "render_faces",
    "prepare",
    "load_original",
]

#: Bumped whenever the drawing changes, so old caches are not reused.
GENERATOR_VERSION = 1

DISTRIBUTIONS = ("normal", "uniform", "bimodal")
#: Modes of the bimodal law: +-0.9 with sd sqrt(1 - 0.81), unit variance.
BIMODAL_MEAN = 0.9
BIMODAL_SD = math.sqrt(1.0 - BIMODAL_MEAN**2)
#: Latent values beyond this many standard deviations are clipped when drawn.
CLIP = 2.5


@dataclass(frozen=True)
class Factor:
    """One generative factor: drawing parameter = centre + scale * clip(z)."""

    name: str
    centre: float
    scale: float
    meaning: str


#: The factors, their mapping to drawing parameters and what they mean.
#: Lengths are fractions of the image side (``size``), of the head's half
#: height (``ry``) or half width (``rx``).
FACTORS: tuple[Factor, ...] = (
    Factor("head_size", 0.27, 0.022, "half height of the head, fraction of the image side"),
    Factor("head_aspect", 0.80, 0.05, "head width / height"),
    Factor("pos_x", 0.50, 0.03, "horizontal centre of the head, fraction of the side"),
    Factor("pos_y", 0.46, 0.025, "vertical centre of the head, fraction of the side"),
    Factor("skin_tone", 0.42, 0.22, "position on a light-to-dark skin palette, 0..1"),
    Factor("hair_color", 0.42, 0.26, "position on a black-brown-blond palette, 0..1"),
    Factor("hair_length", 0.55, 0.5, "lowest point of the hair below the head centre, in ry "
                                     "(< 0: short, above the eyes; > 1: below the chin)"),
    Factor("eye_size", 0.15, 0.022, "half width of an eye, in rx"),
    Factor("eye_spacing", 0.38, 0.04, "distance of each eye from the midline, in rx"),
    Factor("brow_thickness", 0.065, 0.016, "brow thickness, in ry"),
    Factor("nose_size", 0.26, 0.05, "nose length, in ry (width follows)"),
    Factor("mouth_width", 0.32, 0.05, "half width of the mouth, in rx"),
    Factor("mouth_curve", 0.0, 0.06, "rise of the mouth corners, in ry (> 0 smiles)"),
    Factor("background", 0.58, 0.12, "background hue, 0..1 (wraps)"),
    Factor("light_angle", 0.0, 0.7, "light direction in radians, 0 = from the left, "
                                    "> 0 turns towards the top"),
    Factor("light_strength", 0.22, 0.08, "relative brightness change across the image"),
)
FACTOR_NAMES: tuple[str, ...] = tuple(f.name for f in FACTORS)

_SKIN = np.array([(255, 228, 206), (241, 196, 160), (226, 172, 128), (198, 136, 94),
                  (160, 104, 68), (118, 74, 47), (84, 53, 36)], np.float32)
_HAIR = np.array([(22, 18, 16), (52, 36, 26), (92, 60, 38), (138, 92, 54),
                  (176, 130, 78), (214, 182, 120), (232, 210, 160)], np.float32)
_SHIRT = np.array((72, 88, 116), np.uint8)
_IRIS = np.array((70, 48, 32), np.uint8)
_LIPS = np.array((178, 72, 78), np.float32)
_WHITE = np.array((250, 250, 250), np.uint8)
_PUPIL = np.array((12, 10, 10), np.uint8)


# ------------------------------------------------------------------ factors


def factor_distributions(default: str = "normal",
                         overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The law of every factor: ``default`` with ``overrides`` applied (validated)."""
    overrides = dict(overrides or {})
    for name, law in [("factor_distribution", default), *overrides.items()]:
        if law not in DISTRIBUTIONS:
            raise ValueError(f"data.synthetic: distribution {law!r} for {name} is not valid; "
                             f"choose one of {', '.join(DISTRIBUTIONS)}")
    unknown = sorted(set(overrides) - set(FACTOR_NAMES))
    if unknown:
        raise ValueError(f"data.synthetic.factor_overrides: unknown factor(s) "
                         f"{', '.join(unknown)}; valid factors: {', '.join(FACTOR_NAMES)}")
    return {name: overrides.get(name, default) for name in FACTOR_NAMES}


def _draw(law: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if law == "normal":
        return rng.standard_normal(n)
    if law == "uniform":
        return rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), n)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return sign * BIMODAL_MEAN + BIMODAL_SD * rng.standard_normal(n)


def sample_factors(n: int, seed: int, distribution: str = "normal",
                   overrides: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Draw ``n`` standardised factor vectors.

    Parameters
    ----------
    n : int
        Number of faces.
    seed : int
        Seed; every factor draws from its own stream spawned from it.
    distribution : {"normal", "uniform", "bimodal"}
        Law of every factor (see the module notes; all have mean 0 and
        variance 1).
    overrides : mapping, optional
        Factor name -> law, for single factors.

    Returns
    -------
    DataFrame
        Shape (n, 16), one column per factor (:data:`FACTOR_NAMES`).

    Examples
    --------
    >>> f = sample_factors(5, seed=0, overrides={"hair_length": "bimodal"})
    >>> f.shape
    (5, 16)
    """
    laws = factor_distributions(distribution, overrides)
    streams = np.random.SeedSequence(seed).spawn(len(FACTOR_NAMES))
    cols = {name: _draw(laws[name], n, np.random.default_rng(s))
            for name, s in zip(FACTOR_NAMES, streams)}
    return pd.DataFrame(cols, columns=list(FACTOR_NAMES))


def factor_pdf(law: str, x: np.ndarray) -> np.ndarray:
    """Density of a standardised factor law at ``x`` (for plots and checks)."""
    x = np.asarray(x, dtype=np.float64)
    if law == "normal":
        return np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    if law == "uniform":
        a = math.sqrt(3.0)
        return np.where(np.abs(x) <= a, 1.0 / (2 * a), 0.0)
    if law == "bimodal":
        s = BIMODAL_SD
        k = 1.0 / (s * math.sqrt(2 * math.pi))
        return 0.5 * k * (np.exp(-0.5 * ((x - BIMODAL_MEAN) / s) ** 2)
                          + np.exp(-0.5 * ((x + BIMODAL_MEAN) / s) ** 2))
    raise ValueError(f"unknown law {law!r}; choose one of {', '.join(DISTRIBUTIONS)}")


def factor_parameters(z: Mapping[str, float] | np.ndarray) -> dict[str, float]:
    """Drawing parameters of one face from its standardised factors."""
    if not isinstance(z, Mapping):
        z = dict(zip(FACTOR_NAMES, np.asarray(z, dtype=float)))
    return {f.name: f.centre + f.scale * min(max(float(z.get(f.name, 0.0)), -CLIP), CLIP)
            for f in FACTORS}


# ---------------------------------------------------------------- drawing


def _palette(pal: np.ndarray, t: float) -> np.ndarray:
    x = np.clip(t, 0.0, 1.0) * (len(pal) - 1)
    i = min(int(x), len(pal) - 2)
    return pal[i] + (x - i) * (pal[i + 1] - pal[i])


def _u8(colour) -> np.ndarray:
    return np.clip(np.round(colour), 0, 255).astype(np.uint8)


def _fill(img, rr, cc, colour):
    img[rr, cc] = colour


def _ellipse(img, cy, cx, ry, rx, colour, below=None):
    """Fill an axis-aligned ellipse (pixel centres at integer coordinates).

    Works on the bounding box only, which is several times faster than
    :func:`skimage.draw.ellipse` for the many small shapes of a face.
    ``below(rows, cols)`` optionally returns a limit: only pixels with
    ``row < limit`` are filled.
    """
    R = img.shape[0]
    r0, r1 = max(int(math.ceil(cy - ry)), 0), min(int(math.floor(cy + ry)) + 1, R)
    c0, c1 = max(int(math.ceil(cx - rx)), 0), min(int(math.floor(cx + rx)) + 1, R)
    if r0 >= r1 or c0 >= c1 or ry <= 0 or rx <= 0:
        return
    rows = (np.arange(r0, r1, dtype=np.float32)[:, None] - cy) / ry
    cols = (np.arange(c0, c1, dtype=np.float32)[None, :] - cx) / rx
    mask = rows * rows + cols * cols <= 1.0
    if below is not None:
        mask &= np.arange(r0, r1)[:, None] < below(np.arange(c0, c1)[None, :])
    img[r0:r1, c0:c1][mask] = colour


def _convex(img, rows, cols, colour):
    """Fill a convex polygon given by its corners (either orientation)."""
    R = img.shape[0]
    rows = np.asarray(rows, np.float32)
    cols = np.asarray(cols, np.float32)
    r0, r1 = max(int(math.ceil(rows.min())), 0), min(int(math.floor(rows.max())) + 1, R)
    c0, c1 = max(int(math.ceil(cols.min())), 0), min(int(math.floor(cols.max())) + 1, R)
    if r0 >= r1 or c0 >= c1:
        return
    rr = np.arange(r0, r1, dtype=np.float32)[:, None]
    cc = np.arange(c0, c1, dtype=np.float32)[None, :]
    sign = np.sign((rows[1] - rows[0]) * (cols[2] - cols[0])
                   - (cols[1] - cols[0]) * (rows[2] - rows[0])) or 1.0
    mask = np.ones((r1 - r0, c1 - c0), bool)
    for i in range(len(rows)):
        j = (i + 1) % len(rows)
        cross = (rows[j] - rows[i]) * (cc - cols[i]) - (cols[j] - cols[i]) * (rr - rows[i])
        mask &= sign * cross >= 0
    img[r0:r1, c0:c1][mask] = colour


def _bezier(p0, p1, p2, n=24):
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t**2 * np.asarray(p2)


def _downscale(img: np.ndarray, size: int) -> np.ndarray:
    """Average ``img`` down to ``size`` (box filter; Lanczos if not a multiple)."""
    R = img.shape[0]
    if R == size:
        return img.astype(np.float32)
    if R % size:
        pil = Image.fromarray(img).resize((size, size), Image.LANCZOS)
        return np.asarray(pil, np.float32)
    k = R // size
    acc = np.zeros((size, size, 3), np.float32)
    for i in range(k):
        for j in range(k):
            acc += img[i::k, j::k]
    return acc * (1.0 / (k * k))


def render_face(z: Mapping[str, float] | np.ndarray, render_size: int = 128,
                image_size: int | None = None) -> np.ndarray:
    """Draw one face.

    Parameters
    ----------
    z : mapping or array
        Standardised factor values (missing factors are 0, the average face).
    render_size : int
        Side of the drawing in pixels.
    image_size : int, optional
        Side of the returned image (averaged down, which anti-aliases the
        edges); default ``render_size``.

    Returns
    -------
    ndarray of uint8, shape (image_size, image_size, 3)

    Notes
    -----
    Drawing order, back to front: background, shoulders, long hair, the hair
    mass around the head, neck, ears, head, hair cap above the hairline,
    eyes (white, iris, pupil, highlight), brows, nose, mouth. The lighting
    gradient multiplies the averaged-down image (it is linear, so the order
    does not matter).
    """
    p = factor_parameters(z)
    R = render_size
    img = np.empty((R, R, 3), np.uint8)

    hue = p["background"] % 1.0
    img[:] = np.round(np.array(colorsys.hsv_to_rgb(hue, 0.32, 0.86)) * 255).astype(np.uint8)
    skin = _palette(_SKIN, p["skin_tone"])
    hair = _palette(_HAIR, p["hair_color"])
    shade = _u8(skin * 0.84)
    brow = _u8(hair * 0.75)
    lips = _u8(0.7 * _LIPS + 0.3 * skin)
    lip_line = _u8(lips * 0.55)
    skin, hair = _u8(skin), _u8(hair)

    ry = p["head_size"] * R
    rx = ry * p["head_aspect"]
    cx, cy = p["pos_x"] * R, p["pos_y"] * R

    # shoulders, then long hair behind the neck and head
    _ellipse(img, cy + 1.95 * ry, cx, 0.78 * ry, 2.1 * rx, _SHIRT)
    length = p["hair_length"]
    hw = 1.16 * rx
    bottom = cy + length * ry
    if length > 0.9:
        _convex(img, [cy, cy, bottom, bottom], [cx - hw, cx + hw, cx + hw, cx - hw], hair)
        _ellipse(img, bottom, cx, 0.18 * ry, hw, hair)
    _ellipse(img, cy - 0.05 * ry, cx, 1.08 * ry, hw, hair, below=lambda cols: bottom)
    nk = 0.36 * rx
    _convex(img, [cy + 0.5 * ry, cy + 0.5 * ry, cy + 1.6 * ry, cy + 1.6 * ry],
            [cx - nk, cx + nk, cx + nk, cx - nk], shade)
    for side in (-1, 1):
        _ellipse(img, cy + 0.05 * ry, cx + side * 0.97 * rx, 0.22 * ry, 0.15 * rx, skin)
    _ellipse(img, cy, cx, ry, rx, skin)

    # the hair cap: the part of a slightly larger ellipse above the hairline,
    # which is high in the middle and comes down at the temples
    _ellipse(img, cy - 0.06 * ry, cx, 1.07 * ry, 1.07 * rx, hair,
             below=lambda cols: cy - 0.5 * ry + 0.42 * ry * ((cols - cx) / rx) ** 2)

    # eyes and brows
    ey = cy - 0.02 * ry
    ew = p["eye_size"] * rx
    eh = 0.62 * ew
    bt = max(p["brow_thickness"], 0.015) * ry
    for side in (-1, 1):
        ex = cx + side * p["eye_spacing"] * rx
        _ellipse(img, ey, ex, eh, ew, _WHITE)
        _ellipse(img, ey, ex, 0.8 * eh, 0.8 * eh, _IRIS)
        _ellipse(img, ey, ex, 0.4 * eh, 0.4 * eh, _PUPIL)
        hl = 0.18 * eh + 0.3
        _ellipse(img, ey - 0.3 * eh, ex + 0.25 * eh, hl, hl, _WHITE)
        by = ey - eh - 0.12 * ry
        inner, outer = ex - side * 1.1 * ew, ex + side * 1.2 * ew
        _convex(img, [by, by - 0.05 * ry, by - 0.05 * ry - bt, by - bt],
                [inner, outer, outer, inner], brow)

    # nose: a shaded wedge from between the eyes down
    nl = p["nose_size"] * ry
    nw = (0.07 + 0.22 * p["nose_size"]) * rx
    top = ey + 0.12 * ry
    _convex(img, [top, top + nl, top + nl + 0.04 * ry, top + nl], [cx, cx - nw, cx, cx + nw],
            shade)

    # mouth: a lens between two quadratic Bezier curves through the corners
    # (not convex when curved, hence skimage's general polygon fill)
    my = max(cy + 0.55 * ry, top + nl + 0.14 * ry)
    mw = p["mouth_width"] * rx
    c = p["mouth_curve"] * ry
    th = 0.09 * ry
    upper = _bezier((my - c, cx - mw), (my + c - th, cx), (my - c, cx + mw))
    lower = _bezier((my - c, cx + mw), (my + c + 2 * th, cx), (my - c, cx - mw))
    pts = np.vstack([upper, lower])
    _fill(img, *draw.polygon(pts[:, 0], pts[:, 1], shape=(R, R)), lips)
    line = _bezier((my - c, cx - mw), (my + c + 0.5 * th, cx), (my - c, cx + mw), n=32)
    _fill(img, np.clip(np.round(line[:, 0]).astype(int), 0, R - 1),
          np.clip(np.round(line[:, 1]).astype(int), 0, R - 1), lip_line)

    out = _downscale(img, image_size or R)
    # lighting: a linear brightness gradient over the whole picture
    S = out.shape[0]
    a, s = p["light_angle"], max(p["light_strength"], 0.0)
    g = (np.arange(S, dtype=np.float32) + 0.5) / S * 2 - 1
    out *= (1.0 - s * (math.cos(a) * g[None, :] + math.sin(a) * g[:, None]))[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class _RenderTask:
    start: int
    z: np.ndarray
    render_size: int
    image_size: int

    @property
    def n(self) -> int:
        return len(self.z)


def _render_task(t: _RenderTask):
    return t.start, np.stack([render_face(row, t.render_size, t.image_size) for row in t.z])


def render_faces(factors: pd.DataFrame | np.ndarray, render_size: int = 128,
                 image_size: int = 64, *, out: np.ndarray | None = None,
                 workers: int | None = None, progress: bool = False) -> np.ndarray:
    """Draw many faces, in up to 2 worker processes for large sets.

    Parameters
    ----------
    factors : DataFrame or array, shape (N, 16)
        Standardised factor values, columns in :data:`FACTOR_NAMES` order.
    render_size, image_size : int
    out : array, optional
        A preallocated (N, image_size, image_size, 3) uint8 array (e.g. a
        memory map) to draw into.
    workers : int, optional
        Processes; default 1 below a few thousand faces, else 2.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ndarray of uint8, shape (N, image_size, image_size, 3)
    """
    if isinstance(factors, pd.DataFrame):
        factors = factors[list(FACTOR_NAMES)].to_numpy()
    z = np.asarray(factors, dtype=np.float64)
    n = len(z)
    if out is None:
        out = np.empty((n, image_size, image_size, 3), np.uint8)
    chunk = 256
    tasks = [_RenderTask(s, z[s:s + chunk], render_size, image_size)
             for s in range(0, n, chunk)]
    w = _workers_for(n, workers)
    for start, imgs in run_chunks(_render_task, tasks, workers=w, progress=progress,
                                  total=n, desc="drawing synthetic faces"):
        out[start:start + len(imgs)] = imgs
    return out


# ------------------------------------------------------------------ source


_SECTIONS = ("data.image_size", "data.max_images", "data.split", "data.seed",
             "data.synthetic")


def _n_images(cfg: Config) -> int:
    n = cfg.data.synthetic.n_images
    m = cfg.data.max_images
    if m and m > n:
        raise ValueError(f"data.max_images = {m:,} but the synthetic set has only "
                         f"data.synthetic.n_images = {n:,} faces; raise n_images or lower "
                         f"max_images")
    if (m or n) < 1:
        raise ValueError("data.synthetic.n_images must be at least 1")
    return m or n


def prepare(cfg: Config) -> Prepared:
    """Say how to draw the synthetic face set (nothing is drawn yet)."""
    d, s = cfg.data, cfg.data.synthetic
    laws = factor_distributions(s.factor_distribution, s.factor_overrides)
    n = _n_images(cfg)
    if s.render_size < d.image_size:
        raise ValueError(f"data.synthetic.render_size = {s.render_size} is below "
                         f"data.image_size = {d.image_size}; render at least as large")

    def build(work: Path, progress: bool):
        t0 = time.perf_counter()
        factors = sample_factors(n, d.seed, s.factor_distribution, s.factor_overrides)
        ids = np.array([f"synthetic-{i + 1:06d}" for i in range(n)])
        split = assign_split(np.arange(n), d.split, d.seed)
        order = grouped_order(split, ids)
        work.mkdir(parents=True, exist_ok=True)
        path = work / "images.npy"
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8,
                                       shape=(n, d.image_size, d.image_size, 3))
        workers = _workers_for(n, None)
        render_faces(factors.iloc[order], s.render_size, d.image_size, out=mm,
                     workers=workers, progress=progress)
        mm.flush()
        del mm
        used = sorted(set(laws.values()))
        if len(used) == 1:
            law_text = f"all {len(FACTOR_NAMES)} factors {used[0]}"
        else:
            odd = [k for k, v in laws.items() if v != s.factor_distribution]
            law_text = (f"factors {s.factor_distribution} except "
                        + ", ".join(f"{k} ({laws[k]})" for k in odd))
        description = (f"{n:,} synthetic cartoon faces drawn by the package from "
                       f"{len(FACTOR_NAMES)} independent standardised factors ({law_text}; "
                       f"seed {d.seed}), rendered at {s.render_size}×{s.render_size} px and "
                       f"averaged down to {d.image_size}×{d.image_size} px; split at random "
                       f"into {split_phrase(split)}.")
        meta = {"source": "synthetic", "description": description,
                "report": BadFileReport(n, n, ()).to_dict(), "image_size": d.image_size,
                "render_size": s.render_size, "distributions": laws,
                "generator_version": GENERATOR_VERSION,
                "draw_seconds": round(time.perf_counter() - t0, 3), "workers": workers,
                "split_sizes": dict(zip(("train", "validation", "test"),
                                        np.bincount(split, minlength=3).tolist()))}
        return package(images_path=path, ids=ids[order], split=split[order],
                       factors=factors.to_numpy()[order], factor_names=FACTOR_NAMES, meta=meta)

    return Prepared("synthetic", _SECTIONS, {"generator": GENERATOR_VERSION}, build)


def load_original(cfg: Config, index: int = 0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Face ``index`` of the configured set at its render size, and the whole-image box."""
    s = cfg.data.synthetic
    f = sample_factors(_n_images(cfg), cfg.data.seed, s.factor_distribution, s.factor_overrides)
    R = s.render_size
    return render_face(f.iloc[index].to_dict(), R), (0, 0, R, R)
