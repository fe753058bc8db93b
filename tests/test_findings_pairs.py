"""Chapter 4's findings on clouds of known shape, and each rule's two sides."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _clouds import analysis, cloud

from lsreport.findings.pairs import PairFindings, angular_nonuniformity, pair_findings


@pytest.fixture(scope="module")
def found():
    return {k: pair_findings(analysis(k), cloud(k)) for k in ("mvn", "t5", "banana", "cube")}


def test_normal_cloud_pairs_are_elliptic_linear_and_normal_tailed(found):
    f = found["mvn"]
    assert f.verdict == "elliptic"
    assert f.linear and f.linear_words.startswith("agree")
    assert f.tails == "about as heavy as"
    assert f.kde_words == "below"


def test_banana_pair_is_not_elliptic(found):
    f = found["banana"]
    assert f.top_pair == (0, 1)  # the curved pair is the strongest one
    assert f.verdict == "not elliptic"
    assert f.nonuniformity[0] > 3 * f.elliptic_tolerance


def test_t5_is_elliptic_with_heavy_tails(found):
    f = found["t5"]
    assert f.verdict == "elliptic"  # a scale mixture keeps elliptic contours
    assert f.tails == "heavier than"
    assert f.linear_words == "disagree by more than sampling noise"


def test_uniform_cube_is_not_elliptic_and_light_tailed(found):
    f = found["cube"]
    assert f.verdict == "not elliptic"  # square contours
    assert f.tails == "lighter than"


def test_nonuniformity_known_values():
    rng = np.random.default_rng(1)
    n = 20_000
    xy = rng.multivariate_normal([1, 2], [[2, 1.2], [1.2, 1]], size=n)
    assert angular_nonuniformity(xy) < 3 * np.sqrt(4 / n)
    # points on the whitened circle at four angles only: |mean e^{4ikθ}| = 1 for k = 4
    t = rng.choice([0, np.pi / 2, np.pi, 3 * np.pi / 2], size=n)
    square = np.column_stack([np.cos(t), np.sin(t)])
    assert angular_nonuniformity(square) == pytest.approx(1.0, abs=0.05)


def test_elliptic_rule_two_sides(found):
    f = found["mvn"]
    tol = f.elliptic_tolerance
    assert tol == pytest.approx(PairFindings.ELLIPTIC_TOL + 2 * np.sqrt(4 / f.n_samples))
    assert dataclasses.replace(f, nonuniformity=np.array([0.99 * tol])).elliptic
    assert not dataclasses.replace(f, nonuniformity=np.array([0.01, 1.01 * tol])).elliptic


def test_linear_rule_two_sides(found):
    f = found["mvn"]
    edge = (1 + PairFindings.LIN_TOL) * f.lin_noise_sd
    assert dataclasses.replace(f, lin_rms=0.99 * edge).linear
    assert not dataclasses.replace(f, lin_rms=1.01 * edge).linear


def test_tail_rule_two_sides(found):
    f = found["mvn"]
    cov = f.coverage.copy()
    outer = cov["k"] == cov["k"].max()
    for factor, words in ((1.19, "about as heavy as"), (1.21, "heavier than"), (0.79, "lighter than")):
        c = cov.copy()
        c.loc[outer, "measured"] = 1 - factor * (1 - c.loc[outer, "expected"])
        assert dataclasses.replace(f, coverage=c).tails == words


def test_kde_rule_two_sides(found):
    f = found["mvn"]
    assert dataclasses.replace(f, kde_max_rel_diff=0.009).kde_words == "below"
    assert dataclasses.replace(f, kde_max_rel_diff=0.011).kde_words == "above"


def test_numbers_match_an_independent_computation(found):
    z = cloud("mvn")
    f = found["mvn"]
    r = np.corrcoef(z, rowvar=False)
    off = np.abs(r[np.triu_indices_from(r, 1)])
    assert f.abs_r.mean == pytest.approx(off.mean(), rel=1e-6)
    i, j = f.top_pair
    assert abs(f.top_r) == pytest.approx(off.max(), rel=1e-6) and abs(r[i, j]) == pytest.approx(off.max())
    assert f.band_expected == pytest.approx(0.0455, abs=1e-4)


def test_tables_are_for_people(found):
    t = found["mvn"].coverage_table().to_frame()
    assert list(t.columns) == ["Components", "Pearson r", "k", "Expected", "Measured", "Difference (points)"]
    assert found["mvn"].strongest_table(3).to_frame().shape == (3, 3)


def test_figure_grid_has_strong_typical_and_random_pairs():
    f = pair_findings(analysis("mvn"), cloud("mvn"), rng=np.random.default_rng(3))
    assert f.grid_titles == ("strongest", "strongest", "typical |r|", "random pair")
    assert [g.pair for g in f.grid[:2]] == [p.pair for p in f.pairs[:2]]
    assert 0.1 <= abs(f.grid[2].r) <= 0.5
    assert pair_findings(analysis("mvn"), cloud("mvn")).grid == ()
