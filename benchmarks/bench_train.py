"""Throughput of the training and encoding pipeline against bare Keras.

Side by side, on the same model and the same images:

* ``train_model`` (uint8 memmap -> tf.data -> fit one epoch at a time, with
  validation and a checkpoint after every epoch) against two bare baselines
  on an in-memory float32 copy of the training images: ``model.fit(x, x)``
  on the NumPy arrays (Keras builds its own tf.data pipeline, autotuned),
  and ``model.fit`` on a ``from_tensor_slices`` dataset of the float tensor
  with tf.data autotuning off (as the package does);
* ``encode_images`` (uint8 memmap, batch by batch) against
  ``encoder.predict`` on an in-memory float32 array.

Runs alternate (baseline, pipeline, baseline, pipeline, ...) so that a change
in machine load hits both; the first epoch (graph tracing) is left out of the
steady-state rates. Prints numbers and ratios, asserts nothing.

Usage::

    python benchmarks/bench_train.py                  # smoke model, 2048 images
    python benchmarks/bench_train.py --profile default --images 4096 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


@dataclass(frozen=True, eq=False)
class _Faces:
    images: np.ndarray
    ids: np.ndarray
    split: np.ndarray
    key: str


def _memmap_faces(folder: Path, n: int, size: int, n_val: int, seed: int) -> _Faces:
    rng = np.random.default_rng(seed)
    path = folder / "images.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
    for lo in range(0, n, 1024):  # smooth images; content does not change the speed
        k = min(1024, n - lo)
        small = rng.integers(0, 256, (k, size // 4, size // 4, 3), dtype=np.uint8)
        mm[lo:lo + k] = np.repeat(np.repeat(small, 4, axis=1), 4, axis=2)
    mm.flush()
    del mm
    split = np.zeros(n, np.int8)
    split[n - n_val:] = 1
    return _Faces(np.load(path, mmap_mode="r"), np.arange(n).astype(str), split,
                  f"bench-{n}-{size}-{seed}")


def _bare_fit(cfg, x: np.ndarray, mode: str) -> tuple[float, list[float]]:
    import keras
    import tensorflow as tf

    from lsreport.model import build_autoencoder, loss_name
    from lsreport.train import _optimizer

    keras.utils.set_random_seed(cfg.run.seed)
    ae = build_autoencoder(cfg)
    steps = len(x) // cfg.train.batch_size
    ae.compile(optimizer=_optimizer(cfg, cfg.train.epochs * steps), loss=loss_name(cfg))
    marks: list[float] = []
    cb = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: marks.append(time.perf_counter()))
    # the same number of images per epoch as train_model (full batches only)
    x = x[: steps * cfg.train.batch_size]
    t0 = time.perf_counter()
    if mode == "numpy":
        ae.fit(x, x, batch_size=cfg.train.batch_size, epochs=cfg.train.epochs, shuffle=True,
               verbose=0, callbacks=[cb])
    else:
        options = tf.data.Options()
        options.autotune.enabled = False
        ds = (tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=1)
              .batch(cfg.train.batch_size, drop_remainder=True).map(lambda b: (b, b))
              .prefetch(2).with_options(options))
        ae.fit(ds, epochs=cfg.train.epochs, shuffle=False, verbose=0, callbacks=[cb])
    end = time.perf_counter()
    marks.append(end)
    return end - t0, list(np.diff(marks))


def main(argv=None) -> None:
    from lsreport.artifacts import ArtifactStore
    from lsreport.config import load_config, with_overrides
    from lsreport.latent import encode_images
    from lsreport.train import configure_determinism, train_model

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--profile", default="smoke")
    p.add_argument("--images", type=int, default=2048, help="training images")
    p.add_argument("--val", type=int, default=256, help="validation images (0: none)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args(argv)

    cfg = with_overrides(load_config(a.profile), {"train.epochs": a.epochs})
    size, bs = cfg.data.image_size, cfg.train.batch_size
    configure_determinism(cfg.run.seed)  # process-wide, so both sides run under it
    print(f"profile {a.profile}: {size}x{size}, filters {list(cfg.model.filters)}, "
          f"latent {cfg.model.latent_dim}, batch {bs}, {a.epochs} epochs, "
          f"{a.images} training + {a.val} validation images")
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        faces = _memmap_faces(tmp, a.images + a.val, size, a.val, seed=0)
        x = np.asarray(faces.images[: a.images], dtype=np.float32) / 255.0
        steady = slice(1, None)
        rows = []
        n_ep = (a.images // bs) * bs

        def rate(per_epoch):
            per_epoch = np.asarray(per_epoch, dtype=float)
            return float(np.mean(per_epoch[steady] if len(per_epoch) > 1 else per_epoch))

        for r in range(a.repeats):
            row = {}
            for mode in ("numpy", "tfdata"):
                c0 = time.process_time()
                wall, ep = _bare_fit(cfg, x, mode)
                row[mode] = (wall, n_ep / rate(ep), time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            m = train_model(cfg, ArtifactStore(tmp / f"store{r}"), faces, progress=False)
            row["train_model"] = (time.perf_counter() - t0,
                                  rate(m.history["images_per_s"].to_numpy()),
                                  time.process_time() - c0)
            rows.append(row)
            print(f"  repeat {r + 1} (load {os.getloadavg()[0]:.2f}): " + " | ".join(
                f"{k} {w:6.1f} s, {i:6.1f} img/s, cpu {c:6.1f} s"
                for k, (w, i, c) in row.items()))
        med = {k: np.median([r_[k] for r_ in rows], axis=0) for k in rows[0]}
        wp, ip, cp = med["train_model"]
        print("training (medians over repeats; img/s of the epochs after the first,")
        print("train_model's without its validation pass)")
        for k in ("numpy", "tfdata"):
            wb, ib, cb = med[k]
            print(f"  vs bare fit [{k}]: images/s {ib:.1f} vs {ip:.1f}, ratio {ip / ib:.3f} "
                  f"(pipeline overhead {100 * (1 - ip / ib):+.1f} %)")
            print(f"      whole run incl. tracing, validation, checkpoints, artifact: wall "
                  f"{wb:.1f} vs {wp:.1f} s (ratio {wp / wb:.3f}), CPU {cb:.1f} vs {cp:.1f} s "
                  f"(ratio {cp / cb:.3f})")

        enc = m.encoder
        images = faces.images
        xf = np.asarray(images, dtype=np.float32) / 255.0
        encode_images(enc, images[:256])  # warm-up both paths
        enc.predict(xf[:256], batch_size=256, verbose=0)
        times = []
        for _ in range(max(a.repeats, 2)):
            t0 = time.perf_counter()
            enc.predict(xf, batch_size=256, verbose=0)
            tb = time.perf_counter() - t0
            t0 = time.perf_counter()
            encode_images(enc, images, batch_size=256)
            times.append((tb, time.perf_counter() - t0))
        tb, tp = np.median(np.array(times), axis=0)
        n = len(images)
        print("encoding (median)")
        print(f"  images/s: encoder.predict on floats {n / tb:.0f}, encode_images on the "
              f"uint8 memmap {n / tp:.0f}; ratio {tb / tp:.3f} -> overhead "
              f"{100 * (tp / tb - 1):+.1f} %")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
