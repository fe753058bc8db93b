"""Where the latent cloud sits and how it fills its space.

Three questions from Mönchmeyer's series on the curse of high dimensionality:

* Is the cloud centred at the origin? :func:`cloud_centre` gives the
  distance of the mean from the origin in units of the typical spread, and
  how unusual the origin is as a point of the cloud (its Mahalanobis
  distance).
* How far from the origin are the latent vectors? :func:`radii` gives the
  distribution of ``||z||``; in high dimension it concentrates in a thin
  shell.
* Would sampling a box around the data produce latent vectors that look
  like data? :func:`box_comparison` draws uniform points in
  ``[-b, b]^d`` and compares their radii (mean of ``||u||²`` is ``d b² / 3``)
  and their Mahalanobis distances with the data's: in high dimension almost
  none of them falls inside the data's 99 % region.

References
----------
.. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", blog series, linux-blog.anracom.com (2023).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validate import CHUNK_ROWS, check_latents, check_rng, check_shrinkage
from .normality import _d2
from .pca import Moments, moments

__all__ = [
    "CentreResult",
    "RadiusResult",
    "BoxResult",
    "cloud_centre",
    "radii",
    "box_comparison",
]


@dataclass(frozen=True, eq=False)
class CentreResult:
    """Position of the cloud's centre relative to the origin.

    Attributes
    ----------
    mean : ndarray, shape (d,)
        Sample mean.
    distance : float
        ``||mean||``.
    rms_std : float
        Typical spread per component, ``sqrt(trace(cov) / d)``.
    distance_in_std : float
        ``distance / rms_std``.
    rms_radius : float
        Root-mean-square distance of the points from the mean,
        ``sqrt(trace(cov))``.
    distance_in_radius : float
        ``distance / rms_radius``: the offset of the centre relative to the
        size of the cloud.
    origin_mahalanobis : float
        Mahalanobis distance of the origin from the cloud.
    origin_chi2_quantile : float
        ``chi2(d).cdf(origin_mahalanobis**2)``: share of a normal cloud closer
        to its centre than the origin.
    """

    mean: np.ndarray
    distance: float
    rms_std: float
    distance_in_std: float
    rms_radius: float
    distance_in_radius: float
    origin_mahalanobis: float
    origin_chi2_quantile: float


def cloud_centre(z, *, shrinkage: float | None = None, precomputed: Moments | None = None) -> CentreResult:
    """Distance of the cloud's centre from the origin.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors.
    shrinkage : float, optional
        Regularise the covariance for the Mahalanobis distance (warns).
    precomputed : Moments, optional
        Mean and covariance of ``z``.

    Returns
    -------
    CentreResult
        Euclidean offset in units of spread and of radius, and the
        Mahalanobis distance of the origin.

    Examples
    --------
    >>> import numpy as np
    >>> r = cloud_centre(np.random.default_rng(0).normal(3.0, 1.0, size=(5000, 4)))
    >>> round(r.distance_in_std)
    6
    """
    if precomputed is None:
        z = check_latents(z)
        precomputed = moments(z, shrinkage=check_shrinkage(shrinkage), _checked=True)
    mean = precomputed.mean
    dist = float(np.linalg.norm(mean))
    tr = float(np.trace(precomputed.cov))
    d = precomputed.d
    o_d2 = float(_d2(np.zeros((1, d)), mean, precomputed.whitener())[0])
    return CentreResult(
        mean=mean,
        distance=dist,
        rms_std=float(np.sqrt(tr / d)),
        distance_in_std=float(dist / np.sqrt(tr / d)),
        rms_radius=float(np.sqrt(tr)),
        distance_in_radius=float(dist / np.sqrt(tr)),
        origin_mahalanobis=float(np.sqrt(o_d2)),
        origin_chi2_quantile=float(stats.chi2.cdf(o_d2, d)),
    )


@dataclass(frozen=True, eq=False)
class RadiusResult:
    """Distribution of the Euclidean norms ``||z||``.

    Attributes
    ----------
    radii : ndarray, shape (n,)
        ``||z_i||``.
    mean, std, median : float
        Statistics of the radii.
    quantiles : ndarray
        Radii at probabilities ``probs``.
    probs : ndarray
        Probabilities of ``quantiles``.
    relative_spread : float
        ``std / mean``; a thin shell has a small value (about
        ``1 / sqrt(2 d)`` for an isotropic normal cloud centred at 0).
    """

    radii: np.ndarray
    mean: float
    std: float
    median: float
    quantiles: np.ndarray
    probs: np.ndarray
    relative_spread: float


def _norms(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], CHUNK_ROWS):
        c = x[start : start + CHUNK_ROWS].astype(np.float64)
        out[start : start + CHUNK_ROWS] = np.sqrt(np.einsum("ij,ij->i", c, c))
    return out


def _radius_result(r: np.ndarray, probs) -> RadiusResult:
    probs = np.asarray(probs, dtype=float)
    mean = float(r.mean())
    std = float(r.std(ddof=1)) if r.size > 1 else 0.0
    return RadiusResult(
        radii=r, mean=mean, std=std, median=float(np.median(r)),
        quantiles=np.quantile(r, probs), probs=probs,
        relative_spread=std / mean if mean > 0 else float("nan"),
    )


def radii(z, *, probs=(0.01, 0.1, 0.5, 0.9, 0.99)) -> RadiusResult:
    """Distribution of the distances ``||z||`` of the latent vectors from the origin.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors.
    probs : sequence of float
        Probabilities of the reported quantiles.

    Returns
    -------
    RadiusResult
        All radii and their summary.

    Examples
    --------
    >>> import numpy as np
    >>> r = radii(np.random.default_rng(0).normal(size=(4000, 400)))
    >>> round(r.mean)
    20
    """
    z = check_latents(z, min_samples=1, check_constant=False)
    return _radius_result(_norms(z), probs)


@dataclass(frozen=True, eq=False)
class BoxResult:
    """Uniform points in a box ``[-b, b]^d`` against the latent cloud.

    Attributes
    ----------
    bound : float
        Half-width ``b`` of the box.
    d : int
        Dimension.
    n_box : int
        Number of uniform points.
    box_radii, data_radii : RadiusResult
        Radii of the box points and of the latent vectors.
    mean_sq_radius_box : float
        Measured mean of ``||u||²``.
    expected_mean_sq_radius_box : float
        Its exact value ``d b² / 3``.
    level : float
        Probability of the data's Mahalanobis region (e.g. 0.99).
    threshold_d2 : float
        ``chi2(d).ppf(level)``.
    share_box_inside : float
        Share of box points with Mahalanobis ``d2 <= threshold_d2``.
    share_data_inside : float
        Same share for the data (about ``level`` if the cloud is normal).
    box_d2 : ndarray
        Squared Mahalanobis distances of the box points.
    """

    bound: float
    d: int
    n_box: int
    box_radii: RadiusResult
    data_radii: RadiusResult
    mean_sq_radius_box: float
    expected_mean_sq_radius_box: float
    level: float
    threshold_d2: float
    share_box_inside: float
    share_data_inside: float
    box_d2: np.ndarray


def box_comparison(
    z,
    *,
    rng: np.random.Generator,
    bound: float | None = None,
    n_box: int = 10_000,
    level: float = 0.99,
    shrinkage: float | None = None,
    precomputed: Moments | None = None,
    data_d2=None,
) -> BoxResult:
    """Compare uniform samples from a box with the latent cloud.

    Parameters
    ----------
    z : array_like, shape (n, d)
        Latent vectors.
    rng : numpy.random.Generator
        Draws the uniform points.
    bound : float, optional
        Half-width ``b`` of the box ``[-b, b]^d``; default ``max |z|``, the
        smallest such box that holds every latent vector.
    n_box : int, default 10000
        Number of uniform points.
    level : float, default 0.99
        Probability of the data's Mahalanobis region (chi2(d) quantile).
    shrinkage : float, optional
        Regularise the covariance (warns).
    precomputed : Moments, optional
        Mean and covariance of ``z``.
    data_d2 : array_like, shape (n,), optional
        Squared Mahalanobis distances of the data, if already computed.

    Returns
    -------
    BoxResult
        Radii of both sets, the closed-form check ``E||u||² = d b² / 3``, and
        the share of box points inside the data's ``level`` region.

    Notes
    -----
    A uniform point of ``[-b, b]^d`` has ``E||u||² = d b² / 3``, so its radius
    is about ``b sqrt(d / 3)``, while the latent vectors cluster at
    ``sqrt(||mean||² + trace(cov))``. When the cloud is elongated or offset,
    nearly every box point lies outside the region that holds 99 % of the
    data — the reason why sampling "somewhere in the latent box" produces
    vectors the decoder has never seen.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
       dimensionality", linux-blog.anracom.com (2023).
    """
    z = check_latents(z)
    rng = check_rng(rng)
    if precomputed is None:
        precomputed = moments(z, shrinkage=check_shrinkage(shrinkage), _checked=True)
    n, d = z.shape
    if bound is None:
        bound = float(max(abs(z.min()), abs(z.max())))
    bound = float(bound)
    if not (np.isfinite(bound) and bound > 0):
        raise ValueError(f"bound must be a positive number; got {bound!r}.")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level!r}.")
    n_box = int(n_box)
    if n_box < 1:
        raise ValueError(f"n_box must be >= 1; got {n_box}.")
    u = rng.uniform(-bound, bound, size=(n_box, d))
    w = precomputed.whitener()
    box_d2 = _d2(u, precomputed.mean, w)
    if data_d2 is None:
        data_d2 = _d2(z, precomputed.mean, w)
    data_d2 = np.asarray(data_d2, dtype=float)
    thr = float(stats.chi2.ppf(level, d))
    rb = _norms(u)
    probs = (0.01, 0.1, 0.5, 0.9, 0.99)
    return BoxResult(
        bound=bound,
        d=d,
        n_box=n_box,
        box_radii=_radius_result(rb, probs),
        data_radii=_radius_result(_norms(z), probs),
        mean_sq_radius_box=float(np.mean(rb**2)),
        expected_mean_sq_radius_box=d * bound**2 / 3.0,
        level=float(level),
        threshold_d2=thr,
        share_box_inside=float(np.mean(box_d2 <= thr)),
        share_data_inside=float(np.mean(data_d2 <= thr)),
        box_d2=box_d2,
    )
