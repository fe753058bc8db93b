"""Centre, radii and uniform box samples against the cloud."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln

from lsreport import stats as lst


def test_box_mean_square_radius_closed_form(rng):
    d, b, n_box = 50, 4.0, 5000
    z = rng.normal(size=(3000, d))
    r = lst.box_comparison(z, rng=rng, bound=b, n_box=n_box)
    assert r.expected_mean_sq_radius_box == pytest.approx(d * stats.uniform(-b, 2 * b).var())
    se = np.sqrt(d * 4 * b**4 / 45 / n_box)  # Var(u^2) = b^4/5 - b^4/9 per component
    assert abs(r.mean_sq_radius_box - d * b**2 / 3) < 4 * se
    assert r.box_radii.radii.shape == (n_box,)
    assert r.share_data_inside == pytest.approx(0.99, abs=0.01)
    # d2 of a box point is about sum(u_k^2) = d b^2/3 = 267, far beyond chi2_50(0.99) = 76
    assert r.share_box_inside == 0.0
    # a box with b = 2 has E d2 = 66.7, sd sqrt(d 4 b^4/45) = 8.4: CLT share inside ~ 0.87
    r2 = lst.box_comparison(z, rng=rng, bound=2.0, n_box=n_box)
    assert 0.75 < r2.share_box_inside < 0.95


def test_small_box_lies_inside_the_core(rng):
    z = rng.normal(size=(20000, 2))
    r = lst.box_comparison(z, rng=rng, bound=1.0, n_box=2000)
    # box corners at Mahalanobis distance about sqrt(2) < sqrt(chi2_2(0.99)) = 3.03
    assert r.share_box_inside == 1.0
    assert r.threshold_d2 == pytest.approx(stats.chi2.ppf(0.99, 2))


def test_default_bound_is_the_largest_absolute_latent(rng):
    z = rng.normal(size=(1000, 4))
    r = lst.box_comparison(z, rng=rng, n_box=10)
    assert r.bound == pytest.approx(np.abs(z).max())
    with pytest.raises(ValueError, match="bound must be a positive number"):
        lst.box_comparison(z, rng=rng, bound=-1)
    with pytest.raises(ValueError, match="level"):
        lst.box_comparison(z, rng=rng, level=1.0)


def test_centre_distance_closed_form(rng):
    d, sigma, shift = 16, 2.0, 3.0
    z = rng.normal(shift, sigma, size=(20000, d))
    c = lst.cloud_centre(z)
    assert c.distance == pytest.approx(shift * np.sqrt(d), rel=0.01)
    assert c.rms_std == pytest.approx(sigma, rel=0.01)
    assert c.distance_in_std == pytest.approx(shift * np.sqrt(d) / sigma, rel=0.02)
    assert c.distance_in_radius == pytest.approx(shift / sigma, rel=0.02)
    assert c.origin_mahalanobis == pytest.approx(shift * np.sqrt(d) / sigma, rel=0.02)
    assert c.origin_chi2_quantile > 0.99  # chi2_16 cdf at 6**2 = 0.997


def test_radii_of_isotropic_normal_concentrate(rng):
    d = 100
    r = lst.radii(rng.normal(size=(20000, d)))
    chi_mean = np.sqrt(2) * np.exp(gammaln((d + 1) / 2) - gammaln(d / 2))  # mean of chi(d)
    assert r.mean == pytest.approx(chi_mean, rel=0.005)
    assert r.relative_spread == pytest.approx(1 / np.sqrt(2 * d), rel=0.05)
    assert np.all(np.diff(r.quantiles) > 0)
