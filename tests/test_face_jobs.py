"""The dlib worker machinery: queued jobs and the overlapped generation step give
the numbers of the serial computation, bit for bit."""

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lsreport import quality as Q

TIGHT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "celeba_tight"


@pytest.fixture(scope="module")
def images():
    # real faces where available (detections and descriptors then vary), else noise
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, (12, 64, 64, 3), dtype=np.uint8)
    if not TIGHT.is_dir():
        more = rng.integers(0, 256, (36, 64, 64, 3), dtype=np.uint8)
        return np.concatenate([more, noise])
    from PIL import Image

    files = sorted(TIGHT.glob("*.jpg"))[:36]
    real = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    return np.concatenate([real, noise])


def _same_analysis(a: Q.FaceAnalysis, b: Q.FaceAnalysis) -> None:
    for f in fields(Q.FaceAnalysis):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name


def test_submitted_jobs_equal_the_serial_analysis(images):
    serial = Q.analyse_faces(images, max_descriptors=10, n_jobs=1)
    with Q.face_pool(2) as pool:
        jobs = [Q.submit_faces(images, executor=pool, max_descriptors=10, n_jobs=2),
                Q.submit_faces(images[:20], executor=pool, max_descriptors=10, n_jobs=2, chunk_size=3)]
        assert isinstance(jobs[0], Q.FaceJob)
        first, second = (j.result() for j in jobs)
    assert jobs[0].done() and jobs[0].result() is first  # computed once
    _same_analysis(first, serial)
    _same_analysis(second, Q.analyse_faces(images[:20], max_descriptors=10, n_jobs=1))
    assert first.descriptors.shape == (10, 128)
    # without a pool the job runs at once and comes back finished
    _same_analysis(Q.submit_faces(images, max_descriptors=10, n_jobs=1).result(), serial)


def test_submit_faces_uses_and_fills_the_cache(images):
    cache = {}
    job = Q.submit_faces(images[:6], max_descriptors=2, n_jobs=1, cache=cache)
    assert not cache  # stored when the result is first read
    a = job.result()
    assert len(cache) == 1
    hit = Q.submit_faces(images[:6], max_descriptors=2, n_jobs=1, cache=cache)
    assert hit.done() and hit.result() is a
    assert Q.analyse_faces(images[:6], max_descriptors=2, n_jobs=1, cache=cache) is a


def _train(images):
    # the pixel PCA needs at least 64 training images
    return np.concatenate([images, images[:, ::-1], images[:, :, ::-1]])


def _sets(images):
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (16,) + images.shape[1:], dtype=np.uint8)
    return {"a": images[:16], "noise": noise, "c": rng.permutation(images)[:16],
            "a again": images[:16].copy()}


def test_quality_table_overlapped_equals_serial(images):
    sets = _sets(images)
    ref, train = images[::2][:16], _train(images[1::2])
    kw = {"n_boot": 30, "n_projections": 16, "max_descriptors": 6}
    serial = Q.quality_table(sets, ref, train, rng=np.random.default_rng(7), n_jobs=1, **kw)
    pooled = Q.quality_table(sets, ref, train, rng=np.random.default_rng(7), n_jobs=2, backend="process", **kw)
    threaded = Q.quality_table(sets, ref, train, rng=np.random.default_rng(7), n_jobs=2, backend="thread", **kw)
    with Q.face_pool(2) as pool:
        queued = {k: Q.submit_faces(s, executor=pool, max_descriptors=6) for k, s in sets.items()}
        ref_job = Q.submit_faces(ref, executor=pool, max_descriptors=6)
        given = Q.quality_table(sets, ref, train, rng=np.random.default_rng(7), executor=pool,
                                faces=queued, reference_faces=ref_job, **kw)
    # 4 sets x (6 metrics + precision/recall/density/coverage) + the real detection rate;
    # prdc needs k + 2 = 7 descriptors, so with 6 its four values are NaN
    assert len(serial) == 4 * 10 + 1
    prdc = serial.metric.isin(["precision", "recall", "density", "coverage"])
    assert serial.loc[~prdc, "value"].notna().all() and serial.loc[prdc, "value"].isna().all()
    for other in (pooled, threaded, given):
        pd.testing.assert_frame_equal(other, serial, check_exact=True)
    # each set's row rests on its own analysis (an independent dlib run per set)
    rates = serial[serial.metric == "detection_rate"].set_index("image_set")["value"]
    for k, s in sets.items():
        assert rates[k] == Q.analyse_faces(s, max_descriptors=0, n_jobs=1).rate, k


def test_quality_table_refuses_mismatched_reference_faces(images):
    ref, train = images[:10], _train(images[10:])
    wrong = Q.analyse_faces(images[:7], max_descriptors=2, n_jobs=1)
    with pytest.raises(ValueError, match="analysis of 7 images"):
        Q.quality_table({"a": images[:8]}, ref, train, rng=np.random.default_rng(0), n_jobs=1,
                        max_descriptors=2, n_boot=5, reference_faces=wrong)


def test_an_error_in_the_metrics_cancels_the_queued_work(images):
    sets = {f"s{k}": images for k in range(6)}
    ref = images[:16]
    with Q.face_pool(1) as pool:
        ref_job = Q.submit_faces(ref, executor=pool, max_descriptors=None, n_jobs=1)
        jobs = {k: Q.submit_faces(s, executor=pool, max_descriptors=None, n_jobs=1) for k, s in sets.items()}
        with pytest.raises(ValueError, match="latent_stats"):
            # latents without stats fail in the first set's report; the sets
            # still queued must be dropped, not analysed before the error comes out
            Q.quality_table(sets, ref, _train(images), rng=np.random.default_rng(0),
                            executor=pool, faces=jobs, reference_faces=ref_job, max_descriptors=None,
                            n_boot=5, latents={"s0": np.zeros((len(images), 2))})
        assert all(p.cancelled() for p in jobs["s5"]._parts)


@pytest.mark.slow
def test_generation_step_pool_and_serial_give_identical_metrics(tmp_path):
    # the whole step on the smoke profile: dlib in two workers overlapped with
    # the mixture fit and the pixel metrics, against everything in-process
    from lsreport import pipeline
    from lsreport.artifacts import ArtifactStore
    from lsreport.config import load_config, with_overrides
    from lsreport.generate import generate

    cfg = load_config("smoke")
    store = ArtifactStore(tmp_path / "cache")
    f = pipeline.faces(cfg, store, progress=False)
    m = pipeline.model(cfg, store, progress=False)
    z = pipeline.latents(cfg, store, progress=False)
    out = {}
    for workers in (1, 2):
        c = with_overrides(cfg, {"quality.workers": workers})
        out[workers] = generate(c, ArtifactStore(tmp_path / f"gen{workers}"), f, m, z, progress=False)
    pd.testing.assert_frame_equal(out[2].metrics, out[1].metrics, check_exact=True)
    assert out[1].labels == out[2].labels and out[1].labels[-2:] == ["reconstructions", "real (held out)"]
    for lbl in out[1].labels:
        np.testing.assert_array_equal(out[1].images[lbl], out[2].images[lbl])
