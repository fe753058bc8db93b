"""Chapter 3's findings on clouds of known shape, and each rule's two sides."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _clouds import analysis, cloud

from lsreport.findings.components import ComponentFindings, component_findings


@pytest.fixture(scope="module")
def found():
    return {k: component_findings(analysis(k), cloud(k)) for k in ("mvn", "t5", "cube")}


def test_normal_cloud_has_gaussian_components(found):
    f = found["mvn"]
    assert f.verdict == "Gaussian components: yes"
    assert f.bell_shaped and f.tails == "as heavy as" and f.sub_as_expected
    assert f.share_small_effect == 1.0


def test_uniform_cube_has_no_gaussian_components(found):
    f = found["cube"]
    assert f.verdict == "Gaussian components: no"
    assert f.tails == "lighter than"  # a uniform marginal has excess kurtosis −1.2
    assert f.median_kurt == pytest.approx(-1.2, abs=0.1)
    assert f.share_small_effect == 0.0


def test_t5_marginals_are_heavy_tailed_not_gaussian(found):
    f = found["t5"]
    assert f.verdict == "Gaussian components: no"
    assert f.tails == "heavier than"
    assert f.sub_departures.startswith("find departures")


def test_r2_rule_two_sides(found):
    f = found["mvn"]
    r2 = ComponentFindings.R2_GOOD
    below = dataclasses.replace(f, r_squared=np.full(5, r2 - 1e-4))
    at = dataclasses.replace(f, r_squared=np.full(5, r2))
    assert not below.bell_shaped and below.verdict.endswith("no")
    assert at.bell_shaped and at.verdict.endswith("yes")
    assert at.share_r2_good == 1.0 and below.share_r2_good == 0.0


def test_tail_rule_two_sides(found):
    f = found["mvn"]
    edge = ComponentFindings.TAIL_SE * f.se_kurt
    inside = dataclasses.replace(f, excess_kurtosis=np.full(5, 0.99 * edge))
    outside = dataclasses.replace(f, excess_kurtosis=np.full(5, 1.01 * edge))
    lighter = dataclasses.replace(f, excess_kurtosis=np.full(5, -1.01 * edge))
    assert (inside.tails, outside.tails, lighter.tails) == ("as heavy as", "heavier than", "lighter than")


def test_pass_share_rule_two_sides(found):
    f = found["mvn"]
    tol = f.pass_tolerance
    assert tol > ComponentFindings.PASS_TOL  # plus the binomial noise of the pooled share
    near = dataclasses.replace(f, sub_pass_ad=np.array([f.sub_expected - 0.99 * tol]))
    far = dataclasses.replace(f, sub_pass_ad=np.array([f.sub_expected - 1.01 * tol]))
    assert near.sub_as_expected and near.sub_departures.startswith("find no more")
    assert not far.sub_as_expected and far.sub_words == "below"
    assert far.sub_departures.startswith("find departures")


def test_majority_rule_two_sides(found):
    f = found["mvn"]
    m = ComponentFindings.MAJORITY
    assert not dataclasses.replace(f, share_small_effect=m).gaussian
    assert dataclasses.replace(f, share_small_effect=m + 0.01).gaussian


def test_numbers_match_an_independent_computation(found):
    from scipy import stats as st

    z = cloud("mvn")
    f = found["mvn"]
    assert f.median_abs_skew == pytest.approx(np.median(np.abs(st.skew(z))), rel=1e-6)
    assert f.se_kurt == pytest.approx(np.sqrt(24 / len(z)), rel=0.02)
    d = [st.kstest((z[:, j] - z[:, j].mean()) / z[:, j].std(ddof=1), "norm").statistic for j in range(z.shape[1])]
    assert f.median_d == pytest.approx(np.median(d), rel=1e-3)
    assert f.std_ratio == pytest.approx(z.std(0, ddof=1).max() / z.std(0, ddof=1).min(), rel=1e-6)


def test_tables_are_for_people(found):
    f = found["mvn"]
    fits = f.fit_table(f.analysis.components, 3).to_frame()
    assert list(fits.columns)[0] == "Component" and len(fits) == 3
    assert not any("_" in c for c in fits.columns)
    passing = f.pass_table(f.analysis.goodness, f.analysis.subsample_goodness).to_frame()
    assert passing.columns[0] == "Test" and passing.iloc[:, 1].str.endswith("%").all()
