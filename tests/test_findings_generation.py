"""Chapter 6's findings on a generation step of known outcome, and each rule's two sides."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from lsreport.config import load_config
from lsreport.findings.generation import REGION_WORDS, GenerationFindings, generation_findings
from lsreport.generate import RECONSTRUCTIONS, REAL, Generation

D = 6
SETTINGS = {"cube b=2": {"sampler": "cube", "bound": 2.0},
            "intervals": {"sampler": "intervals"},
            "diagonal": {"sampler": "diagonal"},
            "normal x1": {"sampler": "mvn", "shrink": 1.0},
            "normal x0.7": {"sampler": "mvn", "shrink": 0.7},
            "GMM": {"sampler": "gmm"}}


def _metrics(values: dict) -> pd.DataFrame:
    """Tidy metric rows ``{(set, metric): (value, half_width)}``."""
    rows = [{"image_set": s, "metric": m, "value": v, "ci_low": v - h, "ci_high": v + h, "n": 100}
            for (s, m), (v, h) in values.items()]
    return pd.DataFrame(rows)


T_LABEL = "t ν=14"


def fake_generation(rng, *, cube_rate=0.0, full_fd=1.0, per_fd=2.0, w1=None, fd=None, t_fd=None):
    settings = dict(SETTINGS) if t_fd is None else {**SETTINGS, T_LABEL: {"sampler": "t", "nu": 14.0}}
    cov = np.diag(np.linspace(0.5, 2.0, D))
    z_train = rng.multivariate_normal(np.ones(D), cov, size=3000)
    ref = rng.multivariate_normal(np.ones(D), cov, size=500)
    z = {"cube b=2": rng.uniform(-2, 2, size=(200, D)),
         "intervals": rng.uniform(-3, 5, size=(200, D)),
         "diagonal": rng.multivariate_normal(np.ones(D), cov, size=200),
         "normal x1": rng.multivariate_normal(np.ones(D), cov, size=200),
         "normal x0.7": rng.multivariate_normal(np.ones(D), 0.49 * cov, size=200),
         "GMM": rng.multivariate_normal(np.ones(D), cov, size=200),
         RECONSTRUCTIONS: rng.multivariate_normal(np.ones(D), cov, size=200)}
    if t_fd is not None:
        z[T_LABEL] = rng.multivariate_normal(np.ones(D), cov, size=200)
    fd = fd or {"cube b=2": 5.0, "intervals": per_fd, "diagonal": per_fd, "normal x1": full_fd,
                "normal x0.7": 1.5, "GMM": 1.2, RECONSTRUCTIONS: 0.8}
    w1 = w1 or {"cube b=2": 9.0, "intervals": 6.0, "diagonal": 2.0, "normal x1": 0.1,
                "normal x0.7": 0.6, "GMM": 0.2}
    det = {"cube b=2": cube_rate, "intervals": 0.3, "diagonal": 0.5, "normal x1": 0.9,
           "normal x0.7": 0.95, "GMM": 0.85, RECONSTRUCTIONS: 0.97, REAL: 0.96}
    if t_fd is not None:
        fd, w1, det = {**fd, T_LABEL: t_fd}, {**w1, T_LABEL: 0.05}, {**det, T_LABEL: 0.9}
    values = {}
    for s in settings:
        values[(s, "face_frechet")] = (fd[s], 0.05)
        values[(s, "pixel_frechet")] = (10 * fd[s], 0.5)
        values[(s, "latent_radius_w1")] = (w1[s], 0.05)
        values[(s, "copy_rate")] = (0.01, 0.005)
        values[(s, "detection_rate")] = (det[s], 0.02)
    values[(RECONSTRUCTIONS, "face_frechet")] = (fd[RECONSTRUCTIONS], 0.05)
    values[(RECONSTRUCTIONS, "detection_rate")] = (det[RECONSTRUCTIONS], 0.02)
    values[(REAL, "detection_rate")] = (det[REAL], 0.02)
    labels = [*settings, RECONSTRUCTIONS]
    shared = rng.normal(size=200) * 0.02  # paired bootstrap replicates: one reference resampling
    replicates = {"face_frechet": {k: fd[k] + shared + 0.005 * rng.normal(size=200) for k in labels}}
    gen = Generation(labels=labels, images={k: np.zeros((2, 4, 4, 3), np.uint8) for k in labels}, z=z,
                     metrics=_metrics(values), settings=settings, reference_z=ref, key="fake",
                     meta={"n_per_sampler": 200, "n_reference": 500, "n_reconstructions": 200,
                           "gmm_components": 2, "replicates": replicates})
    return gen, z_train


@pytest.fixture(scope="module")
def cfg():
    return load_config("smoke")


def make(cfg, seed=0, **kw):
    gen, z_train = fake_generation(np.random.default_rng(seed), **kw)
    return generation_findings(gen, z_train, cfg=cfg)


def test_known_outcome(cfg):
    f = make(cfg)
    assert f.best == "normal x1" and f.worst == "cube b=2"
    assert f.groups["independent"] == ["cube b=2", "intervals", "diagonal"]
    assert f.cube_words == "almost no faces"
    assert f.beats_per_component and "clearly better than every" in f.beats_sentence
    assert f.shrunk == "normal x0.7" and f.shrink_trade  # more faces, larger distance
    # the normal's own draws lie in the shell; the cube and intervals beyond it
    assert f.share_in_shell("normal x1") > 0.75
    assert f.radii.loc["intervals", "median lies"] == "outside"
    assert f.radius_table().to_frame().set_index("Image set").loc["intervals", "Median lies"] == REGION_WORDS["outside"]
    assert f.real_in_shell == pytest.approx(0.9, abs=0.01)
    assert f.radius_predicts  # w1 ranks the samplers as the Fréchet distance does


def test_not_beating_is_said_plainly(cfg):
    f = make(cfg, per_fd=1.0)  # the same distance: the paired difference is noise
    assert not f.beats_per_component
    assert f.beats_sentence.startswith("The full multivariate normal is therefore not clearly better")
    assert "in 2 of the 4 comparisons" in f.beats_sentence  # detection still clearly better


def test_almost_none_two_sides(cfg):
    below = make(cfg, cube_rate=GenerationFindings.ALMOST_NONE - 0.001)
    above = make(cfg, cube_rate=GenerationFindings.ALMOST_NONE + 0.001)
    assert below.cube_almost_none and below.cube_words == "almost no faces"
    assert not above.cube_almost_none and above.cube_words.startswith("fewer faces than real images")


def test_rho_rule_two_sides(cfg):
    f = make(cfg)
    strong = dataclasses.replace(f, rho=GenerationFindings.RHO_STRONG)
    weak = dataclasses.replace(f, rho=GenerationFindings.RHO_STRONG - 0.01)
    assert strong.radius_predicts and strong.radius_words == "the radius alone predicts the ranking"
    assert not weak.radius_predicts and "does not" in weak.radius_words


def test_rho_is_spearman_of_the_samplers(cfg):
    from scipy.stats import spearmanr

    w1 = {"cube b=2": 0.1, "intervals": 6.0, "diagonal": 2.0, "normal x1": 9.0, "normal x0.7": 0.6, "GMM": 0.2}
    f = make(cfg, w1=w1)
    fd = {k: f.gen.value(k, "face_frechet") for k in SETTINGS}
    assert f.rho == pytest.approx(spearmanr([w1[k] for k in SETTINGS], [fd[k] for k in SETTINGS])[0])
    assert not f.radius_predicts


def test_chi_shell_and_diagonal_radius(cfg):
    from scipy.stats import chi

    f = make(cfg)
    assert f.chi_shell == pytest.approx(tuple(chi.ppf([0.05, 0.95], D)))
    # independent components: diag(Σ) Σ⁻¹ ≈ I, so the root mean squared radius is about √D
    assert f.diag_rms == pytest.approx(np.sqrt(D), rel=0.1)


def test_tables_are_for_people(cfg):
    f = make(cfg)
    t = f.metric_table(["detection_rate", "face_frechet"]).to_frame()
    assert t.columns[0] == "Image set" and REAL in t["Image set"].tolist()


def test_baseline_sentence(cfg):
    f = make(cfg)
    assert f.baseline_sentence.startswith("No held-out real faces")
    gen = f.gen
    if hasattr(type(gen), "baseline"):
        from lsreport.generate import BASELINE

        m = pd.concat([gen.metrics, _metrics({(BASELINE, "face_frechet"): (0.5, 0.05)})])
        g = dataclasses.replace(gen, labels=[*gen.labels, BASELINE], metrics=m)
        assert dataclasses.replace(f, gen=g).baseline_sentence.endswith("0.550]: the distance a perfect sampler would have at this size")


def test_t_sampler_sentence_two_sides(cfg):
    f = make(cfg)
    assert f.t is None and "no samples from a multivariate t" in f.t_sentence
    better = make(cfg, t_fd=0.6)  # well below the normal's 1.0, beyond the paired noise
    assert better.t == T_LABEL and better.t_nu == 14.0 and better.t_nu_text == "14.0"
    inf = dataclasses.replace(better, gen=dataclasses.replace(
        better.gen, settings={**better.gen.settings, T_LABEL: {"sampler": "t", "nu": float("inf")}}))
    assert inf.t_nu_text == "∞"
    assert better.groups["joint"][-1] == T_LABEL
    assert "is clearly better than the normal's (difference -0.400" in better.t_sentence
    assert "90.0% against 90.0%" in better.t_sentence
    assert "not clearly different from the normal's)" in better.t_sentence  # detection 0.9 vs 0.9
    assert better.t_sentence.endswith("decode to faces closer to real ones.")
    same = make(cfg, t_fd=1.0)
    assert "is not clearly different from the normal's (difference" in same.t_sentence
    assert "gives the radii the spread" in same.t_sentence  # w1 0.05 against the normal's 0.1
    assert same.t_sentence.endswith("does not, by itself, change what the decoder makes of the points.")
    worse = make(cfg, t_fd=1.5)
    assert "clearly worse than the normal's" in worse.t_sentence
    assert worse.t_sentence.endswith("where the decoder makes worse faces.")


def test_signed_has_no_negative_zero():
    from lsreport.findings.generation import _signed

    assert _signed(-0.0001) == "+0.000" and _signed(-0.0126) == "-0.013" and _signed(0.4) == "+0.400"
