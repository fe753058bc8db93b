"""Encoding the faces into z-vectors, and how well they are reconstructed.

:func:`encode` is the pipeline step ``latents``: the z-vector of every image
(all splits, in the order of the face array), plus per-image reconstruction
metrics of the test split. Images are read from the ``uint8`` memmap one batch
at a time; no float copy of the whole set is made.

The helpers :func:`encode_images`, :func:`reconstruct` and :func:`decode`
serve later chapters (sampling, latent paths).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .artifacts import ArtifactData, ArtifactStore
from .config import Config, section_hash

__all__ = [
    "Latents",
    "encode",
    "latents_key",
    "encode_images",
    "reconstruct",
    "decode",
    "reconstruction_metrics",
    "summarize_metrics",
]

STEP = "latents"
#: Images per forward pass when encoding and decoding.
BATCH_SIZE = 256


@dataclass(frozen=True, eq=False)
class Latents:
    """The z-vectors of all faces and the reconstruction quality of the test split.

    Attributes
    ----------
    z : ndarray of float32, shape (N, D)
        Row ``i`` encodes ``faces.images[i]``.
    ids : ndarray of str
        Image ids, as in the face data.
    split : ndarray of int8
        0 train, 1 validation, 2 test.
    key : str
        The artifact key (step ``"latents"``).
    metrics : pandas.DataFrame
        One row per test image: ``index`` (row in ``z``), ``id``, ``mse``,
        ``psnr`` (dB), ``ssim``.
    summary : dict
        ``n``, ``mse_mean``, ``psnr_mean``, ``psnr_median``, ``psnr_std``,
        ``psnr_p05``, ``ssim_mean``, ``ssim_median``, ``ssim_std`` over the
        test images (see :func:`summarize_metrics`).
    meta : dict
        Model key, sizes, timing.
    """

    z: np.ndarray
    ids: np.ndarray
    split: np.ndarray
    key: str
    metrics: pd.DataFrame
    summary: dict
    meta: dict = field(default_factory=dict, repr=False)

    def split_z(self, name: str) -> np.ndarray:
        """The z-vectors of one split: ``"train"``, ``"validation"`` or ``"test"``."""
        codes = {"train": 0, "validation": 1, "val": 1, "test": 2}
        if name not in codes:
            raise ValueError(f"unknown split {name!r}; choose train, validation or test")
        return self.z[np.asarray(self.split) == codes[name]]


# ----------------------------------------------------------------- helpers


def _to_float(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32, copy=False)


#: One compiled inference function per Keras model, traced once for any batch
#: size (weak keys: the sweep builds and drops many models).
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _compiled(model):
    """``model(x, training=False)`` as a tf.function with a batch dimension of any size.

    Keras' ``predict_on_batch`` traces its predict function again for every
    new batch shape (a last partial batch, a path of 9 points, ...), and
    TensorFlow warns about "triggered tf.function retracing" when that
    happens often; an input signature with ``None`` as batch size is traced
    once. The function holds the model only weakly, so the cache frees it.
    """
    fn = _COMPILED.get(model)
    if fn is None:
        import tensorflow as tf

        ref = weakref.ref(model)
        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        fn = tf.function(lambda x: ref()(x, training=False), input_signature=[spec])
        _COMPILED[model] = fn
    return fn


def _predict(model, x: np.ndarray) -> np.ndarray:
    # A compiled predict function, traced once per model: about a quarter
    # faster than an eager call per batch on CPU. Non-Keras encoders (e.g.
    # data.latents.LookupEncoder) keep their own predict_on_batch.
    if not hasattr(model, "input_shape"):
        return np.asarray(model.predict_on_batch(x), dtype=np.float32)
    return np.asarray(_compiled(model)(np.asarray(x, dtype=np.float32)), dtype=np.float32)


def _to_float64(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    return x / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def encode_images(encoder, images: np.ndarray, *, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """z-vectors of images, computed batch by batch.

    Parameters
    ----------
    encoder : keras.Model
    images : ndarray, shape (N, S, S, 3)
        ``uint8`` (scaled by 1/255, one batch at a time, so a memmap is never
        copied whole) or floats in [0, 1].
    batch_size : int

    Returns
    -------
    ndarray of float32, shape (N, D)
    """
    n = len(images)
    out = np.empty((n, int(encoder.output.shape[-1])), np.float32)
    for lo in range(0, n, batch_size):
        hi = min(lo + batch_size, n)
        out[lo:hi] = _predict(encoder, _to_float(images[lo:hi]))
    return out


def decode(decoder, z: np.ndarray, *, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Images from z-vectors, as ``uint8``.

    Parameters
    ----------
    decoder : keras.Model
    z : array_like, shape (N, D)
    batch_size : int

    Returns
    -------
    ndarray of uint8, shape (N, S, S, 3)
        ``round(255 * x)`` of the decoder's sigmoid output.
    """
    z = np.asarray(z, dtype=np.float32)
    out = np.empty((len(z),) + tuple(decoder.output.shape[1:]), np.uint8)
    for lo in range(0, len(z), batch_size):
        x = _predict(decoder, z[lo:lo + batch_size])
        out[lo:lo + batch_size] = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    return out


def reconstruct(decoder, encoder, images: np.ndarray, *,
                batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Encode and decode images.

    Parameters
    ----------
    decoder, encoder : keras.Model
    images : ndarray, shape (N, S, S, 3)
        ``uint8`` or floats in [0, 1].
    batch_size : int

    Returns
    -------
    ndarray of float32, shape (N, S, S, 3)
        Reconstructions in [0, 1] (the sigmoid output, not quantised).
    """
    n = len(images)
    out = np.empty((n,) + tuple(decoder.output.shape[1:]), np.float32)
    for lo in range(0, n, batch_size):
        z = _predict(encoder, _to_float(images[lo:lo + batch_size]))
        out[lo:lo + batch_size] = _predict(decoder, z)
    return out


def reconstruction_metrics(originals: np.ndarray, reconstructions: np.ndarray) -> pd.DataFrame:
    """Per-image MSE, PSNR and SSIM on the [0, 1] scale.

    Parameters
    ----------
    originals : ndarray, shape (N, S, S, 3)
        ``uint8`` (divided by 255) or floats in [0, 1].
    reconstructions : ndarray, shape (N, S, S, 3)
        Floats in [0, 1] (or ``uint8``).

    Returns
    -------
    pandas.DataFrame
        Columns ``mse`` (mean over pixels and channels), ``psnr``
        (``10 log10(1 / mse)`` dB; ``inf`` for a perfect copy) and ``ssim``
        (mean structural similarity over the colour channels, uniform
        7x7 window, the scikit-image default), from
        :func:`skimage.metrics.peak_signal_noise_ratio` and
        :func:`skimage.metrics.structural_similarity` with ``data_range=1``.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
       assessment: from error visibility to structural similarity", IEEE TIP
       13(4), 600-612 (2004).
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    a, b = np.asarray(originals), np.asarray(reconstructions)
    if a.shape != b.shape:
        raise ValueError(f"originals {a.shape} and reconstructions {b.shape} differ in shape")
    rows = []
    for x, y in zip(a, b):
        x, y = _to_float64(x), _to_float64(y)
        mse = float(np.mean((x - y) ** 2))
        psnr = (float(peak_signal_noise_ratio(x, y, data_range=1.0)) if mse > 0
                else math.inf)
        ssim = float(structural_similarity(x, y, channel_axis=-1, data_range=1.0))
        rows.append((mse, psnr, ssim))
    return pd.DataFrame(rows, columns=["mse", "psnr", "ssim"])


def summarize_metrics(metrics: pd.DataFrame) -> dict:
    """Means, medians, spreads of a :func:`reconstruction_metrics` table.

    Returns
    -------
    dict
        ``n``, ``mse_mean``, ``psnr_mean``, ``psnr_median``, ``psnr_std``,
        ``psnr_p05`` (5th percentile), ``ssim_mean``, ``ssim_median``,
        ``ssim_std``. ``psnr_mean`` is the mean of per-image PSNRs (not the
        PSNR of the mean MSE, which is lower).
    """
    if len(metrics) == 0:
        nan = float("nan")
        return {"n": 0, "mse_mean": nan, "psnr_mean": nan, "psnr_median": nan,
                "psnr_std": nan, "psnr_p05": nan, "ssim_mean": nan,
                "ssim_median": nan, "ssim_std": nan}
    p, s = metrics["psnr"].to_numpy(), metrics["ssim"].to_numpy()
    return {"n": int(len(metrics)), "mse_mean": float(metrics["mse"].mean()),
            "psnr_mean": float(np.mean(p)), "psnr_median": float(np.median(p)),
            "psnr_std": float(np.std(p, ddof=1)) if len(p) > 1 else 0.0,
            "psnr_p05": float(np.percentile(p, 5)),
            "ssim_mean": float(np.mean(s)), "ssim_median": float(np.median(s)),
            "ssim_std": float(np.std(s, ddof=1)) if len(s) > 1 else 0.0}


# -------------------------------------------------------------------- step


def latents_key(cfg: Config, model=None) -> str:
    """The artifact key of the latents: a hash of the model key.

    Parameters
    ----------
    cfg : Config
    model : TrainedModel, optional
        Without it the key is computed from ``cfg`` (:func:`lsreport.train.model_key`).
    """
    if model is not None:
        mkey = model.key
    else:
        from .train import model_key

        mkey = model_key(cfg)
    return section_hash(cfg, [], mkey, step="latents")


def _ids_array(ids: Any, n: int) -> np.ndarray:
    if ids is None:
        return np.array([str(i) for i in range(n)])
    arr = np.asarray(ids)
    return arr.astype(str) if arr.dtype == object else arr


def _compute(cfg: Config, faces, model, progress: bool) -> ArtifactData:
    import time

    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    images = faces.images
    n = len(images)
    z = np.empty((n, int(model.encoder.output.shape[-1])), np.float32)
    for lo in tqdm(range(0, n, BATCH_SIZE), desc="encoding", unit="batch",
                   disable=not progress):
        z[lo:lo + BATCH_SIZE] = encode_images(model.encoder, images[lo:lo + BATCH_SIZE])
    t_encode = time.perf_counter() - t0

    split = np.asarray(faces.split, dtype=np.int8)
    test_idx = np.flatnonzero(split == 2)
    frames = []
    for lo in range(0, len(test_idx), BATCH_SIZE):
        rows = test_idx[lo:lo + BATCH_SIZE]
        originals = np.asarray(images[rows])
        recon = np.empty(originals.shape, np.float32)
        recon[:] = _predict(model.decoder, z[rows])
        frames.append(reconstruction_metrics(originals, recon))
    metrics = (pd.concat(frames, ignore_index=True) if frames
               else pd.DataFrame(columns=["mse", "psnr", "ssim"], dtype=float))
    summary = summarize_metrics(metrics)
    meta = {"model_key": model.key, "faces_key": faces.key, "n": int(n),
            "latent_dim": int(z.shape[1]), "encode_seconds": t_encode,
            "encode_images_per_s": n / max(t_encode, 1e-9),
            "seconds": time.perf_counter() - t0, "summary": summary}
    return ArtifactData(
        arrays={"z": z, "ids": _ids_array(getattr(faces, "ids", None), n), "split": split,
                "test_index": test_idx.astype(np.int64),
                "mse": metrics["mse"].to_numpy(float), "psnr": metrics["psnr"].to_numpy(float),
                "ssim": metrics["ssim"].to_numpy(float)},
        meta=meta)


def encode(cfg: Config, store: ArtifactStore, faces=None, model=None, *,
           progress: bool = True) -> Latents:
    """The z-vector of every face and the reconstruction quality of the test split.

    Parameters
    ----------
    cfg : Config
    store : ArtifactStore
        The cache; the result is step ``"latents"``.
    faces : FaceData, optional
        Loaded with :func:`lsreport.data.load_faces` when omitted.
    model : TrainedModel, optional
        Trained (or loaded) with :func:`lsreport.train.train_model` when omitted.
    progress : bool, default True
        Show a progress bar while encoding.

    Returns
    -------
    Latents

    Notes
    -----
    The test-split reconstructions are the decoder's float output (not
    rounded to 8 bits) compared with the stored ``uint8`` originals divided
    by 255.

    Examples
    --------
    >>> lat = encode(cfg, store)                          # doctest: +SKIP
    >>> lat.z.shape, round(lat.summary["psnr_mean"], 1)   # doctest: +SKIP
    """
    if faces is None:
        from .data import load_faces

        faces = load_faces(cfg, store, progress=progress)
    if model is None:
        from .train import train_model

        model = train_model(cfg, store, faces, progress=progress)
    key = latents_key(cfg, model)
    art = store.get_or_compute(STEP, key, lambda: _compute(cfg, faces, model, progress))
    test_idx = np.asarray(art.array("test_index", mmap=False))
    ids = np.asarray(art.array("ids", mmap=False))
    metrics = pd.DataFrame({
        "index": test_idx, "id": ids[test_idx],
        "mse": np.asarray(art.array("mse", mmap=False)),
        "psnr": np.asarray(art.array("psnr", mmap=False)),
        "ssim": np.asarray(art.array("ssim", mmap=False))})
    meta = dict(art.meta)
    return Latents(z=art.array("z"), ids=ids, split=np.asarray(art.array("split", mmap=False)),
                   key=art.key, metrics=metrics, summary=dict(meta.get("summary", {})),
                   meta=meta)
