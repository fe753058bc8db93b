"""The pipeline steps, shared by the command line and the book.

Every step is ``step(cfg, store=None, **kw) -> result`` and caches its result
in the artifact store under a key that hashes only the config sections it
depends on plus its upstream keys:

=============  =====================================  ==========================
step           depends on                             result
=============  =====================================  ==========================
``faces``      ``data`` + source file fingerprint     :class:`~lsreport.data.FaceData`
``model``      ``model``, ``train``, ``run.seed``     trained encoder/decoder
``latents``    model key                              z-vectors, reconstruction metrics
``analysis``   ``stats`` + latents key                every statistic of the latent cloud
``generation`` ``sampling``, ``quality``              decoded samples and face metrics
``sweep``      ``sweep`` + variants                   summary of each variant
=============  =====================================  ==========================

So changing the sampler settings does not retrain the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .artifacts import ArtifactStore
from .config import Config, load_config

__all__ = ["project_root", "store_for", "faces", "model", "latents", "analysis",
           "generation", "sweep", "run", "STEPS"]

#: The steps in order; ``run(cfg, upto=...)`` runs a prefix of them.
STEPS = ("faces", "model", "latents", "analysis", "generation", "sweep")


def project_root() -> Path:
    """The folder holding ``profiles/`` (the repository root)."""
    from .config import profiles_dir

    return profiles_dir().parent


def store_for(cfg: Config, *, read_only: bool = False) -> ArtifactStore:
    """The artifact store of a profile.

    ``run.cache_dir`` is relative to the project root (chapters execute from
    ``chapters/``); ``$LSREPORT_CACHE`` overrides it (tests use a temporary one).
    """
    env = os.environ.get("LSREPORT_CACHE")
    root = Path(env) if env else Path(cfg.run.cache_dir)
    if not root.is_absolute():
        root = project_root() / root
    return ArtifactStore(root, read_only=read_only)


def _cfg(cfg: Config | str | None) -> Config:
    return cfg if isinstance(cfg, Config) else load_config(cfg)


def faces(cfg: Config | str | None = None, store: ArtifactStore | None = None, *,
          progress: bool = True):
    """Decoded, cropped, resized face images (cached)."""
    from .data import load_faces

    cfg = _cfg(cfg)
    return load_faces(cfg, store or store_for(cfg), progress=progress)


def model(cfg: Config | str | None = None, store: ArtifactStore | None = None, *,
          progress: bool = True):
    """The trained autoencoder (trains, or resumes, when not cached)."""
    from .train import train_model

    cfg = _cfg(cfg)
    store = store or store_for(cfg)
    if cfg.data.source == "latents":  # a given decoder (and encoder), nothing to train
        from .data.latents import load_model

        return load_model(cfg, store, progress=progress)
    return train_model(cfg, store, faces(cfg, store, progress=progress), progress=progress)


def latents(cfg: Config | str | None = None, store: ArtifactStore | None = None, *,
            progress: bool = True):
    """z-vectors of every image with ids, split labels and reconstruction metrics."""
    from .latent import encode

    cfg = _cfg(cfg)
    store = store or store_for(cfg)
    if cfg.data.source == "latents":  # read from data.path, not encoded
        from .data.latents import load_latents

        return load_latents(cfg, store, progress=progress)
    f = faces(cfg, store, progress=progress)
    m = model(cfg, store, progress=progress)
    return encode(cfg, store, f, m, progress=progress)


def analysis(cfg: Config | str | None = None, store: ArtifactStore | None = None, *,
             progress: bool = True):
    """Every statistic of the training latents (:func:`lsreport.stats.analyse`), cached."""
    import dataclasses
    import pickle

    from .artifacts import ArtifactData
    from .config import section_hash
    from .stats import analyse

    cfg = _cfg(cfg)
    store = store or store_for(cfg)
    lat = latents(cfg, store, progress=progress)
    key = section_hash(cfg, ["stats", "run.seed"], lat.key, step="analysis")

    def compute():
        if progress:
            print("analysing the latent cloud ...", flush=True)
        result = analyse(lat.split_z("train"), rng=np.random.default_rng([cfg.run.seed, 3]),
                         **dataclasses.asdict(cfg.stats))
        return ArtifactData(files={"analysis.pkl": lambda p: p.write_bytes(pickle.dumps(result))},
                            meta={"n": result.n_samples, "d": result.d})

    art = store.get_or_compute("analysis", key, compute)
    return pickle.loads(art.file("analysis.pkl").read_bytes())


def generation(cfg: Config | str | None = None, store: ArtifactStore | None = None, *,
               progress: bool = True):
    """Samples of every sampler, decoded, with independent face metrics."""
    from .generate import generate

    cfg = _cfg(cfg)
    store = store or store_for(cfg)
    f = faces(cfg, store, progress=progress)
    m = model(cfg, store, progress=progress)
    z = latents(cfg, store, progress=progress)
    return generate(cfg, store, f, m, z, progress=progress)


def sweep(cfg: Config | str | None = None, store: ArtifactStore | None = None, *,
          progress: bool = True, ray_address: str | None = None):
    """The controlled experiments of "What makes it normal?" (on Ray with ``ray_address``)."""
    from .experiments import run_sweep

    cfg = _cfg(cfg)
    return run_sweep(cfg, store or store_for(cfg), progress=progress, ray_address=ray_address)


def run(cfg: Config | str | None = None, store: ArtifactStore | None = None, *,
        upto: str = "latents", progress: bool = True):
    """Run every step up to and including ``upto``; returns its result."""
    if upto not in STEPS:
        raise ValueError(f"unknown step {upto!r}; choose one of {', '.join(STEPS)}")
    cfg = _cfg(cfg)
    store = store or store_for(cfg)
    result = None
    for name in STEPS[: STEPS.index(upto) + 1]:
        if name in ("faces", "model") and cfg.data.source == "latents" and upto in ("latents", "analysis"):
            continue  # the latents come from the file; images and model only serve generation
        result = globals()[name](cfg, store, progress=progress)
    return result
