"""The controlled experiments: variants, summaries against known truth, the sweep."""

import math

import numpy as np
import pandas as pd
import pytest

from lsreport import experiments as E
from lsreport.artifacts import ArtifactMissingError, ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.experiments import (
    DESIGN,
    FOCUS,
    NORMALITY,
    SHAPE,
    SUMMARY_COLUMNS,
    MissingDataError,
    SweepResult,
    compare_to_base,
    factor_relation,
    findings,
    pretty,
    run_sweep,
    summarise_latents,
    variants,
)

# ------------------------------------------------------------ factor relation


def _linear_truth(a, sigma):
    """Population R² of each factor and canonical correlations for z = f A + noise.

    With standardised independent factors f (k) and z = f A + e,
    e ~ N(0, sigma² I): Cov(z) = AᵀA + sigma² I and Cov(z, f_j) = a_j, so the
    best linear predictor explains R²_j = a_jᵀ Cov(z)⁻¹ a_j; the squared
    canonical correlations are the eigenvalues of A Cov(z)⁻¹ Aᵀ.
    """
    s = a.T @ a + sigma**2 * np.eye(a.shape[1])
    m = a @ np.linalg.solve(s, a.T)
    r2 = np.diag(m)
    cc = np.sqrt(np.clip(np.sort(np.linalg.eigvalsh(m))[::-1], 0, None))
    return r2, cc


@pytest.fixture(scope="module")
def linear_world():
    g = np.random.default_rng(3)
    n, sigma = 3000, 0.8
    a = np.array([[2.0, 0.5, 0.0, 0.0, 0.0, 0.3],
                  [0.0, 1.0, 0.4, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.5, 0.2, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])  # the last factor is absent from z
    f = g.standard_normal((n, 4))
    z = f @ a + sigma * g.standard_normal((n, 6))
    factors = pd.DataFrame(f, columns=["big", "mid", "small", "absent"])
    return z, factors, _linear_truth(a, sigma)


def test_factor_r2_matches_the_closed_form(linear_world):
    z, factors, (r2_true, _) = linear_world
    r2, _ = factor_relation(z, factors)
    assert list(r2.index) == list(factors.columns)
    np.testing.assert_allclose(r2.to_numpy(), r2_true, atol=0.025)
    assert abs(r2["absent"]) < 0.01


def test_canonical_correlations_match_the_closed_form(linear_world):
    z, factors, (_, cc_true) = linear_world
    _, cc = factor_relation(z, factors)
    assert len(cc) == 4 and np.all(np.diff(cc) <= 0)
    np.testing.assert_allclose(cc[:3], cc_true[:3], atol=0.02)
    # the absent factor: only sampling noise, of order sqrt(d / n)
    assert cc[3] < 3 * math.sqrt(6 / len(z))


def test_factor_r2_does_not_depend_on_the_scale_of_z(linear_world):
    z, factors, _ = linear_world
    r2, cc = factor_relation(z, factors)
    for scale in (1e-3, 1e3):
        r2s, ccs = factor_relation(z * scale, factors)
        np.testing.assert_allclose(r2s.to_numpy(), r2.to_numpy(), atol=1e-6)
        np.testing.assert_allclose(ccs, cc, atol=1e-8)


def test_collinear_z_gives_the_same_canonical_correlations(linear_world):
    z, factors, _ = linear_world
    _, cc = factor_relation(z, factors)
    _, cc2 = factor_relation(np.c_[z, z[:, 0] + z[:, 1]], factors)
    np.testing.assert_allclose(cc2, cc, atol=1e-8)


# ------------------------------------------------------------------ variants


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k != "factor_overrides":
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _diff(a, b):
    fa, fb = _flat(a.to_dict()), _flat(b.to_dict())
    return {k for k in fa if fa[k] != fb[k]}


@pytest.fixture
def all_data(tmp_path, monkeypatch):
    """Every data set 'present': empty folders and files are enough to configure."""
    (tmp_path / "celeba_tight").mkdir()
    (tmp_path / "utkface").mkdir()
    (tmp_path / "olivetti_faces.mat").write_bytes(b"")
    (tmp_path / "celeba").mkdir()
    monkeypatch.setenv("LSREPORT_CELEBA", str(tmp_path / "celeba"))
    return tmp_path


@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_variants_base_first_then_one_change_each(profile, all_data):
    cfg = with_overrides(load_config(profile), {"sweep.data_root": str(all_data)})
    sw = cfg.sweep
    vs = variants(cfg)
    names = [v.name for v in vs]
    assert names[0] == "base" and vs[0].group == "base" and vs[0].overrides == {}
    assert vs[0].dataset == "celeba"  # configured, so the base uses it
    assert len(set(names)) == len(names)
    expected_latent = {f"latent {d}" for d in sw.latent_dims if d != cfg.model.latent_dim}
    assert {v.name for v in vs if v.group == "latent size"} == expected_latent
    assert {v.name for v in vs if v.group == "seed"} == {f"seed {s}" for s in sw.seeds
                                                         if s != cfg.run.seed}
    assert {v.dataset for v in vs if v.group == "data"} == set(sw.datasets) - {"celeba"}
    assert [v.name for v in vs if v.untrained] == ["untrained"]
    assert ("1 epoch" in names) == (sw.epochs > 1)

    base = E.variant_config(cfg, vs[0])
    assert (base.data.image_size, base.train.epochs) == (sw.image_size, sw.epochs)
    expected_keys = {"latent size": {"model.latent_dim"}, "batch norm": {"model.batch_norm"},
                     "seed": {"run.seed"}}
    for v in vs[1:]:
        changed = _diff(E.variant_config(cfg, v), base)
        if v.group in expected_keys:
            assert changed == expected_keys[v.group], v.name
        elif v.group == "data":
            assert changed and all(k.startswith("data.") for k in changed), v.name
        elif v.untrained:
            assert changed == set()
        else:
            assert changed == {"train.epochs"} and E.variant_config(cfg, v).train.epochs == 1


def test_base_is_synthetic_without_celeba(monkeypatch):
    monkeypatch.delenv("LSREPORT_CELEBA", raising=False)
    cfg = load_config("smoke")
    vs = variants(cfg)
    assert vs[0].dataset == "synthetic_normal"
    assert "synthetic normal" not in [v.name for v in vs]  # the base already is
    vcfg = E.variant_config(cfg, vs[0])
    assert vcfg.data.source == "synthetic"
    assert vcfg.data.synthetic.n_images == cfg.sweep.max_images


def test_missing_data_raises_missing_data_error(tmp_path, monkeypatch):
    monkeypatch.delenv("LSREPORT_CELEBA", raising=False)
    cfg = with_overrides(load_config("smoke"), {"sweep.data_root": str(tmp_path)})
    assert E.data_root(cfg) == tmp_path
    for name, what in (("utkface", "utkface"), ("celeba_tight", "celeba_tight"),
                       ("olivetti", "olivetti_faces.mat"), ("celeba", "LSREPORT_CELEBA")):
        with pytest.raises(MissingDataError, match=what):
            E._dataset_overrides(name, cfg)
    assert issubclass(MissingDataError, FileNotFoundError)
    with pytest.raises(ValueError, match="unknown data set"):
        E._dataset_overrides("mnist", cfg)
    with pytest.raises(ValueError, match="unknown synthetic law"):
        E._dataset_overrides("synthetic_cauchy", cfg)


class _FakeArtifact:
    def __init__(self, summary, d):
        self.meta = {"summary": summary, "n_images": 50, "latent_dim": d, "seconds": 0.5}

    def array(self, name):
        return np.full(4, 0.25)


def test_run_sweep_keeps_variants_with_missing_data(tmp_path, monkeypatch):
    monkeypatch.delenv("LSREPORT_CELEBA", raising=False)
    cfg = with_overrides(load_config("smoke"), {
        "sweep.data_root": str(tmp_path), "sweep.datasets": ["synthetic_normal", "utkface"]})
    summary = {c: float(i) for i, c in enumerate(SUMMARY_COLUMNS)}

    def fake_run_variant(cfg, v, store, progress=False):
        E.variant_config(cfg, v)  # raises MissingDataError like the real one
        return _FakeArtifact(summary, 4)

    monkeypatch.setattr(E, "run_variant", fake_run_variant)
    res = run_sweep(cfg, ArtifactStore(tmp_path / "store"), progress=False)
    t = res.table.set_index("name")
    assert list(t.index) == [v.name for v in variants(cfg)]
    assert t.loc["utkface", "status"].startswith("skipped: ") and "utkface" in t.loc["utkface", "status"]
    assert t.loc["utkface", list(SUMMARY_COLUMNS)].isna().all()
    assert (t.drop(index="utkface")["status"] == "done").all()
    assert "utkface" not in res.spectra and res.factor_r2 is None
    assert res.settings["base_dataset"] == "synthetic_normal"

    def missing(cfg, v, store, progress=False):
        raise ArtifactMissingError("not cached")

    monkeypatch.setattr(E, "run_variant", missing)
    with pytest.raises(ArtifactMissingError):
        run_sweep(cfg, ArtifactStore(tmp_path / "store"), progress=False)


def test_read_only_store_without_the_sweep_raises(tmp_path, monkeypatch):
    monkeypatch.delenv("LSREPORT_CELEBA", raising=False)
    cfg = load_config("smoke")
    with pytest.raises(ArtifactMissingError):
        run_sweep(cfg, ArtifactStore(tmp_path, read_only=True), progress=False)


# ------------------------------------------------------------------ summaries


@pytest.fixture(scope="module")
def smoke_cfg():
    return load_config("smoke")


@pytest.fixture(scope="module")
def mvn_summary(smoke_cfg):
    g = np.random.default_rng(5)
    eig = np.array([4.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    q, _ = np.linalg.qr(g.standard_normal((6, 6)))
    cov = q @ np.diag(eig) @ q.T
    mu = np.full(6, 3.0)
    z = g.multivariate_normal(mu, cov, size=2000)
    return summarise_latents(z, rng=np.random.default_rng(1), cfg=smoke_cfg), cov, mu, eig


def test_summary_of_a_normal_cloud(mvn_summary):
    (s, spectrum), cov, mu, eig = mvn_summary
    assert set(s) | {"psnr", "mvn_face_rate"} == set(SUMMARY_COLUMNS)
    assert s["d2_var_ratio"] == pytest.approx(1.0, abs=0.15)  # sd of the estimate ~0.05
    assert s["abs_skew_median"] < 0.15  # sd of a skewness at n = 2000: 0.055
    assert abs(s["exkurt_median"]) < 0.3
    assert s["pass_share_sub500"] == pytest.approx(0.95, abs=0.07)  # 1 - alpha
    assert s["ellipse2_error"] < 0.03
    np.testing.assert_allclose(spectrum, eig / eig.sum(), atol=0.03)
    assert s["pca_first_ratio"] == pytest.approx(eig[0] / eig.sum(), abs=0.03)
    assert s["pca_n90"] == int(np.searchsorted(np.cumsum(eig) / eig.sum(), 0.9) + 1)
    sd = np.sqrt(np.diag(cov))
    r = cov / np.outer(sd, sd)
    assert s["abs_r_mean"] == pytest.approx(np.abs(r[np.triu_indices(6, 1)]).mean(), abs=0.03)
    # centre distance in units of the rms spread: ||mu|| / sqrt(trace(cov) / d)
    assert s["centre_distance"] == pytest.approx(np.linalg.norm(mu) / np.sqrt(np.trace(cov) / 6),
                                                 rel=0.05)


def test_summary_of_a_uniform_cube(smoke_cfg, mvn_summary):
    z = np.random.default_rng(6).uniform(-1, 1, size=(2000, 6))
    s, _ = summarise_latents(z, rng=np.random.default_rng(1), cfg=smoke_cfg)
    # uniform: excess kurtosis -6/5; for independent components
    # var(d²) = d (kurt + 2), so d2_var_ratio = (kurt + 2) / 2 = 0.4
    assert s["exkurt_median"] == pytest.approx(-1.2, abs=0.1)
    assert s["d2_var_ratio"] == pytest.approx(0.4, abs=0.06)
    assert s["d2_var_ratio"] < mvn_summary[0][0]["d2_var_ratio"]
    assert s["pass_share_sub500"] < 0.5
    # the 2-sigma ellipse of an uncorrelated standardised uniform pair is a
    # circle of radius 2 cut by the square [-√3, √3]²: it holds
    # (4π - 4 (4 acos(√3/2) - √3)) / 12 = 0.926, not 1 - exp(-2) = 0.865
    covered = (4 * math.pi - 4 * (4 * math.acos(math.sqrt(3) / 2) - math.sqrt(3))) / 12
    assert s["ellipse2_error"] == pytest.approx(covered - (1 - math.exp(-2)), abs=0.02)


def test_summary_of_an_exponential_cloud(smoke_cfg):
    z = np.random.default_rng(7).exponential(size=(2000, 6))
    s, _ = summarise_latents(z, rng=np.random.default_rng(1), cfg=smoke_cfg)
    # exponential: skewness 2, excess kurtosis 6, so d2_var_ratio = (6 + 2) / 2 = 4
    assert s["abs_skew_median"] == pytest.approx(2.0, abs=0.4)
    assert s["exkurt_median"] > 3
    assert s["d2_var_ratio"] == pytest.approx(4.0, rel=0.25)
    # mean 1 and sd 1 per component: the centre is sqrt(d) sds from the origin
    assert s["centre_distance"] == pytest.approx(math.sqrt(6), rel=0.05)


# ---------------------------------------------------------- seed spread, effects


def _table(values, groups=None, names=None, status=None, dataset=None, column="d2_var_ratio"):
    n = len(values)
    names = names or [f"v{i}" for i in range(n)]
    return pd.DataFrame({"name": names, "group": groups or ["base"] + ["seed"] * (n - 1),
                         "dataset": dataset or ["celeba"] * n, "status": status or ["done"] * n,
                         column: values})


def test_seed_spread_uses_the_finished_seed_runs_only():
    t = _table([1.0, 1.2, 0.8, 5.0, np.nan],
               groups=["base", "seed", "seed", "latent size", "seed"],
               status=["done"] * 4 + ["skipped: x"])
    res = SweepResult(t, {}, None, {}, {})
    sp = res.seed_spread(["d2_var_ratio"]).loc["d2_var_ratio"]
    assert sp["mean"] == pytest.approx(1.0) and sp["count"] == 3
    assert sp["std"] == pytest.approx(np.std([1.0, 1.2, 0.8], ddof=1))


def test_compare_to_base_in_seed_sds_with_a_t_prediction_bound():
    t = _table([1.5, 1.7, 1.3, 2.5, 1.4, 7.0],
               groups=["base", "seed", "seed", "latent size", "batch norm", "data"],
               names=["base", "seed 2", "seed 3", "latent 16", "batch norm", "olivetti"],
               status=["done"] * 5 + ["skipped: not found"])
    c = compare_to_base(t, "d2_var_ratio")
    assert list(c.index) == ["latent 16", "batch norm"]  # seed runs and skipped rows left out
    assert (c["column"] == "d2_var_ratio").all() and (c["n_seeds"] == 3).all()
    assert c.loc["latent 16", "seed_sd"] == pytest.approx(0.2)
    assert c.loc["latent 16", "in_seed_sd"] == pytest.approx(5.0)
    assert c.loc["batch norm", "in_seed_sd"] == pytest.approx(-0.5)
    # t(0.975, 2 df) = 4.303 (printed tables); a new run: factor sqrt(1 + 1/3)
    assert c.loc["latent 16", "bound"] == pytest.approx(4.303 * math.sqrt(4 / 3), rel=1e-3)
    assert c.loc["latent 16", "beyond_noise"] and not c.loc["batch norm", "beyond_noise"]
    assert c.loc["latent 16", "toward_normal"] == "farther from normal"
    assert c.loc["batch norm", "toward_normal"] == "closer to normal"
    assert c.loc["latent 16", "verdict"] == "farther from normal, beyond the seed noise"
    assert c.loc["batch norm", "verdict"] == "within the seed noise"


def test_compare_to_a_reference_data_set_uses_two_single_runs():
    t = _table([1.0, 1.2, 0.8, 1.5, 0.0],
               groups=["base", "seed", "seed", "data", "data"],
               names=["base", "seed 2", "seed 3", "synthetic normal", "synthetic uniform"],
               dataset=["celeba", "celeba", "celeba", "synthetic_normal", "synthetic_uniform"],
               column="exkurt_median")
    c = compare_to_base(t, "exkurt_median", reference="synthetic_normal")
    assert list(c.index) == ["synthetic uniform"]
    row = c.loc["synthetic uniform"]
    assert row["reference"] == 1.5 and row["in_seed_sd"] == pytest.approx(-7.5)
    # t(0.975, 2 df) = 4.303; two single runs: factor sqrt(2)
    assert row["bound"] == pytest.approx(4.303 * math.sqrt(2), rel=1e-3)
    assert row["toward_normal"] == "closer to normal" and row["beyond_noise"]
    assert row["verdict"] == "closer to normal, beyond the seed noise"


def test_compare_to_base_without_a_seed_spread_says_so():
    t = _table([1.0, 3.0], groups=["base", "training"], names=["base", "untrained"],
               column="abs_r_mean")
    c = compare_to_base(t, ["abs_r_mean"])
    row = c.loc["untrained"]
    assert np.isnan(row["seed_sd"]) and not row["beyond_noise"] and row["toward_normal"] == ""
    assert row["verdict"] == "no seed spread to compare with"
    # a spread of zero and no change: zero seed sds, within the noise
    t0 = _table([0.0, 0.0, 0.0, 0.0], groups=["base", "seed", "seed", "training"],
                column="mvn_face_rate")
    assert compare_to_base(t0, "mvn_face_rate")["in_seed_sd"].iloc[0] == 0.0


def test_compare_to_base_long_format_for_several_columns():
    t = _table([1.0, 1.2, 0.8, 2.0], groups=["base", "seed", "seed", "training"])
    t["exkurt_median"] = [0.0, 0.1, -0.1, 0.3]
    c = compare_to_base(t, ["d2_var_ratio", "exkurt_median"])
    assert list(c["column"]) == ["d2_var_ratio", "exkurt_median"]
    np.testing.assert_allclose(c["in_seed_sd"], [5.0, 3.0])


def test_null_variants_fall_outside_the_bound_at_the_stated_rate():
    """Calibration by simulation: a 'variant' drawn like the seed runs is flagged ~5 % of the time."""
    g = np.random.default_rng(11)
    draws = g.normal(size=(600, 4))
    flagged = [compare_to_base(_table(list(x), groups=["base", "seed", "seed", "training"]),
                               "d2_var_ratio")["beyond_noise"].iloc[0] for x in draws]
    assert np.mean(flagged) == pytest.approx(0.05, abs=0.03)


# ------------------------------------------------------------------- findings

# Seed runs base, seed 2, seed 3 at mean + (0, +1, -1) · sd: their mean is the
# base value and their standard deviation (ddof 1) exactly sd.
_MEAN = {"psnr": 20.0, "d2_var_ratio": 1.2, "exkurt_median": 0.1, "abs_skew_median": 0.1,
         "pass_share_sub500": 0.9, "ellipse2_error": 0.02}
_SD = {"psnr": 0.1, "d2_var_ratio": 0.05, "exkurt_median": 0.05, "abs_skew_median": 0.02,
       "pass_share_sub500": 0.02, "ellipse2_error": 0.005}
# t(0.975, 2 df) = 4.303 (printed tables): one more run against the seed mean,
# and a single run against another single run
_T = 4.303
_BOUND, _LAW_BOUND = _T * math.sqrt(1 + 1 / 3), _T * math.sqrt(2)
_STRONG = {"d2_var_ratio": 10, "exkurt_median": 10, "abs_skew_median": 10}  # seed sds, away from normal


def _sweep(*, psnr_untrained=12.0, untrained=None, uniform=None, kurt_mean=0.1,
           latent=-3.0, with_uniform=True, with_factors=True):
    """A fake sweep; ``untrained`` and ``uniform`` give shifts in seed sds per column."""
    mean = {**_MEAN, "exkurt_median": kurt_mean}
    rows = [("base", "base", "synthetic_normal", 0), ("seed 2", "seed", "synthetic_normal", 1),
            ("seed 3", "seed", "synthetic_normal", -1), ("latent 8", "latent size", "synthetic_normal", 0),
            ("batch norm", "batch norm", "synthetic_normal", 0.5)]
    if with_uniform:
        rows.append(("synthetic uniform", "data", "synthetic_uniform", 0))
    rows.append(("untrained", "training", "synthetic_normal", 0))
    shifts = {"untrained": untrained or {}, "synthetic uniform": uniform or {},
              "latent 8": {"d2_var_ratio": latent}}
    table = []
    for name, group, ds, k in rows:
        row = {"name": name, "group": group, "dataset": ds, "status": "done", "latent_dim": 16,
               "n_images": 100, "seconds": 1.0, **{c: 0.5 for c in SUMMARY_COLUMNS}}
        for c, m in mean.items():
            row[c] = m + (k + shifts.get(name, {}).get(c, 0)) * _SD[c]
        table.append(row)
    table = pd.DataFrame(table)
    table.loc[table["name"] == "untrained", "psnr"] = psnr_untrained
    r2 = canonical = None
    if with_factors:
        r2 = pd.DataFrame({"hair_length": [0.9, 0.8], "skin_tone": [0.5, 0.6], "eye_size": [0.2, 0.1]},
                          index=["base", "latent 8"])
        canonical = {"base": np.array([0.95, 0.3]), "latent 8": np.array([0.9, 0.2])}
    return SweepResult(table, {}, r2, canonical or {}, {})


def _uniform_law(shift_sd):
    """The share of the factors' kurtosis change (-1.2 for uniform factors) seen in z."""
    return shift_sd * _SD["exkurt_median"] / -1.2


TRAINING_CLEAR = "The trained networks therefore differ clearly from their initial state."
TRAINING_BARELY = ("With less than 1 dB the trained networks of this build have barely left their "
                   "initial state, so this comparison says little about training.")
LAW_DILUTED = ("the encoder's sums dilute the factors' law rather than pass it on, so a "
               "normal-looking cloud does not require normal factors.")
LAW_REACHES = ("much of the factors' law reaches z, so the data's distribution is part of what "
               "shapes the cloud.")
LAW_UNSURE = ("within two such deviations the seed noise does not say whether less or more than "
              "half of the factors' law reaches z.")
SERIES = ("Measured against the seed noise, this sweep {}, and it {} find the law of the "
          "generating factors in z beyond the seed noise.")
BOTH = "Training and the factor law both matter, so the architecture alone does not explain the shape."
TRAINING_ONLY = "Training matters here; the factor law does not reach z measurably."
LAW_ONLY = ("The factor law reaches z measurably, with {:.0%} of the factors' kurtosis change, "
            "so the data are part of the answer.")
BARELY = "With networks this barely trained, the sweep cannot tell the explanations apart."
NOTHING = ("Neither training nor the factor law shows a clear effect, which leaves the architectural "
           "explanation standing: every latent component sums many convolutional features, before "
           "training as after, and such sums are close to normal whatever the law of their terms.")


def _beyond_by_hand(sweep):
    """Count (variant, measure) pairs outside the prediction bound, and those farther from normal."""
    t = sweep.table.set_index("name")
    seeds = t[t["group"].isin(["base", "seed"])]
    beyond = far = 0
    for name, row in t[~t["group"].isin(["base", "seed"])].iterrows():
        for c in FOCUS:
            m, s = seeds[c].mean(), seeds[c].std(ddof=1)
            if abs(row[c] - m) / s > _BOUND:
                beyond += 1
                far += abs(row[c] - E.NORMAL_VALUES[c]) > abs(m - E.NORMAL_VALUES[c])
    return beyond, far


def test_findings_strong_training_effect():
    sweep = _sweep(untrained=_STRONG, uniform={"exkurt_median": -2})
    f = findings(sweep, seed=0)
    assert f.psnr_gain == pytest.approx(20.0 - 12.0)
    assert not f.barely_trained
    # untrained: 10 seed sds on three of the five measures, all away from normal
    assert f.u_far == 3 and f.training_matters
    assert (f.n_beyond, f.n_far) == _beyond_by_hand(sweep) == (3, 3)
    assert f.u_d2.value == pytest.approx(1.2 + 10 * 0.05)
    assert f.u_d2.reference == pytest.approx(1.2) and f.u_d2.in_seed_sd == pytest.approx(10.0)
    assert f.u_d2.verdict == "farther from normal, beyond the seed noise"
    assert f.u_kurt.in_seed_sd == pytest.approx(10.0)
    assert f.bn_d2.in_seed_sd == pytest.approx(0.5) and f.bn_d2.verdict == "within the seed noise"
    assert not f.law_matters
    assert f.training_sentence == TRAINING_CLEAR
    assert f.series_sentence == SERIES.format("supports the part about training", "does not")
    assert f.conclusion_sentence == TRAINING_ONLY
    assert f.bound == pytest.approx(_BOUND, rel=1e-3) and f.n_seeds == 3 and f.n_seed_runs == 3
    # two of the five measures are no majority
    two = findings(_sweep(untrained={"d2_var_ratio": 10, "exkurt_median": 10}), seed=0)
    assert two.u_far == 2 and not two.training_matters and two.conclusion_sentence == NOTHING


def test_findings_factor_law_reaching_z():
    sweep = _sweep(uniform={"exkurt_median": -20, "d2_var_ratio": -1})
    f = findings(sweep, seed=0)
    # the uniform variant against the normal-factor one, a single run each
    assert f.uni.reference == pytest.approx(0.1) and f.uni.value == pytest.approx(0.1 - 20 * 0.05)
    assert f.uni.bound == pytest.approx(_LAW_BOUND, rel=1e-3)
    assert f.uni.verdict == "farther from normal, beyond the seed noise"
    assert f.uni_d2.value == pytest.approx(1.2 - 0.05) and f.uni_d2.verdict == "within the seed noise"
    assert f.law_matters and not f.training_matters
    # uniform factors: excess kurtosis -6/5 (closed form)
    assert f.uniform_kurt == pytest.approx(-1.2, abs=0.05)
    assert f.inherited == pytest.approx(_uniform_law(-20), rel=0.05)
    assert f.inherited_sd == pytest.approx(0.05 * math.sqrt(2) / 1.2, rel=0.05)
    assert f.law_sentence == LAW_REACHES
    assert f.series_sentence == SERIES.format("does not support the part about training", "does")
    assert f.conclusion_sentence == LAW_ONLY.format(f.inherited)  # f.inherited checked above
    both = findings(_sweep(untrained=_STRONG, uniform={"exkurt_median": -20}), seed=0)
    assert both.training_matters and both.law_matters and both.conclusion_sentence == BOTH


def test_findings_barely_trained():
    # kurtosis 1.0 in the seed runs, 0.4 with uniform factors: beyond the noise
    # but closer to normal, so the law does not "matter"; half of it inherited
    sweep = _sweep(psnr_untrained=19.5, untrained=_STRONG, kurt_mean=1.0,
                   uniform={"exkurt_median": -12})
    f = findings(sweep, seed=0)
    assert f.psnr_gain == pytest.approx(0.5) and f.barely_trained
    assert f.training_matters  # a clear effect, but of networks that barely trained
    assert f.uni.verdict == "closer to normal, beyond the seed noise" and not f.law_matters
    assert f.inherited == pytest.approx(0.5, abs=0.03)
    assert f.law_sentence == LAW_UNSURE
    assert f.training_sentence == TRAINING_BARELY
    assert f.series_sentence == SERIES.format(
        "cannot test the part about training (its networks barely trained)", "does not")
    assert f.conclusion_sentence == BARELY
    assert findings(sweep, seed=0, psnr_tol=0.4).conclusion_sentence == TRAINING_ONLY


def test_findings_nothing_beyond_the_noise():
    sweep = _sweep(untrained={c: 2 for c in FOCUS}, uniform={"exkurt_median": -3})
    f = findings(sweep, seed=0)
    assert (f.n_beyond, f.n_far, f.u_far) == (0, 0, 0) == (*_beyond_by_hand(sweep), 0)
    assert not (f.barely_trained or f.training_matters or f.law_matters)
    assert f.inherited + 2 * f.inherited_sd < 0.5 and f.law_sentence == LAW_DILUTED
    assert f.series_sentence == SERIES.format("does not support the part about training", "does not")
    assert f.conclusion_sentence == NOTHING
    assert f.latent_d2_text == "latent 8: -3.0"
    # the effects table: variants as rows, the focus measures as columns
    fx = f.effects_table
    assert list(fx.columns) == list(FOCUS)
    assert list(fx.index) == ["latent 8", "batch norm", "synthetic uniform", "untrained"]
    np.testing.assert_allclose(fx.loc["untrained"], 2.0)
    assert fx.loc["synthetic uniform", "exkurt_median"] == pytest.approx(-3.0)


def test_findings_factor_recovery():
    f = findings(_sweep(), seed=0, r2_good=0.5)
    assert f.r2.name == "base" and len(f.r2) == 3
    assert f.recovered == ["hair length"]  # R² of exactly r2_good does not count
    assert f.not_recovered == ["skin tone", "eye size"]
    assert f.recovered_text == "hair length" and f.not_recovered_text == "skin tone, eye size"
    assert f.top_canonical == 0.95
    assert findings(_sweep(), seed=0, r2_good=0.95).recovered_text == "none"


def test_findings_without_the_optional_variants():
    t = _sweep(with_uniform=False, with_factors=False).table
    f = findings(SweepResult(t[t["name"] != "latent 8"], {}, None, {}, {}), seed=0)
    assert f.uni.verdict == "did not run" and np.isnan(f.uni.value) and not f.law_matters
    assert f.r2 is None and f.recovered_text == "none" and np.isnan(f.top_canonical)
    assert f.latent_d2_text == "nothing (none ran)"
    assert f.n_variants == 5 and f.n_skipped == 0


def test_table_groups_show_every_summary_number_once():
    assert sorted(NORMALITY + SHAPE) == sorted(SUMMARY_COLUMNS)
    assert not set(DESIGN) & set(SUMMARY_COLUMNS)
    assert set(FOCUS) <= set(E.NORMAL_VALUES)


def test_pretty_rounds_and_spaces_the_column_names():
    frame = pd.DataFrame({"d2_var_ratio": [1.23456], "n": [2.0]}).rename_axis(columns="column")
    out = pretty(frame, 2)
    assert list(out.columns) == ["d2 var ratio", "n"] and out.columns.name is None
    assert out.iloc[0, 0] == 1.23
    assert list(frame.columns) == ["d2_var_ratio", "n"]  # the input is left alone


# ----------------------------------------------------------------- end to end


@pytest.mark.slow
def test_tiny_sweep_end_to_end(tmp_path, monkeypatch):
    from lsreport import pipeline

    monkeypatch.delenv("LSREPORT_CELEBA", raising=False)
    monkeypatch.setenv("LSREPORT_CACHE", str(tmp_path / "cache"))
    cfg = load_config("smoke", {
        "sweep.latent_dims": [], "sweep.seeds": [1], "sweep.max_images": 128,
        "sweep.n_samples": 8, "sweep.datasets": ["synthetic_normal", "olivetti"],
        "sweep.data_root": str(tmp_path / "no-data")})
    res = run_sweep(cfg, pipeline.store_for(cfg), progress=False)
    t = res.table.set_index("name")
    assert list(t.index) == [v.name for v in variants(cfg)]
    assert list(t.index) == ["base", "batch norm", "olivetti", "untrained"]
    assert t.loc["olivetti", "status"].startswith("skipped: ")
    done = t[t["status"] == "done"]
    assert len(done) == 3 and done[list(SUMMARY_COLUMNS)].notna().all().all()
    assert (done["n_images"] == 128).all() and (done["latent_dim"] == cfg.model.latent_dim).all()
    for name in done.index:
        sp = res.spectra[name]
        assert len(sp) == cfg.model.latent_dim and sp.sum() == pytest.approx(1.0)
    # every variant is synthetic here, so every finished one has factor R²
    assert sorted(res.factor_r2.index) == sorted(done.index)
    assert res.factor_r2.shape[1] == 16 and (res.factor_r2.to_numpy() <= 1).all()
    assert all(len(res.canonical[n]) > 0 for n in done.index)

    def no_compute(*a, **k):
        raise AssertionError("the read-only sweep recomputed something")

    monkeypatch.setattr(E, "summarise_latents", no_compute)
    monkeypatch.setattr(pipeline, "model", no_compute)
    again = run_sweep(cfg, pipeline.store_for(cfg, read_only=True), progress=False)
    pd.testing.assert_frame_equal(again.table, res.table)
    pd.testing.assert_frame_equal(again.factor_r2, res.factor_r2)


def test_findings_dimension_free_kurtosis_degenerate_and_wording():
    from lsreport.experiments import book_table

    sweep = _sweep()
    t = sweep.table
    # closed form: kappa = (2 r + D)/(D + 2); r = 27, D = 256 -> 310 / 258
    t.loc[t["name"] == "latent 8", ["latent_dim", "d2_var_ratio", "n_images"]] = [256, 27.0, 400]
    f = findings(sweep, seed=0)
    k = f.kurtosis.loc["latent 8"]
    assert k.kurtosis_ratio == pytest.approx(310 / 258)
    assert k.implied_nu == pytest.approx((4 * 310 / 258 - 2) / (310 / 258 - 1))
    # 400 images for 256 dimensions: fewer than 5 per dimension -> degenerate; 100 for 16 is not
    assert f.degenerate == ["latent 8"]
    assert "400 images for 256 dimensions" in f.degenerate_text
    assert "d2_var_ratio" not in f.untrained_sentence and "seed sds" not in f.untrained_sentence
    assert "the detector does not see cartoons" in f.cartoon_text
    assert "untrained" not in f.cartoon_text  # only the base and the data variants
    headers = book_table(f.table, ["d2_var_ratio", "mardia_skew_p"]).header
    assert headers == ("Variant", "var(d²) / 2D", "Mardia skewness p")
    fx = book_table(f.effects_table, ["pass_share_sub500"], digits=2, plain=True).to_frame()
    assert not fx.iloc[:, 1].str.contains("%").any()
