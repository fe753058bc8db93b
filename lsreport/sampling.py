"""Samplers of new z-vectors from the statistics of the latent cloud.

The question of the book is whether a plain (non-variational) autoencoder can
generate faces from z-vectors that are drawn from simple statistics of the
latent cloud of its training images. This module holds those statistics
(:class:`LatentStats`, :class:`LatentGMM`) and one function per way of drawing
new vectors:

=====================  ==================================================
name (registry key)    function
=====================  ==================================================
``"cube"``             :func:`sample_cube` -- uniform in ``[-b, b]^D``
``"intervals"``        :func:`sample_intervals` -- uniform per component
                       inside histogram or quantile intervals
``"diagonal"``         :func:`sample_diagonal` -- independent normals
``"mvn"``              :func:`sample_mvn` -- fitted multivariate normal
``"ellipse"``          :func:`sample_ellipse` -- inside k-sigma discs of
                       fixed pairs of whitened principal coordinates
``"gmm"``              :func:`sample_gmm` -- Gaussian mixture (ex-post
                       density estimation)
=====================  ==================================================

plus straight paths through the cloud (:func:`plane_path`,
:func:`principal_axis_path`, :func:`interpolation_path`).

Every sampler has the signature ``sample_x(model, n, *, rng, **settings)`` and
returns an ``(n, D)`` float32 array; :func:`sample` and
:func:`sample_from_config` dispatch by name so that a chapter can loop over a
configured set of samplers.

References
----------
.. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality" (parts I-V) and "Autoencoders and latent space
   fragmentation" (parts VI-X), linux-blog.anracom.com, 2021-2023.
.. [2] P. Ghosh, M. S. M. Sajjadi, A. Vergari, M. Black, B. Schölkopf,
   "From variational to deterministic autoencoders", ICLR 2020.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as _st

__all__ = [
    "LatentStats",
    "LatentGMM",
    "LatentPath",
    "SamplerSpec",
    "SAMPLERS",
    "sample_t",
    "histogram_intervals",
    "sample_cube",
    "sample_intervals",
    "sample_diagonal",
    "sample_mvn",
    "sample_ellipse",
    "sample_gmm",
    "sample",
    "sample_from_config",
    "sampler_config",
    "plane_path",
    "principal_axis_path",
    "interpolation_path",
    "uniform_cube_variance",
    "ellipse_pair_coverage",
    "ellipse_covariance_factor",
    "ellipse_region_mass",
]

#: Relative eigenvalue below which the covariance counts as singular.
_RANK_TOL = 1e-10
#: Quantile grid stored in :class:`LatentStats` (0.25 % steps).
_QUANTILE_LEVELS = np.linspace(0.0, 1.0, 401)
_MAX_BINS = 100_000


def _check_latents(z, name: str = "z", *, min_rows: int = 2) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_vectors, latent_dim); got shape {z.shape}")
    if z.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} vectors; got {z.shape[0]}")
    if z.shape[1] < 1:
        raise ValueError(f"{name} has no components")
    bad = ~np.isfinite(z)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(
            f"{name} contains {bad.sum()} NaN/inf values in {rows.size} vectors "
            f"(first rows: {rows[:5].tolist()}); remove or repair them before fitting"
        )
    return z


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)); "
            f"got {type(rng).__name__}"
        )
    return rng


def _check_n(n) -> int:
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    return int(n)


def histogram_intervals(
    z, *, bin_width: float = 0.25, peak_fraction: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Per-component intervals where the histogram exceeds a fraction of its peak.

    Parameters
    ----------
    z : array_like, shape (n, D)
        Latent vectors.
    bin_width : float, default 0.25
        Width of the histogram bins, in latent units, with bin edges on the grid
        ``k * bin_width`` (the value used in the blog series [1]_).
    peak_fraction : float, default 0.05
        A bin counts when it holds at least ``peak_fraction`` times the count of
        the fullest bin of that component.

    Returns
    -------
    low, high : ndarray, shape (D,)
        Left edge of the first and right edge of the last counting bin of each
        component, so ``low[j] <= x_j <= high[j]`` encloses all counting bins
        (and any gaps between them).

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
       dimensionality -- V" and "Autoencoders and latent space fragmentation --
       VII", linux-blog.anracom.com.

    Examples
    --------
    >>> z = np.random.default_rng(0).normal(size=(20000, 2))
    >>> low, high = histogram_intervals(z, peak_fraction=0.1)
    >>> bool(np.all((low < -1.5) & (high > 1.5)))
    True
    """
    z = _check_latents(z)
    if not 0.0 < peak_fraction <= 1.0:
        raise ValueError(f"peak_fraction must lie in (0, 1]; got {peak_fraction}")
    counts, starts = _histograms(z, bin_width)
    return _intervals_from_histograms(counts, starts, bin_width, peak_fraction)


def _histograms(z: np.ndarray, bin_width: float):
    if not bin_width > 0:
        raise ValueError(f"bin_width must be positive; got {bin_width}")
    lo = np.floor(z.min(axis=0) / bin_width)
    hi = np.floor(z.max(axis=0) / bin_width)
    n_bins = (hi - lo + 1).astype(np.int64)
    if n_bins.max() > _MAX_BINS:
        j = int(np.argmax(n_bins))
        raise ValueError(
            f"component {j} spans {n_bins[j]} bins of width {bin_width}; "
            "use a larger bin_width for latents on this scale"
        )
    counts = []
    for j in range(z.shape[1]):
        idx = (np.floor(z[:, j] / bin_width) - lo[j]).astype(np.int64)
        counts.append(np.bincount(idx, minlength=n_bins[j]))
    return tuple(counts), lo * bin_width


def _intervals_from_histograms(counts, starts, bin_width, peak_fraction):
    low = np.empty(len(counts))
    high = np.empty(len(counts))
    for j, c in enumerate(counts):
        keep = np.nonzero(c >= peak_fraction * c.max())[0]
        low[j] = starts[j] + keep[0] * bin_width
        high[j] = starts[j] + (keep[-1] + 1) * bin_width
    return low, high


@dataclass(frozen=True)
class LatentStats:
    """Summary statistics of a latent cloud, the input of every sampler.

    Build it with :meth:`LatentStats.fit`; all arrays are float64. The mean,
    covariance and eigen-decomposition are those of
    :func:`lsreport.stats.pca.moments` and :func:`lsreport.stats.pca.fit_pca`,
    and :meth:`mahalanobis` is :func:`lsreport.stats.normality.mahalanobis_sq`:
    one model of the latent cloud for the analysis and the samplers.

    Attributes
    ----------
    moments : lsreport.stats.pca.Moments
        Mean and sample covariance (``ddof=1``), plus ``ridge * I`` if a
        ridge was added.
    pca : lsreport.stats.pca.PCAResult
        Eigen-decomposition of that covariance (axes as rows, descending).
    minimum, maximum : ndarray, shape (D,)
        Component extremes.
    quantile_levels : ndarray, shape (Q,)
        Probability levels of :attr:`quantiles` (0 to 1 in 0.25 % steps).
    quantiles : ndarray, shape (Q, D)
        Per-component empirical quantiles (linear interpolation).
    hist_counts : tuple of ndarray
        Per-component histogram counts on bins of width :attr:`bin_width`.
    hist_start : ndarray, shape (D,)
        Left edge of the first bin of each component.
    bin_width : float
        Histogram bin width.
    n : int
        Number of vectors the statistics were fitted on.
    ridge : float
        What was added to the diagonal of the covariance (0 if nothing).

    The properties :attr:`mean`, :attr:`cov`, :attr:`std`,
    :attr:`eigenvalues` and :attr:`eigenvectors` read :attr:`moments` and
    :attr:`pca`.
    """

    moments: object = field(repr=False)
    pca: object = field(repr=False)
    minimum: np.ndarray
    maximum: np.ndarray
    quantile_levels: np.ndarray
    quantiles: np.ndarray
    hist_counts: tuple = field(repr=False)
    hist_start: np.ndarray = field(repr=False)
    bin_width: float
    n: int
    ridge: float = 0.0

    @property
    def mean(self) -> np.ndarray:
        """Component means, shape (D,)."""
        return self.moments.mean

    @property
    def cov(self) -> np.ndarray:
        """Covariance (``ddof=1``, plus the ridge), shape (D, D)."""
        return self.moments.cov

    @property
    def std(self) -> np.ndarray:
        """Component standard deviations (square root of ``diag(cov)``)."""
        return self.moments.std

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of :attr:`cov`, descending."""
        return self.pca.explained_variance

    @property
    def eigenvectors(self) -> np.ndarray:
        """Matching unit eigenvectors as columns (the PCA frame), shape (D, D)."""
        return self.pca.components.T

    @classmethod
    def fit(cls, z, *, bin_width: float = 0.25, ridge: float | str | None = None,
            precomputed=None) -> LatentStats:
        """Fit the statistics to latent vectors.

        Parameters
        ----------
        z : array_like, shape (n, D)
            Latent vectors of the training (or test) images. NaN or inf raise.
        bin_width : float, default 0.25
            Bin width of the per-component histograms.
        ridge : float, "auto" or None, default None
            Added to the diagonal of the covariance. ``None`` adds nothing; a
            singular covariance (``n <= D`` or a constant component) is then
            kept as it is, and the samplers that need its inverse
            (:func:`sample_mvn`, :func:`sample_ellipse`,
            :meth:`mahalanobis`) raise a ``ValueError``. ``"auto"`` adds
            ``1e-6`` times the mean component variance only when the covariance
            is singular, and warns with the value used.
        precomputed : lsreport.stats.pca.Moments, optional
            Mean and covariance of ``z`` already computed (e.g.
            ``LatentAnalysis.moments``); skips that pass over the data.

        Returns
        -------
        LatentStats

        Raises
        ------
        ValueError
            For a non-2-D array, fewer than 2 vectors, or NaN/inf values.
        """
        from .stats.pca import Moments, fit_pca, moments

        z = _check_latents(z)
        n, d = z.shape
        if precomputed is not None:
            if precomputed.d != d or precomputed.n != n:
                raise ValueError(f"precomputed moments are for n={precomputed.n}, d={precomputed.d}; "
                                 f"z has n={n}, d={d}")
            mom = precomputed
        elif n > d:
            mom = moments(z, _checked=True)  # validated above; constant components allowed here
        else:  # stats.moments refuses a singular sample; the samplers decide later
            mom = Moments(n=n, mean=z.mean(axis=0), cov=np.atleast_2d(np.cov(z, rowvar=False)))
        cov = mom.cov
        evals = np.linalg.eigvalsh(cov)
        scale = max(float(np.trace(cov)) / d, np.finfo(float).tiny)
        singular = evals[0] <= _RANK_TOL * max(evals[-1], np.finfo(float).tiny)
        added = 0.0
        if ridge == "auto":
            if singular:
                added = 1e-6 * scale
                warnings.warn(
                    f"latent covariance is singular ({_singular_reason(z, cov)}); "
                    f"added ridge {added:.3g} * I (1e-6 x mean variance) so that the "
                    "normal and ellipse samplers can run",
                    RuntimeWarning,
                    stacklevel=2,
                )
        elif ridge is not None:
            added = float(ridge)
            if added < 0:
                raise ValueError(f"ridge must be >= 0; got {ridge}")
        if added:
            mom = Moments(n=mom.n, mean=mom.mean, cov=cov + added * np.eye(d), shrinkage=mom.shrinkage)
        counts, start = _histograms(z, bin_width)
        return cls(
            moments=mom,
            pca=fit_pca(z, precomputed=mom),
            minimum=z.min(axis=0),
            maximum=z.max(axis=0),
            quantile_levels=_QUANTILE_LEVELS.copy(),
            quantiles=np.quantile(z, _QUANTILE_LEVELS, axis=0),
            hist_counts=counts,
            hist_start=start,
            bin_width=float(bin_width),
            n=int(n),
            ridge=added,
        )

    @property
    def dim(self) -> int:
        """Latent dimension D."""
        return int(self.mean.shape[0])

    @property
    def is_singular(self) -> bool:
        """True if the covariance has (numerically) zero eigenvalues."""
        return bool(self.eigenvalues[-1] <= _RANK_TOL * max(self.eigenvalues[0], np.finfo(float).tiny))

    def require_full_rank(self, what: str = "this operation") -> None:
        """Raise a ``ValueError`` explaining why a singular covariance cannot be used."""
        if self.is_singular:
            const = np.nonzero(self.std <= _RANK_TOL * max(self.std.max(), np.finfo(float).tiny))[0]
            reason = (
                f"{const.size} constant components (e.g. {const[:5].tolist()})"
                if const.size
                else f"rank-deficient (n = {self.n} vectors for D = {self.dim} components)"
                if self.n <= self.dim
                else "collinear components"
            )
            raise ValueError(
                f"{what} needs an invertible covariance, but the latent covariance is "
                f"singular: {reason}. Fit with LatentStats.fit(z, ridge='auto') (adds "
                "a small multiple of I) or use more vectors / drop constant components."
            )

    def quantile(self, q) -> np.ndarray:
        """Per-component quantile(s) at level(s) ``q``, interpolated on the stored grid.

        Returns an array of shape ``(D,)`` for a scalar ``q`` and ``(len(q), D)``
        otherwise.
        """
        q = np.asarray(q, dtype=float)
        if np.any((q < 0) | (q > 1)):
            raise ValueError(f"quantile levels must lie in [0, 1]; got {q}")
        flat = np.atleast_1d(q)
        out = np.stack([np.interp(flat, self.quantile_levels, self.quantiles[:, j]) for j in range(self.dim)], axis=1)
        return out[0] if q.ndim == 0 else out

    def central_interval(self, coverage: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-component central quantile range holding ``coverage`` of the values."""
        if not 0 < coverage <= 1:
            raise ValueError(f"coverage must lie in (0, 1]; got {coverage}")
        a = (1 - coverage) / 2
        return self.quantile(a), self.quantile(1 - a)

    def histogram_interval(self, peak_fraction: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Per-component range where the histogram exceeds ``peak_fraction`` of its peak.

        See :func:`histogram_intervals`.
        """
        if not 0.0 < peak_fraction <= 1.0:
            raise ValueError(f"peak_fraction must lie in (0, 1]; got {peak_fraction}")
        return _intervals_from_histograms(self.hist_counts, self.hist_start, self.bin_width, peak_fraction)

    def whiten(self, x) -> np.ndarray:
        """Coordinates in the whitened PCA frame: ``(x - mean) V / sqrt(lambda)``."""
        self.require_full_rank("whitening")
        return self.pca.transform(np.atleast_2d(np.asarray(x, dtype=np.float64)), whiten=True)

    def unwhiten(self, u) -> np.ndarray:
        """Inverse of :meth:`whiten`: ``mean + (u sqrt(lambda)) V^T``."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        if u.shape[1] != self.dim:
            raise ValueError(f"vectors have {u.shape[1]} components, the statistics {self.dim}")
        return self.pca.inverse_transform(u * np.sqrt(self.eigenvalues))

    def mahalanobis(self, x) -> np.ndarray:
        """Mahalanobis radius ``sqrt((x - mean)^T cov^-1 (x - mean))`` of each row.

        :func:`lsreport.stats.normality.mahalanobis_sq` with these moments.
        For vectors from the fitted normal distribution the radius follows a chi
        distribution with D degrees of freedom (mean close to ``sqrt(D - 1/2)``).
        """
        from .stats.normality import mahalanobis_sq

        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.dim:
            raise ValueError(f"vectors have {x.shape[1]} components, the statistics {self.dim}")
        self.require_full_rank("the Mahalanobis radius")
        return np.sqrt(mahalanobis_sq(x, precomputed=self.moments))


def _singular_reason(z, cov) -> str:
    n, d = z.shape
    const = np.nonzero(np.diag(cov) == 0)[0]
    if const.size:
        return f"{const.size} constant components, e.g. {const[:5].tolist()}"
    if n <= d:
        return f"only n = {n} vectors for D = {d} components"
    return "collinear components"


@dataclass(frozen=True)
class LatentGMM:
    """A Gaussian mixture fitted to latent vectors (ex-post density estimation).

    Attributes
    ----------
    weights : ndarray, shape (K,)
        Mixture weights (sum to 1).
    means : ndarray, shape (K, D)
        Component means.
    covariances : ndarray, shape (K, D, D)
        Full component covariances (including scikit-learn's ``reg_covar``).
    cholesky : ndarray, shape (K, D, D)
        Lower Cholesky factors of :attr:`covariances`.
    converged : bool
        Whether EM converged within ``max_iter``.
    n_iter : int
        EM iterations of the best initialisation.
    lower_bound : float
        Final per-sample log-likelihood lower bound.
    reg_covar : float
        Diagonal regularisation actually used.

    References
    ----------
    .. [1] P. Ghosh, M. S. M. Sajjadi, A. Vergari, M. Black, B. Schölkopf,
       "From variational to deterministic autoencoders", ICLR 2020, Sec. 4.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray = field(repr=False)
    cholesky: np.ndarray = field(repr=False)
    converged: bool
    n_iter: int
    lower_bound: float
    reg_covar: float

    @classmethod
    def fit(
        cls,
        z,
        n_components: int = 10,
        *,
        seed: int = 0,
        max_iter: int = 200,
        n_init: int = 1,
        reg_covar: float = 1e-6,
        tol: float = 1e-3,
    ) -> LatentGMM:
        """Fit a full-covariance Gaussian mixture with scikit-learn.

        Parameters
        ----------
        z : array_like, shape (n, D)
            Latent vectors.
        n_components : int, default 10
            Number of mixture components (Ghosh et al. use 10); must not exceed
            the number of vectors.
        seed : int, default 0
            ``random_state`` of the k-means initialisation.
        max_iter, n_init, tol : see :class:`sklearn.mixture.GaussianMixture`.
        reg_covar : float, default 1e-6
            Added to the diagonal of every component covariance.

        Returns
        -------
        LatentGMM

        Notes
        -----
        Fallbacks, each announced by a ``RuntimeWarning``: if EM does not
        converge within ``max_iter`` the last estimate is kept (its
        :attr:`converged` is False); if a component covariance is not positive
        definite (scikit-learn raises a ``ValueError``), the fit is repeated once
        with ``reg_covar`` multiplied by 1000 times the mean variance.
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        z = _check_latents(z)
        n_components = int(n_components)
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1; got {n_components}")
        if n_components > z.shape[0]:
            raise ValueError(
                f"cannot fit {n_components} mixture components to {z.shape[0]} vectors"
            )

        def _fit(reg):
            gm = GaussianMixture(
                n_components=n_components,
                covariance_type="full",
                max_iter=max_iter,
                n_init=n_init,
                reg_covar=reg,
                tol=tol,
                random_state=seed,
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                gm.fit(z)
            converged = bool(gm.converged_) and not any(
                issubclass(w.category, ConvergenceWarning) for w in caught
            )
            return gm, converged

        try:
            gm, converged = _fit(reg_covar)
        except ValueError as exc:  # ill-defined empirical covariance
            bigger = reg_covar * 1e3 * float(np.var(z, axis=0).mean() or 1.0)
            warnings.warn(
                f"GaussianMixture failed ({exc}); refitting with reg_covar={bigger:.3g}",
                RuntimeWarning,
                stacklevel=2,
            )
            reg_covar = bigger
            gm, converged = _fit(reg_covar)
        if not converged:
            warnings.warn(
                f"GaussianMixture with {n_components} components did not converge in "
                f"{max_iter} EM iterations (tol={tol}); using the last estimate. "
                "Raise max_iter or lower n_components.",
                RuntimeWarning,
                stacklevel=2,
            )
        covs = np.asarray(gm.covariances_, dtype=np.float64)
        return cls(
            weights=np.asarray(gm.weights_, dtype=np.float64),
            means=np.asarray(gm.means_, dtype=np.float64),
            covariances=covs,
            cholesky=np.linalg.cholesky(covs),
            converged=converged,
            n_iter=int(gm.n_iter_),
            lower_bound=float(gm.lower_bound_),
            reg_covar=float(reg_covar),
        )

    @property
    def dim(self) -> int:
        """Latent dimension D."""
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        """Number of mixture components K."""
        return int(self.weights.shape[0])


# --------------------------------------------------------------------- samplers


def uniform_cube_variance(b: float) -> float:
    """Variance ``b**2 / 3`` of a uniform distribution on ``[-b, b]``."""
    return b * b / 3.0


def sample_cube(stats: LatentStats, n: int, *, rng: np.random.Generator, b: float = 1.0) -> np.ndarray:
    """Uniform samples in the cube ``[-b, b]^D`` around the origin.

    Parameters
    ----------
    stats : LatentStats
        Only its dimension is used: the cube is centred on the origin, not on
        the mean of the cloud, as in part IV of [1]_.
    n : int
        Number of vectors.
    rng : numpy.random.Generator
        Source of randomness.
    b : float, default 1.0
        Half edge length.

    Returns
    -------
    ndarray, shape (n, D), float32

    Notes
    -----
    Each component has variance ``b**2 / 3``. In high dimensions almost all of
    the cube's volume lies in its corners, far from the origin (the typical
    radius is ``b * sqrt(D / 3)``), which is why such samples rarely hit the
    cloud of a trained autoencoder [1]_.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
       dimensionality -- IV", linux-blog.anracom.com.

    Examples
    --------
    >>> s = LatentStats.fit(np.random.default_rng(0).normal(size=(100, 3)))
    >>> sample_cube(s, 4, rng=np.random.default_rng(1), b=2.0).shape
    (4, 3)
    """
    n = _check_n(n)
    _check_rng(rng)
    if not b > 0:
        raise ValueError(f"b must be positive; got {b}")
    return rng.uniform(-b, b, size=(n, stats.dim)).astype(np.float32)


def sample_intervals(
    stats: LatentStats,
    n: int,
    *,
    rng: np.random.Generator,
    method: str = "histogram",
    peak_fraction: float = 0.05,
    coverage: float = 0.95,
) -> np.ndarray:
    """Uniform samples inside per-component intervals ``d_j_l < x_j < d_j_h``.

    Parameters
    ----------
    stats : LatentStats
        Fitted statistics.
    n : int
        Number of vectors.
    rng : numpy.random.Generator
        Source of randomness.
    method : {"histogram", "quantile"}, default "histogram"
        ``"histogram"``: the interval covers the bins where the component's
        histogram (bin width ``stats.bin_width``) holds at least
        ``peak_fraction`` of its peak count (parts V and VII of [1]_).
        ``"quantile"``: the central quantile range holding ``coverage`` of the
        values.
    peak_fraction : float, default 0.05
        Threshold of the histogram method.
    coverage : float, default 0.95
        Coverage of the quantile method.

    Returns
    -------
    ndarray, shape (n, D), float32

    Notes
    -----
    The components are drawn independently, so the correlations of the cloud
    are lost and the samples fill a box that is much larger than the cloud.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
       dimensionality -- V" and "Autoencoders and latent space fragmentation --
       VII", linux-blog.anracom.com.
    """
    n = _check_n(n)
    _check_rng(rng)
    if method == "histogram":
        low, high = stats.histogram_interval(peak_fraction)
    elif method == "quantile":
        low, high = stats.central_interval(coverage)
    else:
        raise ValueError(f"method must be 'histogram' or 'quantile'; got {method!r}")
    return rng.uniform(low, high, size=(n, stats.dim)).astype(np.float32)


def _check_shrink(shrink: float) -> float:
    if not shrink > 0:
        raise ValueError(f"shrink must be positive; got {shrink}")
    return float(shrink)


def sample_diagonal(
    stats: LatentStats, n: int, *, rng: np.random.Generator, shrink: float = 1.0
) -> np.ndarray:
    """Independent normal samples per component (diagonal covariance).

    ``x_j = mean_j + shrink * std_j * e_j`` with ``e_j ~ N(0, 1)``; the
    correlations between components are ignored.

    Parameters
    ----------
    stats : LatentStats
        Fitted statistics.
    n : int
        Number of vectors.
    rng : numpy.random.Generator
        Source of randomness.
    shrink : float, default 1.0
        Scale of the standard deviations (covariance scaled by ``shrink**2``).

    Returns
    -------
    ndarray, shape (n, D), float32
    """
    n = _check_n(n)
    _check_rng(rng)
    shrink = _check_shrink(shrink)
    e = rng.standard_normal((n, stats.dim))
    return (stats.mean + shrink * stats.std * e).astype(np.float32)


def sample_mvn(
    stats: LatentStats,
    n: int,
    *,
    rng: np.random.Generator,
    shrink: float = 1.0,
    method: str = "cholesky",
) -> np.ndarray:
    """Samples of the fitted multivariate normal ``N(mean, shrink**2 cov)``.

    Parameters
    ----------
    stats : LatentStats
        Fitted statistics; the covariance must be invertible (see
        :meth:`LatentStats.fit`, ``ridge``).
    n : int
        Number of vectors.
    rng : numpy.random.Generator
        Source of randomness.
    shrink : float, default 1.0
        Factor towards the centre: the covariance is scaled by ``shrink**2``
        (values 0.6-1.0 are typical; smaller values trade variety for samples
        closer to the dense core of the cloud).
    method : {"cholesky", "pca"}, default "cholesky"
        ``x = mean + shrink L e`` with ``cov = L L^T``, or
        ``x = mean + shrink V (sqrt(lambda) e)`` in the PCA frame. Both give the
        same distribution (not the same vectors for the same rng).

    Returns
    -------
    ndarray, shape (n, D), float32

    Raises
    ------
    ValueError
        If the covariance is singular.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders and latent space fragmentation",
       linux-blog.anracom.com (the later parts of the series).
    """
    n = _check_n(n)
    _check_rng(rng)
    shrink = _check_shrink(shrink)
    stats.require_full_rank("sample_mvn")
    e = rng.standard_normal((n, stats.dim))
    if method == "cholesky":
        chol = np.linalg.cholesky(stats.cov)
        x = stats.mean + shrink * e @ chol.T
    elif method == "pca":
        x = stats.mean + shrink * (e * np.sqrt(stats.eigenvalues)) @ stats.eigenvectors.T
    else:
        raise ValueError(f"method must be 'cholesky' or 'pca'; got {method!r}")
    return x.astype(np.float32)


def ellipse_pair_coverage(k: float) -> float:
    """Share ``1 - exp(-k**2 / 2)`` of a 2-D normal inside its k-sigma ellipse.

    The same quantity as :func:`lsreport.stats.ellipses.coverage_for_k`,
    kept under this name for the sampler's API.
    """
    from .stats.ellipses import coverage_for_k

    return float(coverage_for_k(k))


def ellipse_covariance_factor(k: float, within: str = "uniform") -> float:
    """Covariance of :func:`sample_ellipse` as a multiple of the fitted one.

    The samples have covariance ``c * cov`` with ``c = E[r**2] / 2`` for the
    radius ``r`` of one whitened pair: ``k**2 / 4`` for points uniform in
    the disc of radius ``k`` (so only ``k = 2`` reproduces ``cov``), and
    ``1 - k**2 exp(-k**2/2) / (2 (1 - exp(-k**2/2)))`` for the standard
    normal truncated to that disc (0.687 at ``k = 2``).
    """
    if not k > 0:
        raise ValueError(f"k must be positive; got {k}")
    if within == "uniform":
        return float(k * k / 4.0)
    if within == "normal":
        q = np.exp(-k * k / 2.0)
        return float(1.0 - k * k * q / (2.0 * (1.0 - q)))
    raise ValueError(f"within must be 'uniform' or 'normal'; got {within!r}")


def ellipse_region_mass(k: float, d: int) -> float:
    """Share of the fitted normal's mass in the region :func:`sample_ellipse` samples.

    The region is a product of ``D // 2`` discs of radius ``k`` in the
    whitened principal pairs (and, for odd ``D``, the interval ``[-k, k]``
    of the last axis), so it holds
    ``(1 - exp(-k**2/2))**(D // 2) * (2 Phi(k) - 1)**(D % 2)``
    -- about ``(1 - exp(-k**2/2))**(D/2)`` -- of the normal: 9e-9 at
    ``D = 256`` and ``k = 2``, although every single pair holds 86.5 %.
    """
    d = int(d)
    if d < 1:
        raise ValueError(f"d must be >= 1; got {d}")
    log_mass = (d // 2) * np.log(ellipse_pair_coverage(k))
    if d % 2:
        log_mass += np.log(2 * _st.norm.cdf(k) - 1)
    return float(np.exp(log_mass))


def sample_ellipse(
    stats: LatentStats,
    n: int,
    *,
    rng: np.random.Generator,
    k: float = 2.0,
    within: str = "uniform",
) -> np.ndarray:
    """Samples inside k-sigma discs of fixed pairs of whitened principal coordinates.

    Parameters
    ----------
    stats : LatentStats
        Fitted statistics; the covariance must be invertible.
    n : int
        Number of vectors.
    rng : numpy.random.Generator
        Source of randomness.
    k : float, default 2.0
        Radius of the discs in units of the standard deviations along the
        principal axes (whitened radius).
    within : {"uniform", "normal"}, default "uniform"
        How points are distributed inside each disc: uniformly over its
        area, or as the standard normal truncated to the disc (exact
        inverse-CDF draws).

    Returns
    -------
    ndarray, shape (n, D), float32

    Notes
    -----
    Our reading of the method of part X of [1]_, where z-points are confined
    to the regions that 2-D confidence ellipses enclose. What this sampler
    does:

    1. it works in the whitened PCA frame of the fitted covariance
       (``u_i = v_i^T (x - mean) / sqrt(lambda_i)``);
    2. it groups the principal coordinates in the fixed pairs
       ``(u_0, u_1), (u_2, u_3), ...`` and draws each pair inside the disc
       of radius ``k``; for odd D the last coordinate is the first
       coordinate of one more such disc draw, so it has the same marginal
       law (and variance) as every paired axis;
    3. it maps back with :meth:`LatentStats.unwhiten`.

    What follows from that:

    * Only those fixed *principal* pairs are confined. A pair of original
      components of the samples falls inside its own k-sigma ellipse about
      as often as for plain normal samples (86.5 % for k = 2), not always.
    * The covariance of the samples is ``c * cov`` with
      ``c = k**2 / 4`` for uniform discs (only k = 2 reproduces ``cov``) and
      0.687 for ``within="normal"`` at k = 2
      (:func:`ellipse_covariance_factor`).
    * Uniform discs make the squared whitened radius a sum of D/2 uniform
      variables on ``[0, k**2]``: mean ``k**2 D / 4`` and variance
      ``k**4 D / 24`` (``2D/3`` at k = 2, against ``2D`` for the normal):
      a thinner shell at about the normal's radius, not a region that
      avoids the outskirts.
    * The sampled region holds ``(1 - exp(-k**2/2))**(D/2)`` of the fitted
      normal's mass (:func:`ellipse_region_mass`): each pair holds
      86.5 % for k = 2, all 128 pairs of D = 256 together 9e-9.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders and latent space fragmentation -- X",
       linux-blog.anracom.com.
    """
    n = _check_n(n)
    _check_rng(rng)
    if not k > 0:
        raise ValueError(f"k must be positive; got {k}")
    if within not in ("uniform", "normal"):
        raise ValueError(f"within must be 'uniform' or 'normal'; got {within!r}")
    stats.require_full_rank("sample_ellipse")
    d = stats.dim
    n_discs = (d + 1) // 2  # one more disc for odd D; its second coordinate is dropped
    if within == "uniform":
        r = k * np.sqrt(rng.uniform(size=(n, n_discs)))
    else:
        # inverse-CDF of the radius of a 2-D standard normal truncated at k:
        # P(R <= r) = (1 - exp(-r^2/2)) / (1 - exp(-k^2/2)), exact, no rejection loop
        p = rng.uniform(size=(n, n_discs)) * ellipse_pair_coverage(k)
        r = np.sqrt(-2.0 * np.log1p(-p))
    phi = rng.uniform(0.0, 2 * np.pi, size=(n, n_discs))
    u = np.empty((n, 2 * n_discs))
    u[:, 0::2] = r * np.cos(phi)
    u[:, 1::2] = r * np.sin(phi)
    return stats.unwhiten(u[:, :d]).astype(np.float32)


def sample_gmm(gmm: LatentGMM, n: int, *, rng: np.random.Generator) -> np.ndarray:
    """Samples of a fitted Gaussian mixture.

    The component of each vector is drawn with the mixture weights, then the
    vector from that component's normal, all from ``rng`` (scikit-learn's own
    ``sample`` would use its ``random_state`` instead).

    Parameters
    ----------
    gmm : LatentGMM
        Fitted mixture (:meth:`LatentGMM.fit`).
    n : int
        Number of vectors.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray, shape (n, D), float32

    References
    ----------
    .. [1] P. Ghosh, M. S. M. Sajjadi, A. Vergari, M. Black, B. Schölkopf,
       "From variational to deterministic autoencoders", ICLR 2020.
    """
    n = _check_n(n)
    _check_rng(rng)
    comp = rng.choice(gmm.n_components, size=n, p=gmm.weights)
    e = rng.standard_normal((n, gmm.dim))
    x = gmm.means[comp] + np.einsum("nij,nj->ni", gmm.cholesky[comp], e)
    return x.astype(np.float32)


def sample_t(stats: LatentStats, n: int, *, rng: np.random.Generator, nu: float = np.inf) -> np.ndarray:
    """Samples of a multivariate t with the fitted mean and covariance and ``nu`` degrees of freedom.

    ``x = mean + L e sqrt((nu - 2) / w)`` with ``cov = L L^T``, ``e`` standard
    normal and ``w ~ χ²(nu)``: every vector is a normal one with a random
    scale shared by all components, so the covariance is the fitted one and
    the squared Mahalanobis distance has the heavier tail of a scale mixture.
    With ``nu`` from the cloud's kurtosis
    (:func:`lsreport.stats.elliptical.implied_t_dof`) it reproduces the
    spread of d² that the normal sampler misses.

    Parameters
    ----------
    stats : LatentStats
    n : int
    rng : numpy.random.Generator
    nu : float, default inf
        Degrees of freedom, > 2; the default ``inf`` is the fitted normal
        (pass the cloud's ν: the generation step's settings carry it).

    Returns
    -------
    ndarray, shape (n, D), float32
    """
    n = _check_n(n)
    _check_rng(rng)
    if not nu > 2:
        raise ValueError(f"nu must be > 2 for a covariance; got {nu}")
    stats.require_full_rank("sample_t")
    e = rng.standard_normal((n, stats.dim))
    scale = np.ones((n, 1)) if not np.isfinite(nu) else np.sqrt((nu - 2) / rng.chisquare(nu, size=(n, 1)))
    x = stats.mean + (e * scale) @ np.linalg.cholesky(stats.cov).T
    return x.astype(np.float32)


# --------------------------------------------------------------------- registry


@dataclass(frozen=True)
class SamplerSpec:
    """A named sampler of the registry.

    Attributes
    ----------
    name : str
        Registry key.
    func : callable
        ``func(model, n, *, rng, **settings) -> (n, D) float32``.
    model : {"stats", "gmm"}
        What ``func`` takes as first argument: :class:`LatentStats` or
        :class:`LatentGMM`.
    description : str
        One line for tables and captions.
    """

    name: str
    func: Callable = field(repr=False)
    model: str
    description: str


#: The samplers by name.
SAMPLERS: Mapping[str, SamplerSpec] = {
    s.name: s
    for s in (
        SamplerSpec("cube", sample_cube, "stats", "uniform in the cube [-b, b]^D around the origin"),
        SamplerSpec("intervals", sample_intervals, "stats", "uniform within per-component intervals"),
        SamplerSpec("diagonal", sample_diagonal, "stats", "independent normals per component"),
        SamplerSpec("mvn", sample_mvn, "stats", "fitted multivariate normal (full covariance)"),
        SamplerSpec("ellipse", sample_ellipse, "stats",
                    "inside k-sigma discs of fixed pairs of whitened principal coordinates"),
        SamplerSpec("gmm", sample_gmm, "gmm", "Gaussian mixture fitted to the latents"),
        SamplerSpec("t", sample_t, "stats",
                    "multivariate t with the fitted covariance and nu from the cloud's kurtosis"),
    )
}


def sample(
    name: str,
    n: int,
    *,
    rng: np.random.Generator,
    stats: LatentStats | None = None,
    gmm: LatentGMM | None = None,
    **settings,
) -> np.ndarray:
    """Draw ``n`` vectors with the sampler registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`SAMPLERS`.
    n : int
        Number of vectors.
    rng : numpy.random.Generator
        Source of randomness.
    stats, gmm : LatentStats, LatentGMM, optional
        The fitted model the sampler needs (``gmm`` for ``"gmm"``, ``stats``
        for the rest).
    **settings
        Keyword arguments of the sampler (``b``, ``shrink``, ``k``, ...).

    Returns
    -------
    ndarray, shape (n, D), float32
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; known: {sorted(SAMPLERS)}")
    spec = SAMPLERS[name]
    model = gmm if spec.model == "gmm" else stats
    if model is None:
        kind = "LatentGMM (gmm=...)" if spec.model == "gmm" else "LatentStats (stats=...)"
        raise ValueError(f"sampler {name!r} needs a fitted {kind}")
    return spec.func(model, n, rng=rng, **settings)


def sample_from_config(
    config: Mapping[str, Mapping],
    n: int,
    *,
    rng: np.random.Generator,
    stats: LatentStats | None = None,
    gmm: LatentGMM | None = None,
) -> dict[str, np.ndarray]:
    """Draw ``n`` vectors for every labelled sampler of a config dict.

    Parameters
    ----------
    config : mapping
        ``{label: {"sampler": name, **settings}}``, e.g.
        ``{"cube b=1": {"sampler": "cube", "b": 1.0},
        "normal x0.8": {"sampler": "mvn", "shrink": 0.8}}``.
    n : int
        Vectors per sampler.
    rng : numpy.random.Generator
        Parent generator; each entry gets its own child stream
        (``rng.spawn``), so an entry's samples do not depend on the others.
    stats, gmm : LatentStats, LatentGMM, optional
        Fitted models (see :func:`sample`).

    Returns
    -------
    dict
        ``{label: (n, D) float32 array}`` in the order of ``config``.
    """
    _check_rng(rng)
    children = rng.spawn(len(config))
    out = {}
    for (label, entry), child in zip(config.items(), children):
        entry = dict(entry)
        if "sampler" not in entry:
            raise ValueError(f"config entry {label!r} lacks the key 'sampler'")
        name = entry.pop("sampler")
        out[label] = sample(name, n, rng=child, stats=stats, gmm=gmm, **entry)
    return out


def sampler_config(
    *,
    cube_bounds=(1.0,),
    interval_methods=("histogram",),
    diagonal: bool = True,
    shrink=(1.0,),
    ellipse_k=(2.0,),
    gmm: bool = True,
    t_nu: float | None = None,
) -> dict[str, dict]:
    """Labelled settings for :func:`sample_from_config`, one entry per sampler variant.

    Parameters
    ----------
    cube_bounds : sequence of float, default (1.0,)
        Half edge lengths ``b`` of the cube samplers.
    interval_methods : sequence of str, default ("histogram",)
        Methods of the interval samplers (``"histogram"``, ``"quantile"``).
    diagonal : bool, default True
        Include the independent-normal sampler (no shrink).
    shrink : sequence of float, default (1.0,)
        Shrink factors of the multivariate-normal samplers.
    ellipse_k : sequence of float, default (2.0,)
        Radii of the ellipse samplers.
    gmm : bool, default True
        Include the Gaussian-mixture sampler.
    t_nu : float, optional
        Include the multivariate t sampler with these degrees of freedom
        (> 2; ``inf`` is the fitted normal), labelled ``"t ν=14"`` with ν
        rounded for the label only.

    Returns
    -------
    dict
        ``{label: {"sampler": name, **settings}}`` in a fixed order.

    Examples
    --------
    >>> list(sampler_config(cube_bounds=(0.5, 2.0), shrink=(1.0, 0.6), t_nu=14.2))
    ['cube b=0.5', 'cube b=2', 'intervals (histogram)', 'diagonal', 'normal x1', 'normal x0.6', 'ellipse k=2', 'GMM', 't ν=14']
    """
    cfg: dict[str, dict] = {}
    for b in cube_bounds:
        cfg[f"cube b={b:g}"] = {"sampler": "cube", "b": float(b)}
    for m in interval_methods:
        cfg[f"intervals ({m})"] = {"sampler": "intervals", "method": m}
    if diagonal:
        cfg["diagonal"] = {"sampler": "diagonal"}
    for f in shrink:
        cfg[f"normal x{f:g}"] = {"sampler": "mvn", "shrink": float(f)}
    for k in ellipse_k:
        cfg[f"ellipse k={k:g}"] = {"sampler": "ellipse", "k": float(k)}
    if gmm:
        cfg["GMM"] = {"sampler": "gmm"}
    if t_nu is not None:
        nu = float(t_nu)
        if not nu > 2:
            raise ValueError(f"t_nu must be > 2 (a t with a covariance); got {t_nu}")
        cfg[f"t ν={nu:.0f}" if np.isfinite(nu) else "t ν=∞"] = {"sampler": "t", "nu": nu}
    return cfg


# --------------------------------------------------------------------- paths


@dataclass(frozen=True)
class LatentPath:
    """Points along a straight path in latent space.

    Attributes
    ----------
    points : ndarray, shape (n_steps, D), float32
        The z-vectors.
    params : ndarray, shape (n_steps,)
        Path parameter of each point (sigma units for paths through the centre,
        0..1 for interpolations).
    label : str
        Short description for captions.
    """

    points: np.ndarray
    params: np.ndarray
    label: str

    def __iter__(self):
        # allows ``points, params = path``
        return iter((self.points, self.params))


def _steps(n_steps: int, extent: float) -> np.ndarray:
    if int(n_steps) != n_steps or n_steps < 2:
        raise ValueError(f"n_steps must be an integer >= 2; got {n_steps}")
    if not extent > 0:
        raise ValueError(f"extent must be positive; got {extent}")
    return np.linspace(-extent, extent, int(n_steps))


def plane_path(
    stats: LatentStats,
    dims: tuple[int, int],
    *,
    angle: float = 0.0,
    n_steps: int = 9,
    extent: float = 3.0,
    label: str | None = None,
) -> LatentPath:
    """Straight line through the centre within the plane of two components.

    The point with parameter ``t`` has ``x_i = mean_i + t cos(angle) std_i``,
    ``x_j = mean_j + t sin(angle) std_j`` for ``dims = (i, j)`` and all other
    components at their means, i.e. a line in the coordinate plane ``(i, j)``
    scaled by the component spreads (part VI of [1]_).

    Parameters
    ----------
    stats : LatentStats
        Fitted statistics.
    dims : (int, int)
        The two component indices spanning the plane (distinct, < D).
    angle : float, default 0.0
        Direction within the plane, radians from component ``i``.
    n_steps : int, default 9
        Number of points; odd values include the centre (``t = 0``).
    extent : float, default 3.0
        ``t`` runs from ``-extent`` to ``extent`` (standard deviations).
    label : str, optional
        Description for captions; default names the plane and the angle.

    Returns
    -------
    LatentPath

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders and latent space fragmentation -- VI",
       linux-blog.anracom.com.
    """
    i, j = (int(v) for v in dims)
    for v in (i, j):
        if not 0 <= v < stats.dim:
            raise ValueError(f"component index {v} out of range for D = {stats.dim}")
    if i == j:
        raise ValueError(f"dims must be two different components; got {dims}")
    t = _steps(n_steps, extent)
    pts = np.repeat(stats.mean[None, :], t.size, axis=0)
    pts[:, i] += t * np.cos(angle) * stats.std[i]
    pts[:, j] += t * np.sin(angle) * stats.std[j]
    label = label or f"plane ({i}, {j}), angle {np.degrees(angle):.0f} deg"
    return LatentPath(pts.astype(np.float32), t, label)


def principal_axis_path(
    stats: LatentStats, axis: int = 0, *, n_steps: int = 9, extent: float = 3.0,
    label: str | None = None,
) -> LatentPath:
    """Straight line through the centre along a principal axis of the cloud.

    ``x(t) = mean + t sqrt(lambda_a) v_a`` for ``t`` in ``[-extent, extent]``
    (standard deviations along the axis).

    Parameters
    ----------
    stats : LatentStats
        Fitted statistics.
    axis : int, default 0
        Index of the principal axis (0 = largest variance, < D).
    n_steps : int, default 9
        Number of points; odd values include the centre.
    extent : float, default 3.0
        Largest ``|t|``.
    label : str, optional
        Description for captions; default ``"principal axis <axis>"``.

    Returns
    -------
    LatentPath
    """
    axis = int(axis)
    if not 0 <= axis < stats.dim:
        raise ValueError(f"principal axis {axis} requested, but the latents have D = {stats.dim} components")
    t = _steps(n_steps, extent)
    step = np.sqrt(stats.eigenvalues[axis]) * stats.eigenvectors[:, axis]
    pts = stats.mean + t[:, None] * step
    return LatentPath(pts.astype(np.float32), t, label or f"principal axis {axis}")


def interpolation_path(z0, z1, *, n_steps: int = 9, label: str = "interpolation") -> LatentPath:
    """Linear interpolation ``(1 - t) z0 + t z1`` for ``t`` from 0 to 1.

    Parameters
    ----------
    z0, z1 : array_like, shape (D,)
        End points (e.g. the latents of two real faces).
    n_steps : int, default 9
        Number of points including both ends.
    label : str, default "interpolation"
        Description for captions (e.g. which faces are joined).

    Returns
    -------
    LatentPath
    """
    z0 = np.asarray(z0, dtype=np.float64).ravel()
    z1 = np.asarray(z1, dtype=np.float64).ravel()
    if z0.shape != z1.shape:
        raise ValueError(f"end points differ in shape: {z0.shape} vs {z1.shape}")
    if not (np.all(np.isfinite(z0)) and np.all(np.isfinite(z1))):
        raise ValueError("end points contain NaN or inf")
    if int(n_steps) != n_steps or n_steps < 2:
        raise ValueError(f"n_steps must be an integer >= 2; got {n_steps}")
    t = np.linspace(0.0, 1.0, int(n_steps))
    pts = (1 - t)[:, None] * z0 + t[:, None] * z1
    return LatentPath(pts.astype(np.float32), t, label)
