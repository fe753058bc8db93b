"""The artifact cache: atomic writes, checksums, recompute on corruption."""

import numpy as np
import pytest

from lsreport.artifacts import (ArtifactData, ArtifactMissingError, ArtifactStore,
                                CorruptArtifactWarning)


def _data(calls):
    def compute():
        calls.append(1)
        return ArtifactData(arrays={"x": np.arange(10, dtype=np.int64)}, meta={"n": 10})
    return compute


def test_compute_once_then_load(tmp_path):
    store, calls = ArtifactStore(tmp_path), []
    a = store.get_or_compute("demo", "k", _data(calls))
    b = store.get_or_compute("demo", "k", _data(calls))
    assert len(calls) == 1
    np.testing.assert_array_equal(b.array("x"), np.arange(10))
    assert a.meta == {"n": 10} == b.meta
    assert isinstance(b.array("x"), np.memmap)


def test_truncated_artifact_is_recomputed(tmp_path):
    store, calls = ArtifactStore(tmp_path), []
    art = store.get_or_compute("demo", "k", _data(calls))
    f = art.path / "x.npy"
    f.write_bytes(f.read_bytes()[:-8])
    fresh = ArtifactStore(tmp_path)  # a new process: no verification memo
    with pytest.warns(CorruptArtifactWarning):
        again = fresh.get_or_compute("demo", "k", _data(calls))
    assert len(calls) == 2
    np.testing.assert_array_equal(again.array("x"), np.arange(10))


def test_flipped_byte_is_detected(tmp_path):
    store = ArtifactStore(tmp_path)
    art = store.get_or_compute("demo", "k", _data([]))
    f = art.path / "x.npy"
    raw = bytearray(f.read_bytes())
    raw[-1] ^= 0xFF
    f.write_bytes(bytes(raw))
    assert not ArtifactStore(tmp_path).verify("demo", "k")


def test_failed_compute_leaves_nothing(tmp_path):
    store = ArtifactStore(tmp_path)

    def boom():
        raise RuntimeError("crash mid-way")

    with pytest.raises(RuntimeError):
        store.get_or_compute("demo", "k", boom)
    assert not store.exists("demo", "k")
    assert not (tmp_path / "demo").exists() or list((tmp_path / "demo").iterdir()) == []


def test_writer_crash_leaves_no_partial_artifact(tmp_path):
    store = ArtifactStore(tmp_path)

    def half_written(path):
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        store.save("demo", "k", ArtifactData(files={"model.bin": half_written}))
    assert not store.path("demo", "k").exists()
    assert [p.name for p in (tmp_path / "demo").iterdir()] == []


def test_read_only_store_never_computes(tmp_path):
    store = ArtifactStore(tmp_path, read_only=True)
    with pytest.raises(ArtifactMissingError):
        store.get_or_compute("demo", "k", _data([]))


def test_entries_lists_sizes(tmp_path):
    store = ArtifactStore(tmp_path)
    store.get_or_compute("demo", "k", _data([]))
    (entry,) = store.entries()
    assert entry["step"] == "demo" and entry["valid"] and entry["bytes"] > 80


def test_missing_array_names_the_choices(tmp_path):
    art = ArtifactStore(tmp_path).get_or_compute("demo", "k", _data([]))
    with pytest.raises(KeyError, match="it has: x"):
        art.array("y")


def test_atomic_folder_replaces_only_when_complete(tmp_path, monkeypatch):
    from lsreport import artifacts as A

    final = tmp_path / "ck" / "epoch-0001"
    with A.atomic_folder(final) as d:
        (d / "a.txt").write_text("old")
        assert not final.exists()  # invisible under its name while being written
    assert (final / "a.txt").read_text() == "old"
    with pytest.raises(OSError), A.atomic_folder(final) as d:
        (d / "a.txt").write_text("half")
        raise OSError("disk full")
    assert (final / "a.txt").read_text() == "old"  # a failed rewrite keeps the old folder
    assert [p.name for p in final.parent.iterdir()] == ["epoch-0001"]
    synced = []
    monkeypatch.setattr(A.os, "fsync", lambda fd: synced.append(fd))
    with A.atomic_folder(final, fsync=True) as d:
        (d / "a.txt").write_text("new")
        (d / "b.txt").write_text("new")
    assert (final / "a.txt").read_text() == "new" and len(synced) == 2
