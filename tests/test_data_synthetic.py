"""The procedural faces: factor laws, determinism, factors acting as described."""

import colorsys
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.data import FACTOR_NAMES, load_faces, load_original, render_faces, sample_factors
from lsreport.data.synthetic import factor_distributions, factor_pdf, render_face

N = 200_000


def _bimodal_excess_kurtosis(m=0.9):
    # equal mixture of N(+-m, s^2), s^2 = 1 - m^2: E x^4 = m^4 + 6 m^2 s^2 + 3 s^4, var = 1
    s2 = 1 - m * m
    return m**4 + 6 * m * m * s2 + 3 * s2 * s2 - 3


@pytest.mark.parametrize("law,kurt", [("normal", 0.0), ("uniform", -1.2),
                                      ("bimodal", _bimodal_excess_kurtosis())])
def test_factor_moments_match_the_law(law, kurt):
    f = sample_factors(N, seed=11, distribution=law)
    assert list(f.columns) == list(FACTOR_NAMES)
    se = 1 / math.sqrt(N)
    for name in ("head_size", "mouth_curve", "light_strength"):
        v = f[name].to_numpy()
        assert abs(v.mean()) < 5 * se
        assert abs(v.var() - 1) < 0.02
        assert abs(stats.kurtosis(v) - kurt) < 0.05
    if law == "uniform":
        assert f.to_numpy().max() <= math.sqrt(3) and f.to_numpy().min() >= -math.sqrt(3)
    # the laws are what they say: Kolmogorov-Smirnov against the closed-form CDF
    v = f["nose_size"].to_numpy()[:5000]
    cdf = {"normal": stats.norm.cdf,
           "uniform": stats.uniform(-math.sqrt(3), 2 * math.sqrt(3)).cdf,
           "bimodal": lambda x: 0.5 * (stats.norm.cdf(x, -0.9, math.sqrt(0.19))
                                       + stats.norm.cdf(x, 0.9, math.sqrt(0.19)))}[law]
    assert stats.kstest(v, cdf).pvalue > 1e-3


def test_factor_pdf_integrates_to_one():
    x = np.linspace(-6, 6, 120001)
    for law in ("normal", "uniform", "bimodal"):
        assert np.trapezoid(factor_pdf(law, x), x) == pytest.approx(1, abs=1e-3)


def test_overrides_change_only_their_factor():
    a = sample_factors(2000, 4)
    b = sample_factors(2000, 4, overrides={"hair_length": "uniform"})
    pd.testing.assert_series_equal(a["eye_size"], b["eye_size"])
    assert not np.allclose(a["hair_length"], b["hair_length"])
    assert np.abs(b["hair_length"]).max() <= math.sqrt(3)
    with pytest.raises(ValueError, match="unknown factor.*valid factors"):
        factor_distributions("normal", {"nose_lenght": "uniform"})
    with pytest.raises(ValueError, match="choose one of"):
        factor_distributions("cauchy")


def test_same_seed_same_images_other_seed_other_images(tmp_path):
    cfg = with_overrides(load_config("smoke"), {"data.synthetic.n_images": 64})
    a = load_faces(cfg, ArtifactStore(tmp_path / "a"), progress=False)
    b = load_faces(cfg, ArtifactStore(tmp_path / "b"), progress=False)
    c = load_faces(with_overrides(cfg, {"data.seed": 1}), ArtifactStore(tmp_path / "c"),
                   progress=False)
    np.testing.assert_array_equal(a.images, b.images)
    pd.testing.assert_frame_equal(a.factors, b.factors)
    assert not np.array_equal(a.images, c.images)
    assert a.source == "synthetic" and len(a.factors) == len(a) == 64
    assert a.images.dtype == np.uint8 and a.images.shape == (64, 32, 32, 3)
    # row i of the factors draws image i
    k = 5
    np.testing.assert_array_equal(a.images[k], render_face(a.factors.iloc[k].to_dict(), 64, 32))
    # ids number the faces in drawing order
    n = int(a.ids[k].split("-")[1]) - 1
    ref = sample_factors(64, cfg.data.seed)
    np.testing.assert_allclose(a.factors.iloc[k].to_numpy(), ref.iloc[n].to_numpy())


def test_worker_processes_draw_the_same_faces():
    f = sample_factors(40, 2)
    np.testing.assert_array_equal(render_faces(f, 64, 32, workers=1),
                                  render_faces(f, 64, 32, workers=2))


def _foreground(img, background_hue):
    """Pixels whose chromaticity differs from the background (lighting scales all channels)."""
    bg = np.array(colorsys.hsv_to_rgb(background_hue, 0.32, 0.86))
    bg_chroma = bg / bg.sum()
    x = img.astype(float) + 1e-9
    chroma = x / x.sum(-1, keepdims=True)
    return np.abs(chroma - bg_chroma).sum(-1) > 0.04


def test_larger_head_covers_more_pixels():
    counts = [_foreground(render_face({"head_size": z}, 128), 0.58).sum()
              for z in (-2, -1, 0, 1, 2)]
    assert np.all(np.diff(counts) > 0)


def test_longer_hair_covers_more_pixels():
    counts = [_foreground(render_face({"hair_length": z}, 128), 0.58).sum()
              for z in (-2, -1, 0, 1, 2)]
    assert np.all(np.diff(counts) > 0)


def test_skin_tone_darkens_the_face():
    means = [render_face({"skin_tone": z}, 128).mean() for z in (-2, -1, 0, 1, 2)]
    assert np.all(np.diff(means) < 0)


def test_mouth_curve_smiles_and_frowns():
    def corner_minus_middle(z):
        img = render_face({"mouth_curve": z, "light_strength": -2.5}, 128).astype(int)
        lips = (img[..., 0] - img[..., 1] > 75) & (np.arange(128)[:, None] > 64)
        rows, cols = np.nonzero(lips)
        centre, half = (cols.min() + cols.max()) / 2, (cols.max() - cols.min()) / 2
        off = np.abs(cols - centre) / half
        return rows[off > 0.6].mean() - rows[off < 0.3].mean()

    smile, neutral, frown = (corner_minus_middle(z) for z in (2.0, 0.0, -2.0))
    # corners rise above the middle for a smile and drop below it for a frown
    assert smile < 0 < frown
    assert smile < neutral - 0.5 and frown > neutral + 0.5


def test_background_factor_sets_the_hue():
    img = render_face({"background": 1.0, "light_strength": -2.5}, 64)
    h, s, v = colorsys.rgb_to_hsv(*(img[1, 1] / 255))
    assert h == pytest.approx((0.58 + 0.12) % 1, abs=0.01)


def test_max_images_beyond_n_images_is_an_error(tmp_path):
    cfg = with_overrides(load_config("smoke"), {"data.max_images": 10_000})
    with pytest.raises(ValueError, match="only data.synthetic.n_images = 384"):
        load_faces(cfg, ArtifactStore(tmp_path), progress=False)


def test_load_original_is_the_render_size_face():
    cfg = load_config("smoke")
    img, box = load_original(cfg, 3)
    assert img.shape == (64, 64, 3) and box == (0, 0, 64, 64)
