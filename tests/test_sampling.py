"""Tests of lsreport.sampling: fitted statistics, samplers, registry, paths."""

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as stats_
from scipy.spatial.distance import mahalanobis as scipy_mahalanobis

from lsreport import sampling as S

D = 6
N = 4000


@pytest.fixture
def true_cov():
    # a fixed, clearly correlated covariance with unequal variances
    a = np.random.default_rng(7).normal(size=(D, D))
    return a @ a.T / D + np.diag(np.linspace(0.2, 2.0, D))


@pytest.fixture
def z(rng, true_cov):
    return rng.multivariate_normal(np.linspace(-1, 1, D), true_cov, size=N)


@pytest.fixture
def stats(z):
    return S.LatentStats.fit(z)


def _mean_tol(cov, n, nsig=4.5):
    return nsig * np.sqrt(np.diag(cov) / n)


def _cov_tol(cov, n, nsig=4.5):
    # sampling sd of a normal covariance entry: sqrt((s_ij^2 + s_ii s_jj) / n)
    d = np.diag(cov)
    return nsig * np.sqrt((cov**2 + np.outer(d, d)) / n)


# ------------------------------------------------------------------ statistics


def test_fit_summaries_match_direct_computation(z, stats):
    assert stats.dim == D and stats.n == N and stats.ridge == 0.0
    np.testing.assert_allclose(stats.mean, z.mean(axis=0))
    np.testing.assert_allclose(stats.std, z.std(axis=0, ddof=1))
    np.testing.assert_allclose(stats.minimum, z.min(axis=0))
    np.testing.assert_allclose(stats.maximum, z.max(axis=0))
    # eigen-decomposition reproduces the covariance, descending, orthonormal
    v, lam = stats.eigenvectors, stats.eigenvalues
    assert np.all(np.diff(lam) <= 0)
    np.testing.assert_allclose(v @ np.diag(lam) @ v.T, stats.cov, atol=1e-10)
    np.testing.assert_allclose(v.T @ v, np.eye(D), atol=1e-10)
    # eigenvalues agree with an SVD of the centred data (second route)
    sv = np.linalg.svd(z - z.mean(axis=0), compute_uv=False)
    np.testing.assert_allclose(lam, sv**2 / (N - 1), rtol=1e-8)


def test_mahalanobis_matches_scipy(stats, z):
    vi = np.linalg.inv(stats.cov)
    expected = [scipy_mahalanobis(row, stats.mean, vi) for row in z[:20]]
    np.testing.assert_allclose(stats.mahalanobis(z[:20]), expected, rtol=1e-10)


def test_quantiles_and_central_interval(z, stats):
    low, high = stats.central_interval(0.95)
    np.testing.assert_allclose(low, np.quantile(z, 0.025, axis=0), rtol=1e-10)
    np.testing.assert_allclose(high, np.quantile(z, 0.975, axis=0), rtol=1e-10)
    inside = ((z > low) & (z < high)).mean(axis=0)
    np.testing.assert_allclose(inside, 0.95, atol=0.002)


def test_histogram_intervals_hand_built():
    # component 0: 50 values in bin [-0.5, -0.25), 100 in [0, 0.25), 3 in [0.5, 0.75)
    col = np.r_[np.full(50, -0.4), np.full(100, 0.1), np.full(3, 0.6)]
    z = np.c_[col, np.linspace(-1, 1, col.size)]
    lo, hi = S.histogram_intervals(z, bin_width=0.25, peak_fraction=0.05)  # threshold 5 counts
    assert (lo[0], hi[0]) == pytest.approx((-0.5, 0.25))
    lo, hi = S.histogram_intervals(z, bin_width=0.25, peak_fraction=0.02)  # threshold 2: 0.6 counts
    assert (lo[0], hi[0]) == pytest.approx((-0.5, 0.75))
    # the stored histograms give the same intervals
    st = S.LatentStats.fit(z)
    assert st.histogram_interval(0.02)[1][0] == pytest.approx(0.75)


def test_nan_and_bad_shapes_raise(z):
    bad = z.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        S.LatentStats.fit(bad)
    with pytest.raises(ValueError, match="2-D"):
        S.LatentStats.fit(z[:, 0])
    with pytest.raises(ValueError, match="at least 2"):
        S.LatentStats.fit(z[:1])


def test_singular_covariance_raises_clearly_or_regularises(rng):
    few = rng.normal(size=(4, 10))  # n < D
    st = S.LatentStats.fit(few)
    assert st.is_singular
    with pytest.raises(ValueError, match="singular.*n = 4 vectors for D = 10"):
        S.sample_mvn(st, 5, rng=rng)
    with pytest.raises(ValueError, match="singular"):
        S.sample_ellipse(st, 5, rng=rng)
    # the samplers that need no inverse still work
    assert S.sample_diagonal(st, 5, rng=rng).shape == (5, 10)
    const = np.c_[rng.normal(size=(50, 3)), np.ones(50)]
    with pytest.raises(ValueError, match="constant components"):
        S.sample_mvn(S.LatentStats.fit(const), 5, rng=rng)
    with pytest.warns(RuntimeWarning, match="added ridge"):
        reg = S.LatentStats.fit(few, ridge="auto")
    assert not reg.is_singular
    # "auto": 1e-6 times the mean component variance, added to the diagonal
    assert reg.ridge == pytest.approx(1e-6 * np.var(few, axis=0, ddof=1).mean(), rel=1e-9)
    np.testing.assert_allclose(reg.cov, np.cov(few, rowvar=False) + reg.ridge * np.eye(few.shape[1]),
                               rtol=1e-9, atol=1e-15)
    assert np.all(np.isfinite(S.sample_mvn(reg, 5, rng=rng)))


# ------------------------------------------------------------------ samplers


@pytest.mark.parametrize("method", ["cholesky", "pca"])
@pytest.mark.parametrize("shrink", [1.0, 0.6])
def test_mvn_recovers_mean_and_scaled_covariance(stats, method, shrink):
    n = 40000
    x = S.sample_mvn(stats, n, rng=np.random.default_rng(1), shrink=shrink, method=method)
    assert x.shape == (n, D) and x.dtype == np.float32
    target = shrink**2 * stats.cov
    assert np.all(np.abs(x.mean(axis=0) - stats.mean) < _mean_tol(target, n))
    assert np.all(np.abs(np.cov(x.astype(float), rowvar=False) - target) < _cov_tol(target, n))


def test_diagonal_sampler_has_diagonal_covariance(stats):
    n = 40000
    x = S.sample_diagonal(stats, n, rng=np.random.default_rng(2), shrink=0.8)
    target = np.diag(0.64 * stats.std**2)
    assert np.all(np.abs(np.cov(x.astype(float), rowvar=False) - target) < _cov_tol(target, n))


@pytest.mark.parametrize("b", [0.5, 2.0])
def test_cube_samples_stay_in_cube_with_variance_b2_over_3(stats, b):
    n = 40000
    x = S.sample_cube(stats, n, rng=np.random.default_rng(3), b=b).astype(float)
    assert np.all(np.abs(x) <= b)
    var = stats_.uniform(-b, 2 * b).var()
    assert S.uniform_cube_variance(b) == pytest.approx(var)
    # sd of the sample variance of U(-b, b): sqrt((mu4 - var^2) / n), mu4 = b^4 / 5
    tol = 4.5 * np.sqrt((b**4 / 5 - var**2) / n)
    assert np.all(np.abs(x.var(axis=0) - var) < tol)
    assert np.all(np.abs(x.mean(axis=0)) < 4.5 * np.sqrt(var / n))


@pytest.mark.parametrize("method", ["histogram", "quantile"])
def test_interval_samples_respect_intervals(stats, method):
    x = S.sample_intervals(stats, 5000, rng=np.random.default_rng(4), method=method,
                           peak_fraction=0.1, coverage=0.9)
    low, high = stats.histogram_interval(0.1) if method == "histogram" else stats.central_interval(0.9)
    assert np.all((x >= low.astype(np.float32)) & (x <= high.astype(np.float32)))
    # uniform: the samples fill the interval to its ends
    span = high - low
    assert np.all(x.min(axis=0) < low + 0.01 * span) and np.all(x.max(axis=0) > high - 0.01 * span)


def _pair_radii(stats, x, z):
    # independent whitening: SVD of the fitted data gives the PCA frame
    zc = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(zc, full_matrices=False)
    u = (x - z.mean(axis=0)) @ vt.T / (s / np.sqrt(len(z) - 1))
    d = u.shape[1]
    return np.hypot(u[:, 0 : d - 1 : 2], u[:, 1:d:2]), u


@pytest.mark.parametrize("within", ["uniform", "normal"])
def test_ellipse_samples_lie_within_k(stats, z, within):
    k = 1.5
    x = S.sample_ellipse(stats, 20000, rng=np.random.default_rng(5), k=k, within=within).astype(float)
    r, _ = _pair_radii(stats, x, z)
    assert r.max() <= k * (1 + 1e-4)
    # distribution inside the disc: uniform area -> P(r < k/2) = 1/4;
    # truncated normal -> P(r < 1) = (1 - e^-1/2) / (1 - e^-k^2/2)
    p = (r < k / 2).mean() if within == "uniform" else (r < 1).mean()
    expected = 0.25 if within == "uniform" else (1 - np.exp(-0.5)) / (1 - np.exp(-k * k / 2))
    assert p == pytest.approx(expected, abs=4.5 * np.sqrt(expected * (1 - expected) / r.size))


@pytest.mark.parametrize("within", ["uniform", "normal"])
def test_ellipse_odd_dimension_last_axis_like_the_paired_ones(rng, within):
    z = rng.normal(size=(3000, 5)) * [1, 2, 3, 4, 5]
    st = S.LatentStats.fit(z)
    n = 60_000
    x = S.sample_ellipse(st, n, rng=rng, k=2.0, within=within).astype(float)
    r, u = _pair_radii(st, x, z)
    assert r.max() <= 2.0 * (1 + 1e-4) and np.abs(u[:, -1]).max() <= 2.0 * (1 + 1e-4)
    # the unpaired last axis has the variance of every paired axis (not k^2/3)
    v = u.var(axis=0)
    assert abs(v[-1] - v[:-1].mean()) < 4.5 * v[:-1].mean() * np.sqrt(2 / n) * 1.5
    assert S.ellipse_pair_coverage(1.0) == pytest.approx(0.3935, abs=1e-4)


def _radial_second_moment(k, within):
    # E[r^2] of one whitened pair by numerical integration of the radial density
    dens = (lambda r: 2 * r / k**2) if within == "uniform" else (lambda r: r * np.exp(-r * r / 2))
    num = integrate.quad(lambda r: r * r * dens(r), 0, k)[0]
    return num / integrate.quad(dens, 0, k)[0]


@pytest.mark.parametrize("within,k", [("uniform", 1.5), ("uniform", 2.0), ("normal", 2.0)])
def test_ellipse_covariance_is_a_known_multiple_of_the_fitted_one(stats, within, k):
    n = 60_000
    x = S.sample_ellipse(stats, n, rng=np.random.default_rng(8), k=k, within=within).astype(float)
    c = _radial_second_moment(k, within) / 2  # per whitened coordinate
    assert S.ellipse_covariance_factor(k, within) == pytest.approx(c, rel=1e-9)
    if within == "normal":
        assert c == pytest.approx(0.687, abs=1e-3)
    target = c * stats.cov
    # the spread of a covariance entry is below the normal one for these bounded laws
    assert np.all(np.abs(np.cov(x, rowvar=False) - target) < _cov_tol(target, n))
    assert np.all(np.abs(x.mean(axis=0) - stats.mean) < _mean_tol(target, n))


def test_ellipse_squared_radius_is_a_thin_shell(stats):
    # uniform discs: d^2 is a sum of D/2 uniforms on [0, k^2]: var = D k^4 / 24 (2D/3 at k = 2)
    n, k = 40_000, 2.0
    x = S.sample_ellipse(stats, n, rng=np.random.default_rng(9), k=k).astype(float)
    d2 = stats.mahalanobis(x) ** 2
    assert d2.mean() == pytest.approx(k * k * D / 4, rel=0.01)
    assert d2.var() == pytest.approx(2 * D / 3, rel=0.05)


def test_ellipse_pairs_of_original_components_are_not_confined(stats):
    # only the fixed principal pairs are confined; a pair of original
    # components falls inside its own 2-sigma ellipse about 86.5 % of the time
    n = 40_000
    x = S.sample_ellipse(stats, n, rng=np.random.default_rng(10), k=2.0).astype(float)
    c = stats.cov[np.ix_([0, 3], [0, 3])]
    y = x[:, [0, 3]] - stats.mean[[0, 3]]
    inside = np.einsum("ni,ij,nj->n", y, np.linalg.inv(c), y) <= 4.0
    assert inside.mean() == pytest.approx(1 - np.exp(-2), abs=0.02)
    assert inside.mean() < 0.95


def test_ellipse_region_mass_by_monte_carlo(rng):
    # share of normal draws whose whitened pairs all lie in their discs
    # (and the odd last axis in [-k, k])
    d, k, n = 5, 1.5, 400_000
    u = rng.standard_normal((n, d))
    ok = (np.hypot(u[:, 0], u[:, 1]) <= k) & (np.hypot(u[:, 2], u[:, 3]) <= k) & (np.abs(u[:, 4]) <= k)
    m = S.ellipse_region_mass(k, d)
    assert m == pytest.approx(ok.mean(), abs=4.5 * np.sqrt(m * (1 - m) / n))
    assert S.ellipse_region_mass(2.0, 256) == pytest.approx(9e-9, rel=0.1)


def test_gmm_fit_and_samples(rng):
    # the larger cluster has correlated coordinates 1 and 2 (r = 0.8)
    c_a = np.array([[0.09, 0, 0], [0, 0.09, 0.072], [0, 0.072, 0.09]])
    a = rng.multivariate_normal([3, 0, 0], c_a, size=1500)
    b = rng.normal(size=(500, 3)) * 0.3 - [3, 0, 0]
    z = np.r_[a, b]
    gmm = S.LatentGMM.fit(z, 2, seed=0)
    assert gmm.converged and gmm.dim == 3 and gmm.n_components == 2
    np.testing.assert_allclose(sorted(gmm.weights), [0.25, 0.75], atol=0.01)
    x = S.sample_gmm(gmm, 20000, rng=np.random.default_rng(6)).astype(float)
    assert (x[:, 0] > 0).mean() == pytest.approx(0.75, abs=0.015)
    np.testing.assert_allclose(x.mean(axis=0), z.mean(axis=0), atol=0.1)
    # covariance of the mixture (law of total variance), against the
    # covariance of the data it was fitted to and of the samples
    mix = np.cov(z, rowvar=False)
    assert np.all(np.abs(np.cov(x, rowvar=False) - mix) < _cov_tol(mix, 20000) + 0.05 * np.abs(mix).max())
    # within the larger component the planted covariance, correlation included
    xa = x[x[:, 0] > 0]
    assert np.all(np.abs(np.cov(xa, rowvar=False) - c_a) < _cov_tol(c_a, 1500))


def test_gmm_bad_input_and_nonconvergence(rng):
    z = rng.normal(size=(30, 2))
    with pytest.raises(ValueError, match="cannot fit 40 mixture components to 30 vectors"):
        S.LatentGMM.fit(z, 40)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        g = S.LatentGMM.fit(rng.normal(size=(300, 2)), 3, max_iter=1)
    assert not g.converged


def test_same_seed_same_samples_for_every_registered_sampler(stats, z):
    gmm = S.LatentGMM.fit(z, 2, seed=0)
    for name in S.SAMPLERS:
        a = S.sample(name, 7, rng=np.random.default_rng(11), stats=stats, gmm=gmm)
        b = S.sample(name, 7, rng=np.random.default_rng(11), stats=stats, gmm=gmm)
        c = S.sample(name, 7, rng=np.random.default_rng(12), stats=stats, gmm=gmm)
        assert a.shape == (7, D) and a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_registry_errors(stats):
    with pytest.raises(ValueError, match="unknown sampler"):
        S.sample("nope", 3, rng=np.random.default_rng(0), stats=stats)
    with pytest.raises(ValueError, match="needs a fitted LatentGMM"):
        S.sample("gmm", 3, rng=np.random.default_rng(0), stats=stats)
    with pytest.raises(TypeError, match="Generator"):
        S.sample_cube(stats, 3, rng=0)


def test_sample_from_config_is_reproducible_and_order_stable(stats):
    cfg = {"cube b=1": {"sampler": "cube", "b": 1.0}, "normal x0.6": {"sampler": "mvn", "shrink": 0.6}}
    a = S.sample_from_config(cfg, 5, rng=np.random.default_rng(3), stats=stats)
    b = S.sample_from_config({**cfg, "ellipse": {"sampler": "ellipse", "k": 2}}, 5,
                             rng=np.random.default_rng(3), stats=stats)
    assert list(a) == list(cfg)
    for key in cfg:
        np.testing.assert_array_equal(a[key], b[key])
    assert np.abs(a["cube b=1"]).max() <= 1


def test_sampler_config_drives_sample_from_config(stats, z):
    cfg = S.sampler_config(cube_bounds=(0.5, 2.0), shrink=(1.0, 0.6), ellipse_k=(1.0,))
    assert list(cfg) == ["cube b=0.5", "cube b=2", "intervals (histogram)", "diagonal", "normal x1",
                         "normal x0.6", "ellipse k=1", "GMM"]
    out = S.sample_from_config(cfg, 4, rng=np.random.default_rng(0), stats=stats,
                               gmm=S.LatentGMM.fit(z, 2))
    assert all(v.shape == (4, D) for v in out.values())
    assert np.abs(out["cube b=0.5"]).max() <= 0.5


# ------------------------------------------------------------------ paths


def test_plane_path_goes_through_centre_along_a_line(stats):
    p = S.plane_path(stats, (1, 4), angle=np.pi / 6, n_steps=7, extent=2.0)
    pts, t = p  # unpacks as (points, params)
    assert pts.shape == (7, D) and t.shape == (7,)
    np.testing.assert_allclose(pts[3], stats.mean, atol=1e-6)
    np.testing.assert_allclose(t, np.linspace(-2, 2, 7))
    others = [j for j in range(D) if j not in (1, 4)]
    np.testing.assert_allclose(pts[:, others], np.broadcast_to(stats.mean[others], (7, D - 2)), atol=1e-6)
    assert np.linalg.matrix_rank(pts - pts[3], tol=1e-4) == 1
    np.testing.assert_allclose(pts[-1, 1] - stats.mean[1], 2 * np.cos(np.pi / 6) * stats.std[1], rtol=1e-5)
    np.testing.assert_allclose(pts[-1, 4] - stats.mean[4], 2 * np.sin(np.pi / 6) * stats.std[4], rtol=1e-5)


def test_principal_axis_path_radius_equals_parameter(stats):
    p = S.principal_axis_path(stats, 2, n_steps=9, extent=3.0)
    np.testing.assert_allclose(p.points[4], stats.mean, atol=1e-6)
    vi = np.linalg.inv(stats.cov)
    radii = [scipy_mahalanobis(x, stats.mean, vi) for x in p.points.astype(float)]
    np.testing.assert_allclose(radii, np.abs(p.params), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="principal axis 6 requested.*D = 6"):
        S.principal_axis_path(stats, 6)
    with pytest.raises(ValueError, match="out of range"):
        S.plane_path(stats, (0, 9))


def test_interpolation_path_hits_endpoints(rng):
    z0, z1 = rng.normal(size=5), rng.normal(size=5)
    p = S.interpolation_path(z0, z1, n_steps=5)
    np.testing.assert_allclose(p.points[0], z0, rtol=1e-6)
    np.testing.assert_allclose(p.points[-1], z1, rtol=1e-6)
    np.testing.assert_allclose(p.points[2], (z0 + z1) / 2, rtol=1e-6)
    np.testing.assert_allclose(p.params, [0, 0.25, 0.5, 0.75, 1])
    assert p.label == "interpolation"
    assert S.interpolation_path(z0, z1, label="face 3 to face 7").label == "face 3 to face 7"


def test_path_labels_default_and_custom(stats):
    assert S.plane_path(stats, (1, 2), angle=np.pi / 2).label == "plane (1, 2), angle 90 deg"
    assert S.plane_path(stats, (1, 2), label="mine").label == "mine"
    assert S.principal_axis_path(stats, 3).label == "principal axis 3"
    assert S.principal_axis_path(stats, 0, extent=20, label="far").label == "far"


def test_sampler_config_t_entry():
    cfg = S.sampler_config(cube_bounds=(1.0,), t_nu=14.2)
    assert list(cfg)[-1] == "t ν=14" and cfg["t ν=14"] == {"sampler": "t", "nu": 14.2}
    assert "t ν=∞" in S.sampler_config(t_nu=np.inf)
    assert not any(v["sampler"] == "t" for v in S.sampler_config().values())
    with pytest.raises(ValueError, match="t_nu must be > 2"):
        S.sampler_config(t_nu=2.0)


def test_cloud_t_dof_recovers_known_nu():
    # a multivariate t with nu = 12 (scipy's sampler, independent of ours):
    # its kurtosis ratio (nu-2)/(nu-4) = 1.25 gives nu back
    from scipy.stats import multivariate_t

    from lsreport.generate import cloud_t_dof

    d, nu = 8, 12.0
    x = multivariate_t(loc=np.zeros(d), shape=np.eye(d), df=nu).rvs(size=200_000, random_state=3)
    stats = S.LatentStats.fit(x, bin_width=0.25)
    assert cloud_t_dof(stats, x) == pytest.approx(nu, rel=0.15)
    g = np.random.default_rng(4).normal(size=(200_000, d))
    assert cloud_t_dof(S.LatentStats.fit(g, bin_width=0.25), g) > 60
