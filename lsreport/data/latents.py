"""Bring your own latents: z-vectors read from a file instead of encoded images.

With ``data.source = "latents"`` the pipeline does not decode images or
train a model. It reads an ``N x D`` array from ``data.path``:

* ``.npy``: the array itself;
* ``.npz``: the array under ``z`` (or ``latents``, or the only array in the
  file), with optional ``ids`` (N names), ``split`` (N codes 0/1/2 or the
  words ``train``/``validation``/``test``) and ``labels`` (N values).

The statistics chapters analyse the ``train`` split (all vectors when the
profile's ``data.split`` is ``[1, 0, 0]``, as ``lsreport analyse`` sets it
without a decoder). With a Keras decoder (``data.decoder``, a
``decoder.keras`` taking D-vectors to ``(H, W, 3)`` images in [0, 1]) the
generation chapters run too: the "real faces" they compare against are then
the decoder's images of the file's vectors (the faces step of this source),
and without ``data.encoder`` the encoding of those images is known exactly
(:class:`LookupEncoder`).

Every check of the file happens before anything is written, and every
message says what is wrong and where: rows with NaN or inf (how many, which
rows), too few vectors for a covariance (N <= D), arrays that are not 2-D,
non-numeric dtypes, and a decoder whose input size differs from D.

Examples
--------
>>> lf = read_latent_file("my_latents.npz")      # doctest: +SKIP
>>> lf.n, lf.d                                   # doctest: +SKIP
(12000, 128)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, section_hash

__all__ = [
    "LatentFileError",
    "NoDecoderError",
    "LatentFile",
    "LookupEncoder",
    "check_latent_array",
    "read_latent_file",
    "latent_split",
    "load_keras_model",
    "check_decoder",
    "check_encoder",
    "load_latents",
    "load_model",
    "prepare",
    "load_original",
    "SPLIT_WORDS",
]

#: Words accepted in a ``split`` array, and their codes.
SPLIT_WORDS = {"train": 0, "training": 0, "validation": 1, "val": 1, "valid": 1, "test": 2}
#: Row numbers quoted in a message before "...".
_SHOW_ROWS = 10


class LatentFileError(ValueError):
    """A latent file or its decoder cannot be analysed; the message says why and where."""


class NoDecoderError(FileNotFoundError):
    """Images were asked for, but the latents source has no decoder."""


def _rows(idx: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:_SHOW_ROWS])
    return shown + (", ..." if len(idx) > _SHOW_ROWS else "")


def check_latent_array(z: Any, *, where: str = "the array") -> np.ndarray:
    """Validate an ``N x D`` array of latent vectors and return it as float32.

    Parameters
    ----------
    z : array_like
    where : str
        How to name the array in messages (file name and key).

    Returns
    -------
    ndarray of float32, shape (N, D)

    Raises
    ------
    LatentFileError
        Non-numeric dtype (strings, objects, booleans, complex numbers); not
        2-D (the message gives the shape and what to do); rows holding NaN or
        inf (how many rows, how many values of each kind, the first row
        numbers, 0-based); values outside the float32 range.

    Notes
    -----
    Whether N is large enough for the covariance depends on the split that
    is analysed; :func:`read_latent_file` checks it.
    """
    z = np.asarray(z)
    kind = z.dtype.kind
    if kind not in "iuf":
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
                "O": "Python objects", "M": "dates", "m": "time spans", "V": "records"}.get(kind, kind)
        raise LatentFileError(f"{where} has dtype {z.dtype} ({what}); latent vectors must be "
                              f"real numbers (float32 or float64)")
    if z.ndim != 2:
        if z.ndim == 1:
            hint = (f"a latent file holds one row per vector, shape (N, D); for N vectors of "
                    f"one component save z.reshape(-1, 1), for one vector there is nothing to "
                    f"analyse")
        elif z.ndim == 0:
            hint = "it is a single number, not a set of vectors"
        else:
            hint = (f"if these are images, encode them first; if they are latent vectors with "
                    f"extra axes, save z.reshape(-1, {z.shape[-1]}) (N x D)")
        raise LatentFileError(f"{where} is {z.ndim}-D with shape {z.shape}, expected a 2-D "
                              f"array N x D (vectors x components): {hint}")
    if z.shape[0] == 0 or z.shape[1] == 0:
        raise LatentFileError(f"{where} is empty (shape {z.shape})")
    if kind == "f":
        bad = ~np.isfinite(z)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            n_nan, n_inf = int(np.isnan(z).sum()), int(np.isinf(z).sum())
            raise LatentFileError(
                f"{where}: {len(rows):,} of {z.shape[0]:,} rows hold NaN or inf "
                f"({n_nan:,} NaN and {n_inf:,} inf values), rows {_rows(rows)} (0-based); "
                f"drop or repair them, e.g. z[np.isfinite(z).all(axis=1)]")
    with np.errstate(over="ignore"):  # reported below, with the rows
        out = z.astype(np.float32)
    if not np.isfinite(out).all():
        rows = np.flatnonzero(~np.isfinite(out).all(axis=1))
        raise LatentFileError(f"{where}: {len(rows):,} rows hold values beyond the float32 range "
                              f"(|x| > 3.4e38), rows {_rows(rows)}")
    return out


@dataclass(frozen=True, eq=False)
class LatentFile:
    """A validated latent file.

    Attributes
    ----------
    path : Path
    z : ndarray of float32, shape (N, D)
        In the file's row order.
    ids : ndarray of str
        From the file, else the row numbers.
    split : ndarray of int8
        0 train, 1 validation, 2 test: the file's, else the random split
        :func:`read_latent_file` was asked for (``extra["split_given"]``).
    labels : ndarray or None
    sha256 : str
        Of the file's bytes (enters the artifact keys).
    key : str
        The array's name inside a ``.npz`` (``""`` for a ``.npy``).
    """

    path: Path
    z: np.ndarray
    ids: np.ndarray
    split: np.ndarray
    labels: np.ndarray | None
    sha256: str
    key: str = ""
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return int(self.z.shape[0])

    @property
    def d(self) -> int:
        return int(self.z.shape[1])

    def describe(self) -> str:
        """One sentence for the book: what file, how many vectors, what else it holds."""
        name = self.path.name + (f" (array {self.key!r})" if self.key else "")
        held = [w for w, v in (("ids", self.extra.get("ids_given")), ("a split", self.extra.get("split_given")),
                               ("labels", self.labels is not None)) if v]
        also = f"; the file also gives {', '.join(held)}" if held else ""
        return f"{self.n:,} latent vectors of {self.d} components read from {name}{also}."


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _split_codes(raw: Any, n: int, where: str) -> np.ndarray:
    s = np.asarray(raw)
    if s.shape != (n,):
        raise LatentFileError(f"{where}: 'split' has shape {s.shape}, expected ({n},), one entry per vector")
    if s.dtype.kind in "US":
        words = np.char.lower(s.astype(str))
        unknown = sorted(set(words.tolist()) - set(SPLIT_WORDS))
        if unknown:
            raise LatentFileError(f"{where}: 'split' holds {unknown[:5]}; use "
                                  f"'train', 'validation', 'test' (or 0, 1, 2)")
        return np.array([SPLIT_WORDS[w] for w in words.tolist()], np.int8)
    if s.dtype.kind not in "iu" and not (s.dtype.kind == "f" and np.all(s == np.round(s))):
        raise LatentFileError(f"{where}: 'split' has dtype {s.dtype}; use 0, 1, 2 or the words "
                              f"'train', 'validation', 'test'")
    bad = np.flatnonzero(~np.isin(s, (0, 1, 2)))
    if len(bad):
        raise LatentFileError(f"{where}: 'split' must be 0 (train), 1 (validation) or 2 (test); "
                              f"{len(bad):,} entries are not, rows {_rows(bad)}")
    return s.astype(np.int8)


def read_latent_file(path: str | Path, *, shares=(1.0, 0.0, 0.0), seed: int = 0) -> LatentFile:
    """Read and validate a latent file.

    Parameters
    ----------
    path : str or Path
        A ``.npy`` (the N x D array) or ``.npz`` (``z`` plus optional ``ids``,
        ``split``, ``labels``).
    shares : (train, validation, test), default all training
        Shares of a random split (one group per vector, ``seed``) when the
        file has no ``split``; the number of training vectors is checked
        against D on the split that will be used.
    seed : int

    Returns
    -------
    LatentFile

    Raises
    ------
    FileNotFoundError
        No such file.
    LatentFileError
        Not a .npy/.npz, unreadable, no latent array in an .npz, any failure
        of :func:`check_latent_array`, ``ids``/``split``/``labels`` of the
        wrong length, or too few training vectors: with N <= D the sample
        covariance is singular (rank at most N - 1), so Mahalanobis
        distances, Mardia's tests and the confidence ellipses are undefined.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"latent file {str(path)!r} does not exist")
    if path.suffix.lower() not in (".npy", ".npz"):
        raise LatentFileError(f"{path.name}: expected a .npy or .npz file made with numpy.save "
                              f"or numpy.savez, got {path.suffix or 'no suffix'!r}")
    where = path.name
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise LatentFileError(f"{where} holds Python objects (dtype object), not numbers; "
                                  f"save a float array, e.g. np.save(f, np.asarray(z, float))") from exc
        raise LatentFileError(f"{where} cannot be read as a NumPy file: {exc}") from exc
    except OSError as exc:
        raise LatentFileError(f"{where} cannot be read as a NumPy file: {exc}") from exc
    extras: dict = {}
    key = ""
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            arrays = [k for k in names if k not in ("ids", "split", "labels")]
            key = next((k for k in ("z", "latents") if k in names), None) or (
                arrays[0] if len(arrays) == 1 else "")
            if not key:
                raise LatentFileError(f"{where} holds arrays {names}; name the latent array 'z' "
                                      f"(np.savez(f, z=z, ids=..., split=..., labels=...))")
            try:
                raw = loaded[key]
                extras = {k: loaded[k] for k in ("ids", "split", "labels") if k in names}
            except ValueError as exc:
                raise LatentFileError(f"{where}: an array holds Python objects (dtype object), "
                                      f"not numbers or strings ({exc})") from exc
        where = f"{where}['{key}']"
    else:
        raw = loaded
    z = check_latent_array(raw, where=where)
    n, d = z.shape
    ids = np.array([str(i) for i in range(n)])
    if "ids" in extras:
        ids = np.asarray(extras["ids"]).astype(str)
        if ids.shape != (n,):
            raise LatentFileError(f"{path.name}: 'ids' has shape {ids.shape}, expected ({n},)")
    codes = _split_codes(extras["split"], n, path.name) if "split" in extras else None
    labels = None
    if "labels" in extras:
        labels = np.asarray(extras["labels"])
        if labels.shape[:1] != (n,):
            raise LatentFileError(f"{path.name}: 'labels' has shape {labels.shape}, expected ({n},)")
    given = codes is not None
    if not given:
        from .base import assign_split

        codes = assign_split(np.arange(n), shares, seed)
    n_train = int(np.sum(codes == 0))
    if n_train <= d + 1:
        part = f"N = {n:,} vectors" if n_train == n else f"{n_train:,} training vectors (of {n:,})"
        raise LatentFileError(
            f"{where}: {part} for D = {d} components; the sample covariance of N <= D + 1 "
            f"vectors is singular or leaves no degrees of freedom, so Mahalanobis distances, "
            f"Mardia's tests and the confidence ellipses are undefined; supply clearly more "
            f"vectors than components (N > D + 1, ideally N >> D)")
    return LatentFile(path=path.resolve(), z=z, ids=ids, split=codes, labels=labels,
                      sha256=_sha256(path), key=key, extra={"ids_given": "ids" in extras, "split_given": given})


def latent_split(cfg: Config, lf: LatentFile) -> np.ndarray:
    """The split of every vector (the file's, else the one drawn with ``data.split``)."""
    return lf.split


def _source_file(cfg: Config) -> LatentFile:
    if cfg.data.source != "latents":
        raise ValueError(f"data.source = {cfg.data.source!r}, not 'latents'")
    if not cfg.data.path:
        raise LatentFileError("data.source = 'latents' needs data.path, the .npy or .npz file "
                              "of latent vectors")
    return read_latent_file(cfg.data.path, shares=cfg.data.split, seed=cfg.data.seed)


# ---------------------------------------------------------------- Keras parts


def load_keras_model(path: str | Path, role: str):
    """Load a ``.keras`` model without compiling it; clear errors for a bad path."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{role} {str(path)!r} does not exist")
    if path.suffix != ".keras":
        raise LatentFileError(f"{role} {path.name}: expected a Keras 3 '.keras' file "
                              f"(model.save('{role}.keras'))")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types; report any as unreadable
        raise LatentFileError(f"{role} {path.name} cannot be loaded by Keras: {exc}") from exc


def _shape(tensor_shape) -> tuple:
    return tuple(None if s is None else int(s) for s in tensor_shape)


def check_decoder(decoder, d: int, *, name: str = "decoder") -> tuple:
    """Check that a decoder maps D-vectors to RGB images; return the image shape.

    Raises
    ------
    LatentFileError
        Several inputs, an input size other than ``d``, or an output that is
        not ``(H, W, 3)``.
    """
    if len(getattr(decoder, "inputs", [None])) != 1:
        raise LatentFileError(f"{name} has {len(decoder.inputs)} inputs; it must take one vector")
    shape_in = _shape(decoder.inputs[0].shape)
    if len(shape_in) != 2 or shape_in[1] != d:
        raise LatentFileError(f"{name} takes inputs of shape {shape_in[1:]}, but the latent file "
                              f"has D = {d} components: the decoder does not belong to these "
                              f"latents")
    shape_out = _shape(decoder.outputs[0].shape)
    if len(shape_out) != 4 or shape_out[-1] != 3 or None in shape_out[1:]:
        raise LatentFileError(f"{name} outputs shape {shape_out[1:]}; it must output RGB images "
                              f"(H, W, 3) with values in [0, 1]")
    return shape_out[1:]


def check_encoder(encoder, d: int, image_shape: tuple, *, name: str = "encoder") -> None:
    """Check that an encoder maps the decoder's images to D-vectors."""
    shape_in = _shape(encoder.inputs[0].shape)[1:]
    shape_out = _shape(encoder.outputs[0].shape)
    if shape_in != tuple(image_shape):
        raise LatentFileError(f"{name} takes images of shape {shape_in}, the decoder makes "
                              f"{tuple(image_shape)}")
    if len(shape_out) != 2 or shape_out[1] != d:
        raise LatentFileError(f"{name} outputs shape {shape_out[1:]}, the latent file has "
                              f"D = {d} components")


class LookupEncoder:
    """The exact encoder of the decoder's own images of the file's vectors.

    When a latent file comes with a decoder but no encoder, the "faces" of
    this source are ``decoder(z)``; their encoding is known, so this stand-in
    returns ``z`` for each of those images (matched by their ``uint8``
    pixels) instead of guessing. It serves :func:`lsreport.latent.encode_images`
    and :func:`lsreport.latent.reconstruct` (``predict_on_batch`` on floats
    in [0, 1], ``output.shape``) and refuses any other image.
    """

    def __init__(self, images, z, d: int | None = None):
        # images and z may be callables: the index is built on first use, so loading
        # the model does not decode the faces
        self._images, self._zsrc = images, z
        self._z: np.ndarray | None = None
        self._index: dict[bytes, int] = {}
        width = int(d) if d is not None else int(np.asarray(z).shape[1])

        class _Out:
            shape = (None, width)

        self.output = _Out()
        self.name = "lookup_encoder"

    def _build(self) -> None:
        images = self._images() if callable(self._images) else self._images
        z = self._zsrc() if callable(self._zsrc) else self._zsrc
        self._z = np.asarray(z, np.float32)
        for i in range(len(images)):
            self._index.setdefault(hashlib.sha1(np.ascontiguousarray(images[i]).tobytes()).digest(), i)

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        if self._z is None:
            self._build()
        x = np.asarray(x)
        u = x if x.dtype == np.uint8 else np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
        rows = []
        for img in u:
            i = self._index.get(hashlib.sha1(np.ascontiguousarray(img).tobytes()).digest())
            if i is None:
                raise LatentFileError("the lookup encoder only encodes the decoder's images of the "
                                      "file's latent vectors; give data.encoder to encode others")
            rows.append(i)
        return self._z[rows]


def _keras_sha(cfg: Config) -> dict:
    out = {}
    for role in ("decoder", "encoder"):
        p = getattr(cfg.data, role)
        if p:
            pp = Path(p).expanduser()
            if not pp.exists():
                raise FileNotFoundError(f"data.{role} {p!r} does not exist")
            out[role] = _sha256(pp)
    return out


# ---------------------------------------------------------------- steps


def _ordered(cfg: Config, lf: LatentFile) -> tuple[np.ndarray, np.ndarray]:
    """Split codes and the row order that groups rows by split (as face sets are)."""
    split = latent_split(cfg, lf)
    return split, np.argsort(split, kind="stable")


def load_latents(cfg: Config, store, *, progress: bool = True):
    """The step ``latents`` for ``data.source = "latents"``: the file's vectors, cached.

    Rows are grouped by split (train, validation, test), each group in file
    order; ``ids`` keep the file's ids (else the 0-based row numbers), so a
    row can be traced back. There are no reconstructions, so ``metrics`` is
    empty and ``summary`` holds NaNs.

    Returns
    -------
    lsreport.latent.Latents
    """
    import pandas as pd

    from ..artifacts import ArtifactData
    from ..latent import Latents, summarize_metrics

    lf = _source_file(cfg)
    split, order = _ordered(cfg, lf)
    key = section_hash(cfg, ["data.split", "data.seed"], "latents-file", lf.sha256, step="latents")

    def compute() -> ArtifactData:
        arrays = {"z": lf.z[order], "ids": lf.ids[order], "split": split[order].astype(np.int8),
                  "test_index": np.zeros(0, np.int64)}
        if lf.labels is not None:
            arrays["labels"] = lf.labels[order]
        meta = {"source": "latents", "path": str(lf.path), "sha256": lf.sha256,
                "n": lf.n, "latent_dim": lf.d, "description": lf.describe(),
                "split_from_file": bool(lf.extra["split_given"]), "has_labels": lf.labels is not None,
                "summary": summarize_metrics(pd.DataFrame(columns=["mse", "psnr", "ssim"], dtype=float))}
        return ArtifactData(arrays=arrays, meta=meta)

    art = store.get_or_compute("latents", key, compute)
    meta = dict(art.meta)
    metrics = pd.DataFrame({"index": np.zeros(0, np.int64), "id": np.zeros(0, str),
                            "mse": np.zeros(0), "psnr": np.zeros(0), "ssim": np.zeros(0)})
    return Latents(z=art.array("z"), ids=np.asarray(art.array("ids", mmap=False)),
                   split=np.asarray(art.array("split", mmap=False)), key=art.key,
                   metrics=metrics, summary=dict(meta.get("summary", {})), meta=meta)


def _decoder_or_fail(cfg: Config, d: int):
    if not cfg.data.decoder:
        raise NoDecoderError("data.source = 'latents' has no images without a decoder: set "
                             "data.decoder (lsreport analyse FILE --decoder decoder.keras) for "
                             "the generation chapters")
    decoder = load_keras_model(cfg.data.decoder, "decoder")
    return decoder, check_decoder(decoder, d)


def prepare(cfg: Config):
    """The faces step of this source: the decoder's images of the file's vectors.

    Raises
    ------
    NoDecoderError
        Without ``data.decoder``.
    """
    from .base import BadFileReport, Prepared, package

    if not cfg.data.decoder:
        _decoder_or_fail(cfg, 0)
    lf = _source_file(cfg)
    fp = {"file": lf.sha256, **_keras_sha(cfg)}

    def build(work: Path, progress: bool):
        from ..latent import decode

        decoder, shape = _decoder_or_fail(cfg, lf.d)
        split, order = _ordered(cfg, lf)
        path = work / "images.npy"
        images = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(lf.n, *shape))
        z = lf.z[order]
        for lo in range(0, lf.n, 1024):
            images[lo:lo + 1024] = decode(decoder, z[lo:lo + 1024])
        images.flush()
        del images
        counts = np.bincount(split, minlength=3)
        description = (f"The images are the decoder's outputs ({shape[0]}×{shape[1]} px) for the "
                       f"{lf.n:,} latent vectors of {lf.path.name}, not photographs: "
                       f"{counts[0]:,} training, {counts[1]:,} validation and {counts[2]:,} test "
                       f"vectors.")
        meta = {"source": "latents", "description": description,
                "report": BadFileReport(lf.n, lf.n, ()).to_dict(), "image_size": int(shape[0]),
                "split_sizes": dict(zip(("train", "validation", "test"), counts.tolist()))}
        return package(images_path=path, ids=lf.ids[order], split=split[order], meta=meta)

    return Prepared("latents", ("data.split", "data.seed"), fp, build)


def load_model(cfg: Config, store, *, progress: bool = True):
    """The decoder (and encoder) of a latents source as a :class:`~lsreport.train.TrainedModel`.

    Nothing is trained: ``history`` is empty. Without ``data.encoder`` the
    encoder is a :class:`LookupEncoder` over the faces of this source.

    Raises
    ------
    NoDecoderError
        Without ``data.decoder``.
    LatentFileError
        The decoder does not take D-vectors or make RGB images, or the
        encoder does not fit the decoder.
    """
    import pandas as pd

    from ..train import TrainedModel

    lf = _source_file(cfg)
    decoder, shape = _decoder_or_fail(cfg, lf.d)
    if cfg.data.encoder:
        encoder = load_keras_model(cfg.data.encoder, "encoder")
        check_encoder(encoder, lf.d, shape)
    else:
        from . import load_faces

        # load_latents is what pipeline.latents returns for this source; calling it
        # here keeps data from importing the pipeline (no import cycle).
        encoder = LookupEncoder(lambda: load_faces(cfg, store, progress=progress).images,
                                lambda: load_latents(cfg, store, progress=progress).z, d=lf.d)
    fp = _keras_sha(cfg)
    key = section_hash(cfg, [], "latents-model", lf.sha256, fp, step="model")
    history = pd.DataFrame(columns=["epoch", "loss", "val_loss", "seconds", "images_per_s"])
    return TrainedModel(encoder=encoder, decoder=decoder, autoencoder=None, history=history,
                        key=key, meta={"source": "latents", **{f"{k}_sha256": v for k, v in fp.items()},
                                       "image_shape": list(shape)})


def load_original(cfg: Config, index: int = 0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The decoder's image of vector ``index`` (file order) and its full box."""
    from ..latent import decode

    lf = _source_file(cfg)
    decoder, shape = _decoder_or_fail(cfg, lf.d)
    img = decode(decoder, lf.z[index:index + 1])[0]
    return img, (0, 0, int(shape[1]), int(shape[0]))
