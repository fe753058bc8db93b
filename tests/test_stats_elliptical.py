"""Elliptical tests: expected values from closed forms and simulations with known truth."""

import numpy as np
import pytest
from scipy import stats as sps

from lsreport.stats import fit_pca
from lsreport.stats import elliptical as E


def _mvt(n, d, nu, rng, rho=0.5):
    """Multivariate t with covariance of unit diagonal and correlation rho (known truth)."""
    cov = np.full((d, d), rho) + (1 - rho) * np.eye(d)
    g = rng.multivariate_normal(np.zeros(d), cov * (nu - 2) / nu, size=n)
    w = rng.chisquare(nu, size=(n, 1)) / nu
    return g / np.sqrt(w)


def test_kurtosis_ratio_and_implied_dof_recover_t(rng):
    z = _mvt(200_000, 6, 12.0, rng)
    pca = fit_pca(z)
    d2 = (pca.transform(z, whiten=True) ** 2).sum(1)
    kappa = E.kurtosis_ratio(d2, 6)
    # (nu - 2) / (nu - 4) = 10 / 8
    assert kappa == pytest.approx(1.25, rel=0.03)
    assert E.implied_t_dof(kappa) == pytest.approx(12.0, rel=0.15)
    ratio = d2.var() / 12
    assert E.kurtosis_ratio_from_var(ratio, 6) == pytest.approx(kappa, rel=2e-3)


def test_normal_is_kappa_one_and_infinite_dof(rng):
    x = rng.normal(size=(200_000, 5))
    d2 = (x**2).sum(1)
    assert E.kurtosis_ratio(d2, 5) == pytest.approx(1.0, abs=0.01)
    assert E.implied_t_dof(0.999) == np.inf
    assert np.isnan(E.implied_t_dof(np.nan))
    np.testing.assert_allclose(E.implied_t_dof(np.array([1.2, 1.5])), [14.0, 8.0])


def test_var_ratio_grows_with_d_but_kappa_does_not(rng):
    """The reason for a dimension-free measure: var(d²)/2D of one t law grows with D."""
    nu = 15.0
    kap = (nu - 2) / (nu - 4)
    for d in (16, 256):
        ratio = (kap * d * (d + 2) - d * d) / (2 * d)  # closed form
        assert E.kurtosis_ratio_from_var(ratio, d) == pytest.approx(kap)
    assert (kap * 256 * 258 - 256**2) / 512 > 5 * (kap * 16 * 18 - 16**2) / 32


def test_t_outside_ellipse_against_simulation(rng):
    z = _mvt(400_000, 2, 15.0, rng, rho=0.3)
    cov = np.cov(z, rowvar=False)
    d2 = np.einsum("ij,jk,ik->i", z, np.linalg.inv(cov), z)
    assert np.mean(d2 > 9) == pytest.approx(E.t_outside_ellipse(3, 15.0), rel=0.05)
    assert E.t_outside_ellipse(3, np.inf) == pytest.approx(np.exp(-4.5))
    with pytest.raises(ValueError):
        E.t_outside_ellipse(3, 2.0)


def test_kendall_matches_arcsin_for_elliptical_not_for_transformed(rng):
    z = _mvt(20_000, 2, 8.0, rng, rho=0.6)
    ok = E.kendall_vs_pearson(z, [(0, 1)], rng=rng, n_null=15, max_points=3000).iloc[0]
    assert abs(ok.in_null_sd) < 4
    assert ok.tau_elliptical == pytest.approx(2 / np.pi * np.arcsin(ok.pearson_r))
    # a monotone transform keeps tau, changes r: no longer elliptical
    g = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=20_000)
    bent = np.column_stack([g[:, 0], np.exp(1.5 * g[:, 1])])
    bad = E.kendall_vs_pearson(bent, [(0, 1)], rng=rng, n_null=15, max_points=3000).iloc[0]
    assert bad.kendall_tau == pytest.approx(sps.kendalltau(g[:3000, 0], g[:3000, 1]).statistic, abs=0.05)
    assert abs(bad.in_null_sd) > 6


def test_d2_excess_sums_and_splits(rng):
    z = _mvt(100_000, 8, 10.0, rng)
    pca = fit_pca(z)
    e = E.d2_excess_by_component(z, pca)
    assert e.own.sum() + e.shared.sum() == pytest.approx(e.excess, rel=1e-6)
    kap = 8 / 6  # (nu - 2) / (nu - 4)
    # scale mixture: own 3(k-1), shared (d-1)(k-1) per axis; own share 3/(d+2)
    assert np.median(e.own) == pytest.approx(3 * (kap - 1), rel=0.3)
    assert np.median(e.shared) == pytest.approx(7 * (kap - 1), rel=0.3)
    assert e.own_share == pytest.approx(e.elliptical_own_share, abs=0.1)
    blocks = e.by_block((0.5, 1.0))
    assert blocks["share_of_excess"].sum() == pytest.approx(1.0)
    assert list(blocks["last"]) == [4, 8]
    lap = rng.laplace(size=(100_000, 4)) * [4.0, 3.0, 2.0, 1.0]  # distinct variances: PCA keeps the axes
    el = E.d2_excess_by_component(lap, fit_pca(lap))
    assert el.own_share > 0.9


def test_pick_pairs_groups(rng):
    r = np.eye(6)
    r[0, 1] = r[1, 0] = 0.9
    r[2, 3] = r[3, 2] = 0.3
    r[4, 5] = r[5, 4] = 0.2
    p = E.pick_pairs(r, rng=rng, n=1)
    assert p["strongest"] == [(0, 1)]
    assert p["typical"][0] in [(2, 3), (4, 5)]
    assert p["random"][0] not in p["strongest"] + p["typical"]


def test_order_statistic_band_covers_simulated_order_statistics(rng):
    n, p = 500, np.array([0.01, 0.5, 0.99])
    lo, hi = E.order_statistic_band(p, n, 0.9)
    k = np.clip(np.round(p * n + 0.5), 1, n).astype(int) - 1
    sims = np.sort(rng.uniform(size=(4000, n)), axis=1)[:, k]
    inside = np.mean((sims >= lo) & (sims <= hi), axis=0)
    np.testing.assert_allclose(inside, 0.9, atol=0.02)


def test_sample_t_has_the_covariance_and_the_kurtosis_of_its_nu(rng):
    from lsreport.sampling import SAMPLERS, LatentStats, sample_t

    z = rng.multivariate_normal(np.zeros(4), np.diag([4.0, 2.0, 1.0, 0.5]), size=5000)
    st = LatentStats.fit(z)
    x = sample_t(st, 200_000, rng=rng, nu=10.0).astype(float)
    np.testing.assert_allclose(np.cov(x, rowvar=False), st.cov, rtol=0.05, atol=0.03)
    d2 = st.mahalanobis(x) ** 2
    # (nu - 2) / (nu - 4) = 8 / 6 for nu = 10 (closed form of the t's kurtosis ratio)
    assert E.kurtosis_ratio(d2, 4) == pytest.approx(8 / 6, rel=0.05)
    assert "t" in SAMPLERS
    with pytest.raises(ValueError):
        sample_t(st, 10, rng=rng, nu=2.0)


def test_kendall_null_of_a_t_is_wider_than_the_normal_null(rng):
    z = _mvt(20_000, 2, 5.0, rng, rho=0.6)
    a = E.kendall_vs_pearson(z, [(0, 1)], rng=np.random.default_rng(3), n_null=40, max_points=3000)
    b = E.kendall_vs_pearson(z, [(0, 1)], rng=np.random.default_rng(3), n_null=40, max_points=3000, nu=5.0)
    assert b.null_sd.iloc[0] > 1.3 * a.null_sd.iloc[0]
