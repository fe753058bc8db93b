"""Multivariate normality: Mahalanobis vs chi2, Mardia, Henze–Zirkler."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import mahalanobis

from lsreport import stats as lst


def _mvt(rng, n, d, dof):
    """Multivariate t with identity scale."""
    return rng.normal(size=(n, d)) / np.sqrt(rng.chisquare(dof, size=n) / dof)[:, None]


def test_mahalanobis_matches_scipy(rng):
    z = rng.normal(size=(1000, 5)) @ rng.normal(size=(5, 5))
    d2 = lst.mahalanobis_sq(z)
    vi = np.linalg.inv(np.cov(z, rowvar=False))
    mu = z.mean(0)
    ref = np.array([mahalanobis(z[i], mu, vi) ** 2 for i in range(0, 1000, 97)])
    np.testing.assert_allclose(d2[::97], ref, rtol=1e-9)
    new = rng.normal(size=(4, 5))
    ref_new = [mahalanobis(p, mu, vi) ** 2 for p in new]
    np.testing.assert_allclose(lst.mahalanobis_sq(new, z), ref_new, rtol=1e-9)
    np.testing.assert_allclose(lst.mahalanobis_sq(z.astype(np.float32))[::97], ref, rtol=1e-4)


def test_in_sample_mean_is_exactly_d_times_n_minus_1_over_n(rng):
    n, d = 500, 7
    r = lst.mahalanobis_chi2(rng.standard_t(3, size=(n, d)))  # holds for any data
    assert r.mean_d2 == pytest.approx(d * (n - 1) / n, rel=1e-10)
    assert r.expected_mean == d and r.expected_var == 2 * d
    b = lst.mahalanobis_chi2(rng.normal(size=(n, d)), reference="beta")
    assert b.expected_mean == pytest.approx(d * (n - 1) / n)


def test_normal_cloud_has_chi2_core_and_tails(rng):
    d = 10
    z = rng.normal(size=(30000, d)) @ rng.normal(size=(d, d))
    r = lst.mahalanobis_chi2(z)
    np.testing.assert_allclose(r.core_observed, r.core_probs, atol=0.01)
    assert 0.85 < r.tail_ratio[1] < 1.15
    assert r.var_d2 == pytest.approx(2 * d, rel=0.06)
    assert np.corrcoef(r.qq_theoretical, r.qq_sample)[0, 1] > 0.999
    assert r.qq_theoretical[0] == pytest.approx(stats.chi2.ppf(0.5 / 30000, d))
    df = r.core_frame()
    assert list(df.columns) == ["probability", "observed", "tail_ratio"]


def test_heavy_tailed_cloud_shows_excess_tails(rng):
    d = 10
    r = lst.mahalanobis_chi2(_mvt(rng, 30000, d, 5))
    assert r.var_d2 > 3 * 2 * d
    assert r.tail_ratio[-1] > 3
    assert r.core_observed[0] > 0.5 + 0.03  # more points near the centre too


def _naive_mardia(x):
    n = x.shape[0]
    c = x - x.mean(0)
    s = c.T @ c / n
    g = c @ np.linalg.inv(s) @ c.T
    return (g**3).sum() / n**2, np.mean(np.diag(g) ** 2)


def test_mardia_statistics_match_a_direct_implementation(rng):
    x = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    b1, _, _, b2, _, _ = lst.mardia_statistics(x, block=64)
    nb1, nb2 = _naive_mardia(x)
    assert b1 == pytest.approx(nb1, rel=1e-10)
    assert b2 == pytest.approx(nb2, rel=1e-10)


def test_mardia_is_calibrated_on_normal_data(rng):
    n, d, reps = 200, 3, 150
    res = np.array([lst.mardia_statistics(rng.normal(size=(n, d))) for _ in range(reps)])
    skew_p, b2, kurt_p = res[:, 2], res[:, 3], res[:, 5]
    band = 3 * np.sqrt(0.05 * 0.95 / reps)  # binomial noise of a 5 % rejection rate
    assert abs(np.mean(skew_p < 0.05) - 0.05) < band and abs(np.mean(kurt_p < 0.05) - 0.05) < band
    assert stats.kstest(skew_p, "uniform").pvalue > 0.001
    assert stats.kstest(kurt_p, "uniform").pvalue > 0.001
    # closed form: E[b2] = d (d + 2) (n - 1) / (n + 1)
    e = d * (d + 2) * (n - 1) / (n + 1)
    sd = np.sqrt(8 * d * (d + 2) / n)
    assert abs(b2.mean() - e) < 4 * sd / np.sqrt(reps)


def test_mardia_rejects_heavy_tails_and_skewness(rng):
    r = lst.mardia(_mvt(rng, 3000, 4, 3), rng=rng, n_sub=600, n_repeats=2)
    assert np.all(r.kurtosis_pvalue < 1e-6) and r.full_kurtosis_pvalue < 1e-10
    assert np.all(r.kurtosis > r.kurtosis_expected)
    e = lst.mardia(rng.exponential(size=(3000, 4)), rng=rng, n_sub=600, n_repeats=2)
    assert np.all(e.skew_pvalue < 1e-6) and np.all(e.kurtosis_pvalue < 1e-6)
    assert e.share_rejected() == {"skewness": 1.0, "kurtosis": 1.0}


def test_mardia_full_sample_kurtosis_and_subsamples(rng):
    n, d = 4000, 5
    z = rng.normal(size=(n, d))
    r = lst.mardia(z, rng=rng, n_sub=500, n_repeats=3)
    assert r.skewness.shape == (3,) and r.n_sub == 500 and r.n_samples == n
    assert r.skew_df == d * (d + 1) * (d + 2) / 6
    # the exact null mean of b2 at n = 500 against simulated normal samples
    # (it differs from the asymptotic d (d + 2) = 35 by 0.14, 6 s.e. here)
    x = rng.normal(size=(1500, 500, d))
    x -= x.mean(axis=1, keepdims=True)
    s_inv = np.linalg.inv(np.einsum("rni,rnj->rij", x, x) / 500)
    b2 = np.mean(np.einsum("rni,rij,rnj->rn", x, s_inv, x) ** 2, axis=1)
    assert abs(r.kurtosis_expected - b2.mean()) < 3 * b2.std() / np.sqrt(1500)
    assert abs(d * (d + 2) - b2.mean()) > 3 * b2.std() / np.sqrt(1500)
    # the full-sample b2 (from ddof=1 distances) equals Mardia's b2 computed directly
    _, nb2 = _naive_mardia(z)
    assert r.full_kurtosis == pytest.approx(nb2, rel=1e-9)
    with pytest.raises(ValueError, match="n_sub=5 must exceed d"):
        lst.mardia(z, rng=rng, n_sub=5)


def test_mardia_stays_calibrated_in_high_dimension(rng):
    # d = 128 with n = 600: without the small-sample corrections the kurtosis
    # z-score of normal data would sit near -4 and skewness would never reject
    res = np.array([lst.mardia_statistics(rng.normal(size=(600, 128))) for _ in range(30)])
    kz, skew_p = res[:, 4], res[:, 2]
    assert abs(kz.mean()) < 3 / np.sqrt(30) + 0.1 and 0.6 < kz.std() < 1.5
    assert stats.kstest(skew_p, "uniform").pvalue > 0.001  # without k: p near 1 always


def test_henze_zirkler_normal_vs_skewed(rng):
    r = lst.henze_zirkler(rng.normal(size=(3000, 3)), rng=rng, n_sub=300, n_repeats=5, n_calibration=200)
    assert r.pvalue.shape == (5,) and r.calibrated and not r.degenerate
    # at d = 3 the test holds its level: the simulated rejection rate is
    # alpha within binomial noise (3 s.d.)
    assert abs(r.null_rejection_rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 200)
    assert r.calibration.pvalue_max > 0.9
    e = lst.henze_zirkler(rng.exponential(size=(3000, 3)), rng=rng, n_sub=300, n_repeats=3, n_calibration=0)
    assert e.share_rejected == 1.0 and e.calibration is None


def test_hz_calibration_counts_pingouin_rejections_on_normal_samples():
    import pingouin

    # independent count: pingouin on the same simulated samples
    got = lst.hz_calibration(50, 3, rng=np.random.default_rng(4), n_sim=60)
    g = np.random.default_rng(4)
    p = [pingouin.multivariate_normality(g.standard_normal((50, 3))).pval for _ in range(60)]
    assert got.rejection_rate == np.mean(np.array(p) < 0.05)
    assert got.pvalue_max == max(p)
    assert got.binom_pvalue == pytest.approx(stats.binomtest(int(np.sum(np.array(p) < 0.05)), 60, 0.05).pvalue)


def test_henze_zirkler_miscalibrated_in_high_dimension_is_flagged(rng):
    # n = 60, d = 40: on normal data pingouin's p-value never falls below
    # 0.05 (and stays far below 1), long before its null spread is anywhere
    # near rounding level; the simulated calibration must say so
    assert lst.hz_null_relative_sd(60, 40) > 1e-6
    with pytest.warns(RuntimeWarning, match="miscalibrated"):
        r = lst.henze_zirkler(rng.normal(size=(400, 40)), rng=rng, n_sub=60, n_repeats=1, n_calibration=150)
    assert not r.calibrated and r.null_rejection_rate < 0.02 and r.calibration.pvalue_max < 0.6
    assert np.isnan(r.share_rejected) and np.isfinite(r.pvalue).all()
    with pytest.raises(ValueError, match="must exceed the dimension"):
        lst.henze_zirkler(rng.normal(size=(400, 150)), rng=rng, n_sub=100)


def test_hz_null_spread_matches_simulated_statistics(rng):
    import pingouin

    n, d = 100, 3
    hz = [pingouin.multivariate_normality(rng.normal(size=(n, d))).hz for _ in range(300)]
    assert lst.hz_null_relative_sd(n, d) == pytest.approx(np.std(hz) / np.mean(hz), rel=0.15)
    with pytest.raises(ValueError):
        lst.hz_null_relative_sd(1, 3)


def test_d2_variance_split_normal_cloud_has_no_dependence(rng):
    z = rng.normal(size=(40_000, 6)) @ rng.normal(size=(6, 6)) + 3.0
    s = lst.d2_variance_split(z, lst.fit_pca(z))
    assert s.var_d2 == pytest.approx(lst.mahalanobis_chi2(z).var_d2, rel=1e-9)
    assert s.var_marginal == pytest.approx(2 * 6, rel=0.06)  # 2 per normal axis
    assert abs(s.mean_square_correlation) < 0.02
    # independent: whitened scores from numpy's eigh, the sum of the
    # off-diagonal covariances of their squares
    c = z - z.mean(0)
    ev, vec = np.linalg.eigh(np.cov(z, rowvar=False))
    w2 = (c @ vec / np.sqrt(ev)) ** 2
    cw = np.cov(w2, rowvar=False)
    assert s.var_dependence == pytest.approx(cw.sum() - np.trace(cw), abs=1e-6 * cw.sum())
    assert s.var_marginal == pytest.approx(np.trace(cw), rel=1e-9)


def test_d2_variance_split_finds_the_scale_mixture_of_a_multivariate_t(rng):
    # closed form for a multivariate t with nu dof: corr(w_k², w_l²) = 1 / (nu - 1),
    # var(w_k²) = 3 (nu - 2) / (nu - 4) - 1
    nu, d = 14, 6
    z = _mvt(rng, 200_000, d, nu) @ rng.normal(size=(d, d))
    s = lst.d2_variance_split(z, lst.fit_pca(z))
    assert s.mean_square_correlation == pytest.approx(1 / (nu - 1), rel=0.2)
    assert s.var_marginal / d == pytest.approx(3 * (nu - 2) / (nu - 4) - 1, rel=0.1)
    cov, var = 2 / (nu - 4), 3 * (nu - 2) / (nu - 4) - 1
    assert s.dependence_share == pytest.approx(d * (d - 1) * cov / (d * var + d * (d - 1) * cov), rel=0.2)
