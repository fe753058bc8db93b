"""Tests of lsreport.quality: image handling, dlib faces, distances, bootstrap."""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance

from lsreport import quality as Q
from lsreport.sampling import LatentStats, sample_cube, sample_mvn

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TIGHT = DATA / "celeba_tight"


def _load(n, offset=0):
    from PIL import Image

    files = sorted(TIGHT.glob("*.jpg"))[offset : offset + n]
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])


@pytest.fixture(scope="module")
def real():
    if not TIGHT.is_dir():
        pytest.skip(f"real face data not found at {DATA}")
    return _load(400)


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(99).integers(0, 256, (40, 64, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def faces(real, noise):
    # one parallel analysis for the module: 100 real faces, then 40 noise images;
    # descriptors for 8 of each
    imgs = np.concatenate([real[:100], noise])
    return Q.analyse_faces(imgs, descriptor_index=[*range(8), *range(100, 108)], n_jobs=2, backend="process")


# ------------------------------------------------------------------ images


def test_to_uint8_accepts_float_and_gray_and_rejects_0_255_floats():
    f = np.array([[[0.0, 0.5, 1.0]]])[None]  # (1, 1, 1, 3)
    np.testing.assert_array_equal(Q.to_uint8(f), [[[[0, 128, 255]]]])
    g = np.full((2, 4, 4), 7, np.uint8)
    out = Q.to_uint8(g)
    assert out.shape == (2, 4, 4, 3) and out.dtype == np.uint8 and np.all(out == 7)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Q.to_uint8(np.full((1, 2, 2, 3), 200.0))
    with pytest.raises(ValueError, match="NaN"):
        Q.to_uint8(np.full((1, 2, 2, 3), np.nan))
    assert Q.upsample(np.zeros((64, 64, 3), np.uint8), 128).shape == (128, 128, 3)


# ------------------------------------------------------------------ dlib


def test_detection_rate_real_faces_vs_noise(faces):
    assert faces.n == 140
    assert faces.detected[:100].mean() >= 0.8
    assert faces.detected[100:].sum() == 0
    # per-image results are consistent with each other
    assert np.array_equal(faces.detected, faces.n_faces > 0)
    assert np.all(np.isnan(faces.score[~faces.detected]))
    ok = faces.box[faces.detected]
    assert np.all((ok[:, 2] > ok[:, 0]) & (ok[:, 3] > ok[:, 1]))


def test_parallel_matches_serial(real, faces):
    serial = Q.analyse_faces(real[:12], max_descriptors=0, n_jobs=1)
    np.testing.assert_array_equal(serial.detected, faces.detected[:12])
    np.testing.assert_allclose(serial.score, faces.score[:12])


def test_every_image_gets_a_descriptor_and_same_face_is_close(real, faces):
    # 16 descriptors were asked for, noise included (landmarks on the whole frame)
    assert faces.descriptors.shape == (16, 128)
    assert np.all(np.isfinite(faces.descriptors))
    np.testing.assert_array_equal(faces.descriptor_index, [0, 1, 2, 3, 4, 5, 6, 7, *range(100, 108)])
    # the mirror image of a face is the same person: below dlib's 0.6 threshold
    i = int(np.flatnonzero(faces.detected[:8])[0])
    mirrored = Q.analyse_faces(real[i : i + 1, :, ::-1], max_descriptors=1, n_jobs=1)
    assert np.linalg.norm(mirrored.descriptors[0] - faces.descriptors[i]) < 0.6
    # subsetting keeps the pairing of descriptors and images
    sub = faces.take(np.array([101, 3, 50]))
    np.testing.assert_array_equal(sub.descriptor_index, [0, 1])
    np.testing.assert_array_equal(sub.descriptors[1], faces.descriptors[3])


def test_analysis_cache_by_content(noise):
    cache = {}
    a = Q.analyse_faces(noise[:5], max_descriptors=0, n_jobs=1, cache=cache)
    assert len(cache) == 1
    assert Q.analyse_faces(noise[:5].copy(), max_descriptors=0, n_jobs=1, cache=cache) is a
    Q.analyse_faces(noise[1:6], max_descriptors=0, n_jobs=1, cache=cache)
    assert len(cache) == 2


# ------------------------------------------------------------------ Fréchet


def test_frechet_diagonal_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.2, 3, 5), rng.uniform(0.2, 3, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert Q.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-9)


def test_frechet_scaled_full_covariance_and_second_implementation():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(8, 8))
    c = a @ a.T + 0.1 * np.eye(8)
    # C2 = s^2 C1 commutes with C1: tr(C1 + C2 - 2 (C1 C2)^1/2) = (1 - s)^2 tr C1
    assert Q.frechet_distance(np.zeros(8), c, np.zeros(8), 4 * c) == pytest.approx(np.trace(c), rel=1e-8)
    b = rng.normal(size=(8, 8))
    c2 = b @ b.T
    mu = rng.normal(size=8)
    assert Q._frechet_eigh(mu, c, 0 * mu, c2) == pytest.approx(Q.frechet_distance(mu, c, 0 * mu, c2), rel=1e-8)


def test_frechet_of_a_set_with_itself_is_zero_even_when_singular():
    x = np.random.default_rng(2).normal(size=(20, 50))  # rank-deficient covariance
    assert Q.frechet_distance_samples(x, x) == pytest.approx(0.0, abs=1e-6)
    y = x + 1.0
    assert Q.frechet_distance_samples(x, y) == pytest.approx(50.0, rel=1e-6)


def test_frechet_metric_ci_contains_estimate():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 4))
    y = rng.normal(size=(400, 4)) * 1.5 + 0.5
    m = Q.frechet_metric(x, y, rng=np.random.default_rng(4), n_boot=60)
    assert m.ci_low <= m.value <= m.ci_high and m.n == 400
    # population value: 4 * 0.25 + 4 * (1 - 1.5)^2 = 2
    assert m.value == pytest.approx(2.0, abs=0.5)
    assert m.ci_high - m.ci_low < 1.5


def test_rate_metric_ci_matches_binomial_width():
    flags = np.random.default_rng(5).uniform(size=1000) < 0.3
    m = Q.rate_metric(flags, rng=np.random.default_rng(6), n_boot=400)
    p = flags.mean()
    assert m.value == p and m.ci_low <= p <= m.ci_high
    normal_width = 2 * 1.96 * np.sqrt(p * (1 - p) / flags.size)
    assert m.ci_high - m.ci_low == pytest.approx(normal_width, rel=0.2)


# ------------------------------------------------------------------ Wasserstein


def test_sliced_wasserstein_zero_for_identical_and_grows_with_shift():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 16))
    assert Q.sliced_wasserstein(x, x, rng=np.random.default_rng(0)) == pytest.approx(0.0, abs=1e-12)
    shift = np.zeros(16)
    shift[0] = 1.0
    d = [Q.sliced_wasserstein(x, x + c * shift, rng=np.random.default_rng(0), n_projections=2000)
         for c in (0.5, 1.0, 2.0)]
    assert d[0] < d[1] < d[2]
    # a translation moves each projection by theta . s: SW2 = |s| sqrt(E theta_1^2) = |s| / sqrt(D)
    assert d[1] == pytest.approx(1 / np.sqrt(16), rel=0.1)


def test_sliced_wasserstein_1d_matches_scipy_for_unequal_sizes():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=37), rng.exponential(size=53)
    ours = Q.sliced_wasserstein(a[:, None], b[:, None], rng=rng, n_projections=3, p=1)
    assert ours == pytest.approx(wasserstein_distance(a, b), rel=1e-10)


def test_sliced_wasserstein_metric_is_seeded():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(100, 10)), rng.normal(size=(80, 10)) + 0.3
    m1 = Q.sliced_wasserstein_metric(x, y, rng=np.random.default_rng(1), n_boot=20)
    m2 = Q.sliced_wasserstein_metric(x, y, rng=np.random.default_rng(1), n_boot=20)
    assert m1 == m2 and m1.ci_low <= m1.value <= m1.ci_high


# ------------------------------------------------------------------ memorisation


def test_nearest_neighbours_match_bruteforce_and_copies_have_zero_distance():
    rng = np.random.default_rng(10)
    train = rng.integers(0, 256, (57, 6, 6, 3), dtype=np.uint8)
    queries = np.concatenate([train[[5, 40]], rng.integers(0, 256, (9, 6, 6, 3), dtype=np.uint8)])
    d, idx = Q.nearest_neighbour_distances(queries, train, chunk_size=4)
    full = cdist(queries.reshape(11, -1) / 255.0, train.reshape(57, -1) / 255.0)
    np.testing.assert_allclose(d, full.min(axis=1), atol=1e-5)
    np.testing.assert_array_equal(idx, full.argmin(axis=1))
    assert d[0] == pytest.approx(0, abs=1e-6) and d[1] == pytest.approx(0, abs=1e-6)
    assert list(idx[:2]) == [5, 40]


def test_memorisation_metrics_flag_copies():
    rng = np.random.default_rng(11)
    ref = rng.uniform(1, 2, 300)
    copies, novel = np.zeros(100), rng.uniform(1, 2, 100)
    ratio, rate = Q.memorisation_metrics(copies, ref, rng=rng)
    assert ratio.value == 0 and rate.value == 1
    ratio, rate = Q.memorisation_metrics(novel, ref, rng=rng)
    assert ratio.ci_low <= 1 <= ratio.ci_high or abs(ratio.value - 1) < 0.1
    assert rate.value < 0.15


def test_latent_radius_metric_small_for_matching_sampler_large_for_cube():
    rng = np.random.default_rng(12)
    z = rng.normal(size=(3000, 20)) * np.linspace(0.5, 2, 20)
    st = LatentStats.fit(z[:2000])
    good = Q.latent_radius_metric(sample_mvn(st, 1000, rng=rng), st, z[2000:], rng=rng, n_boot=50)
    bad = Q.latent_radius_metric(sample_cube(st, 1000, rng=rng, b=3.0), st, z[2000:], rng=rng, n_boot=50)
    assert good.value < 0.3 < 2.0 < bad.value
    assert good.ci_low <= good.value <= good.ci_high


# ------------------------------------------------------------------ end to end


def test_pixel_pca_fixed_and_checked(real):
    p1 = Q.PixelPCA.fit(real[:100], 16, seed=0)
    p2 = Q.PixelPCA.fit(real[:100], 16, seed=0)
    np.testing.assert_array_equal(p1.components, p2.components)
    assert 0 < p1.explained_variance_ratio.sum() < 1
    with pytest.raises(ValueError, match="fitted on"):
        p1.transform(np.zeros((2, 32, 32, 3), np.uint8))


def test_quality_table_ranks_real_faces_above_noise(real, noise):
    ref = Q.prepare_reference(real[300:340], real[100:300], n_components=16, max_descriptors=6, n_jobs=1)
    sets = {"faces": real[340:380], "noise": noise, "faces (float)": real[340:380] / 255.0}
    cache = {}
    df = Q.quality_table(sets, ref, rng=np.random.default_rng(0), max_descriptors=6, n_jobs=2,
                         n_boot=50, n_boot_distance=20, cache=cache)
    assert len(cache) == 2  # the float copy of "faces" has the same content key
    assert list(df.columns) == ["image_set", "metric", "value", "ci_low", "ci_high", "n"]
    v = df.set_index(["image_set", "metric"]).value
    # (the face Fréchet distance of 6 descriptors in 128-D is all bias: no ranking asserted)
    for metric in ("pixel_frechet", "sliced_wasserstein"):
        assert v["faces", metric] < v["noise", metric]
    for metric in ("face_frechet", "pixel_frechet", "sliced_wasserstein", "nn_ratio"):
        assert v["faces", metric] == pytest.approx(v["faces (float)", metric], rel=1e-9)
    assert df.set_index(["image_set", "metric"]).n["faces", "face_frechet"] == 6
    assert v["faces", "detection_rate"] >= 0.8 and v["noise", "detection_rate"] == 0
    assert ("real (test)", "detection_rate") in v.index
    assert np.all(df.ci_low <= df.value + 1e-12) and np.all(df.value <= df.ci_high + 1e-12)
    # a training image is a perfect copy: the ratio of an all-copies set is 0
    rep = Q.evaluate_images(real[100:110], ref, rng=np.random.default_rng(1), max_descriptors=0, n_jobs=1,
                            n_boot=20, n_boot_distance=10)
    assert rep.nn_ratio.value == 0 and rep.copy_rate.value == 1 and rep.n == 10
    assert "faces" in Q.wide_table(df).index


# ------------------------------------------------------------------ drawing of the results


def test_tile_images_layout():
    from lsreport.plots.generation import tile_images

    imgs = np.arange(5)[:, None, None, None] * np.ones((5, 3, 2, 3), np.uint8)
    t = tile_images(imgs, 2, pad=1)
    assert t.shape == (3 * 4 - 1, 2 * 3 - 1, 3)
    assert np.all(t[4:7, 3:5] == 3)  # image 3: row 1, column 1
    assert np.all(t[8:11, 3:5] == 255)  # empty sixth cell is white
    assert np.all(t[3, :] == 255)  # gutter row


def test_plot_metrics_bars_and_intervals():
    import matplotlib.pyplot as plt
    import pandas as pd

    from lsreport.plots.generation import plot_metrics

    df = pd.DataFrame({"image_set": ["a", "b"], "metric": "detection_rate", "value": [0.2, 0.9],
                       "ci_low": [0.1, 0.85], "ci_high": [0.3, 0.95], "n": [100, 100]})
    ax = plot_metrics(df, ax=plt.figure().gca())
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == pytest.approx([0.2, 0.9])
    assert "detection rate" in ax.get_xlabel()
    with pytest.raises(ValueError, match="several metrics"):
        plot_metrics(pd.concat([df, df.assign(metric="copy_rate")]))
