"""Histograms and Gaussian fits per component."""

import numpy as np
import pytest

from lsreport import stats as lst


def test_histogram_edges_on_the_bin_lattice_and_counts_match_numpy(rng):
    x = rng.normal(0.3, 1.7, size=(5000, 1))
    h = lst.component_histogram(x, 0, bin_width=0.25)
    steps = h.edges / 0.25
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert h.edges[0] <= x.min() and h.edges[-1] >= x.max()
    expected, _ = np.histogram(x[:, 0], bins=h.edges)
    np.testing.assert_array_equal(h.counts, expected)
    assert h.n == 5000
    assert h.bin_width == pytest.approx(0.25)


@pytest.mark.parametrize("sigma", [0.15, 0.3, 1.0])
def test_gaussian_fit_recovers_known_sigma_at_narrow_widths(rng, sigma):
    # bin width 0.25 against sigma = 0.15: a fit of the curve to the counts at
    # the bin centres gives sqrt(sigma^2 + h^2/12) (11 % too wide, dozens of
    # standard errors); the binned model must recover the true width
    n, mu, bw = 60_000, 0.37, 0.25
    z = np.column_stack([rng.normal(mu, sigma, n), rng.normal(-2.0, 2.5, n)])
    fits = lst.fit_components(z, bin_width=bw)
    f = fits.fit(0)
    assert f.converged
    assert abs(f.mu - mu) < 4 * f.mu_se
    assert abs(f.sigma - sigma) < 4 * f.sigma_se
    # counts per bin of a normal: n * bw * pdf at the mode (closed form)
    assert f.amplitude == pytest.approx(n * bw / (sigma * np.sqrt(2 * np.pi)), rel=0.01)
    assert abs(f.amplitude - n * bw / (sigma * np.sqrt(2 * np.pi))) < 4 * f.amplitude_se
    assert f.r_squared > 0.99
    # standard error of the centre is that of the sample mean, sigma / sqrt(n)
    assert 0.8 < f.mu_se / (sigma / np.sqrt(n)) < 1.25
    np.testing.assert_allclose(fits.mean, z.mean(axis=0))
    np.testing.assert_allclose(fits.median, np.median(z, axis=0))
    np.testing.assert_allclose(fits.std, z.std(axis=0, ddof=1))


def test_fit_standard_errors_match_the_spread_over_repeats(rng):
    # the reported standard errors of the Poisson-weighted fit must describe
    # the actual scatter of the estimates over independent samples (the
    # unweighted fit assumes equal errors per bin, which counts do not have)
    sigma, n, reps = 0.4, 4000, 60
    for weighting in ("poisson",):
        zs, zm = [], []
        for _ in range(reps):
            f = lst.fit_components(rng.normal(0.0, sigma, (n, 1)), weighting=weighting).fit(0)
            zs.append((f.sigma - sigma) / f.sigma_se)
            zm.append(f.mu / f.mu_se)
        assert 0.7 < np.std(zs) < 1.35, weighting
        assert 0.7 < np.std(zm) < 1.35, weighting
        # unbiased width up to the small bias of weights taken from the
        # observed counts (about half a standard error here)
        assert abs(np.mean(zs)) < 0.8, weighting


def test_skewed_component_fit_centre_differs_from_mean_and_median(rng):
    # exponential(1): mean 1, median ln 2, mode 0 -> the bell is pulled to the bulk
    z = np.column_stack([rng.exponential(1.0, 50_000), rng.normal(size=50_000)])
    f = lst.fit_components(z).fit(0)
    assert f.mu < f.median < f.mean
    assert f.median == pytest.approx(np.log(2), abs=0.02)
    assert f.r_squared < 0.97  # visibly not a bell curve


def test_dominant_ranks_by_sigma_and_frame(rng):
    z = rng.normal(size=(20_000, 4)) * np.array([0.5, 2.0, 1.0, 1.5])
    fits = lst.fit_components(z)
    np.testing.assert_array_equal(fits.dominant(), [1, 3, 2, 0])
    np.testing.assert_array_equal(fits.dominant(2), [1, 3])
    df = fits.to_frame()
    assert list(df.index) == [0, 1, 2, 3]
    assert df.loc[1, "rank"] == 1 and df.loc[0, "rank"] == 4
    np.testing.assert_allclose(df["mu_minus_mean"], fits.mu - fits.mean)
    np.testing.assert_allclose(df["mu_minus_median"], fits.mu - fits.median)
    for col in ("amplitude", "amplitude_se", "mu", "mu_se", "sigma", "sigma_se", "r_squared", "converged"):
        assert col in df.columns


def test_subset_of_components_and_lookup(rng):
    z = rng.normal(size=(2000, 6))
    fits = lst.fit_components(z, components=[4, 1])
    np.testing.assert_array_equal(fits.components, [4, 1])
    assert len(fits) == 2
    assert fits.fit(1).component == 1
    with pytest.raises(ValueError, match="component 0 was not fitted"):
        fits.fit(0)


def test_weighting_changes_errors_not_location(rng):
    z = rng.normal(size=(20_000, 1))
    a = lst.fit_components(z, weighting="poisson").fit(0)
    b = lst.fit_components(z, weighting="none").fit(0)
    assert a.mu == pytest.approx(b.mu, abs=0.02)
    # the Poisson-weighted fit is (near) maximum likelihood: the error of its
    # centre is that of the sample mean, sigma / sqrt(n)
    assert a.mu_se == pytest.approx(1 / np.sqrt(20_000), rel=0.1)
    with pytest.raises(ValueError, match="weighting"):
        lst.fit_components(z, weighting="chi2")


def test_failed_fit_is_reported_not_hidden(rng):
    z = np.column_stack([rng.uniform(0.01, 0.2, 500), rng.normal(size=500)])  # one bin only
    with pytest.warns(RuntimeWarning, match=r"Gaussian fit failed for component\(s\) \[0\]"):
        fits = lst.fit_components(z)
    assert not fits.converged[0] and fits.converged[1]
    assert np.isnan(fits.mu[0])
    assert fits.dominant()[-1] == 0  # failed fits rank last


def test_bin_width_checks(rng):
    z = rng.normal(size=(100, 2))
    with pytest.raises(ValueError, match="bin_width must be a positive number"):
        lst.fit_components(z, bin_width=0)
    z[0, 0] = 1e6
    with pytest.raises(ValueError, match="choose a larger bin_width"):
        lst.fit_components(z, bin_width=0.25)


def test_threads_give_identical_results(rng):
    z = rng.normal(size=(3000, 70)).astype(np.float32)
    a = lst.fit_components(z)
    b = lst.fit_components(z, n_jobs=2)
    np.testing.assert_array_equal(a.mu, b.mu)
    np.testing.assert_array_equal(a.median, b.median)


def test_top_table_lists_the_widest_fits_with_their_errors(rng):
    z = rng.normal(size=(20_000, 4)) * np.array([0.5, 2.0, 1.0, 1.5])
    fits = lst.fit_components(z)
    t = fits.top_table(3)
    assert list(t.index) == [1, 3, 2]  # widest first, by construction of z
    # the table's cell shows the known width 1.5 of component 3 and a small error
    value, err = (float(v) for v in t.loc[3, "σ (fit)"].split("\u00a0±\u00a0"))
    assert abs(value - 1.5) < 4 * err + 1e-3 and 0 < err < 0.02
    f = fits.fit(3)
    assert t.loc[3, "median"] == pytest.approx(np.median(z[:, 3]))
    assert t.loc[3, "(μ − mean) / SE(μ)"] == pytest.approx((f.mu - z[:, 3].mean()) / f.mu_se)
    # a symmetric component: fitted centre and mean agree within a few standard errors
    assert (t["(μ − mean) / SE(μ)"].abs() < 4).all()


def test_top_table_marks_failed_fits(rng):
    z = np.column_stack([rng.normal(size=500), rng.normal(scale=0.01, size=500)])
    with pytest.warns(RuntimeWarning, match="fit failed"):
        fits = lst.fit_components(z, bin_width=0.25)
    t = fits.top_table(2)
    assert t.loc[1, "σ (fit)"] == "fit failed" and np.isnan(t.loc[1, "(μ − mean) / SE(μ)"])
    assert list(t.index) == [0, 1]
