"""The Olivetti faces: 400 images of 40 people, split by person."""

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.data import load_faces


def _cfg(path, **over):
    return with_overrides(load_config("smoke"),
                          {"data.source": "olivetti", "data.path": str(path), **over})


@pytest.fixture
def fake_mat(tmp_path, rng):
    faces = rng.integers(0, 256, (4096, 400), dtype=np.uint8)
    path = tmp_path / "olivetti_faces.mat"
    savemat(path, {"faces": faces})
    return path, faces


def test_person_disjoint_and_pixels_follow_the_file_layout(fake_mat, tmp_path):
    path, faces = fake_mat
    fd = load_faces(_cfg(tmp_path, **{"data.image_size": 64}), ArtifactStore(tmp_path / "c"),
                    progress=False)
    assert len(fd) == 400 and fd.images.shape == (400, 64, 64, 3)
    for k, i in enumerate(fd.ids[:20]):
        n = int(i.split("-")[1])
        # documented layout: image n is faces[:, n].reshape(64, 64).T, person n // 10
        np.testing.assert_array_equal(fd.images[k, ..., 1], faces[:, n].reshape(64, 64).T)
        assert fd.identities[k] == n // 10
    for who in range(40):
        assert len(np.unique(fd.split[fd.identities == who])) == 1
    assert fd.split_sizes() == {"train": 320, "validation": 40, "test": 40}


def test_resized_and_limited(fake_mat, tmp_path):
    fd = load_faces(_cfg(fake_mat[0], **{"data.max_images": 100}),
                    ArtifactStore(tmp_path / "c"), progress=False)
    assert fd.images.shape == (100, 32, 32, 3)
    assert np.array_equal(fd.images[..., 0], fd.images[..., 2])      # gray in 3 channels
    with pytest.raises(ValueError, match="only 400 images"):
        load_faces(_cfg(fake_mat[0], **{"data.max_images": 401}),
                   ArtifactStore(tmp_path / "c"), progress=False)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="olivetti_faces.mat.*data.path"):
        load_faces(_cfg(tmp_path / "x" / "olivetti_faces.mat"), ArtifactStore(tmp_path / "c"),
                   progress=False)


def test_real_olivetti(shared_data, tmp_path):
    path = shared_data / "olivetti_faces.mat"
    fd = load_faces(_cfg(path, **{"data.image_size": 64}), ArtifactStore(tmp_path / "c"),
                    progress=False)
    assert len(fd) == 400 and len(np.unique(fd.identities)) == 40
    for who in range(40):
        assert len(np.unique(fd.split[fd.identities == who])) == 1
    raw = loadmat(path)["faces"]
    k = int(np.flatnonzero(fd.ids == "olivetti-0123")[0])
    np.testing.assert_array_equal(fd.images[k, ..., 0], raw[:, 123].reshape(64, 64).T)
    # the first ten images are one person: more alike than images of others
    x = np.stack([raw[:, i].astype(float) for i in range(20)])
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    c = x @ x.T / x.shape[1]
    assert c[:10, 1:10].mean() > c[:10, 10:].mean()
