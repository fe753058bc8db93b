"""The controlled experiments: variants, summaries against known truth, the sweep."""

import math

import numpy as np
import pandas as pd
import pytest

from lsreport import experiments as E
from lsreport.artifacts import ArtifactMissingError, ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.experiments import (
    SUMMARY_COLUMNS,
    MissingDataError,
    SweepResult,

    compare_to_base,
    factor_relation,
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
