"""Whole latent-cloud analysis at full scale: wall time and peak memory.

Simulates N x D latents (default 200,000 x 512, float32 like encoder output)
with correlated components and mildly heavy-tailed marginals, runs
:func:`lsreport.stats.analyse` once and prints the wall time of each stage
and of the whole call, and the peak resident memory of the process
(``resource.getrusage``; includes the simulated data). No asserts: timings
depend on the machine, which is printed too.

    python benchmarks/bench_stats_scale.py [--n 200000] [--d 512] [--float64]
                                           [--n-jobs 2] [--blas-threads 1]

``--n-jobs`` is passed to ``analyse`` (threads for the per-component work);
``--blas-threads`` caps OpenBLAS/MKL threads with threadpoolctl. On a shared,
oversubscribed machine multi-threaded BLAS can be several times slower than
one thread, so it is worth running both ways.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np


def simulate(n: int, d: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Correlated latents: a few shared factors plus noise, t(8)-ish tails."""
    k = max(4, d // 32)
    load = rng.normal(0.0, 0.5, size=(k, d))
    scale = rng.uniform(0.3, 1.5, size=d)
    out = np.empty((n, d), dtype=dtype)
    for start in range(0, n, 16384):
        m = min(16384, n - start)
        f = rng.normal(size=(m, k))
        e = rng.standard_t(8, size=(m, d)) * np.sqrt(6 / 8)
        out[start : start + m] = (f @ load + e * scale + 0.2).astype(dtype)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--float64", action="store_true", help="simulate float64 instead of float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=2, help="threads for per-component work")
    ap.add_argument("--blas-threads", type=int, default=None, help="cap BLAS threads (default: library default)")
    args = ap.parse_args()

    from lsreport import stats as lst

    rng = np.random.default_rng(args.seed)
    dtype = np.float64 if args.float64 else np.float32
    t0 = time.perf_counter()
    z = simulate(args.n, args.d, rng, dtype)
    t_sim = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from contextlib import nullcontext

    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(limits=args.blas_threads, user_api="blas")
    else:
        limit = nullcontext()
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    c0 = time.process_time()
    with limit:
        res = lst.analyse(z, rng=rng, n_jobs=args.n_jobs)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    load1 = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"numpy {np.__version__}, python {platform.python_version()}")
    print(f"latents: N={args.n} x D={args.d} {np.dtype(dtype).name} "
          f"({z.nbytes / 2**20:.0f} MiB), simulated in {t_sim:.1f} s")
    print(f"analyse(n_jobs={args.n_jobs}, BLAS threads={args.blas_threads or 'default'}): "
          f"wall time {wall:.1f} s, CPU time {cpu:.1f} s; "
          f"1-min load average {load0:.1f} before, {load1:.1f} after")
    print(f"peak RSS: {peak:.0f} MiB (after simulating the data: {rss_data:.0f} MiB; "
          f"analysis added {peak - rss_data:.0f} MiB)")
    s = res.summary()
    print("a few results: " + ", ".join(
        f"{k}={s[k]:.3g}" for k in ("sub500_pass_share_anderson_darling", "d2_mean", "d2_var",
                                     "mardia_kurt_p_median", "box_share_inside")))


if __name__ == "__main__":
    main()
