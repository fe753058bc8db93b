"""The rendered latent explorer in headless Chromium (selenium + chromedriver).

Renders the explorer page for a correlated normal cloud with a small decoder
through ``lsreport analyse``, serves it the way GitHub Pages would (a static
HTTP server) and opens it as ``file://``. Checks: no JavaScript errors,
changing the pair changes the drawing (and the measured coverage agrees with
NumPy on the exported points), moving the slider shows another face.

Skips with the reason where Quarto, Chromium, chromedriver or selenium is
missing (CI installs them: ``.ci/run``).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import re
import shutil
import threading
import time

import numpy as np
import pytest

from lsreport.analyse import EXPLORER_CHAPTER, analyse_file

pytestmark = pytest.mark.slow

D = 10
PAGE = "chapters/09-explorer.html"
#: Messages of resources this offline machine cannot fetch (web fonts, CDN) and of
#: the missing favicon: not the page's doing.
OFFLINE = re.compile(r"^https?://(?!127\.0\.0\.1)\S+ - Failed to load resource|favicon\.ico")
#: Under file:// browsers block Quarto's own module scripts (site-wide, every page).
FILE_BLOCKED = re.compile(r"site_libs/\S+\.js.*(blocked by CORS policy|Failed to load resource)")


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                    "(pip install selenium)")
    chrome = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    if not chrome or not driver:
        pytest.skip("no Chromium and chromedriver (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--window-size=1200,1500"):
        opts.add_argument(a)
    opts.binary_location = chrome
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def _decoder(path):
    import keras

    inp = keras.Input((D,))
    x = keras.layers.Dense(16 * 16 * 3, activation="sigmoid",
                           kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=3))(inp)
    keras.Model(inp, keras.layers.Reshape((16, 16, 3))(x), name="decoder").save(path)
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    if shutil.which("quarto") is None:
        pytest.skip("Quarto is not installed (https://quarto.org)")
    driver = _browser()  # skip before the slow render when there is no browser
    driver.quit()
    folder = tmp_path_factory.mktemp("explorer")
    rng = np.random.default_rng(7)
    a = rng.standard_normal((D, D))
    z = rng.multivariate_normal(np.full(D, 0.2), a @ a.T / D + 0.3 * np.eye(D), size=3000)
    np.savez(folder / "cloud.npz", z=z, split=np.repeat([0, 1, 2], [2400, 300, 300]))
    out = folder / "book"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LSREPORT_CACHE", str(folder / "cache"))
        analyse_file(folder / "cloud.npz", decoder=_decoder(folder / "decoder.keras"), out=out,
                     profile="smoke", chapters=[EXPLORER_CHAPTER], log=lambda s: None,
                     env={"LSREPORT_CACHE": str(folder / "cache")})
    return out


@pytest.fixture(scope="module")
def server(book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def browser():
    d = _browser()
    yield d
    d.quit()


def _open(d, url) -> float:
    t0 = time.perf_counter()
    d.get(url)
    _wait(d, "return !!document.querySelector('svg#lsx-scatter') && "
             "!!document.querySelector('canvas#lsx-face[data-painted]')")
    return time.perf_counter() - t0


def _wait(d, script, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if d.execute_script(script):
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def _errors(d, allowed=()):
    return [e["message"] for e in d.get_log("browser")
            if e["level"] == "SEVERE" and not OFFLINE.search(e["message"])
            and not any(a.search(e["message"]) for a in allowed)]


def _export(book) -> dict:
    html = (book / PAGE).read_text(encoding="utf-8")
    m = re.search(r'<script type="ojs-define">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))["contents"][0]["value"]


def _numpy_coverage(ex, space, i, j):
    """Shares of the exported points inside each ellipse, computed independently of the JS."""
    d, m = ex["d"], ex["n_points"]
    q = np.frombuffer(base64.b64decode(ex["z_q"]), "<i2").reshape(m, d)
    z = np.asarray(ex["z_mid"]) + np.asarray(ex["z_step"]) * q
    cov = np.frombuffer(base64.b64decode(ex["cov"]), "<f4").reshape(d, d).astype(float)
    mean = np.asarray(ex["mean"])
    if space == "latent":
        xy, mu, s = z[:, [i, j]], mean[[i, j]], cov[np.ix_([i, j], [i, j])]
    else:
        comps = np.frombuffer(base64.b64decode(ex["components"]), "<f4").reshape(d, d)
        xy, mu = (z - mean) @ comps[[i, j]].T, np.zeros(2)
        s = np.diag(np.asarray(ex["eigenvalues"])[[i, j]])
    dev = xy - mu
    d2 = np.einsum("ni,ij,nj->n", dev, np.linalg.inv(s), dev)
    return [float(np.mean(d2 <= k * k)) for k in ex["ks"]]


def _table(d):
    return [float(t.rstrip(" %")) / 100 for t in d.execute_script(
        "return Array.from(document.querySelectorAll('#lsx-coverage .lsx-measured'))"
        ".map(e => e.textContent)")]


def _drawing(d):
    return d.execute_script(
        "const s = document.querySelector('svg#lsx-scatter');"
        "return [s.getAttribute('data-pair'), Array.from(s.querySelectorAll('.lsx-contour'))"
        ".map(p => p.getAttribute('d')).join('|'), Array.from(s.querySelectorAll('.lsx-ellipse'))"
        ".map(p => p.getAttribute('points')).join('|')]")


def test_loads_over_http_without_javascript_errors(book, server, browser):
    seconds = _open(browser, f"{server}/{PAGE}")
    assert _errors(browser) == []
    pair, contours, ellipses = _drawing(browser)
    ex = _export(book)
    assert pair == "latent:{},{}".format(*ex["default_pair"])
    assert contours.count("M") > 20 and ellipses.count(",") > 4 * 90
    print(f"explorer loaded in {seconds:.2f} s over HTTP")


def test_changing_the_pair_changes_the_drawing(book, server, browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    _open(browser, f"{server}/{PAGE}")
    ex = _export(book)
    before = _drawing(browser)
    i0, j0 = ex["default_pair"]
    assert _table(browser) == pytest.approx(_numpy_coverage(ex, "latent", i0, j0), abs=6e-4)
    new_i = next(k for k in range(D) if k not in (i0, j0))
    Select(browser.find_element("id", "lsx-i")).select_by_value(str(new_i))
    _wait(browser, f"return document.querySelector('svg#lsx-scatter').getAttribute('data-pair')"
                   f" === 'latent:{new_i},{j0}'")
    after = _drawing(browser)
    assert after[1] != before[1] and after[2] != before[2]
    assert _table(browser) == pytest.approx(_numpy_coverage(ex, "latent", new_i, j0), abs=6e-4)
    browser.find_element("id", "lsx-scatter").screenshot(str(tmp_path / "explorer-pair.png"))
    Select(browser.find_element("id", "lsx-space")).select_by_value("pc")
    _wait(browser, "return document.querySelector('svg#lsx-scatter').getAttribute('data-pair')"
                   " === 'pc:0,1'")
    assert _table(browser) == pytest.approx(_numpy_coverage(ex, "pc", 0, 1), abs=6e-4)
    assert _errors(browser) == []


def test_moving_the_slider_shows_another_face(server, browser):
    from selenium.webdriver.common.keys import Keys

    _open(browser, f"{server}/{PAGE}")
    face = "return document.querySelector('canvas#lsx-face').toDataURL()"
    first, step0 = browser.execute_script(face), browser.execute_script(
        "return document.querySelector('canvas#lsx-face').dataset.step")
    marker0 = browser.find_element("id", "lsx-step-marker").get_attribute("cx")
    browser.find_element("id", "lsx-step").send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    _wait(browser, f"const c = document.querySelector('canvas#lsx-face');"
                   f" return c.dataset.step !== '{step0}' && c.dataset.painted === '1'")
    assert browser.execute_script(face) != first
    assert browser.find_element("id", "lsx-step-marker").get_attribute("cx") != marker0
    assert _errors(browser) == []


def test_works_opened_as_a_file(book, browser):
    from selenium.webdriver.support.ui import Select

    seconds = _open(browser, (book / PAGE).resolve().as_uri())
    assert browser.execute_script("return !!document.querySelector('#lsx-standalone svg#lsx-scatter')")
    before = _drawing(browser)
    i0, j0 = (int(c) for c in before[0].split(":")[1].split(","))
    Select(browser.find_element("id", "lsx-j")).select_by_value(
        str(next(k for k in range(D) if k not in (i0, j0))))
    _wait(browser, f"return document.querySelector('svg#lsx-scatter').getAttribute('data-pair')"
                   f" !== '{before[0]}'")
    assert _drawing(browser)[1] != before[1]
    assert _errors(browser, allowed=(FILE_BLOCKED,)) == []
    print(f"explorer loaded in {seconds:.2f} s from file://")
