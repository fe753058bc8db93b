"""The folder source: odd and broken files, the report, the cache."""

import warnings

import numpy as np
import pytest
from PIL import Image

import lsreport.data.base as base
from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.data import BadFileWarning, faces_key, load_faces, load_original


def _rgb(rng, w=60, h=72):
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


@pytest.fixture
def messy_folder(tmp_path, rng):
    root = tmp_path / "faces"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for i in range(6):
        _rgb(rng).save(root / f"good{i}.jpg", quality=90)
    _rgb(rng).save(root / "sub" / "nested.png")
    _rgb(rng).save(root / "upper.JPG")
    _rgb(rng).save(root / "bitmap.bmp")
    Image.new("L", (60, 72), 100).save(root / "gray.png")
    Image.new("RGBA", (60, 72), (10, 20, 30, 0)).save(root / "clear.png")
    Image.new("CMYK", (60, 72), (0, 255, 255, 0)).save(root / "cmyk.jpg", quality=95)
    Image.new("P", (60, 72), 3).save(root / "palette.gif")
    data = (root / "good0.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "notes.jpg").write_text("this is not an image\n")
    (root / "empty.png").write_bytes(b"")
    # not counted: other suffixes and hidden files
    (root / "README.txt").write_text("faces")
    _rgb(rng).save(root / ".hidden" / "skip.jpg")
    _rgb(rng).save(root / ".dotfile.jpg")
    return root


def _cfg(path, **over):
    cfg = load_config("smoke")
    return with_overrides(cfg, {"data.source": "folder", "data.path": str(path),
                                "data.crop_fraction": 1.0, **over})


def test_folder_loads_good_files_and_reports_bad_ones(messy_folder, tmp_path):
    with pytest.warns(BadFileWarning, match=r"3 of 16 files"):
        fd = load_faces(_cfg(messy_folder), ArtifactStore(tmp_path / "cache"), progress=False)
    assert fd.source == "folder"
    assert fd.report.n_files == 16 and fd.report.n_loaded == 13 == len(fd)
    bad = dict(fd.report.skipped)
    assert set(bad) == {"truncated.jpg", "notes.jpg", "empty.png"}
    assert "truncated" in bad["truncated.jpg"].lower()
    assert "UnidentifiedImageError" in bad["notes.jpg"]
    frame = fd.report.to_frame()
    assert sorted(frame["file"]) == sorted(bad)
    assert "13 face images" in fd.description and "3 of 16 files" in fd.description
    # ids: relative path without suffix; every good file once
    assert sorted(fd.ids) == sorted(["good0", "good1", "good2", "good3", "good4", "good5",
                                     "sub/nested", "upper", "bitmap", "gray", "clear",
                                     "cmyk", "palette"])


def test_folder_converts_modes_to_rgb(messy_folder, tmp_path):
    with pytest.warns(BadFileWarning):
        fd = load_faces(_cfg(messy_folder), ArtifactStore(tmp_path / "cache"), progress=False)
    img = {i: fd.images[k].astype(int) for k, i in enumerate(fd.ids)}
    assert fd.images.dtype == np.uint8 and fd.images.shape[1:] == (32, 32, 3)
    assert np.all(np.abs(img["gray"] - 100) <= 1)
    assert np.all(img["clear"] >= 254)                     # transparent -> white
    r, g, b = img["cmyk"][..., 0], img["cmyk"][..., 1], img["cmyk"][..., 2]
    assert r.min() > 200 and g.max() < 60 and b.max() < 60  # CMYK red stays red


def test_second_load_decodes_nothing(messy_folder, tmp_path, monkeypatch):
    store = ArtifactStore(tmp_path / "cache")
    cfg = _cfg(messy_folder)
    with pytest.warns(BadFileWarning):
        first = load_faces(cfg, store, progress=False)
    first_images = np.array(first.images)

    def boom(*args, **kwargs):
        raise AssertionError("decoded on a cache hit")

    monkeypatch.setattr(base, "read_image", boom)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = load_faces(cfg, store, progress=False)
    assert second.key == first.key
    assert isinstance(second.images, np.memmap)
    np.testing.assert_array_equal(second.images, first_images)
    assert second.report == first.report


def test_nothing_readable_is_a_clear_error(messy_folder, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("broken decoder")

    monkeypatch.setattr(base, "read_image", boom)
    with pytest.raises(ValueError, match="none of the 16 files"):
        load_faces(_cfg(messy_folder), ArtifactStore(tmp_path / "cache"), progress=False)


def test_key_follows_files_and_relevant_settings(messy_folder, rng):
    cfg = _cfg(messy_folder)
    k = faces_key(cfg)
    assert faces_key(with_overrides(cfg, {"data.synthetic.n_images": 10})) == k
    assert faces_key(with_overrides(cfg, {"data.crop_fraction": 0.8})) != k
    _rgb(rng).save(messy_folder / "added.jpg")
    assert faces_key(cfg) != k


def test_missing_folder_names_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere.*data.path"):
        load_faces(_cfg(missing), ArtifactStore(tmp_path / "cache"), progress=False)


def test_too_many_images_requested(messy_folder, tmp_path):
    with pytest.raises(ValueError, match="only 16 images"):
        load_faces(_cfg(messy_folder, **{"data.max_images": 17}),
                   ArtifactStore(tmp_path / "cache"), progress=False)


def test_load_original_returns_uncropped_image_and_box(messy_folder):
    img, box = load_original(_cfg(messy_folder, **{"data.crop_fraction": 0.5}), 0)
    assert img.shape == (72, 60, 3)
    assert box == (15, 21, 45, 51)          # side 30, centred: (60-30)/2, 36-15


def test_real_tight_celeba_folder(shared_data, tmp_path):
    cfg = _cfg(shared_data / "celeba_tight", **{"data.max_images": 64, "data.image_size": 64})
    fd = load_faces(cfg, ArtifactStore(tmp_path / "cache"), progress=False)
    assert len(fd) == 64 and fd.report.n_skipped == 0
    assert sum(fd.split_sizes().values()) == 64
    # 64x64 originals with crop 1.0 at size 64 are stored unchanged
    orig = np.asarray(Image.open(shared_data / "celeba_tight" / f"{fd.ids[0]}.jpg").convert("RGB"))
    np.testing.assert_array_equal(fd.images[0], orig)
