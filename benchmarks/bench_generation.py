"""The generation step side by side: serial schedule against the overlapped one.

Run from the project root, after the profile's faces, model and latents are
cached (``lsreport encode --profile default``)::

    .venv/bin/python benchmarks/bench_generation.py [--profile default] [--repeats 1]

Both sides compute the whole generation step (mixture fit, sampling,
decoding, dlib face analysis, pixel metrics) on the same cached inputs into
throw-away stores:

* ``serial``: the schedule the step had before: fit and decode, then dlib
  on the reference in its own pool, then dlib on each set, then the
  metrics, each stage waiting for the one before (it leaves out the paired
  bootstrap of the face Fréchet distance that the step adds, a few seconds,
  so it does slightly less work);
* ``overlapped``: :func:`lsreport.generate.generate` as it is: one pool from
  the start, each set queued as soon as it is decoded, the mixture fit and
  the pixel metrics computed while the workers run.

Runs alternate (serial, overlapped, serial, ...) so that a change in machine
load hits both. Prints wall time, this process's CPU time and the dlib
workers' CPU time of each run, the speed-up, and whether the two metric
tables are identical (they must be, to the last digit). Worker CPU time is
read from the workers themselves (each chunk reports its own
``time.process_time``); on a shared machine only the CPU times are
comparable between runs, wall times only within one pair of runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_CPU_LOG = "LSREPORT_BENCH_CPU_LOG"


def _timed_chunk(task):
    # runs in the dlib workers (this module is importable there: no heavy
    # imports at its top): the chunk's result, its CPU seconds to a log file
    from lsreport import quality

    c0 = time.process_time()
    out = getattr(quality, "_analyse_chunk_untimed", quality._analyse_chunk)(task)
    with open(os.environ[_CPU_LOG], "a") as fh:
        fh.write(f"{time.process_time() - c0:.4f}\n")
    return out


def _install_timer(log: Path) -> None:
    from lsreport import quality

    os.environ[_CPU_LOG] = str(log)
    if not hasattr(quality, "_analyse_chunk_untimed"):
        quality._analyse_chunk_untimed = quality._analyse_chunk
        quality._analyse_chunk = _timed_chunk


def _serial(cfg, faces, model, latents):
    """The generation step's computation in the old order (no overlap); returns the metric table.

    The same sets and random streams as :func:`lsreport.generate.generate`,
    each stage waiting for the one before: fit and decode, then dlib on the
    reference in its own pool, then dlib on each set, then the metrics.
    """
    from lsreport.generate import BASELINE, RECONSTRUCTIONS, _sampler_settings, fit_latent_models
    from lsreport.latent import decode, encode_images, reconstruct
    from lsreport.quality import analyse_faces, prepare_reference, quality_table, to_uint8
    from lsreport.sampling import sample_from_config

    q, n = cfg.quality, cfg.sampling.n_per_sampler
    z_train = np.asarray(latents.split_z("train"))
    stats, gmm = fit_latent_models(cfg, z_train)
    zs = sample_from_config(_sampler_settings(cfg, stats, z_train), n, rng=np.random.default_rng([cfg.run.seed, 11]),
                            stats=stats, gmm=gmm)
    images = {lbl: decode(model.decoder, z) for lbl, z in zs.items()}
    test, val = faces.split_images("test"), faces.split_images("validation")
    n_hold = min(n, max(len(test) - q.n_reference, len(test) // 3))
    n_ref = min(q.n_reference, len(test) - n_hold)
    perm = np.random.default_rng([cfg.run.seed, 15]).permutation(len(test))
    reference = np.asarray(test[np.sort(perm[:n_ref])])
    held_out = np.asarray(test[np.sort(perm[n_ref: n_ref + n_hold])]) if n_hold >= 2 else None
    val_imgs = np.asarray(val[: min(n, len(val))])
    images[RECONSTRUCTIONS] = to_uint8(reconstruct(model.decoder, model.encoder, val_imgs))
    zs[RECONSTRUCTIONS] = encode_images(model.encoder, val_imgs)
    if held_out is not None:
        images[BASELINE] = to_uint8(held_out)
        zs[BASELINE] = encode_images(model.encoder, held_out)
    ref_z = encode_images(model.encoder, reference)
    train_imgs = faces.split_images("train")
    pick = np.sort(np.random.default_rng([cfg.run.seed, 12]).choice(
        len(train_imgs), min(len(train_imgs), 5000), replace=False))
    ref = prepare_reference(reference, np.asarray(train_imgs[pick]), max_descriptors=q.max_descriptors,
                            n_jobs=q.workers)
    analyses = {k: analyse_faces(s, max_descriptors=q.max_descriptors, n_jobs=q.workers)
                for k, s in images.items()}
    return quality_table(images, ref, rng=np.random.default_rng([cfg.run.seed, 13]), latents=zs,
                         latent_stats=stats, latent_reference=ref_z, n_boot=q.n_bootstrap,
                         max_descriptors=q.max_descriptors, n_jobs=q.workers, faces=analyses)


def main(argv=None) -> None:
    import pandas as pd

    from lsreport import pipeline
    from lsreport.artifacts import ArtifactStore
    from lsreport.config import load_config
    from lsreport.generate import generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--repeats", type=int, default=1, help="pairs of runs")
    ap.add_argument("--only", choices=["serial", "overlapped"], help="run one side only")
    a = ap.parse_args(argv)

    cfg = load_config(a.profile)
    store = pipeline.store_for(cfg, read_only=True)
    faces = pipeline.faces(cfg, store, progress=False)
    model = pipeline.model(cfg, store, progress=False)
    latents = pipeline.latents(cfg, store, progress=False)
    s = cfg.sampling
    print(f"profile {a.profile}: {faces.description.split(';')[0][:90]}")
    print(f"{s.n_per_sampler} images per sampler, {cfg.quality.n_reference} reference images, "
          f"{cfg.quality.max_descriptors} descriptors per set, {cfg.quality.workers} workers; "
          f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}")

    sides = ["serial", "overlapped"] if a.only is None else [a.only]
    tables: dict[str, pd.DataFrame] = {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "worker-cpu.txt"
        _install_timer(log)
        for r in range(a.repeats):
            for side in sides:
                log.write_text("")
                t0, c0 = time.perf_counter(), time.process_time()
                if side == "serial":
                    table = _serial(cfg, faces, model, latents)
                else:
                    gen = generate(cfg, ArtifactStore(Path(tmp) / f"store-{r}"), faces, model, latents,
                                   progress=False)
                    table = gen.metrics
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                wcpu = sum(float(x) for x in log.read_text().split())
                rows.append((side, wall, cpu, wcpu, os.getloadavg()[0]))
                tables[side] = table
                print(f"  {side:<10} wall {wall:7.1f} s | this process CPU {cpu:6.1f} s | dlib workers CPU "
                      f"{wcpu:6.1f} s | load {rows[-1][-1]:.1f}", flush=True)
    if len(sides) == 2:
        walls = {k: np.median([w for sd, w, *_ in rows if sd == k]) for k in sides}
        print(f"speed-up (median wall, serial / overlapped): {walls['serial'] / walls['overlapped']:.2f}x")
        a_, b_ = (tables[k].reset_index(drop=True) for k in sides)
        b_ = b_[list(a_.columns)]  # the cached table comes back with its columns sorted
        same = a_.equals(b_)
        print(f"metric tables identical to the last digit: {same}")
        if not same:
            num = ["value", "ci_low", "ci_high"]
            diff = (a_[num] - b_[num]).abs().to_numpy()
            print(f"  largest difference {np.nanmax(diff):.3g}")
    cpu_all = [c + w for _, _, c, w, _ in rows]
    print(f"CPU seconds per run (this process + workers): {', '.join(f'{c:.0f}' for c in cpu_all)}; "
          f"on an idle machine with {cfg.quality.workers} cores the wall time cannot fall below "
          f"about CPU / cores = {min(cpu_all) / max(1, cfg.quality.workers):.0f} s")


if __name__ == "__main__":
    main()
