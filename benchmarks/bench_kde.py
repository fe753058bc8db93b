"""Speed of the FFT KDE (KDEpy, whitened) against scipy.stats.gaussian_kde.

At N = 170,000 points (the size of a CelebA latent cloud) the direct sum of
``gaussian_kde`` costs N x (grid points) kernel evaluations, so it is timed
on coarse grids only. The script prints:

* both estimators on the *same* coarse grids (measured ratio and accuracy);
* the scipy time per grid point on two coarse grids (to show it is linear in
  the number of grid points), and its linear extrapolation to the 128 x 128
  grid used for the figures, against the *measured* FFT time there. The
  extrapolated figure is labelled as such.

No asserts; timings depend on the machine and its load (printed).

    python benchmarks/bench_kde.py [--n 170000] [--grid 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy import stats


def _best(f, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=170_000)
    ap.add_argument("--grid", type=int, default=128)
    ap.add_argument("--coarse", type=int, nargs=2, default=(16, 24), help="two coarse grid sizes for scipy")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from lsreport.stats import compare_kde, kde_2d

    rng = np.random.default_rng(args.seed)
    # a correlated, slightly skewed pair like two latent components
    x = rng.normal(size=args.n)
    y = 0.7 * x + 0.5 * rng.standard_t(6, size=args.n) + 0.1 * x**2
    z = np.column_stack([x, y])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"N = {args.n}, {os.cpu_count()} CPUs, load average {load:.2f}; best of {args.repeats} runs")

    # 1. same coarse grids: measured
    per_point = []
    for g in args.coarse:
        c = compare_kde(z, (0, 1), grid_size=g)
        ext = (c.reference.x[0], c.reference.x[-1], c.reference.y[0], c.reference.y[-1])
        kde = stats.gaussian_kde(z.T)
        px, py = np.meshgrid(c.reference.x, c.reference.y)
        pts = np.vstack([px.ravel(), py.ravel()])
        t_sc = _best(lambda: kde(pts), 1)
        t_fft = _best(lambda: kde_2d(z, (0, 1), grid_size=g, extent=ext), args.repeats)
        per_point.append(t_sc / g**2)
        print(f"{g:4d} x {g:<4d} grid  scipy {t_sc:8.2f} s   fft {t_fft:6.3f} s   "
              f"measured ratio {t_sc / t_fft:8.1f}x   max |diff| / peak {c.max_rel_diff:.2e}")
    lin = per_point[1] / per_point[0]
    print(f"scipy seconds per grid point: {per_point[0]:.2e} ({args.coarse[0]}^2), "
          f"{per_point[1]:.2e} ({args.coarse[1]}^2); ratio {lin:.2f} (1 = exactly linear)")

    # 2. the figure grid: fft measured, scipy extrapolated
    g = args.grid
    t_fft = _best(lambda: kde_2d(z, (0, 1), grid_size=g), args.repeats)
    t_sc_extra = per_point[1] * g**2
    print(f"{g:4d} x {g:<4d} grid  scipy ~{t_sc_extra:7.1f} s (EXTRAPOLATED from the {args.coarse[1]}^2 "
          f"timing, not run)   fft {t_fft:6.3f} s (measured)   ratio ~{t_sc_extra / t_fft:.0f}x")


if __name__ == "__main__":
    main()
