"""Tests of the chapter helpers of lsreport.generate: verdicts and path walks."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lsreport import generate as G
from lsreport import sampling as S
from lsreport.generate import BASELINE, RECONSTRUCTIONS, REAL

SETTINGS = {
    "cube b=0.5": {"sampler": "cube", "b": 0.5},
    "cube b=2": {"sampler": "cube", "b": 2.0},
    "intervals (histogram)": {"sampler": "intervals", "method": "histogram"},
    "diagonal": {"sampler": "diagonal"},
    "normal x1": {"sampler": "mvn", "shrink": 1.0},
    "normal x0.7": {"sampler": "mvn", "shrink": 0.7},
    "ellipse k=2": {"sampler": "ellipse", "k": 2.0},
    "GMM": {"sampler": "gmm"},
}
#: hand-made (detection rate, CI), (face Fréchet, CI) per set
TABLE = {
    "cube b=0.5": ((0.01, 0.0, 0.02), (0.90, 0.85, 0.95)),
    "cube b=2": ((0.03, 0.02, 0.04), (0.80, 0.75, 0.85)),
    "intervals (histogram)": ((0.30, 0.27, 0.33), (0.40, 0.37, 0.43)),
    "diagonal": ((0.45, 0.42, 0.48), (0.30, 0.28, 0.32)),
    "normal x1": ((0.70, 0.67, 0.73), (0.12, 0.11, 0.13)),
    "normal x0.7": ((0.80, 0.77, 0.83), (0.10, 0.09, 0.11)),
    "ellipse k=2": ((0.60, 0.57, 0.63), (0.15, 0.14, 0.16)),
    "GMM": ((0.78, 0.75, 0.81), (0.105, 0.095, 0.115)),
    RECONSTRUCTIONS: ((0.85, 0.82, 0.88), (0.08, 0.07, 0.09)),
    BASELINE: ((0.92, 0.89, 0.95), (0.06, 0.05, 0.07)),
}


def _replicates(table, n_boot=400, seed=0):
    """Paired replicates: a large noise term shared through the reference, a small own one."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 0.05, n_boot)
    return {name: f + shared + rng.normal(0, 0.01, n_boot) for name, (_, (f, _, _)) in table.items()}


def _metrics(table):
    rows = []
    for name, ((d, dl, dh), (f, fl, fh)) in table.items():
        rows.append({"image_set": name, "metric": "detection_rate", "value": d, "ci_low": dl, "ci_high": dh, "n": 100})
        rows.append({"image_set": name, "metric": "face_frechet", "value": f, "ci_low": fl, "ci_high": fh, "n": 50})
    rows.append({"image_set": REAL, "metric": "detection_rate", "value": 0.95, "ci_low": 0.93, "ci_high": 0.97,
                 "n": 200})
    return pd.DataFrame(rows)


def _gen(table=TABLE, settings=SETTINGS):
    labels = [*settings, RECONSTRUCTIONS] + ([BASELINE] if BASELINE in table else [])
    meta = {"replicates": {"face_frechet": {k: v.tolist() for k, v in _replicates(table).items()}}}
    return G.Generation(labels=labels, images={}, z={}, metrics=_metrics(table), settings=settings,
                        reference_z=np.zeros((1, 2)), key="test", meta=meta)


# ------------------------------------------------------------------ comparisons


def test_compare_sets_reads_values_and_intervals():
    reps = _replicates(TABLE)
    c = G.compare_sets(_metrics(TABLE), "normal x1", "diagonal", "face_frechet", replicates=reps)
    assert (c.value_a, c.value_b) == (0.12, 0.30)
    assert c.ci_a == (0.11, 0.13) and c.n_a == 50
    assert c.ratio == pytest.approx(0.4) and c.difference == pytest.approx(-0.18)
    assert c.separated and c.a_better and c.clearly_better and c.method == "paired bootstrap"
    assert c.words() == "clearly better than"
    # the interval of the difference: own noise only (sd sqrt(2) * 0.01), the
    # shared reference noise (sd 0.05) cancels
    lo, hi = c.diff_ci
    assert (lo + hi) / 2 == pytest.approx(-0.18, abs=0.004)
    assert hi - lo == pytest.approx(2 * 1.96 * np.sqrt(2) * 0.01, rel=0.2)
    # each set's own spread overlaps the other's, yet the paired difference is clear
    r = {k: v for k, v in reps.items()}
    e = G.compare_sets(_metrics(TABLE), "normal x1", "ellipse k=2", "face_frechet", replicates=r)
    assert np.quantile(r["normal x1"], 0.975) > np.quantile(r["ellipse k=2"], 0.025)
    assert e.clearly_better
    # without replicates a distance gets no verdict: its own spread cannot tell
    assert not G.compare_sets(_metrics(TABLE), "normal x1", "diagonal").separated
    with pytest.raises(KeyError, match="nowhere"):
        G.compare_sets(_metrics(TABLE), "nowhere", "diagonal")


def test_compare_sets_direction_and_overlap():
    m = _metrics(TABLE)
    # higher is better for detection: x0.7 (0.80) beats GMM (0.78), but the intervals overlap
    c = G.compare_sets(m, "normal x0.7", "GMM", "detection_rate")
    assert c.a_better and not c.separated and not c.clearly_better
    assert c.words() == "not clearly different from"
    # the two-proportion interval, against statsmodels' Wald interval
    from statsmodels.stats.proportion import confint_proportions_2indep

    lo, hi = confint_proportions_2indep(80, 100, 78, 100, method="wald")
    assert c.diff_ci == pytest.approx((lo, hi), rel=1e-9) and c.method == "two proportions"
    # lower is better for the distance: the cube is clearly worse
    assert G.compare_sets(m, "cube b=2", "diagonal", replicates=_replicates(TABLE)).words() == "clearly worse than"
    # nn_ratio: closer to 1 is better; no interval of the difference -> no "clearly"
    nn = pd.DataFrame([{"image_set": "a", "metric": "nn_ratio", "value": 1.1, "ci_low": 1.0, "ci_high": 1.2, "n": 5},
                       {"image_set": "b", "metric": "nn_ratio", "value": 0.7, "ci_low": 0.6, "ci_high": 0.8, "n": 5}])
    c = G.compare_sets(nn, "a", "b", "nn_ratio")
    assert c.a_better and not c.separated and c.method == "none"


def test_ranking_closer_to_one_sorts_by_distance_from_one():
    rows = [{"image_set": k, "metric": "nn_ratio", "value": v, "ci_low": v, "ci_high": v, "n": 10}
            for k, v in (("normal x1", 1.3), ("diagonal", 0.2), ("GMM", 0.95), ("cube b=2", 2.5))]
    settings = {k: SETTINGS[k] for k in ("normal x1", "diagonal", "GMM", "cube b=2")}
    g = G.Generation(labels=list(settings), images={}, z={}, metrics=pd.DataFrame(rows), settings=settings,
                     reference_z=np.zeros((1, 2)), key="t")
    # the memorising set (0.2) is not the best; |v - 1| orders them
    assert list(g.ranking("nn_ratio").index) == ["GMM", "normal x1", "diagonal", "cube b=2"]


def test_sampler_groups_split_by_sampler_kind():
    groups = G.sampler_groups(_gen())
    assert groups["independent"] == ["cube b=0.5", "cube b=2", "intervals (histogram)", "diagonal"]
    assert groups["joint"] == ["normal x1", "normal x0.7", "ellipse k=2", "GMM"]


# ------------------------------------------------------------------ verdict


def test_verdict_on_a_hand_made_table():
    v = G.generation_verdict(_gen())
    assert v.best == "normal x0.7" and v.worst == "cube b=0.5"
    # the real-vs-real baseline is not a sampler, and the best sampler is
    # clearly farther from the reference than held-out real faces are
    assert BASELINE not in G.Generation.ranking(_gen(), "face_frechet").index
    assert v.baseline == BASELINE and v.baseline_frechet == 0.06
    assert v.best_vs_baseline.separated and not v.best_vs_baseline.a_better and not v.best_as_close_as_real
    assert v.reconstructions_vs_baseline.difference == pytest.approx(0.02)
    assert v.best_vs_runner_up.b == "GMM" and not v.best_vs_runner_up.separated
    assert v.best_vs_worst.ratio == pytest.approx(0.10 / 0.90)
    # targets: 0.80 < 0.85 is not reached; 0.10 <= 1.5 * 0.08 = 0.12 is within
    assert v.detection.value_b == 0.85 and not v.detection_reached
    assert v.frechet.ratio == pytest.approx(1.25) and v.frechet_within
    assert not G.generation_verdict(_gen(), frechet_factor=1.2).frechet_within
    assert v.best_detection == "normal x0.7" and v.real_detection == 0.95
    # cubes: the better one detects 3 %, below the 5 % of "almost none"
    assert v.cube == "cube b=2" and v.cube_rate == 0.03 and v.cube_almost_none
    assert not G.generation_verdict(_gen(), almost_none=0.02).cube_almost_none
    # the unshrunk normal against the per-component samplers
    assert v.full == "normal x1"
    assert set(v.per_component) == {"intervals (histogram)", "diagonal"}
    assert v.full_clearly_beats_per_component


def test_verdict_when_the_full_normal_does_not_clearly_win():
    table = dict(TABLE)
    table["diagonal"] = ((0.69, 0.66, 0.72), (0.125, 0.115, 0.135))  # overlaps normal x1
    v = G.generation_verdict(_gen(table))
    assert not v.per_component["diagonal"].separated
    assert not v.full_clearly_beats_per_component
    table[RECONSTRUCTIONS] = ((0.75, 0.7, 0.8), (0.08, 0.07, 0.09))
    assert G.generation_verdict(_gen(table)).detection_reached


def test_verdict_without_cubes_or_normals():
    settings = {k: v for k, v in SETTINGS.items() if v["sampler"] not in ("cube", "mvn")}
    table = {k: v for k, v in TABLE.items() if k in settings or k == RECONSTRUCTIONS}
    v = G.generation_verdict(_gen(table, settings))
    assert v.cube is None and np.isnan(v.cube_rate) and not v.cube_almost_none
    assert v.full is None and v.per_component == {} and not v.full_clearly_beats_per_component
    assert v.best == "GMM"


# ------------------------------------------------------------------ paths


class _FakeDecoder:
    """Decodes z to flat grey images whose brightness is sigmoid(z[0])."""

    output = SimpleNamespace(shape=(None, 8, 8, 3))

    def __call__(self, z, training=False):
        z = np.asarray(z, np.float32)
        v = 1.0 / (1.0 + np.exp(-z[:, :1]))
        return np.broadcast_to(v[:, :, None, None], (len(z), 8, 8, 3)).copy()

    def predict_on_batch(self, z):  # the keras.Model method lsreport.latent.decode may use
        return self(z)


@pytest.fixture
def stats(rng):
    a = rng.normal(size=(4, 4))
    return S.LatentStats.fit(rng.multivariate_normal(np.arange(4.0), a @ a.T + np.eye(4), size=3000))


def test_walk_paths_radii_images_and_shell(stats, rng):
    paths = [S.principal_axis_path(stats, 0, n_steps=5, extent=2.0),
             S.interpolation_path(np.zeros(4), np.arange(4.0), n_steps=3, label="a to b")]
    ref = rng.multivariate_normal(stats.mean, stats.cov, size=2000)
    walk = G.walk_paths(_FakeDecoder(), stats, paths, reference_z=ref, detect=False)
    assert [im.shape for im in walk.images] == [(5, 8, 8, 3), (3, 8, 8, 3)]
    # along a principal axis the whitened radius is |t| (closed form)
    np.testing.assert_allclose(walk.radii[0], np.abs(np.linspace(-2, 2, 5)), atol=1e-5)
    # the fake decoder's brightness follows z[0]: the interpolation's end image is sigmoid(0)
    assert walk.images[1][0, 0, 0, 0] == round(255 / 2)
    # shell of a 4-D normal reference: chi(4) quantiles
    from scipy.stats import chi

    lo, hi = walk.shell
    assert lo == pytest.approx(chi.ppf(0.05, 4), rel=0.1) and hi == pytest.approx(chi.ppf(0.95, 4), rel=0.1)
    tab = walk.summary()
    assert list(tab.index) == ["principal axis 0", "a to b"]
    r, row = walk.radii[0], tab.loc["principal axis 0"]
    assert row["smallest radius"] == pytest.approx(0, abs=1e-5) and row["largest radius"] == pytest.approx(2)
    assert row["share in shell"] == pytest.approx(np.mean((r >= lo) & (r <= hi)))
    assert row["real below largest"] == pytest.approx(np.mean(walk.reference_radii <= 2.0), abs=1e-3)
    assert walk.detected is None and np.isnan(row["share with a face"])
    with pytest.raises(ValueError, match="band"):
        G.walk_paths(_FakeDecoder(), stats, paths, reference_z=ref, band=(0.9, 0.1))


def test_walk_paths_with_detection_finds_no_face_in_flat_images(stats):
    path = S.principal_axis_path(stats, 1, n_steps=3)
    walk = G.walk_paths(_FakeDecoder(), stats, [path], reference_z=stats.unwhiten(np.eye(4)))
    assert walk.detected[0].dtype == bool and not walk.detected[0].any()
    assert walk.summary()["share with a face"].iloc[0] == 0.0


def test_generation_radii_and_image_sets(stats, rng):
    z = {"a": stats.unwhiten(np.array([[3.0, 4.0, 0, 0]])), "b": stats.unwhiten(np.zeros((2, 4)))}
    gen = G.Generation(labels=["a", "b"], images={"a": np.zeros((3, 2, 2, 3)), "b": np.ones((3, 2, 2, 3))},
                       z=z, metrics=pd.DataFrame(), settings={}, reference_z=np.zeros((1, 4)), key="k")
    r = gen.radii(stats)
    np.testing.assert_allclose(r["a"], [5.0], rtol=1e-6)  # 3-4-5 in the whitened frame
    np.testing.assert_allclose(r["b"], [0.0, 0.0], atol=1e-6)
    sets = gen.image_sets(["b"], n=2)
    assert list(sets) == ["b"] and sets["b"].shape == (2, 2, 2, 3)


# ------------------------------------------------------------------ drawing


def test_plot_path_strips_and_radii(stats):
    import matplotlib.pyplot as plt

    from lsreport.plots.generation import plot_path_radii, plot_path_strips

    paths = [S.principal_axis_path(stats, 0, n_steps=3), S.plane_path(stats, (0, 1), n_steps=3)]
    walk = G.walk_paths(_FakeDecoder(), stats, paths, reference_z=stats.unwhiten(np.eye(4) * 2), detect=False)
    walk = G.PathWalk(walk.paths, walk.images, walk.radii, (np.array([True, False, False]), np.zeros(3, bool)),
                      walk.reference_radii)
    axes = plot_path_strips(walk, axes=plt.figure().subplots(2, 1))
    assert [ax.get_title() for ax in axes] == ["principal axis 0", paths[1].label]
    assert len(axes[0].patches) == 1 and len(axes[1].patches) == 0  # a frame on the detected image only
    assert axes[0].get_xlabel().startswith("t (standard")
    ax = plot_path_radii(walk, ax=plt.figure().gca())
    lines = [ln for ln in ax.get_lines() if ln.get_label() == "principal axis 0"]
    np.testing.assert_allclose(lines[0].get_ydata(), walk.radii[0])
    lo, hi = walk.shell
    band = ax.patches[0]
    span = band.get_path().transformed(band.get_patch_transform()).vertices[:, 1]
    assert span.min() == pytest.approx(lo) and span.max() == pytest.approx(hi)


def test_plot_sampler_grids_lays_out_rows():
    import matplotlib.pyplot as plt

    from lsreport.plots.generation import plot_sampler_grids

    sets = {f"s{i}": np.zeros((3, 4, 4, 3), np.uint8) for i in range(5)}
    plt.figure()
    axes = plot_sampler_grids(sets, n_images=4, ncols=2, grid_cols=2)
    assert axes.size == 6 and not axes[-1].get_visible()
    assert [ax.get_title() for ax in axes[:5]] == list(sets)
    # the missing fourth image is a white tile: each grid is 2 x 2 tiles of 4 px with a 1 px gutter
    assert axes[0].get_images()[0].get_array().shape[:2] == (9, 9)


# ------------------------------------------------------------------ tables


def test_sampler_table_lists_settings_and_groups():
    tab = G.sampler_table(_gen())
    assert list(tab.index) == list(SETTINGS)
    assert tab.loc["cube b=2", "settings"] == "b = 2" and tab.loc["cube b=2", "group"] == "independent"
    assert tab.loc["GMM", "settings"] == "-" and tab.loc["GMM", "group"] == "joint"
    assert tab.loc["normal x0.7", "sampler"] == "mvn" and "covariance" in tab.loc["normal x0.7", "description"]
    g = _gen()
    t = G.Generation(labels=["t ν=14"], images={}, z={}, metrics=g.metrics,
                     settings={"t ν=14": {"sampler": "t", "nu": 13.992362}}, reference_z=g.reference_z, key="t")
    assert G.sampler_table(t).loc["t ν=14", "settings"] == "ν = 14"
    inf = G.Generation(labels=["t ν=∞"], images={}, z={}, metrics=g.metrics,
                       settings={"t ν=∞": {"sampler": "t", "nu": float("inf")}}, reference_z=g.reference_z, key="t")
    assert G.sampler_table(inf).loc["t ν=∞", "settings"] == "ν = ∞"


def test_metric_table_cells_and_sample_sizes():
    tab = G.metric_table(_metrics(TABLE), digits=2)
    assert list(tab.index) == [*TABLE, REAL]
    det, fd = tab.columns
    # detection rests on 100 images for most sets: the header says so, the real set's cell its own n
    assert det == "face detection rate (↑), n = 100"
    assert tab.loc["diagonal", det] == "0.45 [0.42, 0.48]"
    assert tab.loc[REAL, det] == "0.95 [0.93, 0.97] (n = 200)"
    assert fd == "Fréchet face-embedding distance (↓), n = 50" and tab.loc["GMM", fd] == "0.1 [0.095, 0.12]"
    assert tab.loc[REAL, fd] == ""
    only = G.metric_table(_metrics(TABLE), ["face_frechet"])
    assert list(only.columns) == ["Fréchet face-embedding distance (↓), n = 50"]
    with pytest.raises(KeyError, match="nn_ratio"):
        G.metric_table(_metrics(TABLE), ["nn_ratio"])


def test_cell_and_labels_of():
    gen = _gen()
    assert gen.cell("diagonal", "face_frechet") == "0.300 [0.280, 0.320]"
    assert gen.cell("GMM", "detection_rate", digits=2) == "0.78 [0.75, 0.81]"
    assert gen.labels_of("cube") == ["cube b=0.5", "cube b=2"]
    assert gen.labels_of("diagonal", "gmm") == ["diagonal", "GMM"]
    with pytest.raises(KeyError):
        gen.cell(REAL, "face_frechet")


def test_radius_table_places_sets_relative_to_the_shell(stats, rng):
    d = stats.dim
    ref = stats.unwhiten(rng.standard_normal((4000, d)))  # radii ~ chi(d)
    z = {"on": stats.unwhiten(rng.standard_normal((500, d))),
         "outside": stats.unwhiten(50 * rng.standard_normal((500, d))),
         "centre": stats.unwhiten(0.01 * rng.standard_normal((500, d)))}
    gen = G.Generation(labels=list(z), images={}, z=z, metrics=pd.DataFrame(), settings={},
                       reference_z=ref, key="k")
    tab = G.radius_table(gen, stats)
    from scipy.stats import chi

    assert list(tab.index) == [*z, REAL]
    assert list(tab["median lies"]) == ["on", "outside", "inside", "on"]
    assert tab.loc[REAL, "share in shell"] == pytest.approx(0.9, abs=0.01)
    assert tab.loc["on", "share in shell"] == pytest.approx(0.9, abs=0.05)  # same law as the reference
    assert tab.loc["outside", "share in shell"] == 0.0 and tab.loc["centre", "share in shell"] == 0.0
    assert tab.loc["on", "median radius"] == pytest.approx(chi.median(d), rel=0.1)
    lo, hi = tab.attrs["shell"]
    assert lo == pytest.approx(chi.ppf(0.05, d), rel=0.1) and hi == pytest.approx(chi.ppf(0.95, d), rel=0.1)


def test_detection_by_region_counts_steps_against_the_shell(stats):
    ref = stats.unwhiten(np.array([[1.0, 0, 0, 0], [5.0, 0, 0, 0]] * 50))  # radii 1 and 5: shell [1, 5]
    path = S.principal_axis_path(stats, 0, n_steps=7, extent=6.0)  # |t| = 6 4 2 0 2 4 6
    walk = G.walk_paths(_FakeDecoder(), stats, [path], reference_z=ref, detect=False)
    assert walk.shell == pytest.approx((1.0, 5.0))
    flags = np.array([True, True, False, False, True, False, True])
    walk = G.PathWalk(walk.paths, walk.images, walk.radii, (flags,), walk.reference_radii)
    tab = G.detection_by_region(walk, walk)  # the same walk twice doubles the counts, not the rates
    assert tab.loc["inside"].tolist() == [2, 0.0]  # t = 0 only, twice
    assert tab.loc["shell", "steps"] == 8 and tab.loc["shell", "share with a face"] == pytest.approx(0.5)
    assert tab.loc["outside", "steps"] == 4 and tab.loc["outside", "share with a face"] == 1.0
    with pytest.raises(ValueError, match="detection"):
        G.detection_by_region(G.walk_paths(_FakeDecoder(), stats, [path], reference_z=ref, detect=False))


def test_mixture_fitted_to_at_most_gmm_max_fit_latents():
    from lsreport.config import load_config
    from lsreport.sampling import LatentGMM

    z = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    whole = G.fit_latent_models(load_config("smoke", {"sampling.gmm_max_fit": 300}), z)[1]
    assert np.allclose(whole.means, LatentGMM.fit(z, n_components=2, seed=1).means)
    cfg = load_config("smoke", {"sampling.gmm_max_fit": 120})
    stats, gmm = G.fit_latent_models(cfg, z)
    assert stats.n == 300  # the moments use every latent
    pick = np.sort(np.random.default_rng([cfg.run.seed, 16]).choice(300, 120, replace=False))
    assert np.allclose(gmm.means, LatentGMM.fit(z[pick], n_components=2, seed=cfg.run.seed).means)
    assert not np.allclose(gmm.means, whole.means)
    with pytest.raises(ValueError, match="gmm_max_fit = 0"):
        G.fit_latent_models(load_config("smoke", {"sampling.gmm_max_fit": 0}), z)
