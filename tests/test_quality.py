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
    # independent: the definition with scipy's matrix square root
    from scipy.linalg import sqrtm

    want = mu @ mu + np.trace(c + c2 - 2 * sqrtm(c @ c2).real)
    assert Q.frechet_distance(mu, c, 0 * mu, c2) == pytest.approx(want, rel=1e-8)
    assert Q._frechet_eigh(mu, c, 0 * mu, c2) == pytest.approx(want, rel=1e-8)


def test_frechet_of_a_set_with_itself_is_zero_even_when_singular():
    x = np.random.default_rng(2).normal(size=(20, 50))  # rank-deficient covariance
    assert Q.frechet_distance_samples(x, x) == pytest.approx(0.0, abs=1e-6)
    y = x + 1.0
    assert Q.frechet_distance_samples(x, y) == pytest.approx(50.0, rel=1e-6)


def test_frechet_metric_interval_is_the_spread_of_the_estimate():
    # the interval of a distance is the estimator's spread at this n: its
    # width matches the scatter of the estimate over independent samples
    # (95 % of a normal: 3.92 s.d.), whatever it says about the population value
    rng = np.random.default_rng(3)

    def draw():
        return rng.normal(size=(400, 4)), rng.normal(size=(400, 4)) * 1.5 + 0.5

    values = [Q.frechet_distance_samples(*draw()) for _ in range(150)]
    m = Q.frechet_metric(*draw(), rng=np.random.default_rng(4), n_boot=200)
    assert m.n == 400
    # population value: 4 * 0.25 + 4 * (1 - 1.5)^2 = 2
    assert np.mean(values) == pytest.approx(2.0, abs=0.1)
    assert (m.ci_high - m.ci_low) / (3.92 * np.std(values)) == pytest.approx(1.0, abs=0.35)


def test_frechet_distance_is_biased_at_small_n_and_the_spread_does_not_cover_the_truth():
    # 16-D, n = 300: the estimate averages far above the population value,
    # and the recentred spread (what the tables show) rarely covers it; this
    # is why distances are read against a real-vs-real baseline
    rng = np.random.default_rng(30)
    d, n = 16, 300
    shift = np.full(d, np.sqrt(0.23 / d))  # population distance 0.23
    est, covered = [], []
    for _ in range(12):
        m = Q.frechet_metric(rng.normal(size=(n, d)) + shift, rng.normal(size=(n, d)),
                             rng=rng, n_boot=40)
        est.append(m.value)
        covered.append(m.ci_low <= 0.23 <= m.ci_high)
    assert np.mean(est) > 2 * 0.23
    assert np.mean(covered) < 0.5


def _paired_case(rng, mu_a, mu_b, d=8, n=300):
    ref = rng.normal(size=(n, d))
    a, b = rng.normal(size=(n, d)) + mu_a, rng.normal(size=(n, d)) + mu_b
    reps = Q.paired_replicates({"a": a, "b": b}, ref, rng=rng, n_boot=100)
    return Q.difference_interval(reps["a"], reps["b"], Q.frechet_distance_samples(a, ref),
                                 Q.frechet_distance_samples(b, ref))


def test_paired_difference_interval_covers_the_true_difference():
    # equal covariances: the finite-n bias is common to both distances, so the
    # difference of the estimates is unbiased for |mu_a|^2 - |mu_b|^2
    rng = np.random.default_rng(31)
    d = 8
    mu_a, mu_b = np.full(d, np.sqrt(0.5 / d)), np.full(d, np.sqrt(0.2 / d))
    hits, clear_same = [], []
    for _ in range(30):
        diff, lo, hi = _paired_case(rng, mu_a, mu_b)
        hits.append(lo <= 0.3 <= hi)
        _, lo0, hi0 = _paired_case(rng, mu_b, mu_b)
        clear_same.append(lo0 > 0 or hi0 < 0)
    assert np.mean(hits) >= 0.8
    assert np.mean(clear_same) <= 0.2  # two samplers of one law: rarely a "clear" difference
    # a large difference is clear
    _, lo, hi = _paired_case(rng, np.full(d, 0.5), np.zeros(d))
    assert lo > 0


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
    assert m1 == m2
    # with fixed directions the interval's width is the scatter of the
    # estimate over independent samples (3.92 s.d.)
    theta = Q._directions(10, 64, np.random.default_rng(2))
    vals = [Q.sliced_wasserstein_metric(rng.normal(size=(100, 10)), rng.normal(size=(80, 10)) + 0.3,
                                        rng=rng, n_boot=1, directions=theta).value for _ in range(120)]
    m = Q.sliced_wasserstein_metric(x, y, rng=np.random.default_rng(3), n_boot=200, directions=theta)
    assert (m.ci_high - m.ci_low) / (3.92 * np.std(vals)) == pytest.approx(1.0, abs=0.35)


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
    # test-like images: the intervals of the ratio (truth 1) and of the
    # copy rate (truth copy_quantile) cover the truth in most repeats; the
    # copy rate's threshold comes from only 100 test images here, so an
    # interval that ignored its uncertainty would cover about a third of the time
    cover_ratio, cover_rate = [], []
    for _ in range(40):
        ref = rng.uniform(1, 2, 100)
        ratio, rate = Q.memorisation_metrics(rng.uniform(1, 2, 2000), ref, rng=rng, n_boot=200)
        cover_ratio.append(ratio.ci_low <= 1 <= ratio.ci_high)
        cover_rate.append(rate.ci_low <= 0.05 <= rate.ci_high)
    assert np.mean(cover_ratio) >= 0.8 and np.mean(cover_rate) >= 0.8


def test_latent_radius_metric_small_for_matching_sampler_large_for_cube():
    rng = np.random.default_rng(12)
    z = rng.normal(size=(3000, 20)) * np.linspace(0.5, 2, 20)
    st = LatentStats.fit(z[:2000])
    good = Q.latent_radius_metric(sample_mvn(st, 1000, rng=rng), st, z[2000:], rng=rng, n_boot=50)
    bad = Q.latent_radius_metric(sample_cube(st, 1000, rng=rng, b=3.0), st, z[2000:], rng=rng, n_boot=50)
    assert good.value < 0.3 < 2.0 < bad.value
    # independent: scipy's W1 of radii from a Cholesky whitening of the fitted cloud
    w = np.linalg.inv(np.linalg.cholesky(np.cov(z[:2000], rowvar=False)))
    radius = lambda x: np.linalg.norm((x - z[:2000].mean(0)) @ w.T, axis=1)  # noqa: E731
    cube = sample_cube(st, 1000, rng=np.random.default_rng(5), b=3.0)
    bad2 = Q.latent_radius_metric(cube, st, z[2000:], rng=rng, n_boot=5)
    assert bad2.value == pytest.approx(wasserstein_distance(radius(cube), radius(z[2000:])), rel=1e-6)


def test_prdc_matches_a_direct_count_and_reads_realism_and_variety():
    rng = np.random.default_rng(13)
    real, fake = rng.normal(size=(200, 8)), rng.normal(size=(150, 8)) * 0.5  # realistic, not varied
    m = Q.prdc_metrics(fake, real, nearest_k=5)
    dr, df_, drf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    kr = np.sort(dr, axis=1)[:, 5]  # k-th neighbour, the point itself excluded
    kf = np.sort(df_, axis=1)[:, 5]
    assert m["precision"].value == pytest.approx(np.mean((drf < kr[:, None]).any(axis=0)))
    assert m["recall"].value == pytest.approx(np.mean((drf < kf[None, :]).any(axis=1)))
    assert m["density"].value == pytest.approx((drf < kr[:, None]).sum(axis=0).mean() / 5)
    assert m["coverage"].value == pytest.approx(np.mean(drf.min(axis=1) < kr))
    assert m["precision"].value > 0.9 and m["recall"].value < 0.6
    same = Q.prdc_metrics(rng.normal(size=(300, 8)), real)
    assert same["density"].value == pytest.approx(1.0, abs=0.25) and same["coverage"].value > 0.8
    far = Q.prdc_metrics(rng.normal(size=(300, 8)) + 4, real)
    assert far["precision"].value < 0.05 and far["coverage"].value < 0.05
    assert np.isnan(Q.prdc_metrics(real[:6], real)["precision"].value)


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
    # every set has the four face-manifold metrics, faces more precise than noise
    for metric in ("precision", "recall", "density", "coverage"):
        assert ("faces", metric) in v.index
    # the rate intervals are binomial-sized: wider than zero for a set with
    # both outcomes, and never past the other rate's value for 40 images
    det = df[(df.metric == "detection_rate") & (df.image_set == "faces")].iloc[0]
    p = det.value
    if 0 < p < 1:
        assert det.ci_high - det.ci_low == pytest.approx(3.92 * np.sqrt(p * (1 - p) / 40), rel=0.5)
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
