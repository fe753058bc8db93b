"""The training plan printed before training: images, epochs, an estimate of the time."""

import numpy as np
import pytest

from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config, with_overrides

keras = pytest.importorskip("keras")

from lsreport import train as T  # noqa: E402
from test_train import fake_faces  # noqa: E402


def test_plan_counts_images_epochs_and_steps():
    cfg = with_overrides(load_config("smoke"), {"train.epochs": 3, "train.batch_size": 16})
    faces = fake_faces(n=(100, 20, 10))
    plan = T.training_plan(cfg, faces)
    assert (plan.n_train, plan.n_val, plan.epochs, plan.steps_per_epoch, plan.batch_size) == (100, 20, 3, 6, 16)
    assert 0 < plan.seconds < 600
    assert "100 training + 20 validation images" in plan.text and "3 epochs of 6 steps at batch 16" in plan.text
    resumed = T.training_plan(cfg, faces, start_epoch=2)
    assert "1 epoch (of 3)" in resumed.text
    assert resumed.seconds < plan.seconds


def test_the_plan_is_printed_and_leaves_training_unchanged(tmp_path, capsys):
    cfg = load_config("smoke")
    faces = fake_faces(n=(64, 16, 8))
    quiet = T.train_model(cfg, ArtifactStore(tmp_path / "a"), faces, progress=False)
    assert "training plan" not in capsys.readouterr().out
    loud = T.train_model(cfg, ArtifactStore(tmp_path / "b"), faces, progress=True)
    out = capsys.readouterr().out
    assert "training plan: 64 training + 16 validation images" in out and "estimated" in out
    for x, y in zip(quiet.autoencoder.get_weights(), loud.autoencoder.get_weights()):
        np.testing.assert_array_equal(x, y)
