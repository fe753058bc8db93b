"""What the latent explorer page needs, in one compact export.

The explorer (``chapters/09-explorer.qmd``) lets a reader pick any two
latent components, or any two principal components, and see a scatter of
a random subsample, KDE contours and confidence ellipses with their expected
and measured coverage; a second panel walks latent paths with a slider and
shows the decoded face at each step. Everything is drawn in the browser by
``explorer.js`` (no server, no CDN); this module writes the data:

* a random subsample of the training vectors, quantised to 16 bits per
  component (offset and step per component: the error is at most half a
  step, 1/65534 of the component's range);
* the full-data mean, covariance and principal axes (float32), so the
  ellipses of every pair use all training vectors;
* the KDE is computed in the browser from the subsample (offering all
  D (D - 1) / 2 pairs precomputed would not fit the size budget), at the
  masses of the k = 1, 2, 3 ellipses (:func:`lsreport.stats.sigma_masses`);
* latent paths (their points, parameters and Mahalanobis radii) and one
  sprite PNG of the faces the decoder makes along them, decoded at build
  time.

All of it is inlined into the page (:meth:`ExplorerExport.block`): a
``<script type="ojs-define">`` that Quarto's OJS cells read, and the drawing
code as a classic script, so the page also works opened as ``file://``
(where browsers block fetches and module scripts) and on GitHub Pages.

Examples
--------
>>> ex = book_export()                         # doctest: +SKIP
>>> print(ex.block())                          # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np

__all__ = ["ExplorerExport", "export", "book_export", "explorer_paths", "sprite_png",
           "quantise", "dequantise", "JS_PATH"]

#: The drawing code, inlined into the page.
JS_PATH = Path(__file__).with_name("explorer.js")


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode("ascii")


def quantise(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """16-bit codes of ``z`` per component: ``z ≈ mid + step * q``.

    Returns
    -------
    q : ndarray of int16, shape (n, d)
    mid, step : ndarray of float64, shape (d,)
        Centre of each component's range and its step (range / 65534; 1 for
        a constant component). The error is at most ``step / 2``.
    """
    z = np.asarray(z, np.float64)
    lo, hi = z.min(axis=0), z.max(axis=0)
    mid = (lo + hi) / 2
    step = np.where(hi > lo, (hi - lo) / 65534.0, 1.0)
    q = np.clip(np.rint((z - mid) / step), -32767, 32767).astype(np.int16)
    return q, mid, step


def dequantise(q: np.ndarray, mid: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Inverse of :func:`quantise` (as the page computes it)."""
    return mid + step * np.asarray(q, np.float64)


def sprite_png(rows: Sequence[np.ndarray]) -> str:
    """One PNG (as a ``data:`` URI) of images laid out one row per sequence.

    Parameters
    ----------
    rows : sequence of ndarray of uint8, shape (steps, H, W, 3)
        Row ``r`` holds the ``steps`` images of path ``r`` left to right;
        shorter rows are padded with white.
    """
    from PIL import Image

    h, w = rows[0].shape[1:3]
    cols = max(len(r) for r in rows)
    sheet = np.full((len(rows) * h, cols * w, 3), 255, np.uint8)
    for r, imgs in enumerate(rows):
        for c, img in enumerate(imgs):
            sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    buf = io.BytesIO()
    Image.fromarray(sheet).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass(frozen=True)
class ExplorerExport:
    """The explorer's data and how the page carries it.

    Attributes
    ----------
    data : dict
        JSON-ready; the page's ``lsx_data``.
    """

    #: The export may not exceed this many bytes in the page (issue: at most 5 MB per build).
    MAX_BYTES: ClassVar[int] = 5 * 1024 * 1024

    data: dict = field(repr=False)

    def to_json(self) -> str:
        """Compact JSON, safe inside a ``<script>`` element."""
        return json.dumps(self.data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")

    def block(self) -> str:
        """The raw HTML block for the page: data, drawing code, the file:// mount point."""
        define = json.dumps({"contents": [{"name": "lsx_data", "value": None}]}, separators=(",", ":"))
        define = define.replace("null", self.to_json(), 1)
        js = JS_PATH.read_text(encoding="utf-8")
        return ("```{=html}\n"
                f'<script type="ojs-define">{define}</script>\n'
                f"<script>\n{js}\n</script>\n"
                '<div id="lsx-standalone"></div>\n'
                "```\n")

    @property
    def nbytes(self) -> int:
        """Bytes the export adds to the page (data and drawing code)."""
        return len(self.block().encode("utf-8"))

    @property
    def size_mb(self) -> float:
        """:attr:`nbytes` in MiB."""
        return self.nbytes / 2 ** 20

    @property
    def within_budget(self) -> bool:
        return self.nbytes <= self.MAX_BYTES

    @property
    def n_points(self) -> int:
        return int(self.data["n_points"])

    @property
    def d(self) -> int:
        return int(self.data["d"])

    @property
    def n_total(self) -> int:
        return int(self.data["n_total"])

    @property
    def n_pairs(self) -> int:
        """Pairs of distinct components: D (D - 1) / 2."""
        return self.d * (self.d - 1) // 2

    @property
    def ks_text(self) -> str:
        """The ellipses' k as text, e.g. "1, 2, 2.5, 3"."""
        return ", ".join(f"{k:g}" for k in self.data["ks"])

    @property
    def n_steps(self) -> int:
        return len(self.data["paths"][0]["params"]) if self.data["paths"] else 0

    @property
    def n_paths(self) -> int:
        return len(self.data["paths"])

    @property
    def n_thumbnails(self) -> int:
        return sum(len(p["params"]) for p in self.data["paths"]) if self.data["sprite"] else 0

    @property
    def sprite_kb(self) -> float:
        return len(self.data["sprite"] or "") / 1024

    @property
    def has_faces(self) -> bool:
        return bool(self.data["sprite"])


def export(z: np.ndarray, *, mean: np.ndarray, cov: np.ndarray, components: np.ndarray,
           eigenvalues: np.ndarray, ks: Sequence[float], contour_masses: Sequence[float],
           default_pair: tuple[int, int], rng: np.random.Generator, n_points: int = 2000,
           paths: Sequence = (), images: Sequence[np.ndarray] | None = None,
           radii: Sequence[np.ndarray] | None = None, description: str = "") -> ExplorerExport:
    """Build the explorer's export from the training vectors and their moments.

    Parameters
    ----------
    z : ndarray, shape (n, d)
        The training vectors (only a subsample is exported).
    mean, cov : ndarray
        Full-data mean (d,) and covariance (d, d).
    components, eigenvalues : ndarray
        Principal axes as rows (d, d), and the variance along each (d,).
    ks : sequence of float
        Mahalanobis radii of the confidence ellipses.
    contour_masses : sequence of float
        Probability masses the KDE contours hold.
    default_pair : (int, int)
        The latent pair shown first.
    rng : numpy.random.Generator
        Picks the subsample.
    n_points : int
        Subsample size (all vectors if fewer).
    paths : sequence of LatentPath
    images : sequence of ndarray of uint8, optional
        Decoded faces along each path, ``(steps, H, W, 3)``; None without a decoder.
    radii : sequence of ndarray, optional
        Mahalanobis radius of every path point (zeros when not given).
    description : str
        What the vectors are (shown with the export's size).

    Returns
    -------
    ExplorerExport
    """
    z = np.asarray(z)
    n, d = z.shape
    m = min(int(n_points), n)
    rows = np.sort(rng.choice(n, size=m, replace=False))
    q, mid, step = quantise(z[rows])
    out_paths = []
    for r, p in enumerate(paths):
        through_centre = not str(p.label).startswith("interpolation") and np.any(np.asarray(p.params) < 0)
        out_paths.append({"label": str(p.label), "row": r,
                          "params": [float(t) for t in p.params],
                          "unit": "t (s.d.)" if through_centre else "t",
                          "radius": [float(v) for v in (radii[r] if radii is not None else
                                                        np.zeros(len(p.params)))],
                          "z": _b64(np.asarray(p.points, np.float32))})
    thumb = list(images[0].shape[1:3]) if images is not None and len(images) else None
    data = {"version": 1, "n_total": int(n), "d": int(d), "n_points": int(m),
            "description": description,
            "z_q": _b64(q), "z_mid": mid.tolist(), "z_step": step.tolist(),
            "mean": np.asarray(mean, float).tolist(),
            "cov": _b64(np.asarray(cov, np.float32)),
            "components": _b64(np.asarray(components, np.float32)),
            "eigenvalues": np.asarray(eigenvalues, float).tolist(),
            "ks": [float(k) for k in ks], "expected": [float(1 - np.exp(-k * k / 2)) for k in ks],
            "contour_masses": [float(p) for p in contour_masses],
            "default_pair": [int(default_pair[0]), int(default_pair[1])],
            "paths": out_paths, "thumb": thumb,
            "sprite": sprite_png(images) if images is not None and len(images) else None}
    return ExplorerExport(data)


def explorer_paths(stats, pair: tuple[int, int], ends: np.ndarray, *, n_steps: int = 11,
                   extent: float = 3.0) -> list:
    """The three paths the explorer walks.

    The first principal axis and the plane of ``pair`` through the centre
    (``-extent`` to ``extent`` standard deviations), and the straight line
    between two given vectors (``ends``, e.g. two held-out faces).
    """
    from .sampling import interpolation_path, plane_path, principal_axis_path

    i, j = (int(c) for c in pair)
    return [principal_axis_path(stats, 0, n_steps=n_steps, extent=extent,
                                label="principal axis 1 through the centre"),
            plane_path(stats, (i, j), angle=np.pi / 4, n_steps=n_steps, extent=extent,
                       label=f"diagonal of the plane z{i + 1}, z{j + 1} through the centre"),
            interpolation_path(ends[0], ends[1], n_steps=n_steps,
                               label="interpolation between two held-out vectors")]


def book_export(ctx=None, *, n_points: int = 2000, n_steps: int = 11) -> ExplorerExport:
    """The export of the book's profile, from its cached results.

    Loads the analysis and the latents; decodes the paths' faces with the
    model's decoder (the given decoder for ``data.source = "latents"``; none
    without one). Cheap: nothing but the 3 x ``n_steps`` faces is computed.
    """
    from . import book
    from .generate import fit_latent_stats
    from .stats import sigma_masses

    ctx = ctx or book.context()
    cfg = ctx.cfg
    a, lat = book.load("analysis"), book.load("latents")
    z = np.asarray(lat.split_z("train"))
    held = np.asarray(lat.split_z("test"))
    held = held if len(held) >= 2 else z
    rng = ctx.rng(9)
    stats = fit_latent_stats(cfg, z)
    pair = tuple(a.pairs[0].pair) if a.pairs else (0, 1)
    ends = held[rng.choice(len(held), size=2, replace=False)]
    paths = explorer_paths(stats, pair, ends, n_steps=n_steps)
    images = None
    if cfg.data.source != "latents" or cfg.data.decoder:
        from .latent import decode

        decoder = book.load("model").decoder
        images = [decode(decoder, p.points) for p in paths]
    pca = a.pca
    return export(z, mean=a.moments.mean, cov=a.moments.cov, components=pca.components,
                  eigenvalues=pca.explained_variance, ks=cfg.stats.ellipse_k,
                  contour_masses=sigma_masses(), default_pair=pair, rng=rng, n_points=n_points,
                  paths=paths, images=images, radii=[stats.mahalanobis(p.points) for p in paths],
                  description=lat.meta.get("description", ""))
