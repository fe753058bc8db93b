"""Confidence ellipses: Schelp's construction against an eigen-decomposition."""

import numpy as np
import pytest
from scipy import stats

from lsreport import stats as lst


def _eigen_axes(cov, k):
    """Independent reference: principal axes of k^2 * cov."""
    ev, vec = np.linalg.eigh(cov)
    width, height = 2 * k * np.sqrt(ev[1]), 2 * k * np.sqrt(ev[0])
    angle = np.degrees(np.arctan2(vec[1, 1], vec[0, 1]))
    return width, height, angle


def _same_angle(a, b):
    d = (a - b) % 180.0
    return min(d, 180.0 - d)


@pytest.mark.parametrize(
    "cov",
    [
        [[1.0, 0.8], [0.8, 1.0]],
        [[2.0, -0.9], [-0.9, 0.7]],
        [[0.3, 0.1], [0.1, 4.0]],
        [[5.0, 0.0], [0.0, 1.0]],
        [[1.0, -0.99], [-0.99, 1.0]],
    ],
)
@pytest.mark.parametrize("k", [1.0, 2.0, 2.5, 3.0])
def test_geometry_matches_eigen_decomposition(rng, cov, k):
    xy = rng.multivariate_normal([1.0, -3.0], cov, size=3000)
    e = lst.confidence_ellipse(xy, k=k)
    w, h, a = _eigen_axes(np.cov(xy, rowvar=False), k)
    assert e.width == pytest.approx(w, rel=1e-9)
    assert e.height == pytest.approx(h, rel=1e-9)
    assert _same_angle(e.angle, a) < 1e-6
    assert -90 < e.angle <= 90
    np.testing.assert_allclose(e.center, xy.mean(axis=0))


def test_equal_variances_give_45_degrees_as_in_schelp(rng):
    xy = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=50000)
    xy = (xy - xy.mean(0)) / xy.std(0, ddof=1)
    assert lst.confidence_ellipse(xy).angle == pytest.approx(45.0, abs=1e-6)
    xy[:, 1] *= -1
    assert lst.confidence_ellipse(xy).angle == pytest.approx(-45.0, abs=1e-6)


def test_boundary_is_the_mahalanobis_contour(rng):
    xy = rng.multivariate_normal([2, 1], [[2.0, -0.9], [-0.9, 0.7]], size=2000)
    e = lst.confidence_ellipse(xy, k=2.5)
    b = e.boundary(64) - xy.mean(axis=0)
    d2 = np.einsum("ij,jk,ik->i", b, np.linalg.inv(np.cov(xy, rowvar=False)), b)
    np.testing.assert_allclose(d2, 2.5**2, rtol=1e-9)
    # Schelp's map of the unit circle traces the same curve
    t = np.linspace(0, 2 * np.pi, 64)
    pts = np.column_stack([np.cos(t), np.sin(t)]) @ lst.schelp_transform(np.cov(xy, rowvar=False), 2.5).T
    d2s = np.einsum("ij,jk,ik->i", pts, np.linalg.inv(np.cov(xy, rowvar=False)), pts)
    np.testing.assert_allclose(d2s, 2.5**2, rtol=1e-9)


def test_expected_coverage_is_the_2d_value_not_68_95_997():
    np.testing.assert_allclose(lst.coverage_for_k([1, 2, 2.5, 3]), [0.393469, 0.864665, 0.956063, 0.988891], atol=1e-6)
    assert lst.k_for_coverage(0.95) == pytest.approx(np.sqrt(-2 * np.log(0.05)))
    np.testing.assert_allclose(lst.k_for_coverage([0.5, 0.99]), np.sqrt(stats.chi2.ppf([0.5, 0.99], 2)))


def test_measured_coverage_on_normal_and_heavy_tailed_data(rng):
    n = 20000
    cov = [[1.0, 0.5], [0.5, 2.0]]
    xy = rng.multivariate_normal([0, 0], cov, size=n)
    for e in lst.confidence_ellipses(xy, (0, 1)):
        assert e.coverage_measured == pytest.approx(e.coverage_expected, abs=0.01)
        # independent count: numpy's inverse of the sample covariance
        c = xy - xy.mean(0)
        d2 = np.einsum("ij,jk,ik->i", c, np.linalg.inv(np.cov(xy, rowvar=False)), c)
        assert e.coverage_measured == pytest.approx(np.mean(d2 <= e.k**2), abs=2 / n)
        # the geometric inside-test from the ellipse's axes counts the same points
        assert abs(np.mean(e.contains(xy)) - np.mean(d2 <= e.k**2)) <= 2 / n
    # multivariate t with 3 dof: more mass near the centre and in the far tails
    t = xy / np.sqrt(rng.chisquare(3, size=n) / 3)[:, None]
    e1, e3 = lst.confidence_ellipses(t, (0, 1), ks=(1.0, 3.0))
    assert e1.coverage_measured > e1.coverage_expected + 0.05
    assert e3.coverage_measured < e3.coverage_expected - 0.005


def test_coverages_argument_picks_k(rng):
    z = rng.normal(size=(5000, 3))
    es = lst.confidence_ellipses(z, (2, 0), coverages=(0.5, 0.95))
    assert [e.pair for e in es] == [(2, 0), (2, 0)]
    np.testing.assert_allclose([e.k for e in es], np.sqrt(stats.chi2.ppf([0.5, 0.95], 2)))
    np.testing.assert_allclose([e.coverage_expected for e in es], [0.5, 0.95])


def test_bad_ellipse_inputs(rng):
    xy = rng.normal(size=(100, 2))
    with pytest.raises(ValueError, match="k must be positive"):
        lst.confidence_ellipse(xy, k=0)
    with pytest.raises(ValueError, match="same length"):
        lst.confidence_ellipse(xy[:, 0], xy[:50, 1])
    with pytest.raises(ValueError, match="perfectly correlated"):
        lst.confidence_ellipse(xy[:, 0], 3 * xy[:, 0] + 1)


def test_coverage_table_flattens_groups_and_uses_the_2d_probabilities(rng):
    xy = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=20_000)
    z = np.column_stack([xy, rng.normal(size=20_000)])
    a = lst.confidence_ellipses(z, (0, 1))
    b = lst.confidence_ellipses(z, (0, 2), ks=(2.0,))

    class Holder:  # anything with an `ellipses` attribute, like PairSummary
        ellipses = b

    df = lst.coverage_table([a, Holder()])
    assert list(df["pair"]) == ["z[0], z[1]"] * 4 + ["z[0], z[2]"]
    np.testing.assert_allclose(df["expected"], 1 - np.exp(-np.array([1, 4, 6.25, 9, 4]) / 2))
    # the data are normal: measured within 4 binomial standard errors of expected
    se = np.sqrt(df["expected"] * (1 - df["expected"]) / 20_000)
    assert (df["difference"].abs() < 4 * se).all()
    # measured against an independent count with numpy (pair 0, 1)
    c = xy - xy.mean(0)
    d2 = np.einsum("ij,jk,ik->i", c, np.linalg.inv(np.cov(xy, rowvar=False)), c)
    np.testing.assert_allclose(df["measured"][:4], [np.mean(d2 <= k * k) for k in (1, 2, 2.5, 3)], atol=1e-4)
    assert df.loc[0, "pearson_r"] == pytest.approx(np.corrcoef(xy.T)[0, 1])
    assert len(lst.coverage_table(a[0])) == 1
