"""Encoding, decoding, reconstruction metrics, and their plots."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config

keras = pytest.importorskip("keras")

from lsreport.latent import (  # noqa: E402
    decode,
    encode,
    encode_images,
    latents_key,
    reconstruct,
    reconstruction_metrics,
    summarize_metrics,
)
from lsreport.plots.model import plot_quality_distribution, plot_reconstructions  # noqa: E402


@dataclass(frozen=True, eq=False)
class FakeFaces:
    images: np.ndarray
    ids: np.ndarray
    split: np.ndarray
    key: str


def _toy_models(side=2):
    """An 'encoder' that flattens and a 'decoder' that reshapes: exact inverses."""
    d = side * side * 3
    enc_in = keras.Input((side, side, 3))
    enc = keras.Model(enc_in, keras.layers.Flatten()(enc_in), name="encoder")
    dec_in = keras.Input((d,))
    dec = keras.Model(dec_in, keras.layers.Reshape((side, side, 3))(dec_in), name="decoder")
    return enc, dec


# ------------------------------------------------------------- metrics


def test_psnr_is_ten_log10_of_inverse_mse(rng):
    a = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    b = np.clip(a / 255.0 + rng.normal(0, 0.05, a.shape), 0, 1)
    m = reconstruction_metrics(a, b)
    mse = ((a / 255.0 - b) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(m["mse"], mse, rtol=1e-12)
    np.testing.assert_allclose(m["psnr"], 10 * np.log10(1 / mse), rtol=1e-12)


def test_ssim_of_constant_images_is_the_luminance_term():
    # Wang et al. (2004): for zero variance SSIM reduces to
    # (2 mx my + C1) / (mx^2 + my^2 + C1), C1 = (0.01 L)^2, L = data range.
    mx, my = 0.6, 0.3
    a = np.full((1, 16, 16, 3), mx)
    b = np.full((1, 16, 16, 3), my)
    c1 = 0.01 ** 2
    expected = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    np.testing.assert_allclose(reconstruction_metrics(a, b)["ssim"], [expected], rtol=1e-9)


def test_perfect_copy_has_infinite_psnr_and_unit_ssim(rng):
    a = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    m = reconstruction_metrics(a, a / 255.0)
    assert np.isinf(m["psnr"]).all() and np.allclose(m["ssim"], 1.0) and (m["mse"] == 0).all()


def test_metrics_reject_shape_mismatch(rng):
    with pytest.raises(ValueError, match="differ in shape"):
        reconstruction_metrics(np.zeros((2, 8, 8, 3)), np.zeros((3, 8, 8, 3)))


def test_summary_matches_numpy():
    m = pd.DataFrame({"mse": [0.01, 0.001, 0.004], "psnr": [20.0, 30.0, 24.0],
                      "ssim": [0.5, 0.9, 0.7]})
    s = summarize_metrics(m)
    assert s["n"] == 3 and s["psnr_mean"] == pytest.approx(74 / 3)
    assert s["psnr_median"] == 24.0 and s["ssim_mean"] == pytest.approx(0.7)
    assert s["psnr_std"] == pytest.approx(np.std([20, 30, 24], ddof=1))


# ------------------------------------------------------ encode / decode


def test_encode_images_scales_uint8_batch_by_batch(rng):
    enc, _ = _toy_models()
    x = rng.integers(0, 256, (7, 2, 2, 3), dtype=np.uint8)
    z = encode_images(enc, x, batch_size=3)
    assert z.dtype == np.float32 and z.shape == (7, 12)
    np.testing.assert_allclose(z, x.reshape(7, -1) / 255.0, rtol=1e-6)


def test_decode_rounds_to_uint8(rng):
    _, dec = _toy_models()
    z = rng.uniform(-0.2, 1.2, (5, 12)).astype(np.float32)
    out = decode(dec, z, batch_size=2)
    assert out.dtype == np.uint8 and out.shape == (5, 2, 2, 3)
    expected = np.clip(np.floor(z * 255 + 0.5), 0, 255).reshape(5, 2, 2, 3)
    np.testing.assert_array_equal(out, expected)


def test_reconstruct_with_inverse_toy_models_is_identity(rng):
    enc, dec = _toy_models()
    x = rng.integers(0, 256, (4, 2, 2, 3), dtype=np.uint8)
    np.testing.assert_allclose(reconstruct(dec, enc, x, batch_size=3), x / 255.0, rtol=1e-6)


# -------------------------------------------------------------- plots


def test_plot_reconstructions_stacks_originals_over_reconstructions(rng):
    import matplotlib.pyplot as plt

    a = rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    b = rng.uniform(0, 1, (10, 8, 8, 3))
    ax = plot_reconstructions(a, b, ax=plt.figure().gca(), n=4, gap=2)
    grid = ax.get_images()[0].get_array()
    assert grid.shape == (2 * 8 + 2, 4 * 8 + 3 * 2, 3)
    np.testing.assert_allclose(grid[:8, 10:18], a[1] / 255.0, rtol=1e-6)
    np.testing.assert_allclose(grid[10:, 20:28], b[2], rtol=1e-6)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original", "reconstruction"]


def test_plot_quality_distribution_marks_the_means(rng):
    import matplotlib.pyplot as plt

    m = pd.DataFrame({"psnr": rng.normal(24, 2, 200), "ssim": rng.uniform(0.5, 0.9, 200)})
    fig, axes = plt.subplots(1, 2)
    out = plot_quality_distribution(m, axes=axes)
    assert len(out) == 2
    for ax, col in zip(out, ["psnr", "ssim"]):
        mean_line = ax.get_lines()[0]
        assert mean_line.get_xdata()[0] == pytest.approx(m[col].mean())
        heights = [p.get_height() for p in ax.patches]
        assert sum(heights) == 200


# ------------------------------------------------------- the step itself


@pytest.fixture(scope="module")
def smoke_model(tmp_path_factory):
    from lsreport.train import train_model

    rng = np.random.default_rng(1)
    cfg = load_config("smoke")
    n = (64, 8, 24)
    images = np.clip(rng.normal(128, 40, (sum(n), 32, 32, 3)), 0, 255).astype(np.uint8)
    images = np.repeat(np.repeat(images[:, ::4, ::4], 4, axis=1), 4, axis=2)  # blocky
    faces = FakeFaces(images, np.array([f"f{i}" for i in range(sum(n))]),
                      np.repeat([0, 1, 2], n).astype(np.int8), "fake-latent")
    store = ArtifactStore(tmp_path_factory.mktemp("latent-store"))
    return cfg, store, faces, train_model(cfg, store, faces, progress=False)


@pytest.mark.slow
def test_encode_step(smoke_model, tmp_path):
    cfg, store, faces, model = smoke_model
    lat = encode(cfg, store, faces, model, progress=False)
    n, d = len(faces.images), cfg.model.latent_dim
    assert lat.z.shape == (n, d) and lat.z.dtype == np.float32
    np.testing.assert_array_equal(lat.ids, faces.ids)
    np.testing.assert_array_equal(lat.split, faces.split)
    # rows of z are the encoder's output for the same rows of images
    direct = np.asarray(model.encoder(faces.images[:5] / np.float32(255)))
    np.testing.assert_allclose(lat.z[:5], direct, rtol=1e-5, atol=1e-6)
    assert lat.split_z("test").shape == (24, d)
    # metrics: the test split, recomputed independently from reconstructions
    test = np.flatnonzero(faces.split == 2)
    assert list(lat.metrics["index"]) == list(test)
    rec = np.asarray(model.autoencoder(faces.images[test] / np.float32(255)))
    mse = ((faces.images[test] / 255.0 - rec) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(lat.metrics["mse"], mse, rtol=1e-4)
    assert lat.summary["psnr_mean"] == pytest.approx(np.mean(10 * np.log10(1 / mse)), rel=1e-4)
    assert lat.key == latents_key(cfg, model)
    # cached, and identical when computed again elsewhere
    again = encode(cfg, ArtifactStore(tmp_path), faces, model, progress=False)
    np.testing.assert_array_equal(np.asarray(again.z), np.asarray(lat.z))
    pd.testing.assert_frame_equal(again.metrics, lat.metrics)
