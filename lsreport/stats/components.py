"""Per-component histograms and Gaussian fits.

The first look at the latent cloud in Mönchmeyer's series: one histogram per
latent component with a fixed bin width, a Gaussian fitted to each histogram,
and the components ranked by the fitted width. A component whose histogram is
a clean bell curve centred near its sample mean and median is consistent with
(but does not prove) a normal marginal; :mod:`lsreport.stats.goodness` tests
that claim.

References
----------
.. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", blog series, linux-blog.anracom.com (2023).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.optimize import curve_fit

from ._validate import check_components, check_latents, check_n_jobs, map_blocks

__all__ = [
    "Histogram",
    "ComponentFit",
    "ComponentFits",
    "component_histogram",
    "fit_components",
    "gaussian",
]

#: Refuse histograms with more bins than this (a few extreme outliers with a
#: small bin width would otherwise allocate millions of empty bins).
MAX_BINS = 100_000
_COL_BLOCK = 32


def gaussian(x, amplitude, mu, sigma):
    """Unnormalised Gaussian ``amplitude * exp(-(x - mu)**2 / (2 sigma**2))``."""
    x = np.asarray(x, dtype=float)
    return amplitude * np.exp(-0.5 * ((x - mu) / sigma) ** 2)


@dataclass(frozen=True, eq=False)
class Histogram:
    """Counts of one component in bins of equal width.

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,)
        Bin edges, aligned to integer multiples of the bin width.
    counts : ndarray of int, shape (n_bins,)
        Number of samples per bin.
    """

    edges: np.ndarray
    counts: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        """Bin centres."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def bin_width(self) -> float:
        """Width of a bin."""
        return float(self.edges[1] - self.edges[0])

    @property
    def n(self) -> int:
        """Number of samples counted."""
        return int(self.counts.sum())


def _edges(lo: float, hi: float, bin_width: float) -> np.ndarray:
    first = np.floor(lo / bin_width)
    last = np.ceil(hi / bin_width)
    if last <= first:
        last = first + 1
    n_bins = int(last - first)
    if n_bins > MAX_BINS:
        raise ValueError(
            f"bin_width={bin_width:g} over the range [{lo:g}, {hi:g}] needs "
            f"{n_bins} bins (limit {MAX_BINS}); choose a larger bin_width or "
            "remove extreme outliers first."
        )
    return (first + np.arange(n_bins + 1)) * bin_width


def _histogram_1d(x: np.ndarray, bin_width: float) -> Histogram:
    edges = _edges(float(x.min()), float(x.max()), bin_width)
    counts, _ = np.histogram(x, bins=edges.size - 1, range=(edges[0], edges[-1]))
    return Histogram(edges=edges, counts=counts)


def component_histogram(z, component: int, *, bin_width: float = 0.25) -> Histogram:
    """Histogram of one latent component with bins of fixed width.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors.
    component : int
        Index of the component.
    bin_width : float, default 0.25
        Width of every bin; the edges sit on integer multiples of it, so
        histograms of different components share a common lattice.

    Returns
    -------
    Histogram
        Edges and counts.

    Examples
    --------
    >>> import numpy as np
    >>> h = component_histogram(np.random.default_rng(0).normal(size=(1000, 3)), 1)
    >>> h.n
    1000
    """
    z = check_latents(z, check_constant=False)
    (j,) = check_components([component], z.shape[1])
    _check_bin_width(bin_width)
    return _histogram_1d(np.asarray(z[:, j], dtype=np.float64), bin_width)


def _check_bin_width(bin_width: float) -> None:
    if not (np.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"bin_width must be a positive number; got {bin_width!r}.")


@dataclass(frozen=True, eq=False)
class ComponentFit:
    """Gaussian fit to the histogram of one component.

    Attributes
    ----------
    component : int
        Index of the component in the latent vector.
    amplitude, mu, sigma : float
        Fitted normal, written as the curve
        ``amplitude * exp(-(x - mu)**2 / (2 sigma**2))`` in counts per bin
        (its total is ``amplitude * sigma * sqrt(2 pi) / bin_width``); fitted
        to the expected counts per bin (see :func:`fit_components`).
    amplitude_se, mu_se, sigma_se : float
        Standard errors from the diagonal of the fit's covariance matrix.
    r_squared : float
        Coefficient of determination of the fit on the bin counts.
    mean, median, std : float
        Sample mean, median and standard deviation (ddof=1) of the component.
    converged : bool
        False if :func:`scipy.optimize.curve_fit` failed; the parameters are
        then NaN.
    histogram : Histogram
        The histogram the fit was made to.
    """

    component: int
    amplitude: float
    amplitude_se: float
    mu: float
    mu_se: float
    sigma: float
    sigma_se: float
    r_squared: float
    mean: float
    median: float
    std: float
    converged: bool
    histogram: Histogram

    def curve(self, x) -> np.ndarray:
        """Evaluate the fitted Gaussian (in counts per bin) at ``x``."""
        return gaussian(x, self.amplitude, self.mu, self.sigma)


_ARRAY_FIELDS = (
    "amplitude", "amplitude_se", "mu", "mu_se", "sigma", "sigma_se",
    "r_squared", "mean", "median", "std", "converged",
)


@dataclass(frozen=True, eq=False)
class ComponentFits:
    """Gaussian fits to the histograms of many components.

    Every array attribute has one entry per fitted component, in the order of
    ``components``.

    Attributes
    ----------
    components : ndarray of int
        Component indices.
    amplitude, amplitude_se, mu, mu_se, sigma, sigma_se, r_squared : ndarray
        Fit parameters, their standard errors and R² (see :class:`ComponentFit`).
    mean, median, std : ndarray
        Sample statistics per component.
    converged : ndarray of bool
        Whether the fit converged.
    histograms : tuple of Histogram
        The histograms.
    bin_width : float
        Bin width used.
    n_samples : int
        Number of latent vectors.
    weighting : str
        ``"poisson"`` or ``"none"`` (see :func:`fit_components`).
    """

    components: np.ndarray
    amplitude: np.ndarray
    amplitude_se: np.ndarray
    mu: np.ndarray
    mu_se: np.ndarray
    sigma: np.ndarray
    sigma_se: np.ndarray
    r_squared: np.ndarray
    mean: np.ndarray
    median: np.ndarray
    std: np.ndarray
    converged: np.ndarray
    histograms: tuple
    bin_width: float
    n_samples: int
    weighting: str

    def __len__(self) -> int:
        return int(self.components.size)

    def position(self, component: int) -> int:
        """Position of a component index inside the arrays."""
        hits = np.flatnonzero(self.components == component)
        if hits.size == 0:
            raise ValueError(
                f"component {component} was not fitted; fitted components are "
                f"{self.components[:10].tolist()}{' ...' if len(self) > 10 else ''}."
            )
        return int(hits[0])

    def fit(self, component: int) -> ComponentFit:
        """The fit of one component (by its index in the latent vector)."""
        k = self.position(component)
        kw = {f: getattr(self, f)[k].item() for f in _ARRAY_FIELDS}
        return ComponentFit(component=int(component), histogram=self.histograms[k], **kw)

    def dominant(self, n: int | None = None) -> np.ndarray:
        """Component indices ranked by fitted width ``sigma``, widest first.

        Non-converged fits go last. ``n`` limits the number returned.
        """
        key = np.where(self.converged, self.sigma, -np.inf)
        order = np.argsort(-key, kind="stable")
        out = self.components[order]
        return out if n is None else out[: int(n)]

    def to_frame(self):
        """One row per component as a :class:`pandas.DataFrame`.

        Adds ``mu_minus_mean`` and ``mu_minus_median`` (fitted centre against
        the sample statistics, in latent units) and ``rank`` (1 = widest).
        """
        import pandas as pd

        df = pd.DataFrame({"component": self.components})
        for f in _ARRAY_FIELDS:
            df[f] = getattr(self, f)
        df["mu_minus_mean"] = self.mu - self.mean
        df["mu_minus_median"] = self.mu - self.median
        rank = np.empty(len(self), dtype=int)
        pos = np.argsort(-np.where(self.converged, self.sigma, -np.inf), kind="stable")
        rank[pos] = np.arange(1, len(self) + 1)
        df["rank"] = rank
        return df.set_index("component")

    def top_table(self, n: int = 8):
        """The ``n`` widest components as a table for the text.

        Columns: the fitted amplitude, centre and width as
        ``"value ± standard error"`` strings (non-breaking spaces, so a cell
        does not wrap), R², the sample mean and median,
        and ``(mu - mean) / mu_se``, the gap between the fitted centre and the
        sample mean in standard errors of the centre (large values: the
        histogram's peak is not where its mean is, a sign of skewness).
        Components whose fit failed (ranked last) read "fit failed".

        Returns
        -------
        pandas.DataFrame
            Indexed by component, widest first.
        """
        import pandas as pd

        rows = []
        for c in self.dominant(n):
            f = self.fit(int(c))
            ok = f.converged
            rows.append({
                "component": int(c),
                "amplitude": f"{f.amplitude:,.0f}\u00a0±\u00a0{f.amplitude_se:,.0f}" if ok else "fit failed",
                "μ (fit)": f"{f.mu:.3f}\u00a0±\u00a0{f.mu_se:.3f}" if ok else "fit failed",
                "σ (fit)": f"{f.sigma:.3f}\u00a0±\u00a0{f.sigma_se:.3f}" if ok else "fit failed",
                "R²": f.r_squared,
                "mean": f.mean,
                "median": f.median,
                "(μ − mean) / SE(μ)": (f.mu - f.mean) / f.mu_se if ok and f.mu_se > 0 else np.nan,
            })
        return pd.DataFrame(rows).set_index("component")


def _binned_model(h: float):
    # expected count per bin of width h centred at x for a normal with total
    # mass amplitude * sigma * sqrt(2 pi) / h: the parameters keep the meaning
    # of the Gaussian curve (amplitude = its peak in counts per bin), but the
    # curve is integrated over each bin instead of sampled at the bin centre
    root2pi = np.sqrt(2.0 * np.pi)

    def model(x, amplitude, mu, sigma):
        s = np.abs(sigma)
        hi = special.ndtr((x + h / 2 - mu) / s)
        lo = special.ndtr((x - h / 2 - mu) / s)
        return amplitude * s * root2pi / h * (hi - lo)

    return model


def _fit_one(h: Histogram, mean: float, std: float, weighting: str):
    x = h.centers
    y = h.counts.astype(float)
    bw = h.bin_width
    model = _binned_model(bw)
    p0 = (max(y.max(), 1.0), mean, max(std, bw / 2))
    kw = {}
    if weighting == "poisson":
        # Poisson errors of the counts; empty bins get the error of one count
        kw = {"sigma": np.sqrt(np.maximum(y, 1.0)), "absolute_sigma": True}
    if x.size < 4:  # three parameters need at least four bins
        return (np.nan,) * 7 + (False,)
    span = h.edges[-1] - h.edges[0]
    bounds = ([0.0, h.edges[0], bw / 10], [np.inf, h.edges[-1], span])
    popt = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OptimizeWarning: reported via `converged`
        for extra in ({"maxfev": 2000}, {"bounds": bounds, "max_nfev": 2000}):
            # unbounded Levenberg-Marquardt first (fast); if it wanders off
            # (e.g. a one-sided histogram), a fit with the centre inside the
            # data range and a positive width
            try:
                popt, pcov = curve_fit(model, x, y, p0=p0, **kw, **extra)
            except (RuntimeError, ValueError, TypeError):  # TypeError: fewer bins than parameters
                continue
            # a one-sided histogram can also be matched by the far tail of a
            # wide normal centred outside the data: refit within the bounds
            if "bounds" in extra or (bounds[0][1] <= popt[1] <= bounds[1][1]
                                     and abs(popt[2]) <= bounds[1][2]):
                break
            popt = None
    if popt is None:
        return (np.nan,) * 7 + (False,)
    popt = np.asarray(popt, dtype=float)
    popt[2] = abs(popt[2])
    se = np.sqrt(np.clip(np.diag(pcov), 0, None)) if np.all(np.isfinite(pcov)) else np.full(3, np.nan)
    resid = y - model(x, *popt)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else np.nan
    ok = bool(np.all(np.isfinite(popt)) and popt[2] > 0)
    return (popt[0], se[0], popt[1], se[1], popt[2], se[2], r2, ok)


def fit_components(
    z,
    components=None,
    *,
    bin_width: float = 0.25,
    weighting: str = "poisson",
    n_jobs: int | None = None,
) -> ComponentFits:
    """Fit a Gaussian to the histogram of each latent component.

    Parameters
    ----------
    z : array_like, shape (n_samples, n_components)
        Latent vectors.
    components : sequence of int, optional
        Components to fit; all by default.
    bin_width : float, default 0.25
        Histogram bin width (edges on multiples of it).
    weighting : {"poisson", "none"}, default "poisson"
        ``"poisson"`` weights each bin by the Poisson error ``sqrt(count)``
        (at least 1) and treats it as absolute, so the standard errors are
        those of a least-squares fit to counts; ``"none"`` is the plain
        unweighted fit (errors rescaled by the residual variance).
    n_jobs : int, optional
        Threads working on blocks of components (default 1).

    Returns
    -------
    ComponentFits
        Parameters, standard errors, R², sample mean/median/std and the
        histograms, one entry per component.

    Notes
    -----
    The fit is made to the histogram counts with
    :func:`scipy.optimize.curve_fit` starting at the sample moments. The
    model is what a histogram measures, the expected count of each bin
    ``[a, b)``, ``N [Phi((b - mu) / sigma) - Phi((a - mu) / sigma)]``, with
    ``N = amplitude * sigma * sqrt(2 pi) / bin_width``. Fitting the Gaussian
    curve to the counts as point values at the bin centres instead gives a
    width of ``sqrt(sigma**2 + bin_width**2 / 12)`` (Sheppard): 11 % too wide
    for ``sigma = 0.15`` and bin width 0.25. The fitted curve is written
    here (own code, a few lines) because no library fits binned normal
    counts with Poisson weights and returns standard errors. It
    describes the *shape* of the histogram; R² close to 1 does not test
    normality (heavy tails hardly change R²) — use
    :func:`lsreport.stats.goodness.normality_tests` for that. Failed fits are
    not hidden: they give NaN parameters, ``converged=False`` and a warning.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
       dimensionality", linux-blog.anracom.com (2023).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal([0, 1], [1, 2], size=(20000, 2))
    >>> fits = fit_components(z)
    >>> fits.dominant().tolist()
    [1, 0]
    """
    z = check_latents(z)
    idx = check_components(components, z.shape[1])
    _check_bin_width(bin_width)
    if weighting not in ("poisson", "none"):
        raise ValueError(f"weighting must be 'poisson' or 'none'; got {weighting!r}.")
    n = z.shape[0]

    def one(cols):
        # keep float32 latents in float32 for the copy, histogram and median
        # (exact on the stored values); moments accumulate in float64
        block = np.ascontiguousarray(z[:, cols].T)
        mean = block.mean(axis=1, dtype=np.float64)
        std = block.std(axis=1, ddof=1, dtype=np.float64)
        hists_b = [_histogram_1d(row, bin_width) for row in block]
        median = np.median(block, axis=1, overwrite_input=True).astype(np.float64)
        return hists_b, mean, median, std

    blocks = [idx[s : s + _COL_BLOCK] for s in range(0, idx.size, _COL_BLOCK)]
    parts = map_blocks(one, blocks, check_n_jobs(n_jobs))
    hists = [h for p in parts for h in p[0]]
    means = [p[1] for p in parts]
    medians = [p[2] for p in parts]
    stds = [p[3] for p in parts]
    # the fits run here, not in the worker threads: warnings.catch_warnings
    # (used to silence OptimizeWarning) is not thread-safe
    rows = [_fit_one(h, m, sd, weighting)
            for h, m, sd in zip(hists, np.concatenate(means), np.concatenate(stds))]
    table = np.array([r[:7] for r in rows], dtype=float).reshape(-1, 7)
    converged = np.array([r[7] for r in rows], dtype=bool)
    if not converged.all():
        warnings.warn(
            f"Gaussian fit failed for component(s) {idx[~converged][:10].tolist()}; "
            "their parameters are NaN (see ComponentFits.converged).",
            RuntimeWarning,
            stacklevel=2,
        )
    return ComponentFits(
        components=idx,
        amplitude=table[:, 0],
        amplitude_se=table[:, 1],
        mu=table[:, 2],
        mu_se=table[:, 3],
        sigma=table[:, 4],
        sigma_se=table[:, 5],
        r_squared=table[:, 6],
        mean=np.concatenate(means),
        median=np.concatenate(medians),
        std=np.concatenate(stds),
        converged=converged,
        histograms=tuple(hists),
        bin_width=float(bin_width),
        n_samples=n,
        weighting=weighting,
    )
