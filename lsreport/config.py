"""Profiles: loading, validation, overrides and hashing.

A profile is a TOML file under ``profiles/`` (``smoke``, ``default``,
``full``). It is loaded into one frozen dataclass tree, :class:`Config`.
Unknown keys and wrong types are rejected with a message that names the key
and the valid choices. Pipeline steps hash only the sections they depend on
(:func:`section_hash`), so changing the sampler settings does not retrain the
model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "SyntheticConfig",
    "ModelConfig",
    "TrainConfig",
    "StatsConfig",
    "SamplingConfig",
    "QualityConfig",
    "SweepConfig",
    "RunConfig",
    "load_config",
    "with_overrides",
    "section_hash",
    "profiles_dir",
    "available_profiles",
    "PROFILE_ENV",
    "CELEBA_ENV",
]

#: Environment variable selecting the profile (``--profile`` wins over it).
PROFILE_ENV = "LSREPORT_PROFILE"
#: Environment variable pointing at a CelebA folder or ``img_align_celeba.zip``.
CELEBA_ENV = "LSREPORT_CELEBA"


class ConfigError(ValueError):
    """A profile or override is invalid; the message says what to change."""


@dataclass(frozen=True)
class RunConfig:
    """Global run settings."""

    seed: int = 1
    cache_dir: str = ".lsreport"


@dataclass(frozen=True)
class SyntheticConfig:
    """The procedural face generator (:mod:`lsreport.data.synthetic`)."""

    n_images: int = 6000
    #: Distribution of every factor: "normal", "uniform" or "bimodal".
    factor_distribution: Literal["normal", "uniform", "bimodal"] = "normal"
    #: Per-factor overrides, e.g. ``{hair_length = "bimodal"}``.
    factor_overrides: dict = field(default_factory=dict)
    render_size: int = 128


@dataclass(frozen=True)
class DataConfig:
    """Where the faces come from and how they are cropped."""

    #: "auto" uses CelebA when a path is configured (key ``path`` or the
    #: ``LSREPORT_CELEBA`` environment variable) and synthetic faces otherwise.
    #: "latents" reads z-vectors from ``path`` (a .npy or .npz, see
    #: :mod:`lsreport.data.latents`) instead of encoding images.
    source: Literal["auto", "celeba", "folder", "olivetti", "synthetic", "latents"] = "auto"
    path: str = ""
    #: Source "latents" only: a Keras ``decoder.keras`` taking the file's
    #: D-vectors (enables the generation chapters) and an optional encoder.
    decoder: str = ""
    encoder: str = ""
    image_size: int = 64
    #: Side of the centred square crop as a fraction of the image width
    #: (0.7865 = the common 140x140 crop of a 178x218 CelebA image).
    crop_fraction: float = 0.7865
    #: Vertical centre of the crop as a fraction of the image height.
    crop_center_y: float = 0.5
    #: 0 means all images.
    max_images: int = 0
    #: CelebA only: when the folder holds more images than this, take whole
    #: identities (seeded by ``seed``) up to this many images, so that a CPU
    #: build does not train on all 202,599; 0 means all. Enters the faces key
    #: only when it binds (see :mod:`lsreport.data.celeba`).
    subset_images: int = 0
    #: Train, validation and test shares.
    split: tuple = (0.8, 0.1, 0.1)
    #: Seed of the split and of the synthetic faces (apart from run.seed, so
    #: training seeds can vary on the same data).
    seed: int = 0
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass(frozen=True)
class ModelConfig:
    """The plain convolutional autoencoder (:mod:`lsreport.model`)."""

    latent_dim: int = 256
    filters: tuple = (32, 64, 128, 256)
    kernel_size: int = 3
    #: Extra stride-1 convolution after each strided one.
    extra_convs: int = 0
    activation: Literal["leaky_relu", "relu", "selu"] = "leaky_relu"
    batch_norm: bool = False
    loss: Literal["bce", "mse"] = "bce"


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule (:mod:`lsreport.train`)."""

    epochs: int = 12
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: Literal["constant", "cosine"] = "cosine"
    #: ``false``: float32; ``true``: Keras' ``mixed_float16`` (for GPUs);
    #: ``"bfloat16"``: ``mixed_bfloat16`` (bfloat16 compute, float32
    #: weights; fast where the CPU has AVX-512 BF16 or AMX, emulated and slow
    #: elsewhere); ``"auto"``: ``"bfloat16"`` on a CPU with those
    #: instructions, ``false`` otherwise, decided when the profile is loaded
    #: (the artifact keys hold the decision).
    mixed_precision: Literal[False, True, "bfloat16", "auto"] = False
    shuffle_buffer: int = 4096


@dataclass(frozen=True)
class StatsConfig:
    """The analysis of the latent cloud (:mod:`lsreport.stats`)."""

    bin_width: float = 0.25
    subsample_sizes: tuple = (500, 2000)
    subsample_repeats: int = 20
    kde_points: int = 10000
    n_pairs: int = 4
    ellipse_k: tuple = (1.0, 2.0, 2.5, 3.0)
    hz_subsample: int = 500


@dataclass(frozen=True)
class SamplingConfig:
    """Samplers of new z-vectors (:mod:`lsreport.sampling`)."""

    n_per_sampler: int = 1000
    cube_bounds: tuple = (0.5, 2.0)
    shrink: tuple = (1.0, 0.7)
    gmm_components: int = 10
    #: The Gaussian mixture is fitted to at most this many training latents
    #: (a seeded random subset beyond it): EM in 256 dimensions costs about
    #: n · components · D² per iteration, hours for all of CelebA on a CPU.
    gmm_max_fit: int = 20000
    ellipse_k: float = 2.0
    path_steps: int = 9


@dataclass(frozen=True)
class QualityConfig:
    """Independent face metrics (:mod:`lsreport.quality`)."""

    n_bootstrap: int = 200
    workers: int = 2
    n_reference: int = 1000
    #: Images per set that get a dlib face descriptor (the slow part, ~0.1 s
    #: each on a CPU); every set is compared at the same number.
    max_descriptors: int = 300


@dataclass(frozen=True)
class SweepConfig:
    """The controlled experiments (:mod:`lsreport.experiments`)."""

    epochs: int = 6
    image_size: int = 32
    max_images: int = 6000
    latent_dims: tuple = (16, 64, 256, 512)
    seeds: tuple = (1, 2, 3)
    datasets: tuple = ("celeba", "celeba_tight", "utkface", "olivetti",
                       "synthetic_normal", "synthetic_uniform", "synthetic_bimodal")
    n_samples: int = 500
    #: Folder holding the other face sets (celeba_tight/, utkface/,
    #: olivetti_faces.mat); default ``$LSREPORT_FACES``, else ``../shared/data``
    #: beside the project. A variant whose data is missing is listed as skipped.
    data_root: str = ""


@dataclass(frozen=True)
class BookConfig:
    """How the book is built (no pipeline step depends on it: no artifact key changes)."""

    #: A publish build (``profiles/publish.toml``): every cell marked
    #: ``#| classes: source-image`` is replaced by a one-line note before it
    #: runs, so no source image (CelebA, UTKFace, ...) reaches the pages.
    publish: bool = False


@dataclass(frozen=True)
class Config:
    """One profile: every setting of a pipeline run."""

    profile: str = "default"
    description: str = ""
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    stats: StatsConfig = field(default_factory=StatsConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    book: BookConfig = field(default_factory=BookConfig)

    def to_dict(self) -> dict:
        """Plain nested dict (tuples become lists), e.g. for JSON."""
        return _jsonable(dataclasses.asdict(self))

    def resolved_data_source(self) -> str:
        """The data source "auto" stands for here and now."""
        if self.data.source != "auto":
            return self.data.source
        return "celeba" if celeba_path(self) else "synthetic"


def celeba_path(cfg: Config) -> str:
    """The configured CelebA location: the ``data.path`` key, else ``$LSREPORT_CELEBA``."""
    if cfg.data.source in ("auto", "celeba") and cfg.data.path:
        return cfg.data.path
    return os.environ.get(CELEBA_ENV, "")


# --------------------------------------------------------------- validation


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        # by type as well as value: 0 and 1 are not the choices False and True
        if not any(type(value) is type(c) and value == c for c in choices):
            raise ConfigError(
                f"{where} = {value!r} is not valid; choose one of "
                + ", ".join(repr(c) for c in choices)
            )
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table ([{where}]), got {value!r}")
        return _build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    if tp is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return tuple(value)
    if tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {value!r}")
        return dict(value)
    raise ConfigError(f"{where}: unsupported type {tp!r}")  # pragma: no cover


def _build(cls: type, values: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        where = f"{prefix}.{key}" if prefix else key
        if key not in names:
            raise ConfigError(
                f"unknown key {where!r}; valid keys"
                + (f" in [{prefix}]" if prefix else "")
                + ": " + ", ".join(names)
            )
        kwargs[key] = _coerce(value, hints[key], where)
    cfg = cls(**kwargs)
    return cfg


def _check(cfg: Config) -> Config:
    d, m, t = cfg.data, cfg.model, cfg.train
    if len(d.split) != 3 or any(s < 0 for s in d.split) or abs(sum(d.split) - 1) > 1e-6:
        raise ConfigError(f"data.split = {list(d.split)} must be three non-negative shares summing to 1")
    if not 0 < d.crop_fraction <= 1:
        raise ConfigError(f"data.crop_fraction = {d.crop_fraction} must lie in (0, 1]")
    if d.image_size < 8:
        raise ConfigError(f"data.image_size = {d.image_size} is too small; use 32 or 64")
    stride = 2 ** len(m.filters)
    if d.image_size % stride:
        raise ConfigError(
            f"data.image_size = {d.image_size} is not divisible by the encoder's total "
            f"stride {stride} ({len(m.filters)} strided layers); use a multiple of {stride} "
            f"or fewer entries in model.filters"
        )
    if m.latent_dim < 2:
        raise ConfigError(f"model.latent_dim = {m.latent_dim} must be at least 2")
    if not m.filters:
        raise ConfigError("model.filters must list at least one layer width")
    if t.epochs < 1 or t.batch_size < 1:
        raise ConfigError("train.epochs and train.batch_size must be at least 1")
    if cfg.sampling.gmm_max_fit < 1:
        raise ConfigError(f"sampling.gmm_max_fit = {cfg.sampling.gmm_max_fit} must be at least 1 "
                          "(the number of latents the Gaussian mixture is fitted to)")
    if t.mixed_precision == "auto":
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(
            t, mixed_precision=resolve_mixed_precision(t.mixed_precision)))
    return cfg


def resolve_mixed_precision(value):
    """``train.mixed_precision`` with ``"auto"`` decided for this machine (other values as they are)."""
    if value == "auto":
        return "bfloat16" if cpu_has_bf16() else False
    return value


def cpu_has_bf16() -> bool:
    """Whether this machine's CPU computes bfloat16 natively (AVX-512 BF16 or AMX BF16).

    Read from the ``flags`` of ``/proc/cpuinfo``; False where there is none
    (macOS, Windows). ``LSREPORT_BF16=0`` or ``=1`` overrides the answer.
    """
    env = os.environ.get("LSREPORT_BF16")
    if env in ("0", "1"):
        return env == "1"
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
            break
    return bool(flags & {"avx512_bf16", "amx_bf16"})


# ------------------------------------------------------------------ loading


def profiles_dir() -> Path:
    """The ``profiles/`` folder of the project (``$LSREPORT_PROFILES`` overrides)."""
    env = os.environ.get("LSREPORT_PROFILES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "profiles"


def available_profiles() -> list[str]:
    """Names of the profiles in :func:`profiles_dir`."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "factor_overrides":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_profile(name_or_path: str | os.PathLike, seen: tuple = ()) -> dict:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = profiles_dir() / f"{name_or_path}.toml"
    if not path.exists():
        raise ConfigError(
            f"profile {str(name_or_path)!r} not found at {path}; available profiles: "
            + ", ".join(available_profiles())
        )
    with path.open("rb") as fh:
        try:
            raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    parent = raw.pop("extends", None)
    if parent:
        if parent in seen:
            raise ConfigError(f"profile {path.stem!r}: 'extends' forms a cycle via {parent!r}")
        raw = _merge(_read_profile(parent, seen + (path.stem,)), raw)
    raw["profile"] = path.stem
    return raw


def load_config(profile: str | os.PathLike | None = None,
                overrides: dict | None = None) -> Config:
    """Load and validate a profile.

    Parameters
    ----------
    profile : str or path, optional
        A profile name under ``profiles/`` or a path to a TOML file. Default:
        ``$LSREPORT_PROFILE``, else ``"default"``.
    overrides : dict, optional
        Dotted keys to change, e.g. ``{"model.latent_dim": 16}``.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        For a missing profile, unknown keys, wrong types or inconsistent values.

    Examples
    --------
    >>> cfg = load_config("smoke")
    >>> cfg.model.latent_dim
    16
    """
    profile = profile or os.environ.get(PROFILE_ENV) or "default"
    raw = _read_profile(profile)
    for dotted, value in (overrides or {}).items():
        raw = _merge(raw, _nest(dotted, value))
    return _check(_build(Config, raw))


def _nest(dotted: str, value: Any) -> dict:
    out: dict = {}
    cur = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = value
    return out


def with_overrides(cfg: Config, overrides: dict) -> Config:
    """A copy of ``cfg`` with dotted keys changed, validated like a profile."""
    raw = cfg.to_dict()
    for dotted, value in overrides.items():
        raw = _merge(raw, _nest(dotted, value))
    return _check(_build(Config, raw))


#: What each pipeline step computes, as a revision number that is part of its
#: artifact key. Bump a step's number when its code changes what it computes
#: without a config change (a fixed estimator, a new metric): its cached
#: results are then recomputed, and everything downstream with them (their
#: keys include the upstream key), while the other steps stay cached.
STEP_REVISIONS = {"faces": 1, "model": 1, "latents": 1, "analysis": 2,
                  "generation": 4, "sweep": 2}


def section_hash(cfg: Config, sections: typing.Iterable[str], *extra: Any,
                 step: str | None = None) -> str:
    """A short stable hash of some config sections plus upstream keys.

    Parameters
    ----------
    cfg : Config
    sections : iterable of str
        Dotted names of the sections or keys the step depends on,
        e.g. ``["data", "model", "train", "run.seed"]``.
    *extra
        Anything JSON-serialisable the result also depends on (upstream
        artifact keys, a data fingerprint).
    step : str, optional
        The pipeline step the key is for; its :data:`STEP_REVISIONS` entry
        is hashed in.

    Returns
    -------
    str
        16 hex digits; includes the package version.
    """
    from . import __version__

    full = cfg.to_dict()
    picked = {}
    for name in sections:
        cur: Any = full
        for part in name.split("."):
            cur = cur[part]
        picked[name] = cur
    head = [__version__] if step is None else [__version__, step, STEP_REVISIONS[step]]
    blob = json.dumps([*head, picked, list(extra)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]

