"""The latent explorer's export (lsreport.explorer): compact, faithful, within budget."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest

from lsreport import explorer
from lsreport.sampling import LatentStats


def _export(rng, n=3000, d=256, faces=True, description="", n_steps=11, size=64):
    z = rng.standard_normal((n, d)) * np.linspace(0.5, 2, d) + 0.3
    cov = np.cov(z, rowvar=False)
    lam, vec = np.linalg.eigh(cov)
    lam, vec = lam[::-1], vec[:, ::-1]
    stats = LatentStats.fit(z, bin_width=0.25)
    paths = explorer.explorer_paths(stats, (0, 1), z[:2], n_steps=n_steps)
    images = ([rng.integers(0, 256, (n_steps, size, size, 3), dtype=np.uint8) for _ in paths]
              if faces else None)
    ex = explorer.export(z, mean=z.mean(0), cov=cov, components=vec.T, eigenvalues=lam,
                         ks=(1, 2, 2.5, 3), contour_masses=(0.393, 0.865, 0.989), default_pair=(0, 1),
                         rng=np.random.default_rng(0), n_points=2000, paths=paths, images=images,
                         radii=[stats.mahalanobis(p.points) for p in paths], description=description)
    return ex, z, cov, stats, paths, images


def _arr(s, dtype, shape):
    return np.frombuffer(base64.b64decode(s), dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def test_quantise_error_is_at_most_half_a_step(rng):
    z = rng.standard_normal((500, 7)) * [1, 10, 0.01, 1, 1, 1, 1]
    z[:, 3] = 2.5  # a constant component
    q, mid, step = explorer.quantise(z)
    back = explorer.dequantise(q, mid, step)
    assert q.dtype == np.int16
    assert np.all(np.abs(back - z) <= step / 2 + 1e-12)
    assert np.all(back[:, 3] == 2.5)
    np.testing.assert_allclose(step[:3], (z[:, :3].max(0) - z[:, :3].min(0)) / 65534)


def test_export_is_faithful_to_its_inputs(rng):
    ex, z, cov, stats, paths, images = _export(rng, d=16)
    data = ex.data
    m, d = data["n_points"], data["d"]
    assert (m, d, data["n_total"]) == (2000, 16, 3000)
    sub = explorer.dequantise(_arr(data["z_q"], "i2", (m, d)), np.array(data["z_mid"]),
                              np.array(data["z_step"]))
    # the exported points are rows of z (within the quantisation), distinct, in order
    hits = [int(np.argmin(np.abs(z - row).max(1))) for row in sub[:50]]
    assert np.abs(z[hits] - sub[:50]).max() <= max(data["z_step"]) and hits == sorted(set(hits))
    np.testing.assert_allclose(_arr(data["cov"], "f4", (d, d)), cov, rtol=1e-6, atol=1e-6)
    comps = _arr(data["components"], "f4", (d, d))
    np.testing.assert_allclose(comps @ cov @ comps.T, np.diag(data["eigenvalues"]), atol=1e-4)
    assert data["expected"] == pytest.approx([1 - np.exp(-k * k / 2) for k in (1, 2, 2.5, 3)])
    for p, src in zip(data["paths"], paths):
        np.testing.assert_array_equal(_arr(p["z"], "f4", src.points.shape), src.points)
        np.testing.assert_allclose(p["radius"], stats.mahalanobis(src.points), rtol=1e-9)
    assert ex.n_thumbnails == 33 and ex.has_faces and ex.ks_text == "1, 2, 2.5, 3"
    assert ex.n_pairs == 16 * 15 // 2


def test_principal_axis_path_is_mean_plus_t_sqrt_lambda_v(rng):
    _, z, cov, stats, paths, _ = _export(rng, d=6, faces=False)
    lam, vec = np.linalg.eigh(np.cov(z, rowvar=False))  # independent eigen-decomposition
    v = vec[:, -1] * np.sign(vec[np.argmax(np.abs(vec[:, -1])), -1])
    p = paths[0]
    step = p.points[-1] - p.points[len(p.points) // 2]
    cos = abs(step @ v) / np.linalg.norm(step)
    assert cos == pytest.approx(1, abs=1e-6)
    assert np.linalg.norm(step) == pytest.approx(3 * np.sqrt(lam[-1]), rel=1e-4)
    np.testing.assert_allclose(paths[2].points[[0, -1]], z[:2].astype(np.float32), rtol=1e-6)


def test_sprite_lays_out_one_row_per_path(rng):
    from PIL import Image

    rows = [rng.integers(0, 256, (5, 8, 6, 3), dtype=np.uint8) for _ in range(3)]
    rows[2] = rows[2][:4]  # a shorter row is padded with white
    uri = explorer.sprite_png(rows)
    assert uri.startswith("data:image/png;base64,")
    sheet = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert sheet.shape == (3 * 8, 5 * 6, 3)
    np.testing.assert_array_equal(sheet[8:16, 12:18], rows[1][2])
    assert np.all(sheet[16:24, 24:30] == 255)


def test_block_carries_data_and_code_and_survives_a_script_tag(rng):
    ex, *_ = _export(rng, d=8, faces=False, description="evil </script><b>")
    block = ex.block()
    assert block.startswith("```{=html}\n") and block.endswith("```\n")
    m = re.search(r'<script type="ojs-define">(.*?)</script>', block, re.S)
    contents = json.loads(m.group(1))["contents"]
    assert contents[0]["name"] == "lsx_data"
    assert contents[0]["value"]["description"] == "evil </script><b>"
    assert "window.LSX" in block and 'id="lsx-standalone"' in block
    assert contents[0]["value"]["sprite"] is None and not ex.has_faces and ex.n_thumbnails == 0


def test_export_of_a_256_dimensional_cloud_fits_the_budget(rng):
    ex, *_ = _export(rng, n=20000, d=256)
    assert ex.within_budget, ex.size_mb
    assert ex.nbytes < 3 * 2 ** 20  # measured: about 2 MB (subsample 1.4 MB, two D x D matrices 0.7 MB)
    small, *_ = _export(rng, n=20000, d=256, faces=False)
    assert 0 < ex.nbytes - small.nbytes < 1.5 * 33 * 64 * 64 * 3 * 4 / 3  # noise faces: PNG ~ raw


@pytest.mark.slow
def test_book_export_of_the_smoke_book(smoke_env, monkeypatch):
    import lsreport.book as book

    for k, v in smoke_env.items():
        monkeypatch.setenv(k, v)
    ctx = book.setup("smoke")
    ex = explorer.book_export(ctx)
    a = book.load("analysis")
    assert ex.d == a.d == ctx.cfg.model.latent_dim and ex.has_faces
    assert ex.data["default_pair"] == list(a.pairs[0].pair)
    assert ex.data["thumb"] == [ctx.cfg.data.image_size] * 2 and ex.within_budget
