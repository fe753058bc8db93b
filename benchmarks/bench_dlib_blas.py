"""The generation step with the installed dlib against a dlib built with BLAS, side by side.

Run from the project root, after the profile's faces, model and latents are
cached (``lsreport encode --profile default``), with a dlib built against
OpenBLAS unpacked in DIR (``make fast-dlib`` leaves its wheel in
``build/dlib-wheel``; ``unzip`` it into DIR)::

    .venv/bin/python benchmarks/bench_dlib_blas.py [--blas-dlib DIR] [--profile default] [--repeats 1]

DIR defaults to ``build/dlib-blas``; without it the benchmark says so and
stops (``make bench`` runs on).

Each side computes the whole generation step of the profile into a
throw-away store, in its own process: ``installed`` with the dlib of the
environment (the dlib-bin wheel, built without BLAS), ``blas`` with DIR
first on ``PYTHONPATH`` (the dlib workers inherit it). Runs alternate so that
a change in machine load hits both. Prints each run's wall time, the
speed-up, how many cells of the metric table differ at all, and to how many
significant digits every cell agrees. BLAS sums in another order than dlib's
own matrix code, so the face descriptors differ in the 7th digit and the
tables are equal to rounding, not bit for bit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _child(profile: str, out: str) -> None:
    import dlib

    from lsreport import pipeline
    from lsreport.artifacts import ArtifactStore
    from lsreport.config import load_config
    from lsreport.generate import generate

    cfg = load_config(profile)
    store = pipeline.store_for(cfg, read_only=True)
    faces = pipeline.faces(cfg, store, progress=False)
    model = pipeline.model(cfg, store, progress=False)
    latents = pipeline.latents(cfg, store, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        gen = generate(cfg, ArtifactStore(Path(tmp)), faces, model, latents, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = gen.metrics.sort_values(["image_set", "metric"]).to_dict(orient="records")
    Path(out).write_text(json.dumps({"blas": bool(dlib.DLIB_USE_BLAS), "wall": wall, "cpu": cpu,
                                     "load": os.getloadavg()[0], "metrics": rows}))


def _agreement(a: list, b: list) -> tuple[int, int, int]:
    """(cells that differ, cells compared, significant digits to which all cells agree)."""
    import math

    cells = [(x[c], y[c]) for x, y in zip(a, b, strict=True) for c in ("value", "ci_low", "ci_high")
             if not (math.isnan(x[c]) and math.isnan(y[c]))]
    differ = sum(x != y for x, y in cells)
    digits = 17
    for d in range(1, 18):
        if any(f"{x:.{d}g}" != f"{y:.{d}g}" for x, y in cells):
            digits = d - 1
            break
    return differ, len(cells), digits


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blas-dlib", default=str(ROOT / "build" / "dlib-blas"),
                    help="folder holding a dlib built with BLAS (its dlib/ package); default build/dlib-blas")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--repeats", type=int, default=1, help="pairs of runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        _child(a.profile, a.child)
        return

    blas_dir = Path(a.blas_dlib).resolve()
    if not (blas_dir / "dlib").is_dir():
        print(f"skipped: {blas_dir} holds no dlib/ package (`make fast-dlib` builds one there)")
        return
    runs: dict[str, list] = {"installed": [], "blas": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            for side in ("installed", "blas"):
                env = dict(os.environ)
                if side == "blas":
                    env["PYTHONPATH"] = os.pathsep.join([str(blas_dir), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
                out = Path(tmp) / f"{side}-{r}.json"
                subprocess.run([sys.executable, __file__, "--profile", a.profile, "--child", str(out)],
                               env=env, check=True, cwd=ROOT)
                res = json.loads(out.read_text())
                runs[side].append(res)
                print(f"  {side:<9} dlib BLAS {str(res['blas']):<5} | wall {res['wall']:7.1f} s | this process "
                      f"CPU {res['cpu']:6.1f} s | load {res['load']:.1f}", flush=True)
    if runs["installed"][0]["blas"]:
        print("warning: the installed dlib is itself built with BLAS; the baseline is not the dlib-bin wheel")
    if not runs["blas"][0]["blas"]:
        print(f"warning: the dlib in {blas_dir} is not built with BLAS")
    med = {k: sorted(x["wall"] for x in v)[len(v) // 2] for k, v in runs.items()}
    print(f"speed-up (median wall, installed / blas): {med['installed'] / med['blas']:.2f}x")
    differ, n, digits = _agreement(runs["installed"][0]["metrics"], runs["blas"][0]["metrics"])
    print(f"metric tables: {differ} of {n} cells differ at all; every cell agrees to {digits} significant digits")


if __name__ == "__main__":
    main()
