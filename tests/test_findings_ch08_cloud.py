"""The cloud-shape findings on clouds of known law: a t (elliptical) and a bent normal (not)."""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from lsreport.findings import ch08_cloud as C
from lsreport.stats import fit_pca


def _analysis(z, outside3):
    d = z.shape[1]
    pca = fit_pca(z)
    d2 = (pca.transform(z, whiten=True) ** 2).sum(1)
    ell = NS(k=3.0, coverage_measured=1 - outside3)
    return NS(d=d, pca=pca, mahalanobis=NS(var_d2=d2.var(ddof=1), expected_var=2 * d),
              pairs=(NS(ellipses=(ell,)),), correlation=NS(r=np.corrcoef(z, rowvar=False)))


def _t(rng, n=20_000, d=6, nu=10.0):
    cov = 0.5 * np.eye(d) + 0.5
    g = rng.multivariate_normal(np.zeros(d), cov * (nu - 2) / nu, size=n)
    return g / np.sqrt(rng.chisquare(nu, size=(n, 1)) / nu)


def test_t_cloud_is_elliptical_with_t_tails(rng):
    z = _t(rng)
    c = C.cloud_shape(_analysis(z, outside3=0.022), z, rng=rng, n_pairs=1)
    assert c.nu == pytest.approx(10, rel=0.3)
    assert c.n_kendall_off == 0 and "as every elliptical law requires" in c.kendall_sentence
    assert "closer to the t share" in c.tail_sentence
    assert "growing together" in c.spectrum_sentence  # a scale mixture: shared, not own
    assert c.blocks["share_of_excess"].sum() == pytest.approx(1.0)
    assert list(c.kendall_table().header)[0] == "Pair"


def test_bent_cloud_is_not_elliptical(rng):
    g = rng.multivariate_normal(np.zeros(3), 0.6 * np.eye(3) + 0.4, size=20_000)
    z = np.column_stack([g[:, 0], np.exp(g[:, 1]), np.exp(g[:, 2])])
    c = C.cloud_shape(_analysis(z, outside3=0.0111), z, rng=rng, n_pairs=1)
    assert c.n_kendall_off >= 1 and "which no elliptical law allows" in c.kendall_sentence
    assert "closer to the normal share" in c.tail_sentence


def test_kendall_verdict_sides():
    import pandas as pd

    def shape(devs):
        k = pd.DataFrame({"in_null_sd": devs, "deviation": [0.01 * d for d in devs]})
        return C.CloudShape(excess=None, nu=14.0, outside3=0.02, outside3_normal=0.011,
                            outside3_t=0.02, kendall=k)

    assert "as every elliptical law requires" in shape([0.5, -2.9, 1.0]).kendall_sentence
    assert "small departure" in shape([0.5, -4.0, 1.0]).kendall_sentence
    assert "which no elliptical law allows" in shape([5.0, -4.0, 1.0]).kendall_sentence
