"""Univariate normality tests: agreement with statsmodels, subsamples, QQ data."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.diagnostic import lilliefors, normal_ad
from statsmodels.stats.stattools import jarque_bera, omni_normtest

from lsreport import stats as lst


@pytest.fixture
def mixed(rng):
    n = 1500
    return np.column_stack([
        rng.normal(2, 3, n), rng.standard_t(6, n), rng.exponential(1, n),
        rng.uniform(-1, 1, n), rng.normal(size=n) ** 3 * 0.1 + rng.normal(size=n),
    ])


def test_statistics_match_statsmodels_and_scipy(mixed):
    r = lst.normality_tests(mixed)
    for j in range(mixed.shape[1]):
        x = mixed[:, j]
        d, p = lilliefors(x, dist="norm", pvalmethod="table")
        assert r.lilliefors_stat[j] == pytest.approx(d, rel=1e-10)
        assert r.lilliefors_p[j] == pytest.approx(p, rel=1e-9, abs=1e-12)
        a2, pa = normal_ad(x)
        assert r.ad_stat[j] == pytest.approx(a2, rel=1e-8)
        assert r.ad_p[j] == pytest.approx(pa, rel=1e-8, abs=1e-300)
        jb, pjb, skew, kurt = jarque_bera(x)
        assert r.jb_stat[j] == pytest.approx(jb, rel=1e-10)
        assert r.jb_p[j] == pytest.approx(pjb, rel=1e-8, abs=1e-300)
        k2, pk = omni_normtest(x)
        assert r.omnibus_stat[j] == pytest.approx(k2, rel=1e-9)
        assert r.omnibus_p[j] == pytest.approx(pk, rel=1e-7, abs=1e-300)
        assert r.skewness[j] == pytest.approx(stats.skew(x), rel=1e-10)
        assert r.excess_kurtosis[j] == pytest.approx(stats.kurtosis(x), rel=1e-10)


def test_float32_input_agrees_with_float64(mixed):
    a = lst.normality_tests(mixed.astype(np.float32))
    b = lst.normality_tests(mixed.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(a.ad_stat, b.ad_stat, rtol=1e-9)
    np.testing.assert_allclose(a.lilliefors_stat, b.lilliefors_stat, rtol=1e-9)


def test_large_n_rejects_tiny_deviation_that_subsamples_and_effect_sizes_call_small(rng):
    # t with 30 dof: excess kurtosis 6/26 = 0.23, invisible in a histogram
    z = rng.standard_t(30, size=(150_000, 3))
    full = lst.normality_tests(z)
    assert np.all(full.jb_p < 0.01)
    assert full.share_passing()["jarque_bera"] == 0.0
    assert full.share_small_effect() == 1.0
    assert np.all(np.abs(full.excess_kurtosis - 6 / 26) < 0.1)
    assert np.all(full.lilliefors_stat < 0.01)  # CDFs differ by less than 1 %
    sub = lst.subsample_tests(z, rng=rng, sizes=(200,), n_repeats=20)
    assert sub.pass_share.min() > 0.8


def test_subsample_pass_share_near_nominal_for_normal_and_low_for_skewed(rng):
    normal = rng.normal(size=(4000, 20))
    sub = lst.subsample_tests(normal, rng=rng, sizes=(200, 800), n_repeats=10)
    assert sub.pvalues.shape == (4, 2, 10, 20)
    # 200 independent tests per cell: sd of the share is about 0.015, so 3.5 sd
    # against the simulated null share of each test at each size
    assert sub.expected_pass_share.shape == (4, 2)
    np.testing.assert_allclose(sub.pass_share, sub.expected_pass_share, atol=0.055)
    np.testing.assert_allclose(sub.pass_share.mean(), 0.95, atol=0.02)
    assert sub.nominal_pass_share == pytest.approx(0.95)
    # pass_rate per component, by an independent count over the p-value array
    p_ad = sub.pvalues[list(lst.TESTS).index("anderson_darling"), 0]  # (repeats, components)
    np.testing.assert_allclose(sub.pass_rate[1, 0], [np.mean(p_ad[:, j] > 0.05) for j in range(20)])
    skewed = rng.exponential(size=(4000, 5))
    sub2 = lst.subsample_tests(skewed, rng=rng, sizes=(200,), n_repeats=5)
    assert sub2.pass_share.max() < 0.2
    df = sub2.to_frame()
    assert list(df.index) == list(lst.TESTS) and list(df.columns) == [200]


def test_subsamples_are_reproducible(rng):
    z = np.random.default_rng(1).normal(size=(1000, 3))
    a = lst.subsample_tests(z, rng=np.random.default_rng(7), sizes=(100,), n_repeats=3)
    b = lst.subsample_tests(z, rng=np.random.default_rng(7), sizes=(100,), n_repeats=3)
    np.testing.assert_array_equal(a.pvalues, b.pvalues)


def test_qq_data_small_sample_uses_every_order_statistic(rng):
    x = rng.normal(3, 2, size=150)
    q = lst.qq_data(x, label="x")
    p = (np.arange(1, 151) - 0.5) / 150
    np.testing.assert_allclose(q.theoretical, stats.norm.ppf(p))
    np.testing.assert_allclose(q.sample, np.sort((x - x.mean()) / x.std(ddof=1)))
    assert q.label == "x" and q.standardized
    raw = lst.qq_data(x, standardize=False)
    np.testing.assert_allclose(raw.reference([0.0, 1.0]), [x.mean(), x.mean() + x.std(ddof=1)])


def test_qq_data_thinned_keeps_extremes(rng):
    x = rng.standard_t(4, size=100_000)
    q = lst.qq_data(x, n_points=300)
    assert q.theoretical.size == 300
    xs = (x - x.mean()) / x.std(ddof=1)
    assert q.sample[0] == pytest.approx(xs.min()) and q.sample[-1] == pytest.approx(xs.max())
    assert np.all(np.diff(q.sample) >= 0)
    # heavy tails: the extreme sample quantiles lie beyond the normal ones
    assert q.sample[-1] > q.theoretical[-1] and q.sample[0] < q.theoretical[0]


def test_qq_data_rejects_2d():
    with pytest.raises(ValueError, match="1-D"):
        lst.qq_data(np.zeros((10, 2)))


def test_pass_share_table_counts_p_values_above_alpha(rng):
    n = 3000
    z = np.column_stack([rng.normal(size=n), rng.exponential(size=n), rng.normal(size=n)])
    full = lst.normality_tests(z)
    sub = lst.subsample_tests(z, rng=rng, sizes=(100, 400), n_repeats=4, alpha=0.05)
    df = lst.pass_share_table(full, sub)
    assert list(df.index) == [lst.TEST_NAMES[t] for t in lst.TESTS]
    assert list(df.columns) == ["all 3,000 vectors", "expected if normal, n = 3,000",
                                "subsamples of 100", "expected if normal, n = 100",
                                "subsamples of 400", "expected if normal, n = 400"]
    # independent count: statsmodels' Anderson–Darling p-values on the full sample
    ad = np.mean([normal_ad(z[:, j])[1] > 0.05 for j in range(3)])
    assert df.loc["Anderson–Darling", "all 3,000 vectors"] == pytest.approx(ad)
    # the subsample column by statsmodels and scipy on the same rows, for
    # components on which the four tests disagree
    w = np.column_stack([rng.standard_t(5, n), rng.uniform(size=n), rng.laplace(size=n) * 0.2 + rng.normal(size=n),
                         rng.normal(size=n), rng.gamma(20, size=n)])
    sub1 = lst.subsample_tests(w, rng=np.random.default_rng(3), sizes=(150,), n_repeats=1, n_null=50)
    x = w[np.sort(np.random.default_rng(3).choice(n, size=150, replace=False))]
    want = [np.mean([lilliefors(c, pvalmethod="table")[1] > 0.05 for c in x.T]),
            np.mean([normal_ad(c)[1] > 0.05 for c in x.T]),
            np.mean(stats.jarque_bera(x, axis=0).pvalue > 0.05),
            np.mean(stats.normaltest(x, axis=0).pvalue > 0.05)]
    got = lst.pass_share_table(lst.normality_tests(w), sub1)["subsamples of 150"]
    np.testing.assert_allclose(got, want)
    assert df["expected if normal, n = 3,000"].between(0.9, 1.0).all()
    with pytest.raises(ValueError, match="differs"):
        lst.pass_share_table(full, sub, alpha=0.01)
    assert list(lst.pass_share_table(full).columns) == ["all 3,000 vectors", "expected if normal, n = 3,000"]


def test_null_pass_share_matches_scipy_on_simulated_normal_samples():
    # independent: scipy's Jarque–Bera and D'Agostino–Pearson, statsmodels'
    # Lilliefors and Anderson–Darling on the same simulated normal samples
    # (one block of draws from the same seed)
    n, m = 60, 2000
    x = np.random.default_rng(11).standard_normal((m, n))
    want = np.array([
        np.mean([lilliefors(r, pvalmethod="table")[1] > 0.05 for r in x]),
        np.mean([normal_ad(r)[1] > 0.05 for r in x]),
        np.mean(stats.jarque_bera(x, axis=1).pvalue > 0.05),
        np.mean(stats.normaltest(x, axis=1).pvalue > 0.05),
    ])
    got = lst.null_pass_share(n, n_sim=m, rng=np.random.default_rng(11))
    np.testing.assert_allclose(got, want, atol=1e-12)
    # not the nominal 95 % for every test: that is why it is simulated
    assert np.abs(want - 0.95).max() > 0.01
    with pytest.raises(ValueError, match="at least 20"):
        lst.null_pass_share(10)


def test_anderson_darling_stays_finite_with_a_far_outlier(rng):
    # log Phi via erfc underflows beyond about 38 sd and made A^2 infinite;
    # scipy.stats.anderson (log-cdf) gives the finite value
    x = rng.normal(size=(2000, 1))
    x[0, 0] = 200.0  # about 43 sample s.d. out
    r = lst.normality_tests(x)
    assert np.isfinite(r.ad_stat[0])
    assert r.ad_stat[0] == pytest.approx(stats.anderson(x[:, 0], "norm").statistic, rel=1e-9)


def test_effect_size_se_matches_simulated_normal_samples(rng):
    n = 40
    x = rng.normal(size=(20_000, n))
    se_skew, se_kurt = lst.effect_size_se(n)
    assert np.std(stats.skew(x, axis=1)) == pytest.approx(se_skew, rel=0.03)
    assert np.std(stats.kurtosis(x, axis=1)) == pytest.approx(se_kurt, rel=0.04)
    # large n: the familiar sqrt(6/n) and sqrt(24/n)
    big = lst.effect_size_se(10**6)
    assert big[0] == pytest.approx(np.sqrt(6e-6), rel=1e-5)
    assert big[1] == pytest.approx(np.sqrt(24e-6), rel=1e-4)
    with pytest.raises(ValueError):
        lst.effect_size_se(3)
