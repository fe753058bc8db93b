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
