"""The CelebA source: folder, zip, identity-disjoint split, errors, real data."""

import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.data import faces_key, load_faces, load_original

N_ID, PER_ID = 12, 5


@pytest.fixture
def fake_celeba(tmp_path, rng):
    """60 small 'aligned' images of 12 identities plus an identity file."""
    root = tmp_path / "celeba"
    img_dir = root / "img_align_celeba"
    img_dir.mkdir(parents=True)
    ident = rng.permutation(np.repeat(np.arange(100, 100 + N_ID), PER_ID))
    lines = []
    for i, who in enumerate(ident, start=1):
        arr = np.full((55, 45, 3), (who * 7) % 256, np.uint8)
        arr[..., 1] = rng.integers(0, 256, (55, 45))
        Image.fromarray(arr).save(img_dir / f"{i:06d}.jpg", quality=92)
        lines.append(f"{i:06d}.jpg {who}")
    lines.append("999999.jpg 7")          # an id without an image: ignored
    (root / "identity_CelebA.txt").write_text("\n".join(lines) + "\n")
    return root, dict(zip([f"{i:06d}" for i in range(1, 61)], ident))


def _cfg(path="", **over):
    cfg = load_config("smoke")
    return with_overrides(cfg, {"data.source": "celeba", "data.path": str(path), **over})


def test_split_is_identity_disjoint(fake_celeba, tmp_path):
    root, truth = fake_celeba
    fd = load_faces(_cfg(root), ArtifactStore(tmp_path / "c"), progress=False)
    assert fd.source == "celeba" and len(fd) == 60
    assert fd.images.shape == (60, 32, 32, 3)
    # identities come from the file, independent of the split
    assert [truth[i] for i in fd.ids] == list(fd.identities)
    for who in np.unique(fd.identities):
        assert len(np.unique(fd.split[fd.identities == who])) == 1
    sizes = fd.split_sizes()
    assert sizes["train"] == pytest.approx(48, abs=PER_ID)
    # rows are grouped by split and split_images is a view
    assert np.all(np.diff(fd.split) >= 0)
    assert np.shares_memory(fd.split_images("train"), fd.images)
    assert "split by identity (12 people" in fd.description


def test_folder_itself_zip_and_env_var_agree(fake_celeba, tmp_path, monkeypatch):
    root, _ = fake_celeba
    ref = load_faces(_cfg(root), ArtifactStore(tmp_path / "a"), progress=False)
    inner = load_faces(_cfg(root / "img_align_celeba"), ArtifactStore(tmp_path / "b"),
                       progress=False)
    zpath = tmp_path / "zipped" / "img_align_celeba.zip"
    zpath.parent.mkdir()
    with zipfile.ZipFile(zpath, "w") as z:
        for f in sorted((root / "img_align_celeba").iterdir()):
            z.write(f, f"img_align_celeba/{f.name}")
    (zpath.parent / "identity_CelebA.txt").write_text((root / "identity_CelebA.txt").read_text())
    zipped = load_faces(_cfg(zpath), ArtifactStore(tmp_path / "c"), progress=False)
    monkeypatch.setenv("LSREPORT_CELEBA", str(root))
    auto = load_config("smoke", {"data.source": "auto"})
    assert auto.resolved_data_source() == "celeba"
    via_env = load_faces(auto, ArtifactStore(tmp_path / "d"), progress=False)
    for other in (inner, zipped, via_env):
        np.testing.assert_array_equal(other.ids, ref.ids)
        np.testing.assert_array_equal(other.split, ref.split)
        np.testing.assert_array_equal(other.images, ref.images)


def test_worker_processes_read_the_zip_alike(fake_celeba, tmp_path, monkeypatch):
    import lsreport.data.base as base

    root, _ = fake_celeba
    zpath = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in sorted((root / "img_align_celeba").iterdir()):
            z.write(f, f"img_align_celeba/{f.name}")
    serial = load_faces(_cfg(zpath), ArtifactStore(tmp_path / "a"), progress=False)
    assert serial.meta["workers"] == 1
    monkeypatch.setattr(base, "PARALLEL_MIN_IMAGES", 1)
    monkeypatch.setattr(base, "CHUNK", 7)
    parallel = load_faces(_cfg(zpath), ArtifactStore(tmp_path / "b"), progress=False)
    assert parallel.meta["workers"] == min(2, os.cpu_count() or 1)
    np.testing.assert_array_equal(parallel.images, serial.images)
    np.testing.assert_array_equal(parallel.ids, serial.ids)


def test_without_identity_file_split_is_random(fake_celeba, tmp_path):
    root, _ = fake_celeba
    (root / "identity_CelebA.txt").unlink()
    fd = load_faces(_cfg(root), ArtifactStore(tmp_path / "c"), progress=False)
    assert fd.identities is None
    assert fd.split_sizes() == {"train": 48, "validation": 6, "test": 6}
    assert "at random" in fd.description


def test_max_images_takes_first_ids(fake_celeba, tmp_path):
    root, _ = fake_celeba
    fd = load_faces(_cfg(root, **{"data.max_images": 10}), ArtifactStore(tmp_path / "c"),
                    progress=False)
    assert sorted(fd.ids) == [f"{i:06d}" for i in range(1, 11)]
    with pytest.raises(ValueError, match="only 60 images exist"):
        load_faces(_cfg(root, **{"data.max_images": 61}), ArtifactStore(tmp_path / "c"),
                   progress=False)


def test_missing_path_says_how_to_configure(tmp_path, monkeypatch):
    monkeypatch.delenv("LSREPORT_CELEBA", raising=False)
    missing = tmp_path / "no-celeba-here"
    with pytest.raises(FileNotFoundError) as err:
        load_faces(_cfg(missing), ArtifactStore(tmp_path / "c"), progress=False)
    msg = str(err.value)
    assert str(missing) in msg and "data.path" in msg and "LSREPORT_CELEBA" in msg
    with pytest.raises(FileNotFoundError, match="no CelebA location is configured"):
        faces_key(_cfg(""))


def test_auto_without_celeba_is_synthetic(monkeypatch):
    monkeypatch.delenv("LSREPORT_CELEBA", raising=False)
    assert load_config("default").resolved_data_source() == "synthetic"


def test_load_original_and_box(fake_celeba):
    root, _ = fake_celeba
    img, box = load_original(_cfg(root, **{"data.crop_fraction": 0.8}), 0)
    assert img.shape == (55, 45, 3)
    # side 0.8 * 45 = 36; left (45 - 36) / 2 = 4.5 and top 27.5 - 18 = 9.5, halves round up
    assert box == (5, 10, 41, 46)


@pytest.mark.slow
def test_real_celeba_subset_loads_completely(shared_data, tmp_path):
    cfg = with_overrides(load_config("default"),
                         {"data.source": "celeba", "data.path": str(shared_data / "celeba")})
    fd = load_faces(cfg, ArtifactStore(tmp_path / "c"), progress=False)
    assert len(fd) == 15723 and fd.report.n_skipped == 0
    assert fd.images.shape == (15723, 64, 64, 3) and fd.images.dtype == np.uint8
    assert fd.meta["original_sizes"] == {"89x109": 15723}
    ident, split = fd.identities, fd.split
    order = np.argsort(ident, kind="stable")
    change = np.flatnonzero(np.diff(ident[order])) + 1
    for group in np.split(split[order], change):
        assert np.all(group == group[0])
    n = np.array(list(fd.split_sizes().values()))
    assert np.all(np.abs(n / n.sum() - [0.8, 0.1, 0.1]) < 0.01)
