"""The CPU-sized CelebA subset: whole identities up to data.subset_images."""

import numpy as np
import pytest
from PIL import Image

from lsreport.artifacts import ArtifactStore
from lsreport.config import load_config, with_overrides
from lsreport.data import faces_key, load_faces
from lsreport.data.celeba import identity_subset

N_ID, PER_ID = 12, 5


@pytest.fixture
def fake_celeba(tmp_path, rng):
    """60 small 'aligned' images of 12 identities (5 each) plus an identity file."""
    root = tmp_path / "celeba"
    img_dir = root / "img_align_celeba"
    img_dir.mkdir(parents=True)
    ident = rng.permutation(np.repeat(np.arange(100, 100 + N_ID), PER_ID))
    lines = []
    for i, who in enumerate(ident, start=1):
        arr = np.full((40, 32, 3), (who * 7) % 256, np.uint8)
        Image.fromarray(arr).save(img_dir / f"{i:06d}.jpg", quality=92)
        lines.append(f"{i:06d}.jpg {who}")
    (root / "identity_CelebA.txt").write_text("\n".join(lines) + "\n")
    return root, ident


def _cfg(path, **over):
    return with_overrides(load_config("smoke"), {"data.source": "celeba", "data.path": str(path), **over})


def test_identity_subset_takes_whole_people_up_to_the_cap():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 30, 400)                   # 400 people, 1-29 images each
    ident = rng.permutation(np.repeat(np.arange(400), sizes))
    ident[rng.choice(len(ident), 50, replace=False)] = -1   # some of unknown identity
    for cap in (1, 37, 1000, 2500):
        keep = identity_subset(ident, cap, seed=3)
        assert len(keep) <= cap and np.all(np.diff(keep) > 0)
        assert len(keep) >= min(cap, len(ident)) * 0.97  # packed close to the cap
        chosen = set(ident[keep][ident[keep] >= 0])
        for who in chosen:                                 # nobody is split
            assert np.all(np.isin(np.flatnonzero(ident == who), keep))
        np.testing.assert_array_equal(identity_subset(ident, cap, seed=3), keep)
    assert not np.array_equal(identity_subset(ident, 1000, seed=4), identity_subset(ident, 1000, seed=3))
    np.testing.assert_array_equal(identity_subset(ident, len(ident), seed=3), np.arange(len(ident)))
    assert identity_subset([5, 5, 5], 2, seed=0).size == 0  # one person too many for the cap


def test_a_binding_cap_loads_whole_identities_and_changes_the_key(fake_celeba, tmp_path):
    root, _ = fake_celeba
    fd = load_faces(_cfg(root, **{"data.subset_images": 27}), ArtifactStore(tmp_path / "a"), progress=False)
    assert len(fd) == 25                       # 5 people of 5; a sixth would make 30
    people, counts = np.unique(fd.identities, return_counts=True)
    assert len(people) == 5 and np.all(counts == PER_ID)
    for who in people:                         # still identity-disjoint splits
        assert len(np.unique(fd.split[fd.identities == who])) == 1
    assert fd.meta["subset"] and fd.meta["n_available"] == 60
    assert "subset of the 60 images" in fd.description
    assert faces_key(_cfg(root, **{"data.subset_images": 27})) != faces_key(_cfg(root))


def test_a_cap_that_does_not_bind_keeps_the_key(fake_celeba, tmp_path):
    root, _ = fake_celeba
    plain = faces_key(_cfg(root))
    for cap in (60, 20000):
        assert faces_key(_cfg(root, **{"data.subset_images": cap})) == plain
    fd = load_faces(_cfg(root, **{"data.subset_images": 60}), ArtifactStore(tmp_path / "b"), progress=False)
    assert len(fd) == 60 and not fd.meta["subset"] and "subset" not in fd.description


def test_profiles_default_caps_full_takes_all():
    assert load_config("default").data.subset_images == 20000
    assert load_config("full").data.subset_images == 0


def test_shared_celeba_subset_keeps_its_key_under_the_default_cap(shared_data):
    # the 15,723-image shared subset is within the cap: same key as without it
    path = shared_data / "celeba"
    cfg = with_overrides(load_config("default"), {"data.source": "celeba", "data.path": str(path)})
    assert faces_key(cfg) == faces_key(with_overrides(cfg, {"data.subset_images": 0}))
    assert faces_key(with_overrides(cfg, {"data.subset_images": 10000})) != faces_key(cfg)
