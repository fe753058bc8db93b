"""Training the autoencoder: tf.data pipeline, checkpoints, resume, cache.

:func:`train_model` is the pipeline step ``model``. It feeds the ``uint8``
images straight from the memory-mapped face array (scaled to [0, 1] one batch
at a time, never as a float copy of the whole set), fits with Adam and a
cosine learning-rate decay, and writes a checkpoint after every epoch into the
step's work folder. Running the same command again after an interruption
(Ctrl-C, ``kill -9``, a lost machine) resumes from the last complete
checkpoint and ends with the same weights as an uninterrupted run.

Why resuming is exact:

* a checkpoint holds the weights *and* the optimizer state (Adam moments and
  the step counter that drives the learning-rate schedule) in one ``.keras``
  file, plus the epoch number and the history;
* the order of the training images in epoch ``e`` is a pure function of
  ``(run.seed, e)`` (:func:`epoch_order`), so no random-generator state has to
  be carried over -- the data-order state *is* the epoch number;
* the network has no stochastic layers, and TensorFlow runs with op
  determinism, so the same inputs give the same updates bit for bit on CPU.

A checkpoint is written the way the artifact store writes a result
(:func:`lsreport.artifacts.atomic_folder`: a temporary folder, fsynced, then
renamed into place), so a half-written one never carries a valid name.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .artifacts import ArtifactData, ArtifactStore, atomic_folder
from .config import Config, ConfigError, section_hash
from .model import build_autoencoder, loss_name

__all__ = [
    "TrainedModel",
    "TrainingDivergedError",
    "TrainingPlan",
    "training_plan",
    "train_model",
    "load_trained",
    "model_key",
    "epoch_order",
    "make_dataset",
    "configure_determinism",
    "HISTORY_COLUMNS",
]

log = logging.getLogger(__name__)

STEP = "model"
#: Columns of :attr:`TrainedModel.history`.
HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "seconds", "images_per_s")
_CKPT_PREFIX = "epoch-"
_CKPT_MODEL = "autoencoder.keras"
_CKPT_STATE = "state.json"
#: Checkpoints kept; the older one is the fallback should the newest not load.
_KEEP = 2
#: Batch size for the validation loss (no gradients, so larger is cheaper).
_EVAL_BATCH = 256


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A trained autoencoder and how it got there.

    Attributes
    ----------
    encoder, decoder, autoencoder : keras.Model
        The two halves and their chain (shared weights). Loaded from the
        cache, the autoencoder is not compiled.
    history : pandas.DataFrame
        One row per epoch: ``epoch`` (1-based), ``loss`` and ``val_loss`` (the
        configured loss, mean over the epoch / the validation split; NaN when
        there is no validation split), ``seconds`` (wall time of the epoch,
        validation included), ``images_per_s`` (training images per second,
        validation excluded).
    key : str
        The artifact key (step ``"model"``), see :func:`model_key`.
    meta : dict
        Sizes, timings and versions stored with the artifact.
    """

    encoder: Any
    decoder: Any
    autoencoder: Any
    history: pd.DataFrame
    key: str
    meta: dict = field(default_factory=dict, repr=False)


# ------------------------------------------------------------------- keys


def model_key(cfg: Config, faces=None) -> str:
    """The artifact key of the trained model.

    Parameters
    ----------
    cfg : Config
    faces : FaceData, optional
        The training data; without it the key of the configured faces is
        computed with :func:`lsreport.data.faces_key`.

    Returns
    -------
    str
        ``section_hash(cfg, ["model", "train", "run.seed"], faces.key)``.
    """
    if faces is not None:
        fkey = faces.key
    else:
        from .data import faces_key

        fkey = faces_key(cfg)
    return section_hash(cfg, ["model", "train", "run.seed"], fkey, step="model")


# ------------------------------------------------------------ determinism


def configure_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and switch on op determinism.

    Parameters
    ----------
    seed : int
        ``cfg.run.seed``; it fixes the initial weights.

    Notes
    -----
    ``tf.config.experimental.enable_op_determinism`` is process-wide and
    cannot be switched off again; every op then either runs deterministically
    or raises. The data order does not depend on these global seeds
    (:func:`epoch_order`).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# ---------------------------------------------------------------- tf.data


def epoch_order(indices: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits the training rows.

    Parameters
    ----------
    indices : ndarray of int
        Row numbers of the training images.
    seed : int
        ``cfg.run.seed``.
    epoch : int
        0-based epoch number.

    Returns
    -------
    ndarray of int
        A permutation of ``indices`` drawn from
        ``numpy.random.default_rng([seed, epoch])``: independent of every
        earlier epoch, so a resumed run needs no saved generator state.
    """
    rng = np.random.default_rng([int(seed), int(epoch)])
    return rng.permutation(np.asarray(indices))


def make_dataset(images: np.ndarray, indices: np.ndarray, batch_size: int, *,
                 drop_remainder: bool, targets: bool = True):
    """A ``tf.data.Dataset`` of float batches read from a ``uint8`` array.

    Each batch is gathered from ``images`` (typically a read-only memmap),
    converted to ``float32`` and divided by 255 on the fly; at no point does
    a float copy of the whole array exist.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, S, S, 3)
    indices : ndarray of int
        The rows to visit, in this order (see :func:`epoch_order`).
    batch_size : int
    drop_remainder : bool
        Drop a last incomplete batch (training: every step then has the same
        shape and one compiled graph serves all).
    targets : bool, default True
        Yield ``(x, x)`` pairs for ``fit``; ``False`` yields ``x`` alone.

    Returns
    -------
    tf.data.Dataset
        Prefetched; ``len(dataset)`` is the number of batches.
    """
    import tensorflow as tf

    indices = np.asarray(indices, dtype=np.int64)
    shape = (None,) + tuple(images.shape[1:])

    def gather(rows):
        # Sorted rows read the memmap front to back; the order inside one
        # batch does not change the batch's mean loss or gradient.
        return np.asarray(images[np.sort(rows)])

    def load(rows):
        x = tf.numpy_function(gather, [rows], tf.uint8, stateful=False)
        return tf.cast(tf.ensure_shape(x, shape), tf.float32) / 255.0

    # One Python call per batch (not per image, and no Python generator: a
    # from_generator pipeline cost about as much CPU as the training step).
    ds = tf.data.Dataset.from_tensor_slices(indices).batch(batch_size,
                                                         drop_remainder=drop_remainder)
    ds = ds.map(load)
    if targets:
        ds = ds.map(lambda x: (x, x))
    # No autotuning: its background thread sleeps in growing periods and,
    # when fit() drops the iterator at the end of an epoch, held up the
    # return by up to 40 s per epoch (TF 2.21, CPU). Two batches of
    # read-ahead are all this pipeline needs.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


# ------------------------------------------------------------- checkpoints


def _checkpoints(ckdir: Path) -> list[Path]:
    """Complete checkpoints, newest first (only renamed-into-place folders count)."""
    out = []
    for p in ckdir.glob(f"{_CKPT_PREFIX}*"):
        try:
            epoch = int(p.name[len(_CKPT_PREFIX):])
        except ValueError:
            continue
        if p.is_dir() and (p / _CKPT_MODEL).is_file() and (p / _CKPT_STATE).is_file():
            out.append((epoch, p))
    return [p for _, p in sorted(out, reverse=True)]


def _save_model(model, path: Path) -> None:
    with warnings.catch_warnings():
        # Keras 3.15 + NumPy 2 + TF 2.21: harmless, raised once per variable.
        warnings.filterwarnings("ignore", message=r"__array__ implementation doesn't accept",
                                category=DeprecationWarning)
        model.save(path)


def _save_checkpoint(ckdir: Path, ae, state: dict) -> Path:
    final = ckdir / f"{_CKPT_PREFIX}{state['epoch']:04d}"
    with atomic_folder(final, fsync=True) as tmp:  # files on disk before the rename
        _save_model(ae, tmp / _CKPT_MODEL)
        (tmp / _CKPT_STATE).write_text(json.dumps(state, indent=1))
    for old in _checkpoints(ckdir)[_KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _load_checkpoint(ckdir: Path, key: str):
    """The newest checkpoint that loads, as ``(autoencoder, state)``, or ``None``."""
    import keras

    for stale in ckdir.glob(".tmp-*"):  # left by an interrupted write
        shutil.rmtree(stale, ignore_errors=True)
    for path in _checkpoints(ckdir):
        try:
            state = json.loads((path / _CKPT_STATE).read_text())
            if state.get("key") != key:
                raise ValueError(f"belongs to key {state.get('key')!r}")
            ae = keras.models.load_model(path / _CKPT_MODEL, compile=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is skipped
            warnings.warn(f"checkpoint {path} cannot be used ({exc}); trying an older one",
                          RuntimeWarning, stacklevel=3)
            continue
        return ae, state
    return None


# ---------------------------------------------------------------- training


def _optimizer(cfg: Config, total_steps: int):
    import keras

    t = cfg.train
    lr = t.learning_rate
    if t.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(t.learning_rate, decay_steps=total_steps)
    opt = keras.optimizers.Adam(learning_rate=lr)
    if t.mixed_precision is True:  # float16 needs loss scaling; bfloat16 has float32's range
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def _epoch_clock():
    """A Keras callback timing the training part of an epoch (validation excluded)."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.t_train = time.perf_counter(), None

        def on_test_begin(self, logs=None):
            if self.t_train is None:
                self.t_train = time.perf_counter() - self.t0

        def on_epoch_end(self, epoch, logs=None):
            if self.t_train is None:
                self.t_train = time.perf_counter() - self.t0

    return EpochClock()


def _progress_bar(total_epochs: int):
    """Keras' progress bar, headed "Epoch e/total" although fit() runs one epoch."""
    import keras

    class EpochBar(keras.callbacks.ProgbarLogger):
        def set_params(self, params):
            super().set_params(params)
            self.epochs = total_epochs

    return EpochBar()


def _epoch_dataset(images, train_idx, cfg: Config, epoch: int):
    order = epoch_order(train_idx, cfg.run.seed, epoch)
    return make_dataset(images, order, cfg.train.batch_size, drop_remainder=True)


def _fit_epoch(ae, train_ds, val_ds, epoch: int, epochs: int, verbose: int) -> tuple[dict, float]:
    """One epoch of ``fit``; returns the logs and the training seconds."""
    import keras

    callbacks = [clock := _epoch_clock(), keras.callbacks.TerminateOnNaN()]
    if verbose:
        callbacks.append(_progress_bar(epochs))
    h = ae.fit(train_ds, validation_data=val_ds, initial_epoch=epoch, epochs=epoch + 1,
               shuffle=False, verbose=verbose, callbacks=callbacks)
    logs = {k: float(v[-1]) for k, v in h.history.items() if v}
    return logs, clock.t_train


@dataclass(frozen=True)
class TrainingPlan:
    """What a training run will do and about how long it will take.

    Attributes
    ----------
    n_train, n_val : int
        Training and validation images.
    epochs, start_epoch : int
        Epochs in all, and the first one still to run (> 0 when resuming).
    steps_per_epoch, batch_size : int
    seconds : float
        Estimated wall time of the epochs still to run on this machine,
        validation included: three times a timed forward pass per training
        batch (forward, backward and update) plus one forward pass per
        validation batch. A rough figure (within a factor of about 1.5 on an
        idle machine); a busy machine takes longer.
    text : str
        One line for the terminal.
    """

    n_train: int
    n_val: int
    epochs: int
    start_epoch: int
    steps_per_epoch: int
    batch_size: int
    seconds: float
    text: str


def _forward_seconds(ae, images: np.ndarray, rows: np.ndarray, batch: int) -> float:
    """Median wall time of one forward pass over ``batch`` images (after tracing)."""
    x = np.asarray(images[np.sort(rows[:batch])], dtype=np.float32) / 255.0
    ae.predict_on_batch(x)  # traces the predict function once
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        ae.predict_on_batch(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def training_plan(cfg: Config, faces, ae=None, *, start_epoch: int = 0) -> TrainingPlan:
    """The planned images and epochs of :func:`train_model`, with an estimate of the time.

    Parameters
    ----------
    cfg : Config
    faces : FaceData
    ae : keras.Model, optional
        The autoencoder to time; a fresh one from ``cfg`` when omitted (its
        weights do not matter for the timing; building it draws from Keras'
        global seed, so do not pass ``None`` just before a seeded build).
    start_epoch : int, default 0
        Epochs already done (a resumed run).

    Returns
    -------
    TrainingPlan

    Notes
    -----
    The forward passes use ``predict_on_batch``, which changes neither the
    weights nor any random state, so timing the model about to be trained
    leaves its training bit for bit as it was.
    """
    split = np.asarray(faces.split)
    train_idx, val_idx = np.flatnonzero(split == 0), np.flatnonzero(split == 1)
    bs, epochs = cfg.train.batch_size, cfg.train.epochs
    steps = len(train_idx) // bs
    if ae is None:
        ae = build_autoencoder(cfg)
    t_batch = _forward_seconds(ae, faces.images, train_idx, bs)
    val_batches = -(-len(val_idx) // bs)
    left = max(epochs - start_epoch, 0)
    seconds = left * (3.0 * steps + val_batches) * t_batch
    meta = getattr(faces, "meta", {}) or {}
    where = (f" (an identity-grouped subset of the {meta['n_available']:,} images found; "
             f"data.subset_images = 0 takes all)" if meta.get("subset") else "")
    todo = f"{left} epoch{'s' if left != 1 else ''}" + (f" (of {epochs})" if start_epoch else "")
    text = (f"training plan: {len(train_idx):,} training + {len(val_idx):,} validation images{where}, "
            f"{todo} of {steps:,} steps at batch {bs}; estimated "
            f"{_duration(seconds)} on this machine ({os.cpu_count()} CPU threads, from timed forward "
            f"passes; longer when the machine is busy)")
    return TrainingPlan(int(len(train_idx)), int(len(val_idx)), int(epochs), int(start_epoch),
                        int(steps), int(bs), float(seconds), text)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _check_sizes(cfg: Config, n_train: int) -> None:
    bs = cfg.train.batch_size
    if n_train < bs:
        raise ConfigError(
            f"the training split has {n_train} images, fewer than one batch "
            f"(train.batch_size = {bs}); set train.batch_size to at most {max(n_train, 1)} "
            f"or use more images (data.max_images, data.split)")


def _fit(cfg: Config, store: ArtifactStore, faces, key: str, progress: bool) -> ArtifactData:
    import keras
    import tensorflow as tf

    split = np.asarray(faces.split)
    train_idx = np.flatnonzero(split == 0)
    val_idx = np.flatnonzero(split == 1)
    _check_sizes(cfg, len(train_idx))
    bs, epochs = cfg.train.batch_size, cfg.train.epochs
    steps = len(train_idx) // bs

    t_start = time.perf_counter()
    configure_determinism(cfg.run.seed)
    ckdir = store.workdir(STEP, key)
    resumed = _load_checkpoint(ckdir, key)
    if resumed is not None:
        ae, state = resumed
        start, rows = int(state["epoch"]), list(state["history"])
        log.info("resuming %s/%s after epoch %d", STEP, key, start)
        if progress:
            print(f"resuming training from the checkpoint after epoch {start}/{epochs}")
    else:
        ae = build_autoencoder(cfg)
        ae.compile(optimizer=_optimizer(cfg, epochs * steps), loss=loss_name(cfg))
        start, rows = 0, []

    val_ds = (make_dataset(faces.images, val_idx, _EVAL_BATCH, drop_remainder=False)
              if len(val_idx) else None)
    # a live progress bar on a terminal; one line per epoch in a log file or
    # a Quarto render (Keras' bar redraws with ANSI codes, 100 kB per epoch)
    verbose = (1 if sys.stdout.isatty() else 2) if progress else 0
    if progress and start < epochs:
        print(training_plan(cfg, faces, ae, start_epoch=start).text, flush=True)
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        logs, t_train = _fit_epoch(ae, _epoch_dataset(faces.images, train_idx, cfg, epoch),
                                   val_ds, epoch, epochs, verbose)
        seconds = time.perf_counter() - t0
        loss, val_loss = logs.get("loss", float("nan")), logs.get("val_loss", float("nan"))
        bad = not math.isfinite(loss) or (val_ds is not None and not math.isfinite(val_loss))
        if bad or not all(np.isfinite(w).all() for w in ae.get_weights()):
            last = _checkpoints(ckdir)
            raise TrainingDivergedError(
                f"the loss became {loss} (validation {val_loss}) in epoch {epoch + 1}; "
                + (f"the last good checkpoint ({last[0].name}) is kept in {ckdir}. "
                   if last else "there is no earlier checkpoint. ")
                + f"Lower train.learning_rate (now {cfg.train.learning_rate}) or use "
                f"model.batch_norm = true, then run again")
        rows.append({"epoch": epoch + 1, "loss": loss, "val_loss": val_loss,
                     "seconds": seconds, "images_per_s": steps * bs / max(t_train, 1e-9)})
        _save_checkpoint(ckdir, ae, {"epoch": epoch + 1, "key": key, "history": rows,
                                     "seed": cfg.run.seed, "steps_per_epoch": steps,
                                     "data_order": "numpy.random.default_rng([seed, epoch])"})

    encoder, decoder = ae.get_layer("encoder"), ae.get_layer("decoder")
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    meta = {
        "faces_key": faces.key,
        "n_train": int(len(train_idx)), "n_val": int(len(val_idx)),
        "steps_per_epoch": int(steps), "epochs": int(epochs),
        "parameters": int(ae.count_params()),
        "train_seconds": float(history["seconds"].sum()),
        # this session only (a resumed run started later), checkpoints included
        "session_seconds": time.perf_counter() - t_start,
        "resumed_from_epoch": int(start),
        "devices": [d.device_type for d in tf.config.list_logical_devices()],
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "final_loss": float(history["loss"].iloc[-1]),
        "final_val_loss": float(history["val_loss"].iloc[-1]),
    }
    return ArtifactData(
        arrays={c: history[c].to_numpy() for c in HISTORY_COLUMNS},
        meta=meta,
        files={"encoder.keras": lambda path: _save_model(encoder, path),
               "decoder.keras": lambda path: _save_model(decoder, path)},
    )


def _from_artifact(cfg: Config, art) -> TrainedModel:
    import keras

    encoder = keras.models.load_model(art.file("encoder.keras"), compile=False)
    decoder = keras.models.load_model(art.file("decoder.keras"), compile=False)
    ae = build_autoencoder(cfg, encoder, decoder)
    history = pd.DataFrame({c: np.asarray(art.array(c, mmap=False)) for c in HISTORY_COLUMNS})
    history["epoch"] = history["epoch"].astype(int)
    return TrainedModel(encoder, decoder, ae, history, art.key, dict(art.meta))


def train_model(cfg: Config, store: ArtifactStore, faces=None, *,
                progress: bool = True) -> TrainedModel:
    """Train the autoencoder, resume an interrupted run, or load the cached one.

    Parameters
    ----------
    cfg : Config
        Uses ``cfg.model``, ``cfg.train``, ``cfg.data.image_size`` and
        ``cfg.run.seed``.
    store : ArtifactStore
        The cache; the result is step ``"model"``, checkpoints live in
        ``store.workdir("model", key)``.
    faces : FaceData, optional
        Training data (``split`` 0 trains, 1 validates); loaded with
        :func:`lsreport.data.load_faces` when omitted.
    progress : bool, default True
        Show the Keras progress bar.

    Returns
    -------
    TrainedModel

    Raises
    ------
    ConfigError
        Before any training, when the training split is smaller than one batch.
    TrainingDivergedError
        When the loss becomes NaN or infinite; the checkpoint of the last good
        epoch stays in the work folder.
    ArtifactMissingError
        When ``store`` is read-only and the model is not cached.

    Notes
    -----
    Each epoch visits ``n_train // batch_size`` full batches in the order of
    :func:`epoch_order`; the few images left over change from epoch to epoch.
    The learning rate follows ``CosineDecay(learning_rate, epochs * steps)``
    (or stays constant). With the same profile and seed the weights are
    identical bit for bit on CPU, whether or not the run was interrupted.
    GPU kernels are deterministic too under op determinism, but differ from
    the CPU ones, so CPU and GPU weights agree only approximately.

    Examples
    --------
    >>> from lsreport.config import load_config
    >>> m = train_model(load_config("smoke"), store)   # doctest: +SKIP
    >>> m.history[["epoch", "loss", "val_loss"]]        # doctest: +SKIP
    """
    if faces is None:
        from .data import load_faces

        faces = load_faces(cfg, store, progress=progress)
    _check_sizes(cfg, int(np.count_nonzero(np.asarray(faces.split) == 0)))
    key = model_key(cfg, faces)
    computed = []

    def compute():
        computed.append(True)
        return _fit(cfg, store, faces, key, progress)

    art = store.get_or_compute(STEP, key, compute)
    if computed:  # the finished artifact supersedes the checkpoints
        shutil.rmtree(store.workdir(STEP, key), ignore_errors=True)
    return _from_artifact(cfg, art)


def load_trained(cfg: Config, store: ArtifactStore, faces=None) -> TrainedModel:
    """Open the cached model of a profile; never trains.

    Parameters
    ----------
    cfg : Config
    store : ArtifactStore
    faces : FaceData, optional
        Only its ``key`` is used; computed from ``cfg`` when omitted.

    Returns
    -------
    TrainedModel

    Raises
    ------
    FileNotFoundError
        When the model has not been trained (run ``lsreport train``).
    """
    return _from_artifact(cfg, store.load(STEP, model_key(cfg, faces)))
