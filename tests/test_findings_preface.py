"""Preface scorecard and limitations: verdict rules on both sides of their thresholds."""

from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest

from lsreport.findings import preface as P


def _analysis(d=16, var_ratio=1.0, skew=0.05, kurt=0.1, cover3=0.989):
    ell = NS(k=3.0, coverage_measured=cover3, coverage_expected=1 - np.exp(-4.5))
    return NS(d=d, n_samples=1000,
              goodness=NS(skewness=np.full(d, skew), excess_kurtosis=np.full(d, kurt)),
              mahalanobis=NS(var_d2=2 * d * var_ratio, expected_var=2 * d),
              pairs=(NS(pair=(0, 1), ellipses=(ell,)),))


class _Gen:
    def __init__(self, mvn=0.9, cubes=(0.05, 0.02), real=0.95):
        self.labels = ["cube b=0.5", "cube b=2", "normal x1", "reconstructions"]
        self.settings = {"cube b=0.5": {"sampler": "cube", "b": 0.5},
                         "cube b=2": {"sampler": "cube", "b": 2.0},
                         "normal x1": {"sampler": "mvn", "shrink": 1.0}}
        self.rates = {"cube b=0.5": cubes[0], "cube b=2": cubes[1], "normal x1": mvn,
                      "real (test)": real}

    def labels_of(self, *names):
        return [lbl for lbl in self.labels if self.settings.get(lbl, {}).get("sampler") in names]

    def value(self, label, metric):
        return self.rates[label]


def test_normal_cloud_reads_normal_and_sampling_works():
    f = P.preface_findings(_analysis(), _Gen())
    assert f.normal and f.bell_shaped and f.elliptic and f.sampling_works
    assert f.nu == np.inf and f.kappa == pytest.approx(1.0)
    rows = f.rows()
    assert list(rows.verdict) == ["holds"] * 4
    assert "90 % detectable faces against 5 % and 2 % for the cubes with b = 0.5 and 2" in rows.number[3]


def test_t_like_cloud_the_series_numbers():
    # D = 256, var(d²) 27 times 2D -> kappa = (54 + 256) / 258 = 1.2016, nu = 13.95 (closed form)
    f = P.preface_findings(_analysis(d=256, var_ratio=27.0, cover3=1 - 0.0195), _Gen(0.93))
    assert f.kappa == pytest.approx(310 / 258)
    assert f.nu == pytest.approx((4 * 310 / 258 - 2) / (310 / 258 - 1))
    assert not f.normal
    assert f.elliptic_verdict == "holds, with t-like tails"
    assert "27 times" in f.rows().number[2]


@pytest.mark.parametrize("kappa_off, normal", [(0.049, True), (0.051, False)])
def test_kappa_threshold_sides(kappa_off, normal):
    d = 16
    ratio = (kappa_off * (d + 2)) / 2 + 1  # kappa = (2 r + d)/(d + 2) = 1 + kappa_off
    assert P.preface_findings(_analysis(d=d, var_ratio=ratio), _Gen()).normal is normal


def test_sampling_rule_and_elliptic_rule_sides():
    assert not P.preface_findings(_analysis(), _Gen(mvn=0.0, cubes=(0.0, 0.0))).sampling_works
    assert not P.preface_findings(_analysis(), _Gen(mvn=0.19, cubes=(0.1, 0.02))).sampling_works
    assert P.preface_findings(_analysis(), _Gen(mvn=0.21, cubes=(0.1, 0.02))).sampling_works
    far = P.preface_findings(_analysis(cover3=0.90), _Gen())
    assert far.elliptic_verdict == "does not hold"
    skewed = P.preface_findings(_analysis(skew=0.6), _Gen())
    assert not skewed.bell_shaped


def test_scorecard_markdown_has_caption_and_no_identifiers():
    md = P.preface_findings(_analysis(), _Gen()).scorecard_markdown
    assert md.rstrip().endswith("{#tbl-preface-scorecard}")
    assert "_" not in md.replace("@sec-", "")


def test_limitations_from_build():
    cfg = NS(data=NS(image_size=64, max_images=0), sweep=NS(image_size=32, max_images=4000, epochs=1),
             quality=NS(max_descriptors=300))
    faces = NS(source="celeba", meta={"original_sizes": {"89x109": 15723}},
               identities=np.array([1, 1, 2, 3, -1]), __len__=None)
    faces = type("F", (), {"source": "celeba", "meta": faces.meta, "identities": faces.identities,
                           "__len__": lambda self: 15723})()
    model = NS(meta={"train_seconds": 600.0}, history=pd.DataFrame({"loss": [1, 2, 3]}))
    lat = NS(summary={"psnr_mean": 22.34})
    gen = NS(metrics=pd.DataFrame({"metric": ["face_frechet", "face_frechet"], "n": [250, 280]}))
    lim = P.limitations(cfg, faces, model, lat, gen)
    text = lim.markdown
    assert "15,723 of CelebA's 202,599 images (7.8 %) of 3 people" in text
    assert "89 × 109" in text and "10.0 minutes" in text and "22.3 dB" in text
    assert "1 epoch;" in text and "at most 280 face descriptors" in text and "128 pixels" in text


def test_summary_sentence_follows_the_verdicts():
    t = P.preface_findings(_analysis(d=256, var_ratio=27.0, cover3=1 - 0.0195), _Gen(0.93))
    s = t.summary_sentence
    assert "yet the cloud as a whole is not multivariate normal" in s and "spread 27 times" in s
    assert "still makes detectable faces in 93 %" in s and "not the clear win" not in s
    n = P.preface_findings(_analysis(), _Gen(mvn=0.05, cubes=(0.05, 0.02)))
    assert "passes for multivariate normal" in n.summary_sentence
    assert "not the clear win" in n.summary_sentence
