"""2-D FFT KDE against scipy.stats.gaussian_kde; probability-mass contour levels."""

import numpy as np
import pytest
from scipy import stats

from lsreport import stats as lst


@pytest.mark.parametrize("kind", ["correlated_normal", "skewed_heavy"])
def test_fft_kde_matches_gaussian_kde_within_one_percent(rng, kind):
    n = 3000
    if kind == "correlated_normal":
        z = rng.multivariate_normal([1.0, -2.0, 0.0], [[2.0, 1.2, 0], [1.2, 1.0, 0], [0, 0, 1]], size=n)
        pair = (0, 1)
    else:
        z = np.column_stack([rng.exponential(size=n), rng.normal(size=n), rng.standard_t(3, size=n)])
        pair = (2, 0)
    c = lst.compare_kde(z, pair, grid_size=40)
    assert c.max_rel_diff < 0.01
    assert c.fft.pair == pair and c.reference.method == "scipy"
    np.testing.assert_array_equal(c.fft.x, c.reference.x)


def test_bandwidth_has_gaussian_kde_semantics(rng):
    z = rng.multivariate_normal([0, 0], [[1.0, 0.6], [0.6, 2.0]], size=2000)
    g = lst.kde_2d(z, (0, 1), grid_size=16)
    ref = stats.gaussian_kde(z.T)  # default Scott factor
    np.testing.assert_allclose(g.bandwidth, ref.covariance, rtol=1e-12)
    assert g.factor == pytest.approx(ref.factor)
    s = lst.kde_2d(z, (0, 1), grid_size=16, bw_method="silverman")
    assert s.factor == pytest.approx(stats.gaussian_kde(z.T, bw_method="silverman").factor)


def test_density_integrates_to_one_and_orientation(rng):
    z = rng.normal(size=(4000, 2)) * [1.0, 3.0]  # wide along y
    g = lst.kde_2d(z, (0, 1), grid_size=(60, 80))
    assert g.density.shape == (80, 60)
    assert g.total_mass() == pytest.approx(1.0, abs=0.01)
    assert g.y[-1] - g.y[0] > 2 * (g.x[-1] - g.x[0])


def test_outliers_do_not_break_the_grid(rng):
    z = rng.normal(size=(5000, 2))
    z[:3] = [[1e4, -1e4], [-5e3, 2e3], [3e3, 3e3]]
    c = lst.compare_kde(z, (0, 1), grid_size=32, extent=(-4, 4, -4, 4))
    assert c.max_rel_diff < 0.01


def _normal_grid(cov, size=301, half=7.0):
    x = np.linspace(-half, half, size)
    y = np.linspace(-half, half, size)
    px, py = np.meshgrid(x, y)
    dens = stats.multivariate_normal([0, 0], cov).pdf(np.dstack([px, py]))
    return lst.KDEGrid(x=x, y=y, density=dens, pair=(0, 1), bandwidth=np.eye(2), factor=1.0,
                       n_samples=0, method="exact")


def test_mass_levels_match_the_closed_form_for_a_normal_density():
    cov = np.array([[1.5, 0.7], [0.7, 1.0]])
    grid = _normal_grid(cov)
    masses = lst.sigma_masses((1, 2, 3))
    np.testing.assert_allclose(masses, [0.393469, 0.864665, 0.988891], atol=1e-6)
    levels = lst.mass_levels(grid, masses)
    # the region {pdf >= level} is the Mahalanobis disc d^2 <= -2 ln(1 - m)
    expected = (1 - masses) / (2 * np.pi * np.sqrt(np.linalg.det(cov)))
    np.testing.assert_allclose(levels, expected, rtol=0.01)
    assert np.all(np.diff(levels) < 0)


def test_mass_level_contours_hold_that_share_of_the_data(rng):
    z = rng.multivariate_normal([0, 0], [[1, -0.5], [-0.5, 2]], size=20000)
    g = lst.kde_2d(z, (0, 1), grid_size=200)
    from scipy.interpolate import RegularGridInterpolator

    dens_at = RegularGridInterpolator((g.y, g.x), g.density, bounds_error=False, fill_value=0.0)(z[:, ::-1])
    for m, lv in zip((0.5, 0.9), g.levels((0.5, 0.9))):
        assert np.mean(dens_at >= lv) == pytest.approx(m, abs=0.02)


def test_mass_beyond_the_window_is_nan_with_warning(rng):
    z = rng.normal(size=(3000, 2))
    g = lst.kde_2d(z, (0, 1), grid_size=32, extent=(-0.5, 0.5, -0.5, 0.5))
    with pytest.warns(RuntimeWarning, match="Widen the extent"):
        lv = lst.mass_levels(g, (0.05, 0.9))
    assert np.isfinite(lv[0]) and np.isnan(lv[1])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        lst.mass_levels(g, (0.5, 1.0))


def test_bad_kde_arguments(rng):
    z = rng.normal(size=(500, 3))
    with pytest.raises(ValueError, match="bw_method"):
        lst.kde_2d(z, (0, 1), bw_method="auto")
    with pytest.raises(ValueError, match="extent"):
        lst.kde_2d(z, (0, 1), extent=(1, 0, 0, 1))
    z[:, 2] = 2 * z[:, 0]
    with pytest.raises(ValueError, match="perfectly correlated"):
        lst.kde_2d(z, (0, 2))
