"""Chapter 5's findings on clouds of known shape, and each rule's two sides."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _clouds import analysis, cloud

from lsreport.findings.cloud import CloudFindings, cloud_findings


@pytest.fixture(scope="module")
def found():
    return {k: cloud_findings(analysis(k), cloud(k), rng=np.random.default_rng(0))
            for k in ("mvn", "t5", "banana", "cube")}


def test_normal_cloud_is_roughly_multivariate_normal(found):
    f = found["mvn"]
    assert f.verdict == "roughly multivariate normal: yes"
    assert f.verdict_sentence.startswith("Yes")
    assert f.hz_calibrated


def test_t5_is_not(found):
    f = found["t5"]
    assert f.verdict == "roughly multivariate normal: no"
    assert f.spread_words == "more spread than"
    # a scale mixture: squared scores correlate, 1/(ν − 1) = 0.25 for ν = 5
    assert f.split.mean_square_correlation > 0.1
    assert 4 < f.implied_nu < 12


def test_banana_and_cube_are_not(found):
    assert found["banana"].verdict.endswith("no")
    cube = found["cube"]
    assert cube.verdict.endswith("no") and cube.spread_words == "less spread than"
    # uniform marginals: var(d²) = D · (1.8 − 1) = 0.4 · 2D
    assert cube.var_ratio == pytest.approx(0.4, abs=0.05)


def test_var_rule_two_sides(found):
    f = found["mvn"]
    tol = CloudFindings.VAR_TOL
    exp = f.maha.expected_var
    for ratio, yes in ((1 + 0.99 * tol, True), (1 + 1.01 * tol, False), (1 - 0.99 * tol, True),
                       (1 - 1.01 * tol, False)):
        m = dataclasses.replace(f.maha, var_d2=ratio * exp)
        g = dataclasses.replace(f, analysis=dataclasses.replace(f.analysis, mahalanobis=m))
        assert g.roughly_normal is yes, ratio


def test_off_centre_rule_two_sides(found):
    f = found["mvn"]
    s = CloudFindings.OFF_CENTRE_SHARE
    assert dataclasses.replace(f, share_closer_than_origin=s).off_centre
    assert not dataclasses.replace(f, share_closer_than_origin=s - 0.001).off_centre


def test_ball_rule_two_sides(found):
    f = found["mvn"]
    d = f.d
    spread = lambda pr: dataclasses.replace(f, analysis=dataclasses.replace(  # noqa: E731
        f.analysis, pca=dataclasses.replace(f.pca, explained_variance=_spectrum(d, pr))))
    assert spread(0.81 * d).ball and not spread(0.79 * d).ball


def _spectrum(d: int, pr: float) -> np.ndarray:
    """Eigenvalues (1, …, 1, x) whose participation ratio is ``pr``."""
    from scipy.optimize import brentq

    f = lambda x: (d - 1 + x) ** 2 / (d - 1 + x * x) - pr  # noqa: E731
    x = brentq(f, 1.0, 1e6)
    return np.array([x] + [1.0] * (d - 1))


def test_numbers_match_an_independent_computation(found):
    z = cloud("t5")
    f = found["t5"]
    c = z - z.mean(0)
    d2 = np.einsum("ij,jk,ik->i", c, np.linalg.inv(np.cov(z, rowvar=False)), c)
    assert f.var_ratio == pytest.approx(np.var(d2, ddof=1) / (2 * f.d), rel=0.02)
    origin = -z.mean(0) @ np.linalg.inv(np.cov(z, rowvar=False)) @ -z.mean(0)
    assert f.share_closer_than_origin == pytest.approx(np.mean(d2 < origin), abs=0.002)
    assert f.b1_expected == pytest.approx(f.d * (f.d + 1) * (f.d + 2) / f.mardia.n_sub)
    ev = np.linalg.eigvalsh(np.cov(z, rowvar=False))
    assert f.participation_ratio == pytest.approx(ev.sum() ** 2 / (ev ** 2).sum(), rel=1e-6)


def test_cube_sentence_says_what_the_next_chapter_draws(found):
    f = dataclasses.replace(found["mvn"], cube_bounds=(1.5, 2.0))
    assert f.cube_bounds_text == "1.5 and 2"
    assert f.cube_size_words == ("smaller than" if f.box.bound > 2.0 else "not smaller than")
    big = dataclasses.replace(f, cube_bounds=(1.5, f.box.bound + 1))
    assert big.cube_size_words == "not smaller than"


def test_tables_are_for_people(found):
    t = found["mvn"].pc_table(3).to_frame()
    assert t.iloc[:, 0].tolist() == ["PC 1", "PC 2", "PC 3"]
    assert not any("_" in c for c in t.columns)


def test_implied_nu_inverts_the_t_correlation(found):
    f = found["mvn"]
    t5 = dataclasses.replace(f, split=dataclasses.replace(f.split, mean_square_correlation=0.25))
    assert t5.implied_nu == pytest.approx(5.0)  # 1/(ν − 1) = 0.25
    assert t5.implied_kurtosis == pytest.approx(6.0)  # 6/(ν − 4)
    none = dataclasses.replace(f, split=dataclasses.replace(f.split, mean_square_correlation=0.0))
    assert none.implied_nu == np.inf
