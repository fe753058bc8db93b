"""Confidence ellipses of a pair of latent components.

Built with Carsten Schelp's construction from the Pearson coefficient (the one
in matplotlib's gallery example "Plot a confidence ellipse of a
two-dimensional dataset"): an ellipse with radii ``sqrt(1 + r)`` and
``sqrt(1 - r)``, rotated by 45°, scaled by ``k * sigma_x`` and
``k * sigma_y`` and moved to the means. That chain of maps is an affine
image of the unit circle; :func:`confidence_ellipse` reads the actual
geometric axes (width, height, angle of the major axis) off it, so a result
can be drawn with a plain :class:`matplotlib.patches.Ellipse`.

The ellipse with scale ``k`` is the Mahalanobis contour ``d = k``. For a
bivariate normal it holds ``1 - exp(-k**2 / 2)`` of the probability
(39.3 % for k = 1, 86.5 % for 2, 95.6 % for 2.5, 98.9 % for 3) — not the
1-D 68-95-99.7 %. Each result stores that expectation and the share of the
data measured inside, which is the test of the claim.

References
----------
.. [1] C. Schelp, "An alternative way to plot the covariance ellipse",
   carstenschelp.github.io (2018).
.. [2] Matplotlib gallery, "Plot a confidence ellipse of a two-dimensional
   dataset".
.. [3] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", linux-blog.anracom.com (2023).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validate import check_latents, check_probabilities, pair_columns

__all__ = [
    "EllipseResult",
    "confidence_ellipse",
    "confidence_ellipses",
    "coverage_for_k",
    "coverage_table",
    "k_for_coverage",
    "schelp_transform",
]


def coverage_for_k(k) -> np.ndarray | float:
    """Probability inside the k-sigma ellipse of a bivariate normal, ``1 - exp(-k²/2)``."""
    out = 1.0 - np.exp(-0.5 * np.asarray(k, dtype=float) ** 2)
    return float(out) if np.ndim(out) == 0 else out


def k_for_coverage(p) -> np.ndarray | float:
    """Scale ``k = sqrt(chi2.ppf(p, 2))`` of the ellipse holding probability ``p``."""
    p = check_probabilities(p, "coverage")
    out = np.sqrt(stats.chi2.ppf(p, 2))
    return float(out[0]) if out.size == 1 else out


@dataclass(frozen=True)
class EllipseResult:
    """A confidence ellipse and its coverage.

    Attributes
    ----------
    center : tuple of float
        Means of the two components.
    width, height : float
        Full lengths of the major and minor axes (``width >= height``).
    angle : float
        Angle of the major axis in degrees, counter-clockwise from the x
        axis, in (-90, 90] — the convention of
        :class:`matplotlib.patches.Ellipse`.
    k : float
        Mahalanobis radius of the ellipse ("k sigma").
    coverage_expected : float
        ``1 - exp(-k**2 / 2)``, the share a bivariate normal puts inside.
    coverage_measured : float
        Share of the data points inside (Mahalanobis distance <= k).
    pearson : float
        Pearson correlation of the pair.
    pair : tuple of int or None
        Component indices, if known.
    n_samples : int
        Points used.
    """

    center: tuple
    width: float
    height: float
    angle: float
    k: float
    coverage_expected: float
    coverage_measured: float
    pearson: float = float("nan")
    pair: tuple | None = None
    n_samples: int = 0

    @property
    def coverage_difference(self) -> float:
        """``coverage_measured - coverage_expected``."""
        return self.coverage_measured - self.coverage_expected

    def _axes(self) -> tuple[np.ndarray, np.ndarray]:
        t = np.deg2rad(self.angle)
        return np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])

    def boundary(self, n: int = 200) -> np.ndarray:
        """``n`` points on the ellipse, shape (n, 2), from its geometric axes."""
        a, b = self._axes()
        t = np.linspace(0, 2 * np.pi, int(n), endpoint=False)
        return (np.asarray(self.center)
                + np.outer(0.5 * self.width * np.cos(t), a)
                + np.outer(0.5 * self.height * np.sin(t), b))

    def contains(self, points) -> np.ndarray:
        """Boolean mask of points (shape (m, 2)) inside or on the ellipse."""
        p = np.asarray(points, dtype=float) - np.asarray(self.center)
        a, b = self._axes()
        return (p @ a / (0.5 * self.width)) ** 2 + (p @ b / (0.5 * self.height)) ** 2 <= 1.0


def schelp_transform(cov, k: float = 1.0) -> np.ndarray:
    """The 2x2 linear part of Schelp's construction.

    ``diag(k sx, k sy) @ R(45°) @ diag(sqrt(1 + r), sqrt(1 - r))`` maps the
    unit circle onto the k-sigma ellipse (centred at the origin).
    """
    cov = np.asarray(cov, dtype=float)
    sx, sy = np.sqrt(cov[0, 0]), np.sqrt(cov[1, 1])
    r = float(np.clip(cov[0, 1] / (sx * sy), -1.0, 1.0))
    radii = np.diag([np.sqrt(1 + r), np.sqrt(1 - r)])
    c = s = np.sqrt(0.5)  # cos 45°, sin 45°
    rot = np.array([[c, -s], [s, c]])
    return np.diag([k * sx, k * sy]) @ rot @ radii


def _from_transform(a: np.ndarray) -> tuple[float, float, float]:
    u, sv, _ = np.linalg.svd(a)
    angle = float(np.rad2deg(np.arctan2(u[1, 0], u[0, 0])))
    if angle <= -90:
        angle += 180
    elif angle > 90:
        angle -= 180
    return 2 * float(sv[0]), 2 * float(sv[1]), angle


def _xy(x, y) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if y is None:
        xy = check_latents(x, name="xy", min_samples=3)
        if xy.shape[1] != 2:
            raise ValueError(f"xy must have two columns; got shape {xy.shape}.")
        return np.asarray(xy, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of the same length; got {x.shape} and {y.shape}.")
    return np.asarray(check_latents(np.column_stack([x, y]), name="(x, y)", min_samples=3), dtype=float)


def confidence_ellipse(x, y=None, *, k: float = 1.0, pair=None) -> EllipseResult:
    """The k-sigma confidence ellipse of two variables (Schelp's construction).

    Parameters
    ----------
    x : array_like, shape (n,) or (n, 2)
        First variable, or both as two columns (then ``y`` is None).
    y : array_like, shape (n,), optional
        Second variable.
    k : float, default 1.0
        Mahalanobis radius ("number of standard deviations").
    pair : tuple of int, optional
        Component indices, stored for labels.

    Returns
    -------
    EllipseResult
        Centre, geometric axes, angle, expected and measured coverage.

    Notes
    -----
    The geometric axes are the singular values (times 2) of Schelp's linear
    map ``diag(k sx, k sy) R(45°) diag(sqrt(1+r), sqrt(1-r))`` and the angle
    is that of its first left singular vector. Because that map times its
    transpose equals ``k**2 * cov``, the ellipse is the Mahalanobis contour
    ``d = k``, and the measured coverage is the share of points with
    ``(p - mean)^T cov^{-1} (p - mean) <= k**2`` (sample covariance,
    ddof=1).

    References
    ----------
    .. [1] C. Schelp, "An alternative way to plot the covariance ellipse",
       carstenschelp.github.io (2018).

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.random.default_rng(0).multivariate_normal([0, 0], [[1, .8], [.8, 1]], 20000)
    >>> e = confidence_ellipse(xy, k=2)
    >>> round(e.angle), round(e.coverage_expected, 3)
    (45, 0.865)
    """
    return _ellipses(_xy(x, y), [k], pair)[0]


def _ellipses(xy: np.ndarray, ks, pair) -> tuple[EllipseResult, ...]:
    ks = [float(k) for k in ks]
    if not all(np.isfinite(k) and k > 0 for k in ks):
        raise ValueError(f"k must be positive numbers; got {ks!r}.")
    mean = xy.mean(axis=0)
    cov = np.cov(xy, rowvar=False)
    r = float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
    if abs(r) > 1 - 1e-12:
        raise ValueError(
            f"the two variables are perfectly correlated (r = {r:.6f}): the ellipse "
            "degenerates to a line and coverage is undefined; choose another pair."
        )
    c = xy - mean
    d2 = np.einsum("ij,jk,ik->i", c, np.linalg.inv(cov), c)
    out = []
    for k in ks:
        width, height, angle = _from_transform(schelp_transform(cov, k))
        out.append(EllipseResult(
            center=(float(mean[0]), float(mean[1])),
            width=width,
            height=height,
            angle=angle,
            k=k,
            coverage_expected=float(coverage_for_k(k)),
            coverage_measured=float(np.mean(d2 <= k * k)),
            pearson=r,
            pair=None if pair is None else tuple(int(v) for v in pair),
            n_samples=int(xy.shape[0]),
        ))
    return tuple(out)


def confidence_ellipses(z, pair, *, ks=(1.0, 2.0, 2.5, 3.0), coverages=None) -> tuple[EllipseResult, ...]:
    """Confidence ellipses of one component pair for several ``k`` or coverages.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors.
    pair : tuple of int
        Components ``(i, j)``; ``i`` is the x axis.
    ks : sequence of float, default (1, 2, 2.5, 3)
        Mahalanobis radii; ignored if ``coverages`` is given.
    coverages : sequence of float, optional
        Target probabilities instead, turned into ``k = sqrt(chi2.ppf(p, 2))``.

    Returns
    -------
    tuple of EllipseResult
        One per ``k``, in the order given.

    References
    ----------
    .. [1] C. Schelp, "An alternative way to plot the covariance ellipse",
       carstenschelp.github.io (2018).
    """
    xy, pair = pair_columns(z, pair)
    ks = np.atleast_1d(k_for_coverage(coverages)) if coverages is not None else np.atleast_1d(np.asarray(ks, dtype=float))
    return _ellipses(xy, ks, pair)


def coverage_table(ellipses):
    """Expected against measured coverage of confidence ellipses, one row each.

    Parameters
    ----------
    ellipses : iterable
        :class:`EllipseResult` objects, sequences of them, or objects with an
        ``ellipses`` attribute (such as
        :class:`~lsreport.stats.analysis.PairSummary`); nested groups are
        flattened in order.

    Returns
    -------
    pandas.DataFrame
        Columns ``pair``, ``pearson_r``, ``k``, ``expected``
        (``1 - exp(-k**2 / 2)``, the bivariate-normal probability),
        ``measured`` (share of points inside) and ``difference``.
    """
    import pandas as pd

    flat = []

    def walk(item):
        if isinstance(item, EllipseResult):
            flat.append(item)
        elif hasattr(item, "ellipses"):
            walk(item.ellipses)
        else:
            for sub in item:
                walk(sub)

    walk(ellipses)
    return pd.DataFrame({
        "pair": [f"z[{e.pair[0]}], z[{e.pair[1]}]" if e.pair is not None else "" for e in flat],
        "pearson_r": [e.pearson for e in flat],
        "k": [e.k for e in flat],
        "expected": [e.coverage_expected for e in flat],
        "measured": [e.coverage_measured for e in flat],
        "difference": [e.coverage_difference for e in flat],
    })
