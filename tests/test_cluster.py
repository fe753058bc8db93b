"""The sweep on a local Ray cluster gives the sequential sweep's table."""

import numpy as np
import pandas as pd
import pytest

from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config

ray = pytest.importorskip("ray", reason="Ray is not installed (optional extra: pip install -e '.[cluster]')")

from lsreport import cluster  # noqa: E402
from lsreport.experiments import STEP, MissingDataError, _variant_job, run_sweep, variant_key, variants  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    # a private single-machine cluster on 127.0.0.1, stopped at the end
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_sweep_equals_the_sequential_sweep_and_resumes(local_ray, tmp_path):
    cfg = load_config("smoke")
    seq = run_sweep(cfg, ArtifactStore(tmp_path / "seq"), progress=False)
    store = ArtifactStore(tmp_path / "ray")
    jobs = [cluster.ClusterJob(v.name, STEP, variant_key(cfg, v), _variant_job, (cfg, v),
                               skip=(MissingDataError,)) for v in variants(cfg)]
    # an interrupted earlier run: one variant already in the store
    first = cluster.run_on_ray(jobs[:1], store, progress=False)
    assert first.submitted == [jobs[0].name] and first.resources == {"num_cpus": 1}
    assert store.exists(STEP, jobs[0].key)
    out = cluster.run_on_ray(jobs, store, progress=False)
    assert out.cached == [jobs[0].name] and out.submitted == [j.name for j in jobs[1:]]
    on_ray = run_sweep(cfg, store, progress=False, ray_address="auto")  # all cached now: nothing runs
    timing = ["seconds"]  # each variant's own wall time, different in every run
    pd.testing.assert_frame_equal(on_ray.table.drop(columns=timing), seq.table.drop(columns=timing),
                                  check_exact=True)
    assert (seq.table.status == "done").sum() >= 3
    for name, spectrum in seq.spectra.items():
        np.testing.assert_array_equal(on_ray.spectra[name], spectrum)


def test_task_resources_ask_for_a_gpu_where_there_is_one():
    assert cluster._task_resources({"CPU": 16, "GPU": 2}) == {"num_gpus": 1, "num_cpus": 1}
    assert cluster._task_resources({"CPU": 2}) == {"num_cpus": 1}


def test_read_only_store_is_refused(tmp_path):
    job = cluster.ClusterJob("x", "variant", "k", print)
    with pytest.raises(ValueError, match="read-only"):
        cluster.run_on_ray([job], ArtifactStore(tmp_path, read_only=True), progress=False)


def _fails(store):
    raise FileNotFoundError("no data here")


def test_skipped_jobs_are_reported_not_raised(local_ray, tmp_path):
    import sys

    # this test module is not importable on the workers: send the function by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    jobs = [cluster.ClusterJob("gone", "variant", "k1", _fails, skip=(FileNotFoundError,))]
    out = cluster.run_on_ray(jobs, ArtifactStore(tmp_path), progress=False)
    assert out.submitted == ["gone"] and out.skipped == {"gone": "skipped: no data here"}
