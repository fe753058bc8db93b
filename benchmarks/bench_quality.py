"""Throughput of the dlib face metrics: serial against thread and process pools.

Run from the project root::

    .venv/bin/python benchmarks/bench_quality.py [--n 300] [--n-desc 60] [--jobs 2]

Prints images per second of face detection (128 px, HOG) and of face
descriptors (5-point landmarks + ResNet), each serial and in parallel, the
speed-up ratios against the serial baseline measured in the same run, and the
projected time of the metric step of the book: 9 image sets (7 samplers, the
test and the training references) of 1,000 images each. Uses real faces from
``../shared/data/celeba_tight`` when present (detections cost more on faces
than on noise), else uniform noise.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from concurrent.futures import ThreadPoolExecutor

from lsreport import quality as Q

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "celeba_tight"


def _images(n: int) -> tuple[np.ndarray, str]:
    if DATA.is_dir():
        from PIL import Image

        files = sorted(DATA.glob("*.jpg"))[:n]
        return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]), "celeba_tight"
    return np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8), "uniform noise"


def _timed(fn, repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="images for the detection timing")
    ap.add_argument("--n-desc", type=int, default=60, help="images for the descriptor timing")
    ap.add_argument("--jobs", type=int, default=2, help="parallel workers")
    ap.add_argument("--sets", type=int, default=9, help="image sets of the projection")
    ap.add_argument("--set-size", type=int, default=1000, help="images per set of the projection")
    ap.add_argument("--max-descriptors", type=int, default=400, help="descriptors per set (the default)")
    args = ap.parse_args(argv)

    imgs, source = _images(args.n)
    print(f"images: {imgs.shape[0]} x {imgs.shape[1:]} ({source}); workers: {args.jobs}; "
          f"CPUs: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}")

    # pool start-up alone (fork server; each worker builds the HOG detector, ~1.5 s)
    tiny = imgs[: 2 * args.jobs]
    Q.analyse_faces(tiny, max_descriptors=0, n_jobs=1)  # warms this process's models
    t_start = _timed(lambda: Q.analyse_faces(tiny, max_descriptors=0, n_jobs=args.jobs, backend="process"))
    print(f"process pool start-up (+ {tiny.shape[0]} images): {t_start:.2f} s, paid once per call "
          "without executor=; the timings below use warm pools")

    sub = imgs[: args.n_desc]
    rows, det, desc = [], {}, {}
    with Q.face_pool(args.jobs) as procs, ThreadPoolExecutor(args.jobs) as threads:
        pools = {"serial": None, "threads": threads, "processes": procs}
        # warm: every worker builds its detector and network before timing
        for pool in (procs, threads):
            Q.analyse_faces(imgs[: 4 * args.jobs], max_descriptors=None, n_jobs=args.jobs, executor=pool,
                            chunk_size=1)
        for mode, pool in pools.items():
            jobs = 1 if pool is None else args.jobs
            det[mode] = _timed(lambda: Q.analyse_faces(imgs, max_descriptors=0, n_jobs=jobs, executor=pool))
            # descriptor cost = full analysis minus detection of the same images
            d_det = det[mode] * sub.shape[0] / imgs.shape[0]
            desc[mode] = _timed(
                lambda: Q.analyse_faces(sub, max_descriptors=None, n_jobs=jobs, executor=pool)
            ) - d_det
    # CPU seconds per image of the serial path: unlike wall time, hardly affected
    # by other processes on the machine; with perfect scaling the idle-machine
    # time of the parallel path is CPU time / workers
    c0 = time.process_time()
    Q.analyse_faces(imgs, max_descriptors=0, n_jobs=1)
    cpu_det = (time.process_time() - c0) / imgs.shape[0]
    c0 = time.process_time()
    Q.analyse_faces(sub, max_descriptors=None, n_jobs=1)
    cpu_desc = (time.process_time() - c0) / sub.shape[0] - cpu_det
    print(f"serial CPU time per image: detection {cpu_det * 1e3:.1f} ms, descriptor {cpu_desc * 1e3:.0f} ms")

    for stage, t, n in (("detection", det, imgs.shape[0]), ("descriptor", desc, sub.shape[0])):
        for mode, v in t.items():
            rows.append((stage, mode, n / v, t["serial"] / v))

    print(f"\n{'stage':<11} {'mode':<10} {'images/s':>9} {'speed-up vs serial':>19}")
    for stage, mode, ips, ratio in rows:
        print(f"{stage:<11} {mode:<10} {ips:9.1f} {ratio:19.2f}")

    n_img = args.sets * args.set_size
    n_desc = args.sets * min(args.max_descriptors, args.set_size)
    for mode in ("serial", "processes"):
        t_det = n_img * det[mode] / imgs.shape[0]
        t_desc = n_desc * desc[mode] / sub.shape[0]
        t_det += t_start if mode == "processes" else 0.0
        print(
            f"\nprojected dlib time, {args.sets} sets x {args.set_size} images, {mode}: "
            f"{t_det:.0f} s detection + {t_desc:.0f} s for {n_desc} descriptors"
            f" ({min(args.max_descriptors, args.set_size)} per set)"
            f"{' (+ one pool start-up)' if mode == 'processes' else ''}"
            f" = {(t_det + t_desc) / 60:.1f} min"
        )
    t_idle = (n_img * cpu_det + n_desc * cpu_desc) / args.jobs + t_start
    print(f"\nprojected from CPU time, idle machine, {args.jobs} workers: {t_idle / 60:.1f} min")
    t_all = n_img * desc["processes"] / sub.shape[0]
    print(f"(descriptors for all {n_img} images instead, processes: {t_all / 60:.1f} min)")
    print(f"load average at end: {os.getloadavg()[0]:.1f} (timings are only comparable on an idle machine)")


if __name__ == "__main__":
    main()
