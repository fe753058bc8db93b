"""Pearson matrix, clustering order, strongest pairs, |r| summary, linearity."""

import numpy as np
import pytest
from scipy import stats

from lsreport import stats as lst


def test_matrix_matches_numpy(rng):
    z = rng.normal(size=(3000, 7)) @ rng.normal(size=(7, 7))
    r = lst.correlations(z)
    np.testing.assert_allclose(r.r, np.corrcoef(z, rowvar=False), atol=1e-12)
    np.testing.assert_array_equal(np.diag(r.r), 1.0)
    assert r.n_samples == 3000 and r.d == 7


def test_more_dimensions_than_samples_is_fine_for_correlations(rng):
    z = rng.normal(size=(10, 20))
    np.testing.assert_allclose(lst.correlations(z).r, np.corrcoef(z, rowvar=False), atol=1e-12)


def test_clustering_order_puts_blocks_together(rng):
    n = 4000
    blocks = [[0, 5, 9], [1, 3, 7, 10], [2, 4, 6, 8, 11]]
    z = rng.normal(size=(n, 12)) * 0.5
    for b in blocks:
        f = rng.normal(size=n)
        signs = rng.choice([-1.0, 1.0], size=len(b))  # anti-correlation also groups
        z[:, b] += np.outer(f, signs)
    r = lst.correlations(z)
    assert sorted(r.order.tolist()) == list(range(12))
    pos = {c: k for k, c in enumerate(r.order)}
    for b in blocks:
        p = sorted(pos[c] for c in b)
        assert p[-1] - p[0] == len(b) - 1, (b, r.order)
    # the reordered matrix is the correlation matrix of the reordered columns
    np.testing.assert_allclose(r.ordered(), np.corrcoef(z[:, r.order], rowvar=False), atol=1e-12)


def test_strongest_pairs_finds_planted_pairs(rng):
    n = 5000
    z = rng.normal(size=(n, 10))
    z[:, 7] = 0.9 * z[:, 3] + np.sqrt(1 - 0.81) * z[:, 7]
    z[:, 1] = -0.7 * z[:, 5] + np.sqrt(1 - 0.49) * z[:, 1]
    pairs = lst.correlations(z).strongest_pairs(3)
    assert pairs.pairs()[:2] == [(3, 7), (1, 5)]
    assert pairs.r[0] == pytest.approx(0.9, abs=0.02)
    assert pairs.r[1] == pytest.approx(-0.7, abs=0.03)
    assert np.all(np.diff(np.abs(pairs.r)) <= 0)
    assert np.all(pairs.i < pairs.j)
    df = pairs.to_frame()
    assert list(df.columns) == ["i", "j", "r"] and len(df) == 3
    assert list(df.index) == [1, 2, 3] and df.loc[1, "r"] == pairs.r[0]
    assert len(lst.correlations(z).strongest_pairs(1000)) == 45


def test_abs_r_summary_against_independence_noise(rng):
    n, d = 2000, 40
    r = lst.correlations(rng.normal(size=(n, d)))
    s = r.summary()
    assert s.n_pairs == d * (d - 1) // 2
    # closed form: E|r| = sqrt(2 / (pi (n - 1))) for independent normals
    assert s.mean == pytest.approx(np.sqrt(2 / (np.pi * (n - 1))), rel=0.1)
    assert s.noise_mean == pytest.approx(np.sqrt(2 / (np.pi * (n - 1))))
    assert s.share_significant == pytest.approx(0.05, abs=0.03)
    a = np.abs(r.offdiagonal())
    assert s.share_above_01 == np.mean(a > 0.1)
    assert s.max == a.max()
    assert s.q90 == pytest.approx(np.quantile(a, 0.9))


def test_linearity_normal_relation_holds_for_gaussian_data(rng):
    cov = np.array([[1, 0.8, -0.3], [0.8, 1, 0.0], [-0.3, 0.0, 1]])
    z = rng.multivariate_normal(np.zeros(3), cov, size=30_000)
    res = lst.linearity_check(z, rng=rng, n_sub=20_000)
    assert res.n_sub == 20_000
    # the deviation of normal data is noise of its own (small) scale; using
    # Pearson's r itself as the "expected" Spearman would be 4-5 of them off
    assert res.max_abs_deviation < 4 * res.deviation_noise_sd
    # the expected value against Spearman's coefficient of a large simulated
    # bivariate normal sample (independent of the closed form)
    big = rng.multivariate_normal(np.zeros(3), cov, size=400_000)
    sim = stats.spearmanr(big).statistic[np.triu_indices(3, k=1)]
    np.testing.assert_allclose(res.spearman_expected, sim, atol=0.01)


def test_linearity_flags_monotone_nonlinear_dependence(rng):
    x = rng.normal(size=6000)
    z = np.column_stack([x, np.exp(2 * x), rng.normal(size=6000)])
    res = lst.linearity_check(z, rng=rng)
    assert res.max_abs_deviation > 0.2  # Spearman ~1, Pearson far lower
    assert res.max_abs_deviation > 10 * res.noise_sd


def test_deviation_noise_matches_simulated_normal_pairs(rng):
    # independent truth: many bivariate normal samples, the spread of Spearman
    # minus its normal-theory value; far below the spread of Spearman itself
    n, reps = 400, 1500
    devs = {0.0: [], 0.9: []}
    for r, out in devs.items():
        for _ in range(reps):
            xy = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=n)
            p = np.corrcoef(xy.T)[0, 1]
            out.append(stats.spearmanr(xy).statistic - 6 / np.pi * np.arcsin(p / 2))
    res = lst.linearity_check(rng.normal(size=(n, 3)), rng=rng)
    assert np.std(devs[0.0]) == pytest.approx(res.deviation_noise_sd, rel=0.08)
    assert np.std(devs[0.9]) < res.deviation_noise_sd
    # Spearman's own noise under independence (6 % too wide with the 1.06
    # factor): 6000 independent pairs, ranks per pair
    ranks = stats.rankdata(rng.normal(size=(6000, n, 2)), axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    spear0 = (ranks[..., 0] * ranks[..., 1]).sum(axis=1) / (ranks[..., 0] ** 2).sum(axis=1)
    assert np.std(spear0) == pytest.approx(res.noise_sd, rel=0.025)
