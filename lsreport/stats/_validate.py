"""Shared input checks for :mod:`lsreport.stats`.

Every public function of the statistics package runs its inputs through these
helpers, so bad latents fail the same way everywhere: a :class:`ValueError`
that says what was wrong and what to do about it, never a silent NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

#: Rows processed at once by the chunked passes over the data (memory bound:
#: a chunk of 16384 x 512 float64 values is 64 MiB).
CHUNK_ROWS = 16384


def check_latents(
    z,
    *,
    name: str = "z",
    min_samples: int = 2,
    check_constant: bool = True,
) -> np.ndarray:
    """Return ``z`` as a 2-D floating array after checking it.

    Checks: two dimensions (a 1-D array is rejected rather than guessed),
    a floating or integer dtype, at least ``min_samples`` rows, only finite
    values, and (if ``check_constant``) no component with zero spread.
    Float32 and float64 input is kept as is (no copy), everything else is
    converted to float64.
    """
    arr = np.asarray(z)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_components); "
            f"got shape {arr.shape}. Reshape a single component with "
            f"{name}[:, None]."
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype}.")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    n, d = arr.shape
    if d == 0:
        raise ValueError(f"{name} has no components (shape {arr.shape}).")
    if n < min_samples:
        raise ValueError(
            f"{name} has {n} samples; this analysis needs at least {min_samples}."
        )
    _check_finite(arr, name)
    if check_constant:
        _check_not_constant(arr, name)
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    bad_cols: set[int] = set()
    n_bad = 0
    for start in range(0, arr.shape[0], CHUNK_ROWS):
        block = arr[start : start + CHUNK_ROWS]
        ok = np.isfinite(block)
        if not ok.all():
            rows, cols = np.nonzero(~ok)
            n_bad += rows.size
            bad_cols.update(cols[:50].tolist())
    if n_bad:
        cols = sorted(bad_cols)[:10]
        raise ValueError(
            f"{name} contains {n_bad} NaN or infinite value(s) (e.g. in "
            f"component(s) {cols}). Drop the affected rows (e.g. "
            f"{name}[np.isfinite({name}).all(axis=1)]) or fix the encoder "
            "output; the statistics are not defined for non-finite latents."
        )


def _check_not_constant(arr: np.ndarray, name: str) -> None:
    lo = arr.min(axis=0)
    hi = arr.max(axis=0)
    const = np.flatnonzero(hi == lo)
    if const.size:
        raise ValueError(
            f"{name} has {const.size} constant component(s) "
            f"{const[:10].tolist()}{' ...' if const.size > 10 else ''} "
            "(zero variance): their correlations, fits and Mahalanobis "
            f"distances are undefined. Remove them first, e.g. "
            f"{name}[:, {name}.std(axis=0) > 0]."
        )


def check_full_rank_sample(n: int, d: int, shrinkage: float | None, name: str = "z") -> None:
    """Refuse a singular sample covariance unless shrinkage is set explicitly."""
    if shrinkage is None and n <= d:
        raise ValueError(
            f"{name} has fewer samples (n={n}) than dimensions plus one "
            f"(d={d}): its covariance matrix is singular, so Mahalanobis "
            "distances and whitening are undefined. Use more samples, or pass "
            "an explicit shrinkage=alpha (0 < alpha <= 1) to regularise the "
            "covariance towards a multiple of the identity."
        )


def check_shrinkage(shrinkage: float | None) -> float | None:
    """Validate ``shrinkage`` and warn visibly when it is used."""
    if shrinkage is None:
        return None
    s = float(shrinkage)
    if not (0.0 < s <= 1.0) or not np.isfinite(s):
        raise ValueError(f"shrinkage must lie in (0, 1] or be None; got {shrinkage!r}.")
    warnings.warn(
        f"shrinkage={s:g}: the covariance is regularised as "
        f"(1 - {s:g}) * S + {s:g} * (trace(S)/d) * I; Mahalanobis distances "
        "then no longer follow chi2(d) exactly.",
        UserWarning,
        stacklevel=3,
    )
    return s


def check_pair(pair: Sequence[int], d: int) -> tuple[int, int]:
    """Return a pair of distinct component indices in ``range(d)``."""
    try:
        i, j = (int(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"pair must be two component indices (i, j); got {pair!r}.") from None
    for v in (i, j):
        if not 0 <= v < d:
            raise ValueError(
                f"component index {v} in pair {tuple(pair)} is out of range: "
                f"the latents have {d} components (valid indices 0..{d - 1})."
            )
    if i == j:
        raise ValueError(f"pair needs two different components; got ({i}, {j}).")
    return i, j


def check_components(components, d: int) -> np.ndarray:
    """Return component indices as an int array, all in ``range(d)``."""
    if components is None:
        return np.arange(d)
    idx = np.atleast_1d(np.asarray(components))
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"components must be a non-empty 1-D list of integers; got {components!r}.")
    bad = idx[(idx < 0) | (idx >= d)]
    if bad.size:
        raise ValueError(
            f"component index(es) {bad[:10].tolist()} out of range: the latents "
            f"have {d} components (valid indices 0..{d - 1})."
        )
    return idx.astype(np.intp)


def check_rng(rng) -> np.random.Generator:
    """Require an explicit :class:`numpy.random.Generator`."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)); "
            f"got {type(rng).__name__}. Randomness is never taken from global state."
        )
    return rng


def check_probabilities(p, name: str = "probabilities") -> np.ndarray:
    """Return probabilities as a float array, each strictly inside (0, 1)."""
    arr = np.atleast_1d(np.asarray(p, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or np.any((arr <= 0) | (arr >= 1)) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be values strictly between 0 and 1; got {p!r}.")
    return arr


def check_sizes(sizes, n: int, name: str = "subsample_sizes") -> tuple[int, ...]:
    """Subsample sizes: positive integers, each at most ``n``."""
    out = tuple(int(s) for s in np.atleast_1d(sizes))
    if not out or any(s < 8 for s in out):
        raise ValueError(f"{name} must be integers >= 8; got {sizes!r}.")
    too_big = [s for s in out if s > n]
    if too_big:
        raise ValueError(
            f"{name} {too_big} exceed the number of samples n={n}; "
            "choose smaller subsamples."
        )
    return out


def check_n_jobs(n_jobs) -> int:
    """Number of worker threads: a positive integer (None means 1)."""
    if n_jobs is None:
        return 1
    k = int(n_jobs)
    if k < 1:
        raise ValueError(f"n_jobs must be a positive integer or None; got {n_jobs!r}.")
    return k


def map_blocks(func, items, n_jobs: int = 1) -> list:
    """``[func(x) for x in items]``, optionally on ``n_jobs`` threads.

    The per-block work (sorting, special functions, histograms) runs in
    NumPy/SciPy code that releases the GIL, so threads give real speed-up
    without copying the data to other processes. Order is preserved.
    """
    items = list(items)
    if n_jobs <= 1 or len(items) <= 1:
        return [func(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(func, items))


def pair_columns(z, pair, *, min_samples: int = 3) -> tuple[np.ndarray, tuple[int, int]]:
    """Two components of ``z`` as an (n, 2) float64 array, checked.

    Only the two columns are checked for finiteness and spread, so a pair can
    be studied without scanning all components of a large array.
    """
    arr = np.asarray(z)
    if arr.ndim != 2:
        raise ValueError(
            f"z must be a 2-D array of shape (n_samples, n_components); got shape {arr.shape}."
        )
    i, j = check_pair(pair, arr.shape[1])
    xy = np.column_stack([arr[:, i], arr[:, j]]).astype(np.float64)
    if xy.shape[0] < min_samples:
        raise ValueError(f"z has {xy.shape[0]} samples; this analysis needs at least {min_samples}.")
    bad = ~np.isfinite(xy)
    if bad.any():
        cols = [(i, j)[k] for k in np.flatnonzero(bad.any(axis=0))]
        raise ValueError(
            f"z contains {int(bad.sum())} NaN or infinite value(s) (e.g. in component(s) "
            f"{cols}). Drop the affected rows (e.g. z[np.isfinite(z).all(axis=1)]) or fix "
            "the encoder output; the statistics are not defined for non-finite latents."
        )
    const = [(i, j)[k] for k in range(2) if xy[:, k].min() == xy[:, k].max()]
    if const:
        raise ValueError(
            f"z has constant component(s) {const} (zero variance): the pair "
            f"({i}, {j}) has no 2-D spread. Choose another pair."
        )
    return xy, (i, j)
