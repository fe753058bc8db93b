"""Training speed and quality: float32 against XLA compilation and bfloat16, side by side.

Run from the project root::

    .venv/bin/python benchmarks/bench_precision.py [--profile default] [--images 4000] [--epochs 2]

Trains the profile's autoencoder from the same initial weights three ways on
the same images (the cached face set of the profile, else synthetic faces):

* ``float32``: as :func:`lsreport.train.train_model` does (oneDNN kernels);
* ``xla``: the same with ``compile(jit_compile=True)``;
* ``bfloat16``: Keras' ``mixed_bfloat16`` policy (bfloat16 compute, float32
  weights), which oneDNN runs on AVX-512 BF16 where the CPU has it.

Prints the steady-state training images per second (epochs after the first,
which traces the graph) and the mean test PSNR after the last epoch, and
says whether each alternative would be adopted: faster *and* within 0.1 dB
of the float32 PSNR. Runs alternate by mode, once each; on a busy machine
repeat and compare ratios only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

MODES = ("float32", "xla", "bfloat16")


def _psnr(model, x: np.ndarray) -> float:
    out = np.asarray(model.predict(x, batch_size=256, verbose=0), dtype=np.float64)
    mse = np.mean((out - x.astype(np.float64)) ** 2, axis=(1, 2, 3))
    return float(np.mean(10 * np.log10(1.0 / mse)))


def _train(cfg, mode: str, x_train, x_test, epochs: int) -> tuple[float, float, float]:
    import keras

    from lsreport.model import build_autoencoder, loss_name
    from lsreport.train import _optimizer

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mode == "bfloat16" else "float32")
    try:
        keras.utils.set_random_seed(cfg.run.seed)
        ae = build_autoencoder(cfg)
        bs = cfg.train.batch_size
        steps = len(x_train) // bs
        opt = _optimizer(cfg, epochs * steps)
        ae.compile(optimizer=opt, loss=loss_name(cfg), jit_compile=(mode == "xla"))
        marks: list[float] = []
        cb = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: marks.append(time.perf_counter()))
        t0 = time.perf_counter()
        ae.fit(x_train[: steps * bs], x_train[: steps * bs], batch_size=bs, epochs=epochs, shuffle=False,
               verbose=0, callbacks=[cb])
        marks.append(time.perf_counter())
        per_epoch = np.diff(marks)
        steady = per_epoch[1:] if len(per_epoch) > 1 else per_epoch
        ips = steps * bs / float(np.mean(steady))
        return ips, _psnr(ae, x_test), time.perf_counter() - t0
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main(argv=None) -> None:
    from lsreport import pipeline
    from lsreport.config import load_config, with_overrides
    from lsreport.train import configure_determinism

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--images", type=int, default=4000, help="training images")
    ap.add_argument("--test", type=int, default=500, help="test images for the PSNR")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--modes", default=",".join(MODES))
    a = ap.parse_args(argv)

    cfg = load_config(a.profile)
    cfg = with_overrides(cfg, {"train.epochs": a.epochs})
    try:
        faces = pipeline.faces(cfg, pipeline.store_for(cfg, read_only=True), progress=False)
        src = faces.description.split(",")[0]
    except Exception:  # noqa: BLE001 - no cached faces: draw synthetic ones
        from lsreport.data import render_faces, sample_factors

        n = a.images + a.test
        imgs = render_faces(sample_factors(n, 0, "normal", {}), 128, cfg.data.image_size)
        faces, src = None, f"{n} synthetic faces"
    if faces is not None:
        train, test = faces.split_images("train"), faces.split_images("test")
        x_train = np.asarray(train[: a.images], np.float32) / 255.0
        x_test = np.asarray(test[: a.test], np.float32) / 255.0
    else:
        x_train = imgs[: a.images].astype(np.float32) / 255.0
        x_test = imgs[a.images:].astype(np.float32) / 255.0
    configure_determinism(cfg.run.seed)
    print(f"profile {a.profile}: {src}; {len(x_train)} training, {len(x_test)} test images, "
          f"{a.epochs} epochs, batch {cfg.train.batch_size}; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    res = {}
    for mode in a.modes.split(","):
        try:
            res[mode] = _train(cfg, mode, x_train, x_test, a.epochs)
        except Exception as exc:  # noqa: BLE001 - report a mode that cannot run here
            print(f"  {mode:<9} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            continue
        ips, psnr, wall = res[mode]
        print(f"  {mode:<9} {ips:7.1f} images/s (steady) | test PSNR {psnr:6.3f} dB | wall {wall:6.1f} s | "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    if "float32" in res:
        ips0, psnr0, _ = res["float32"]
        for mode, (ips, psnr, _) in res.items():
            if mode == "float32":
                continue
            ok = ips > ips0 and abs(psnr - psnr0) <= 0.1
            print(f"{mode}: speed {ips / ips0:.2f}x float32, PSNR {psnr - psnr0:+.3f} dB -> "
                  f"{'adopt' if ok else 'keep float32'}")


if __name__ == "__main__":
    main()
