"""A quiet command line: no TensorFlow C++ log lines, predict traced once per model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lsreport import _tf

ABSL = "I0000 00:00:1796161965.382963   16294 port.cc:153] oneDNN custom operations are on."
OLD = "2022-02-23 07:31:55.511878: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] x"


def test_recognises_cpp_log_lines():
    assert _tf.is_cpp_log_line(ABSL)
    assert _tf.is_cpp_log_line("E0000 00:00:1796161341.242411    9688 cuda_platform.cc:52] failed call to cuInit")
    assert _tf.is_cpp_log_line(OLD)
    assert _tf.is_cpp_log_line("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert not _tf.is_cpp_log_line("WARNING:tensorflow:5 out of the last 5 calls ... retracing")
    assert not _tf.is_cpp_log_line("lsreport: error: no such profile")


def test_keeps_what_is_not_a_cpp_line():
    text = (f"{ABSL}\nTo enable the following instructions: AVX2, rebuild TensorFlow.\n"
            "/x/y.py:3: DeprecationWarning: old\n  warnings.warn(...)\nTraceback (most recent call last):\n")
    kept = _tf._without_cpp_lines(text)
    assert kept[0].startswith("/x/y.py:3: DeprecationWarning") and "Traceback" in kept[-1]
    assert not any("AVX2" in ln or "oneDNN" in ln for ln in kept)


@pytest.mark.slow
def test_cold_tensorflow_import_through_lsreport_prints_no_cpp_line():
    code = ("import lsreport, keras, numpy as np\n"
            "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
            "from lsreport.latent import _predict\n"
            "print(_predict(m, np.zeros((3, 4))).shape)\n")
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(3, 2)"
    bad = [ln for ln in r.stderr.splitlines() if _tf.is_cpp_log_line(ln) or "oneDNN" in ln or "cuInit" in ln]
    assert bad == [], r.stderr


def test_predict_is_traced_once_for_any_batch_size():
    import keras

    from lsreport import latent

    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    for n in (1, 5, 7, 256, 300):
        out = latent._predict(m, x[:n])
    np.testing.assert_allclose(out, m.predict_on_batch(x), rtol=1e-6, atol=1e-6)
    assert latent._compiled(m).experimental_get_tracing_count() == 1
