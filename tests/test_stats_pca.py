"""Eigen-decomposition of the covariance, checked against scikit-learn's PCA."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from lsreport import stats as lst


@pytest.fixture
def cloud(rng):
    a = rng.normal(size=(6, 6)) * np.array([3.0, 2.0, 1.0, 0.5, 0.3, 0.1])[:, None]
    return rng.normal(size=(3000, 6)) @ a + np.arange(6)


def _align(a, b):
    """Flip rows of ``a`` to the signs of ``b`` (PCA axes are defined up to sign)."""
    s = np.sign(np.sum(a * b, axis=1))
    return a * s[:, None], s


def test_spectrum_and_axes_match_sklearn(cloud):
    r = lst.fit_pca(cloud)
    sk = PCA(svd_solver="full").fit(cloud)
    np.testing.assert_allclose(r.explained_variance, sk.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(r.explained_variance_ratio, sk.explained_variance_ratio_, rtol=1e-9)
    comps, _ = _align(r.components, sk.components_)
    np.testing.assert_allclose(comps, sk.components_, atol=1e-8)
    np.testing.assert_allclose(r.cumulative_variance_ratio[-1], 1.0)
    assert np.all(np.diff(r.explained_variance) <= 0)
    # sign convention: largest loading of each axis is positive
    assert np.all(r.components[np.arange(6), np.argmax(np.abs(r.components), axis=1)] > 0)


def test_transform_whiten_and_inverse_match_sklearn(cloud):
    r = lst.fit_pca(cloud)
    _, s = _align(r.components, PCA(svd_solver="full").fit(cloud).components_)
    sk = PCA(svd_solver="full").fit(cloud)
    np.testing.assert_allclose(r.transform(cloud) * s, sk.transform(cloud), atol=1e-8)
    skw = PCA(svd_solver="full", whiten=True).fit(cloud)
    np.testing.assert_allclose(r.transform(cloud, whiten=True) * s, skw.transform(cloud), atol=1e-8)
    sk3 = PCA(n_components=3, svd_solver="full").fit(cloud)
    y3 = r.transform(cloud, 3)
    np.testing.assert_allclose(r.inverse_transform(y3), sk3.inverse_transform(sk3.transform(cloud)), atol=1e-8)
    np.testing.assert_allclose(r.inverse_transform(r.transform(cloud)), cloud, atol=1e-9)
    w = r.transform(cloud, whiten=True)
    np.testing.assert_allclose(np.cov(w, rowvar=False), np.eye(6), atol=1e-9)
    np.testing.assert_allclose(r.inverse_transform(w, whiten=True), cloud, atol=1e-8)


def test_correlation_matrix_pca_is_pca_of_standardised_data(cloud):
    r = lst.fit_pca(cloud, matrix="correlation")
    std = (cloud - cloud.mean(0)) / cloud.std(0, ddof=1)
    sk = PCA(svd_solver="full").fit(std)
    np.testing.assert_allclose(r.explained_variance, sk.explained_variance_, rtol=1e-9)
    assert r.explained_variance.sum() == pytest.approx(6.0)
    _, s = _align(r.components, sk.components_)
    np.testing.assert_allclose(r.transform(cloud) * s, sk.transform(std), atol=1e-8)


def test_n_components_for(cloud):
    r = lst.fit_pca(cloud)
    for f in (0.5, 0.9, 0.99, 1.0):
        k = r.n_components_for(f)
        assert r.cumulative_variance_ratio[k - 1] >= f - 1e-12
        if k > 1:
            assert r.cumulative_variance_ratio[k - 2] < f
    with pytest.raises(ValueError):
        r.n_components_for(0)


def test_shrinkage_closed_form(rng):
    z = rng.normal(size=(20, 30))
    with pytest.warns(UserWarning, match="shrinkage"):
        r = lst.fit_pca(z, shrinkage=0.25)
    lam = np.sort(np.linalg.eigvalsh(np.cov(z, rowvar=False)))[::-1]
    np.testing.assert_allclose(r.explained_variance, 0.75 * lam + 0.25 * lam.mean(), rtol=1e-9, atol=1e-12)


def test_whitening_refuses_zero_variance_axes(rng):
    x = rng.normal(size=(500, 3))
    z = np.column_stack([x, x[:, 0] + x[:, 1]])
    r = lst.fit_pca(z)
    assert r.explained_variance[-1] < 1e-10 * r.explained_variance[0]
    r.transform(z)  # plain projection is fine
    with pytest.raises(ValueError, match="cannot whiten"):
        r.transform(z, whiten=True)
    with pytest.raises(ValueError, match="shape"):
        r.transform(z[:, :3])


def test_moments_chunked_match_numpy_for_float32(rng):
    z = (rng.normal(size=(40000, 5)) * [1, 10, 0.1, 3, 1] + 100).astype(np.float32)
    m = lst.moments(z)
    ref = z.astype(np.float64)
    np.testing.assert_allclose(m.mean, ref.mean(0), rtol=1e-12)
    np.testing.assert_allclose(m.cov, np.cov(ref, rowvar=False), rtol=1e-9)
    np.testing.assert_allclose(m.std, ref.std(0, ddof=1), rtol=1e-9)
