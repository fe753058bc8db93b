"""The generation step: draw z-vectors, decode them, measure the faces.

For every sampler of :mod:`lsreport.sampling` (settings from ``[sampling]``)
this step draws ``n_per_sampler`` vectors from statistics fitted to the
training latents, decodes them with the trained decoder, and measures the
images with :mod:`lsreport.quality` against real test images — metrics that
do not come from our own autoencoder. Reconstructions of validation images
(unseen in training, disjoint from the reference) are measured the same way
as the floor a decoder can reach.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .artifacts import ArtifactData, ArtifactStore
from .config import Config, section_hash

__all__ = ["Generation", "generate", "generation_key", "fit_latent_models", "RECONSTRUCTIONS"]

STEP = "generation"
#: Label of the reconstruction set in the tables.
RECONSTRUCTIONS = "reconstructions"


@dataclass(frozen=True, eq=False)
class Generation:
    """Decoded samples of every sampler and their face metrics.

    Attributes
    ----------
    labels : list of str
        Sampler labels in table order, then :data:`RECONSTRUCTIONS`.
    images : dict
        Label -> uint8 images (n, S, S, 3), memory-mapped.
    z : dict
        Label -> the z-vectors that were decoded.
    metrics : pandas.DataFrame
        Tidy table ``image_set, metric, value, ci_low, ci_high, n``
        (:func:`lsreport.quality.quality_table`), including the real test
        images' detection rate as ``"real (test)"``.
    settings : dict
        Label -> sampler settings (``{"sampler": name, ...}``).
    reference_z : ndarray
        Latents of the real reference (test) images.
    key : str
    meta : dict
        Sizes and timings.
    """

    labels: list
    images: dict
    z: dict
    metrics: pd.DataFrame
    settings: dict
    reference_z: np.ndarray
    key: str
    meta: dict = field(default_factory=dict, repr=False)

    def value(self, image_set: str, metric: str) -> float:
        """One metric's point estimate."""
        row = self.metrics[(self.metrics.image_set == image_set) & (self.metrics.metric == metric)]
        if row.empty:
            raise KeyError(f"no {metric!r} for {image_set!r}")
        return float(row.value.iloc[0])

    def ranking(self, metric: str = "face_frechet", *, samplers_only: bool = True) -> pd.DataFrame:
        """Sets ordered from best to worst by one metric."""
        from .quality import METRICS

        df = self.metrics[self.metrics.metric == metric].set_index("image_set")
        if samplers_only:
            df = df.loc[[lbl for lbl in self.labels if lbl != RECONSTRUCTIONS and lbl in df.index]]
        ascending = METRICS[metric][1] != "higher"
        return df.sort_values("value", ascending=ascending)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")


def generation_key(cfg: Config, latents_key: str | None = None) -> str:
    """Artifact key: sampler and metric settings plus the latents' key."""
    if latents_key is None:
        from .latent import latents_key as lk

        latents_key = lk(cfg)
    return section_hash(cfg, ["sampling", "quality", "stats.bin_width", "run.seed"], latents_key)


def fit_latent_models(cfg: Config, z_train: np.ndarray):
    """The statistics every sampler draws from: ``(LatentStats, LatentGMM)``."""
    from .sampling import LatentGMM, LatentStats

    stats = LatentStats.fit(z_train, bin_width=cfg.stats.bin_width)
    n_comp = min(cfg.sampling.gmm_components, max(1, len(z_train) // 10))
    gmm = LatentGMM.fit(z_train, n_components=n_comp, seed=cfg.run.seed)
    return stats, gmm


def _sampler_settings(cfg: Config) -> dict:
    from .sampling import sampler_config

    s = cfg.sampling
    return sampler_config(cube_bounds=s.cube_bounds, shrink=s.shrink,
                          ellipse_k=(s.ellipse_k,), diagonal=True, gmm=True)


def generate(cfg: Config, store: ArtifactStore, faces, model, latents, *,
             progress: bool = True) -> Generation:
    """Sample, decode and measure (cached as step ``"generation"``).

    Parameters
    ----------
    cfg : Config
    store : ArtifactStore
    faces : FaceData
    model : TrainedModel
    latents : Latents
    progress : bool

    Returns
    -------
    Generation
    """
    settings = _sampler_settings(cfg)
    key = generation_key(cfg, latents.key)

    def compute() -> ArtifactData:
        from .latent import decode, encode_images, reconstruct
        from .quality import quality_table, to_uint8
        from .sampling import sample_from_config

        t0 = time.perf_counter()
        say = print if progress else (lambda *a, **k: None)
        n = cfg.sampling.n_per_sampler
        z_train = np.asarray(latents.split_z("train"))
        say("fitting latent statistics and the Gaussian mixture ...", flush=True)
        stats, gmm = fit_latent_models(cfg, z_train)
        zs = sample_from_config(settings, n, rng=np.random.default_rng([cfg.run.seed, 11]),
                                stats=stats, gmm=gmm)
        say(f"decoding {len(zs)} x {n} samples ...", flush=True)
        images = {lbl: decode(model.decoder, z) for lbl, z in zs.items()}

        test = faces.split_images("test")
        val = faces.split_images("validation")
        n_ref = min(cfg.quality.n_reference, len(test))
        reference = np.asarray(test[:n_ref])
        n_rec = min(n, len(val))
        val_imgs = np.asarray(val[:n_rec])
        images[RECONSTRUCTIONS] = to_uint8(reconstruct(model.decoder, model.encoder, val_imgs))
        zs[RECONSTRUCTIONS] = encode_images(model.encoder, val_imgs)
        ref_z = encode_images(model.encoder, reference)
        train_imgs = faces.split_images("train")
        n_train = min(len(train_imgs), 5000)
        pick = np.sort(np.random.default_rng([cfg.run.seed, 12]).choice(
            len(train_imgs), n_train, replace=False))
        say(f"measuring {len(images)} image sets with dlib and pixel metrics ...", flush=True)
        table = quality_table(images, reference, np.asarray(train_imgs[pick]),
                              rng=np.random.default_rng([cfg.run.seed, 13]),
                              latents=zs, latent_stats=stats, latent_reference=ref_z,
                              n_boot=cfg.quality.n_bootstrap, n_jobs=cfg.quality.workers,
                              max_descriptors=cfg.quality.max_descriptors)
        labels = list(images)
        arrays = {}
        for lbl in labels:
            arrays[f"img_{_slug(lbl)}"] = images[lbl]
            arrays[f"z_{_slug(lbl)}"] = np.asarray(zs[lbl], np.float32)
        arrays["reference_z"] = ref_z
        meta = {"labels": labels, "settings": {k: v for k, v in settings.items()},
                "metrics": table.to_dict(orient="records"), "n_per_sampler": n,
                "n_reference": n_ref, "n_reconstructions": n_rec,
                "gmm_converged": bool(gmm.converged), "gmm_components": int(gmm.n_components),
                "seconds": time.perf_counter() - t0}
        return ArtifactData(arrays=arrays, meta=meta)

    art = store.get_or_compute(STEP, key, compute)
    labels = art.meta["labels"]
    return Generation(
        labels=labels,
        images={lbl: art.array(f"img_{_slug(lbl)}") for lbl in labels},
        z={lbl: art.array(f"z_{_slug(lbl)}") for lbl in labels},
        metrics=pd.DataFrame(art.meta["metrics"]),
        settings=art.meta["settings"],
        reference_z=art.array("reference_z"),
        key=key,
        meta=art.meta,
    )
