"""`lsreport analyse`: latent files from anywhere, bad input, and the known-truth check.

The known truth: a multivariate normal cloud must come out "roughly
multivariate normal", a multivariate t cloud (nu = 5) of the *same*
covariance not, for the reason chapter 5 gives: the variance of the squared
Mahalanobis distances is 2D for a normal cloud, and for a t cloud
var(d²) / 2D = (nu + D - 2) / (nu - 4), 15 for nu = 5 and D = 12 (from
d² = (nu - 2) chi²_D / chi²_nu and E[1/chi²_nu^2] = 1 / ((nu - 2)(nu - 4))),
the excess coming from squared principal-component scores that co-vary (a
scale mixture).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lsreport import cli
from lsreport.analyse import analyse_file
from lsreport.data.latents import LatentFileError, check_latent_array, read_latent_file

D = 12
N = 4000


def _cov(rng) -> np.ndarray:
    a = rng.standard_normal((D, D))
    return a @ a.T / D + 0.5 * np.eye(D)


def _mvn(rng, cov, n=N) -> np.ndarray:
    return rng.multivariate_normal(np.full(D, 0.3), cov, size=n)


def _mvt(rng, cov, nu=5.0, n=N) -> np.ndarray:
    """Multivariate t with covariance ``cov`` (scale matrix cov (nu - 2) / nu)."""
    g = rng.multivariate_normal(np.zeros(D), cov * (nu - 2) / nu, size=n)
    w = rng.chisquare(nu, size=n) / nu
    return 0.3 + g / np.sqrt(w)[:, None]


def _run(args, capsys) -> tuple[int, str]:
    rc = cli.main(["analyse", *args])
    return rc, capsys.readouterr().err


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LSREPORT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize("make, words", [
    (lambda z: np.where(np.isin(np.arange(len(z))[:, None], [3, 70, 71]) & (np.arange(D) == 2), np.nan, z),
     ["3 of 400 rows", "3 NaN", "rows 3, 70, 71"]),
    (lambda z: np.where((np.arange(len(z)) == 9)[:, None] & (np.arange(D) < 2), np.inf, z),
     ["1 of 400 rows", "2 inf", "rows 9"]),
    (lambda z: z[:D], ["N = 12 vectors", "D = 12", "singular"]),
    (lambda z: z[:, 0], ["1-D", "shape (400,)", "(N, D)"]),
    (lambda z: z.reshape(100, 4, D), ["3-D", "shape (100, 4, 12)", "reshape(-1, 12)"]),
    (lambda z: z.astype(str), ["dtype <U", "strings"]),
    (lambda z: z > 0, ["dtype bool", "booleans"]),
    (lambda z: z.astype(complex), ["complex"]),
])
def test_bad_arrays_are_refused_with_where_and_nothing_is_written(tmp_path, capsys, cache, rng,
                                                                  make, words):
    f = tmp_path / "bad.npy"
    np.save(f, make(rng.standard_normal((400, D))))
    out = tmp_path / "out"
    rc, err = _run([str(f), "--out", str(out), "--no-render"], capsys)
    assert rc == 2
    for w in words:
        assert w in err, (w, err)
    assert not out.exists() and _leftovers(tmp_path) == [] and not cache.exists()


def test_object_arrays_are_refused(tmp_path, capsys, cache):
    f = tmp_path / "obj.npy"
    np.save(f, np.array([[1.0, "a"]] * 50, dtype=object), allow_pickle=True)
    rc, err = _run([str(f), "--no-render"], capsys)
    assert rc == 2 and "Python objects" in err
    assert not (tmp_path / "obj-analysis").exists()


def test_missing_file_and_wrong_suffix(tmp_path, capsys, cache):
    rc, err = _run([str(tmp_path / "nope.npy"), "--no-render"], capsys)
    assert rc == 2 and "does not exist" in err
    f = tmp_path / "z.csv"
    f.write_text("1,2\n")
    rc, err = _run([str(f), "--no-render"], capsys)
    assert rc == 2 and ".npy or .npz" in err


def test_too_few_training_vectors_counts_the_split(tmp_path, rng):
    f = tmp_path / "z.npz"
    split = np.r_[np.zeros(D), np.full(300, 2)].astype(int)  # 12 training vectors for D = 12
    np.savez(f, z=rng.standard_normal((len(split), D)), split=split)
    with pytest.raises(LatentFileError, match=r"12 training vectors \(of 312\)"):
        read_latent_file(f)


def test_npz_fields_and_split_words(tmp_path, rng):
    f = tmp_path / "z.npz"
    z = rng.standard_normal((60, 3))
    words = np.array(["test", "train", "validation"] * 20)
    np.savez(f, z=z, ids=np.array([f"face{i}" for i in range(60)]), split=words,
             labels=np.arange(60) % 2)
    lf = read_latent_file(f)
    assert lf.key == "z" and lf.ids[5] == "face5" and lf.labels.shape == (60,)
    assert list(lf.split[:3]) == [2, 0, 1] and lf.extra["split_given"]
    np.testing.assert_array_equal(lf.z, z.astype(np.float32))
    np.savez(f, z=z, split=np.array(["train", "dev"] * 30))
    with pytest.raises(LatentFileError, match="'dev'"):
        read_latent_file(f)
    np.savez(f, z=z, labels=np.arange(59))
    with pytest.raises(LatentFileError, match=r"'labels' has shape \(59,\)"):
        read_latent_file(f)
    np.savez(f, a=z, b=z)
    with pytest.raises(LatentFileError, match="name the latent array 'z'"):
        read_latent_file(f)


def test_check_latent_array_keeps_values_and_reports_float32_overflow():
    z = np.array([[1.5, -2.0], [3.0, 1e39]])
    with pytest.raises(LatentFileError, match="float32 range"):
        check_latent_array(z)
    np.testing.assert_array_equal(check_latent_array(z[:1]), np.float32([[1.5, -2.0]]))
    assert check_latent_array(np.arange(6).reshape(3, 2)).dtype == np.float32


def _decoder(d: int, path):
    import keras

    inp = keras.Input((d,))
    x = keras.layers.Dense(8 * 8 * 3, activation="sigmoid")(inp)
    keras.Model(inp, keras.layers.Reshape((8, 8, 3))(x), name="decoder").save(path)
    return path


@pytest.mark.slow
def test_decoder_of_another_size_is_refused(tmp_path, capsys, cache, rng):
    f = tmp_path / "z.npy"
    np.save(f, rng.standard_normal((200, D)))
    dec = _decoder(D + 4, tmp_path / "decoder.keras")
    out = tmp_path / "out"
    rc, err = _run([str(f), "--decoder", str(dec), "--out", str(out), "--no-render"], capsys)
    assert rc == 2 and "shape (16,)" in err and "D = 12" in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_an_unrelated_folder_is_not_overwritten(tmp_path, capsys, cache, rng):
    f = tmp_path / "z.npy"
    np.save(f, rng.standard_normal((200, 3)))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    rc, err = _run([str(f), "--out", str(out), "--no-render", "--profile", "smoke"], capsys)
    assert rc == 2 and "not the output of an earlier" in err
    assert (out / "thesis.tex").read_text() == "keep me"


# ------------------------------------------------------------- known truth


def test_cloud_verdict_is_chapter_5s_rule():
    # chapter 5: var(d²) within 10 % of 2D reads as "spread like a normal cloud"
    from lsreport.findings.cloud import CloudFindings

    assert CloudFindings.VAR_TOL == 0.10


@pytest.fixture(scope="module")
def clouds(tmp_path_factory):
    """The two clouds of one covariance, written with numpy.save."""
    rng = np.random.default_rng(2024)
    cov = _cov(rng)
    folder = tmp_path_factory.mktemp("clouds")
    np.save(folder / "mvn.npy", _mvn(rng, cov))
    np.save(folder / "mvt5.npy", _mvt(rng, cov))
    return folder, cov


def test_known_truth_through_lsreport_analyse(clouds, tmp_path, capsys, cache):
    folder, cov = clouds
    found = {}
    for name in ("mvn", "mvt5"):
        out = tmp_path / name
        rc, err = _run([str(folder / f"{name}.npy"), "--out", str(out), "--no-render",
                        "--profile", "smoke"], capsys)
        assert rc == 0, err
        found[name] = json.loads((out / "findings.json").read_text())
        assert (out / "lsreport-analyse.toml").exists()
        assert found[name]["n_train"] == N and found[name]["d"] == D
    normal, t = found["mvn"]["cloud"], found["mvt5"]["cloud"]
    assert normal["looks_normal"] and normal["verdict"].startswith("Yes: its distances")
    assert abs(normal["var_ratio"] - 1) <= 0.10 and normal["var_tol"] == 0.10
    # the book's reason for the t cloud: d² far more spread than chi²(D), and the excess is the
    # co-variation of squared PC scores (a scale mixture), not single heavy-tailed axes
    assert not t["looks_normal"] and t["verdict"].startswith("No") and "more spread than" in t["verdict"]
    assert t["scale_mixture"] and not normal["scale_mixture"]
    assert t["var_ratio"] > 4  # 15 in theory; the sample value of a heavy tail runs low
    assert t["dependence_share"] > 0.5 > normal["dependence_share"] + 0.3
    assert t["tail_ratio_99"] > 1.5 * normal["tail_ratio_99"]


def test_a_second_run_replaces_its_own_output(clouds, tmp_path, capsys, cache):
    folder, _ = clouds
    out = tmp_path / "again"
    for _ in range(2):
        rc, err = _run([str(folder / "mvn.npy"), "--out", str(out), "--no-render",
                        "--profile", "smoke"], capsys)
        assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["findings.json", "lsreport-analyse.toml"]
    assert _leftovers(tmp_path) == []


def test_the_latents_step_groups_rows_by_split_and_keeps_ids(tmp_path, cache, rng):
    from lsreport import pipeline
    from lsreport.config import load_config

    f = tmp_path / "z.npz"
    z = rng.standard_normal((90, 3))
    split = np.array([2, 0, 1] * 30)
    np.savez(f, z=z, split=split)
    cfg = load_config("smoke", {"data.source": "latents", "data.path": str(f)})
    lat = pipeline.latents(cfg, progress=False)
    assert list(np.bincount(lat.split)) == [30, 30, 30] and np.all(np.diff(lat.split) >= 0)
    rows = lat.ids.astype(int)
    np.testing.assert_array_equal(np.asarray(lat.z), z[rows].astype(np.float32))
    np.testing.assert_array_equal(np.asarray(lat.split_z("train")), z[split == 0].astype(np.float32))


@pytest.mark.slow
def test_known_truth_rendered_by_quarto(clouds, tmp_path, capsys, cache):
    """The rendered first page and chapter 5 say it, for the right cloud."""
    if shutil.which("quarto") is None:
        pytest.skip("Quarto is not installed (https://quarto.org)")
    folder, _ = clouds
    for name, head in (("mvn", "Yes: "), ("mvt5", "No: ")):
        out = tmp_path / name
        rc, err = _run([str(folder / f"{name}.npy"), "--out", str(out), "--profile", "smoke",
                        "--chapters", "05"], capsys)
        assert rc == 0, err
        verdict = json.loads((out / "findings.json").read_text())["cloud"]["verdict"]
        assert verdict.startswith(head)
        first = (out / "index.html").read_text()
        ch5 = (out / "chapters" / "05-multivariate-normality-and-pca.html").read_text()
        assert f"{name}.npy" in first and verdict in first
        assert verdict in ch5
        assert not (out / "chapters" / "06-generating-faces.html").exists()


@pytest.mark.slow
def test_the_latents_of_a_sweep_variant_saved_with_numpy(smoke_env, tmp_path, capsys, monkeypatch):
    """A variant of the (smoke) sweep, exported with numpy.save, analysed by the command:
    var(d²) / 2D is the sweep's own summary of that variant (same vectors, all of them)."""
    from lsreport import experiments, pipeline
    from lsreport.config import load_config

    for k, v in smoke_env.items():
        monkeypatch.setenv(k, v)
    cfg = load_config("smoke")
    store = pipeline.store_for(cfg)
    v = next(x for x in experiments.variants(cfg) if not x.untrained)
    vcfg = experiments.variant_config(cfg, v)
    z = np.asarray(pipeline.latents(vcfg, store, progress=False).z)
    np.save(tmp_path / "variant.npy", z)
    summary = experiments.run_variant(cfg, v, store).meta["summary"]
    rc, err = _run([str(tmp_path / "variant.npy"), "--out", str(tmp_path / "out"), "--no-render",
                    "--profile", "smoke"], capsys)
    assert rc == 0, err
    found = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert (found["n"], found["d"]) == z.shape and found["n_train"] == len(z)
    assert found["cloud"]["var_ratio"] == pytest.approx(summary["d2_var_ratio"], rel=1e-6)


@pytest.mark.slow
def test_with_a_decoder_the_faces_are_its_images_and_their_encoding_is_exact(tmp_path, cache, rng):
    """The faces step of a latents source decodes the file's vectors (grouped by split);
    without an encoder, the model's encoder looks those images up and returns their z."""
    from lsreport import pipeline
    from lsreport.config import load_config
    from lsreport.data.latents import LookupEncoder
    from lsreport.latent import decode, encode_images, reconstruct

    z = rng.standard_normal((120, D)).astype(np.float32)
    split = np.array([1, 0, 2] * 40)
    np.savez(tmp_path / "z.npz", z=z, split=split)
    dec = _decoder(D, tmp_path / "decoder.keras")
    cfg = load_config("smoke", {"data.source": "latents", "data.path": str(tmp_path / "z.npz"),
                                "data.decoder": str(dec)})
    faces = pipeline.faces(cfg, progress=False)
    model = pipeline.model(cfg, progress=False)
    order = np.argsort(split, kind="stable")
    np.testing.assert_array_equal(np.asarray(faces.images), decode(model.decoder, z[order]))
    assert faces.split_sizes() == {"train": 40, "validation": 40, "test": 40}
    assert isinstance(model.encoder, LookupEncoder) and len(model.history) == 0
    test = np.asarray(faces.split_images("test"))
    perm = rng.permutation(len(test))  # any order, not just the stored one
    np.testing.assert_array_equal(encode_images(model.encoder, test[perm]), z[split == 2][perm])
    np.testing.assert_allclose(reconstruct(model.decoder, model.encoder, test) * 255,
                               test.astype(float), atol=0.5 + 1e-3)
    with pytest.raises(LatentFileError, match="only encodes the decoder's images"):
        encode_images(model.encoder, 255 - test[:1])
