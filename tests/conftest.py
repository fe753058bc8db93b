"""Shared fixtures: Agg backend, a seeded rng, figures closed after each test."""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: ../shared/data beside the project (real faces; never committed).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def shared_data():
    if not SHARED_DATA.exists():
        pytest.skip(f"real face data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smoke_env(tmp_path_factory):
    """The smoke pipeline, run once per session into a temporary cache.

    Returns the environment variables that make a chapter (or ``quarto
    render``) read that cache: ``LSREPORT_CACHE`` and ``LSREPORT_PROFILE``.
    """
    from lsreport import pipeline
    from lsreport.config import load_config

    env = {"LSREPORT_CACHE": str(tmp_path_factory.mktemp("smoke-cache")),
           "LSREPORT_PROFILE": "smoke"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        pipeline.run(load_config("smoke"), upto="sweep", progress=False)
    return env
