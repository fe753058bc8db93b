"""Bad input fails loudly and says what to do, in every public entry point."""

import numpy as np
import pytest

from lsreport import stats as lst


def _normal(rng, n=200, d=4):
    return rng.normal(size=(n, d))


@pytest.mark.parametrize(
    "call",
    [
        lambda z, rng: lst.moments(z),
        lambda z, rng: lst.fit_components(z),
        lambda z, rng: lst.normality_tests(z),
        lambda z, rng: lst.subsample_tests(z, rng=rng, sizes=(50,), n_repeats=1),
        lambda z, rng: lst.correlations(z),
        lambda z, rng: lst.fit_pca(z),
        lambda z, rng: lst.mahalanobis_chi2(z),
        lambda z, rng: lst.mardia(z, rng=rng, n_sub=100),
        lambda z, rng: lst.henze_zirkler(z, rng=rng, n_sub=100),
        lambda z, rng: lst.cloud_centre(z),
        lambda z, rng: lst.box_comparison(z, rng=rng),
        lambda z, rng: lst.kde_2d(z, (0, 1)),
        lambda z, rng: lst.confidence_ellipses(z, (0, 1)),
        lambda z, rng: lst.analyse(z, rng=rng),
    ],
)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_latents_are_rejected(rng, call, bad):
    z = _normal(rng)
    z[17, 1] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite.*component\(s\) \[1\].*Drop the affected rows"):
        call(z, rng)


def test_pair_functions_name_the_original_component(rng):
    z = _normal(rng)
    z[5, 1] = np.nan
    for call in (lst.kde_2d, lst.confidence_ellipses):
        with pytest.raises(ValueError, match=r"NaN or infinite.*component\(s\) \[1\]"):
            call(z, (1, 3))
        call(z, (0, 3))  # the pair without the bad component is fine


@pytest.mark.parametrize(
    "call",
    [
        lambda z, rng: lst.moments(z),
        lambda z, rng: lst.fit_components(z),
        lambda z, rng: lst.normality_tests(z),
        lambda z, rng: lst.correlations(z),
        lambda z, rng: lst.mahalanobis_chi2(z),
        lambda z, rng: lst.analyse(z, rng=rng),
    ],
)
def test_constant_component_is_rejected(rng, call):
    z = _normal(rng)
    z[:, 2] = 0.7
    with pytest.raises(ValueError, match=r"constant component\(s\) \[2\].*zero variance"):
        call(z, rng)


def test_constant_component_in_a_pair_is_rejected_only_for_that_pair(rng):
    z = _normal(rng)
    z[:, 3] = 1.0
    lst.kde_2d(z, (0, 1), grid_size=16)  # the constant component is not involved
    with pytest.raises(ValueError, match="constant"):
        lst.kde_2d(z, (0, 3))
    with pytest.raises(ValueError, match="constant"):
        lst.confidence_ellipses(z, (3, 1))


@pytest.mark.parametrize(
    "call",
    [
        lambda z, rng: lst.moments(z),
        lambda z, rng: lst.fit_pca(z),
        lambda z, rng: lst.mahalanobis_chi2(z),
        lambda z, rng: lst.cloud_centre(z),
        lambda z, rng: lst.box_comparison(z, rng=rng),
        lambda z, rng: lst.analyse(z, rng=rng),
    ],
)
def test_fewer_samples_than_dimensions_needs_explicit_shrinkage(rng, call):
    z = rng.normal(size=(30, 40))
    with pytest.raises(ValueError, match=r"fewer samples \(n=30\) than dimensions.*shrinkage"):
        call(z, rng)


def test_shrinkage_is_visible_and_validated(rng):
    z = rng.normal(size=(30, 40))
    with pytest.warns(UserWarning, match="shrinkage=0.3"):
        m = lst.moments(z, shrinkage=0.3)
    assert np.all(np.linalg.eigvalsh(m.cov) > 0)
    for bad in (0.0, -0.1, 1.5, np.nan):
        with pytest.raises(ValueError, match="shrinkage must lie in"):
            lst.moments(z, shrinkage=bad)


def test_collinear_components_make_whitening_fail_clearly(rng):
    z = _normal(rng, n=500, d=4)
    z = np.column_stack([z, z[:, 0] - 2 * z[:, 1]])
    r = lst.correlations(z)  # fine: no inverse needed
    assert r.r.shape == (5, 5)
    with pytest.raises(ValueError, match=r"singular \(numerical rank 4 < d=5.*shrinkage"):
        lst.mahalanobis_chi2(z)


@pytest.mark.parametrize("pair", [(0, 4), (-1, 2), (7, 1)])
def test_pair_out_of_range(rng, pair):
    z = _normal(rng)
    for call in (lst.kde_2d, lst.confidence_ellipses):
        with pytest.raises(ValueError, match=r"out of range: the latents have 4 components \(valid indices 0..3\)"):
            call(z, pair)


def test_pair_must_be_two_distinct_indices(rng):
    z = _normal(rng)
    with pytest.raises(ValueError, match="two different components"):
        lst.kde_2d(z, (1, 1))
    with pytest.raises(ValueError, match="pair must be two component indices"):
        lst.confidence_ellipses(z, (1, 2, 3))


def test_components_out_of_range(rng):
    with pytest.raises(ValueError, match=r"component index\(es\) \[9\] out of range"):
        lst.fit_components(_normal(rng), components=[0, 9])
    with pytest.raises(ValueError, match="out of range"):
        lst.normality_tests(_normal(rng), components=[4])


def test_wrong_shapes_and_types(rng):
    with pytest.raises(ValueError, match="must be a 2-D array"):
        lst.fit_components(rng.normal(size=100))
    with pytest.raises(ValueError, match="must hold numbers"):
        lst.moments(np.array([["a", "b"], ["c", "d"]]))


def test_rng_must_be_a_generator(rng):
    z = _normal(rng)
    for bad in (None, 42, np.random.RandomState(0)):
        with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
            lst.subsample_tests(z, rng=bad, sizes=(50,))


def test_subsample_sizes_are_checked(rng):
    z = _normal(rng)
    with pytest.raises(ValueError, match="exceed the number of samples n=200"):
        lst.subsample_tests(z, rng=rng, sizes=(500,))
