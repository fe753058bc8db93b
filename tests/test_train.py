"""Training: data pipeline, caching, determinism, resume after interruption, divergence."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lsreport.artifacts import ArtifactStore
from lsreport.config import ConfigError, load_config, with_overrides

keras = pytest.importorskip("keras")

from lsreport import train as T  # noqa: E402
from lsreport.train import (  # noqa: E402
    TrainingDivergedError,
    epoch_order,
    load_trained,
    make_dataset,
    model_key,
    train_model,
)


@dataclass(frozen=True, eq=False)
class FakeFaces:
    """The part of ``lsreport.data.FaceData`` that training uses."""

    images: np.ndarray
    ids: np.ndarray
    split: np.ndarray
    key: str


def fake_faces(n=(128, 16, 16), size=32, seed=0, key="fake-faces"):
    """Smooth blobs on a gradient: learnable, unlike white noise."""
    rng = np.random.default_rng(seed)
    total = sum(n)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.empty((total, size, size, 3))
    for i in range(total):
        c0, c1 = rng.uniform(0.1, 0.9, (2, 3))
        base = c0 + (c1 - c0) * yy[..., None]
        cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        img[i] = base * (1 - blob) + rng.uniform(0, 1, 3) * blob
    images = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    split = np.repeat([0, 1, 2], n).astype(np.int8)
    ids = np.array([f"fake-{i:04d}" for i in range(total)])
    return FakeFaces(images, ids, split, key)


@pytest.fixture(scope="module")
def cfg():
    return load_config("smoke")


@pytest.fixture(scope="module")
def faces():
    return fake_faces()


@pytest.fixture(scope="module")
def trained(cfg, faces, tmp_path_factory):
    store = ArtifactStore(tmp_path_factory.mktemp("store-a"))
    return store, train_model(cfg, store, faces, progress=False)


def _weights(model):
    return model.autoencoder.get_weights()


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------- fast tests


def test_epoch_order_is_a_seeded_permutation():
    idx = np.arange(10, 60)
    a = epoch_order(idx, seed=3, epoch=0)
    assert sorted(a) == list(idx)
    np.testing.assert_array_equal(a, epoch_order(idx, seed=3, epoch=0))
    assert not np.array_equal(a, epoch_order(idx, seed=3, epoch=1))
    assert not np.array_equal(a, epoch_order(idx, seed=4, epoch=0))


def test_dataset_scales_batches_of_the_uint8_rows():
    images = np.arange(7 * 2 * 2 * 3, dtype=np.uint8).reshape(7, 2, 2, 3)
    order = np.array([6, 2, 5, 0, 1, 3, 4])
    ds = make_dataset(images, order, 3, drop_remainder=True)
    assert len(ds) == 2
    batches = [(x.numpy(), y.numpy()) for x, y in ds]
    assert len(batches) == 2
    for b, (x, y) in enumerate(batches):
        rows = np.sort(order[3 * b:3 * b + 3])
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, images[rows] / np.float32(255))
        np.testing.assert_array_equal(x, y)
    # without dropping, the last short batch is kept; without targets, x alone
    tail = list(make_dataset(images, order, 3, drop_remainder=False, targets=False))
    assert [t.shape[0] for t in tail] == [3, 3, 1]


def test_dataset_reads_a_memmap_without_copying_it_whole(tmp_path):
    images = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.uint8,
                                       shape=(64, 4, 4, 3))
    images[:] = 255
    images.flush()
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    x = next(iter(make_dataset(mm, np.arange(64), 8, drop_remainder=True, targets=False)))
    assert x.shape == (8, 4, 4, 3) and float(x.numpy().max()) == 1.0


def test_too_few_images_for_one_batch_is_rejected_before_training(cfg, tmp_path):
    small = fake_faces(n=(cfg.train.batch_size - 1, 2, 2))
    store = ArtifactStore(tmp_path)
    with pytest.raises(ConfigError, match=r"fewer than one batch.*train\.batch_size"):
        train_model(cfg, store, small, progress=False)
    assert not (tmp_path / "model").exists()  # nothing started


def test_model_key_depends_on_model_train_seed_and_data(cfg, faces):
    k = model_key(cfg, faces)
    assert model_key(with_overrides(cfg, {"sampling.n_per_sampler": 7}), faces) == k
    assert model_key(with_overrides(cfg, {"train.epochs": 3}), faces) != k
    assert model_key(with_overrides(cfg, {"model.latent_dim": 8}), faces) != k
    assert model_key(with_overrides(cfg, {"run.seed": 2}), faces) != k
    assert model_key(cfg, fake_faces(key="other")) != k


# ------------------------------------------------------------- slow tests


@pytest.mark.slow
def test_training_history_artifact_and_cache(cfg, faces, trained, monkeypatch):
    store, m = trained
    h = m.history
    assert list(h.columns) == list(T.HISTORY_COLUMNS)
    assert list(h["epoch"]) == list(range(1, cfg.train.epochs + 1))
    assert np.isfinite(h[["loss", "val_loss", "seconds", "images_per_s"]].to_numpy()).all()
    # the stored validation loss is the final model's loss on the validation
    # images, recomputed here with NumPy
    x = faces.images[faces.split == 1].astype(np.float32) / 255
    r = np.asarray(m.autoencoder(x), dtype=np.float64)
    if cfg.model.loss == "mse":
        val = np.mean((r - x) ** 2)
    else:
        r = np.clip(r, 1e-7, 1 - 1e-7)
        val = -np.mean(x * np.log(r) + (1 - x) * np.log(1 - r))
    assert h["val_loss"].iloc[-1] == pytest.approx(val, rel=1e-4)
    assert m.meta["n_train"] == 128 and m.meta["steps_per_epoch"] == 128 // cfg.train.batch_size
    assert store.exists("model", m.key)
    assert not list(store.root.glob("model/.work-*/epoch-*"))  # checkpoints cleaned up

    def boom(*a, **k):
        raise AssertionError("the cached model must not be retrained")

    monkeypatch.setattr(T, "_fit", boom)
    again = train_model(cfg, store, faces, progress=False)
    _assert_same_weights(m, again)
    pd.testing.assert_frame_equal(m.history, again.history)
    _assert_same_weights(m, load_trained(cfg, store, faces))


@pytest.mark.slow
def test_same_seed_gives_identical_weights_and_z(cfg, faces, trained, tmp_path):
    _, a = trained
    b = train_model(cfg, ArtifactStore(tmp_path), faces, progress=False)
    _assert_same_weights(a, b)
    x = faces.images[:40] / np.float32(255)
    np.testing.assert_array_equal(np.asarray(a.encoder(x)), np.asarray(b.encoder(x)))


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(cfg, faces, trained, tmp_path, monkeypatch):
    _, uninterrupted = trained
    store = ArtifactStore(tmp_path)
    real = T._fit_epoch

    def interrupt_in_second_epoch(ae, train_ds, val_ds, epoch, *args):
        if epoch == 1:
            ae.fit(train_ds.take(1), shuffle=False, verbose=0)  # half an epoch of updates, then Ctrl-C
            raise KeyboardInterrupt
        return real(ae, train_ds, val_ds, epoch, *args)

    monkeypatch.setattr(T, "_fit_epoch", interrupt_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_model(cfg, store, faces, progress=False)
    monkeypatch.setattr(T, "_fit_epoch", real)

    key = model_key(cfg, faces)
    work = store.workdir("model", key)
    assert sorted(p.name for p in work.glob("epoch-*")) == ["epoch-0001"]
    assert not store.exists("model", key)
    # What a kill -9 in the middle of writing leaves behind: a temporary folder,
    # and (simulating a torn disk) a newer checkpoint whose model file is junk.
    (work / ".tmp-deadbeef").mkdir()
    (work / ".tmp-deadbeef" / "autoencoder.keras").write_bytes(b"half")
    bad = work / "epoch-0002"
    bad.mkdir()
    (bad / "autoencoder.keras").write_bytes(b"not a zip")
    (bad / "state.json").write_text(json.dumps({"epoch": 2, "key": key, "history": []}))

    with pytest.warns(RuntimeWarning, match="epoch-0002 cannot be used"):
        resumed = train_model(cfg, store, faces, progress=False)
    assert resumed.meta["resumed_from_epoch"] == 1
    _assert_same_weights(uninterrupted, resumed)
    np.testing.assert_array_equal(resumed.history["loss"], uninterrupted.history["loss"])


_CHILD = """
import sys
sys.path[:0] = [{tests!r}, {root!r}]
from test_train import fake_faces
from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.train import train_model
cfg = with_overrides(load_config("smoke"), {overrides!r})
train_model(cfg, ArtifactStore({store!r}), fake_faces(), progress=False)
"""


@pytest.mark.slow
def test_kill_9_during_training_then_rerun_gives_the_same_weights(faces, tmp_path):
    overrides = {"train.epochs": 5, "train.batch_size": 16}  # several short epochs
    cfg = with_overrides(load_config("smoke"), overrides)
    tests = Path(__file__).resolve().parent
    store = ArtifactStore(tmp_path / "killed")
    code = _CHILD.format(tests=str(tests), root=str(tests.parent), overrides=overrides,
                         store=str(store.root))
    child = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = store.root / "model"
    deadline = time.monotonic() + 120
    try:
        while not list(work.glob(".work-*/epoch-0002")):
            assert child.poll() is None, "the training process ended before it was killed"
            assert time.monotonic() < deadline, "no checkpoint appeared within 2 minutes"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    key = model_key(cfg, faces)
    assert not store.exists("model", key), "killed too late: the run had finished"
    done = sorted(p.name for p in store.workdir("model", key).glob("epoch-*"))
    assert done and done[-1] < "epoch-0005"

    resumed = train_model(cfg, store, faces, progress=False)
    assert resumed.meta["resumed_from_epoch"] >= 2
    straight = train_model(cfg, ArtifactStore(tmp_path / "straight"), faces, progress=False)
    _assert_same_weights(straight, resumed)


@pytest.mark.slow
def test_nan_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(cfg, faces, tmp_path,
                                                                    monkeypatch):
    real = T._epoch_dataset

    def poisoned(images, train_idx, cfg_, epoch):
        if epoch == 1:
            images = np.full(images.shape, np.nan, np.float32)  # cast to uint8 never gives NaN
            import tensorflow as tf

            return tf.data.Dataset.from_tensor_slices((images[:64], images[:64])).batch(32)
        return real(images, train_idx, cfg_, epoch)

    monkeypatch.setattr(T, "_epoch_dataset", poisoned)
    store = ArtifactStore(tmp_path)
    with pytest.raises(TrainingDivergedError, match=r"epoch 2.*epoch-0001.*learning_rate"):
        train_model(cfg, store, faces, progress=False)
    key = model_key(cfg, faces)
    assert not store.exists("model", key)
    assert [p.name for p in store.workdir("model", key).glob("epoch-*")] == ["epoch-0001"]


@pytest.mark.slow
def test_plot_history_draws_both_curves(trained):
    import matplotlib.pyplot as plt

    from lsreport.plots.model import plot_history

    _, m = trained
    ax = plot_history(m.history, ax=plt.figure().gca())
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_ydata(), m.history["loss"])
    np.testing.assert_array_equal(lines[1].get_ydata(), m.history["val_loss"])
    assert ax.get_yscale() == "log"
