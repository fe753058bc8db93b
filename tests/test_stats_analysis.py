"""The single entry point: all pieces present, consistent and reproducible."""

import dataclasses

import numpy as np
import pytest

from lsreport import stats as lst


def _latents(seed=0, n=3000, d=6):
    g = np.random.default_rng(seed)
    a = np.eye(d) + 0.4 * g.normal(size=(d, d))
    return (g.normal(size=(n, d)) @ a + 0.5).astype(np.float32)


def test_analyse_returns_every_piece(rng):
    z = _latents()
    res = lst.analyse(z, rng=rng, subsample_sizes=(200, 800), subsample_repeats=3, n_pairs=2,
                      kde_points=500, hz_subsample=300, mardia_repeats=1, n_box=500, kde_grid=48)
    assert (res.n_samples, res.d) == z.shape
    assert isinstance(res.components, lst.ComponentFits) and len(res.components) == 6
    assert res.goodness.components.size == 6
    assert res.subsample_goodness.sizes == (200, 800)
    assert res.pca.n_components == 6 and res.pc_goodness.components.size == 6
    assert res.mahalanobis.d2.shape == (3000,)
    assert res.mardia.n_sub == min(max(2000, 4 * 6), 3000)
    assert res.hz_dims == 6
    assert len(res.pairs) == 2
    p = res.pairs[0]
    assert p.pair == res.correlation.strongest_pairs(1).pairs()[0]
    assert p.points.shape == (500, 2) and len(p.ellipses) == 4
    assert p.r == pytest.approx(res.correlation.r[p.pair], rel=1e-9)
    # the shared moments against numpy: mean, covariance, distances
    np.testing.assert_allclose(res.moments.mean, z.astype(float).mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.moments.cov, np.cov(np.asarray(z, float), rowvar=False), rtol=1e-5, atol=1e-9)
    c = np.asarray(z, float) - np.asarray(z, float).mean(0)
    d2 = np.einsum("ij,jk,ik->i", c, np.linalg.inv(np.cov(c, rowvar=False)), c)
    np.testing.assert_allclose(res.mahalanobis.d2, d2, rtol=1e-4)
    s = res.summary()
    assert s["d"] == 6 and 0 <= s["sub200_pass_share_lilliefors"] <= 1
    assert s["d2_mean"] == pytest.approx(6 * 2999 / 3000, rel=1e-4)


def test_analyse_is_reproducible_for_a_seed():
    z = _latents(1, n=1500, d=4)
    kw = dict(subsample_sizes=(100,), subsample_repeats=2, n_pairs=1, kde_points=100,
              hz_subsample=200, mardia_repeats=1, n_box=100, kde_grid=32)
    a = lst.analyse(z, rng=np.random.default_rng(5), **kw)
    b = lst.analyse(z, rng=np.random.default_rng(5), **kw)
    np.testing.assert_array_equal(a.subsample_goodness.pvalues, b.subsample_goodness.pvalues)
    np.testing.assert_array_equal(a.box.box_d2, b.box.box_d2)
    assert a.summary() == b.summary()


def test_analyse_accepts_the_stats_config_section(rng):
    from lsreport.config import StatsConfig

    cfg = dataclasses.replace(StatsConfig(), subsample_sizes=(100,), subsample_repeats=2,
                              kde_points=100, n_pairs=1, hz_subsample=200)
    res = lst.analyse(_latents(2, n=1200, d=3), rng=rng, **dataclasses.asdict(cfg))
    assert res.subsample_goodness.n_repeats == 2


def test_analyse_with_explicit_shrinkage_when_n_is_small(rng):
    z = np.random.default_rng(3).normal(size=(25, 30))
    with pytest.warns(UserWarning) as rec:
        res = lst.analyse(z, rng=rng, subsample_sizes=(20,), subsample_repeats=1, shrinkage=0.5,
                          n_pairs=1, hz_subsample=25, n_box=50, kde_grid=16)
    messages = " ".join(str(w.message) for w in rec)
    assert "shrinkage=0.5" in messages and "Mardia" in messages
    assert res.mardia is None
    assert "mardia_skew_p_median" not in res.summary()
