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

__all__ = [
    "Generation",
    "generate",
    "generation_key",
    "fit_latent_stats",
    "fit_latent_models",
    "cloud_t_dof",
    "sampler_groups",
    "sampler_table",
    "radius_table",
    "metric_table",
    "SetComparison",
    "compare_sets",
    "GenerationVerdict",
    "generation_verdict",
    "PathWalk",
    "walk_paths",
    "detection_by_region",
    "RECONSTRUCTIONS",
    "REAL",
    "BASELINE",
]

STEP = "generation"
#: Label of the reconstruction set in the tables.
RECONSTRUCTIONS = "reconstructions"
#: Label of the real test images in the metric table.
REAL = "real (test)"
#: Label of the real-vs-real baseline: real test faces held out of the
#: reference and measured against it like a sampler's faces.
BASELINE = "real (held out)"
#: Metrics whose two-set comparisons use the paired bootstrap over the
#: reference (:func:`lsreport.quality.paired_replicates`).
PAIRED = ("face_frechet",)
#: Metrics that are shares of images: their differences get a two-proportion
#: interval.
RATES = ("detection_rate", "copy_rate")
#: Samplers that draw each component on its own, ignoring correlations.
INDEPENDENT = ("cube", "intervals", "diagonal")
#: Samplers that use the joint distribution (full covariance, mixture or t).
JOINT = ("mvn", "ellipse", "gmm", "t")


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
        images' detection rate as ``"real (test)"`` and every metric of the
        real-vs-real baseline :data:`BASELINE` (real test faces held out of
        the reference, at up to the samplers' n). For the distances the
        interval is the estimator's spread at this n, not a confidence
        interval (see :mod:`lsreport.quality`).
    settings : dict
        Label -> sampler settings (``{"sampler": name, ...}``).
    reference_z : ndarray
        Latents of the real reference (test) images.
    key : str
    meta : dict
        Sizes and timings; ``"replicates"`` holds the paired bootstrap
        replicates ``{metric: {label: [...]}}`` of the metrics in
        :data:`PAIRED`; ``"n_baseline"`` the size of the held-out real set.
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
            df = df.loc[[lbl for lbl in self.labels if lbl not in (RECONSTRUCTIONS, BASELINE) and lbl in df.index]]
        better = METRICS[metric][1]
        if better == "closer to 1":  # e.g. nn_ratio: both 0.5 (memorised) and 2 are bad
            return df.iloc[np.argsort(np.abs(df.value.to_numpy() - 1.0), kind="stable")]
        return df.sort_values("value", ascending=better != "higher", kind="stable")

    def cell(self, image_set: str, metric: str, digits: int = 3) -> str:
        """One metric as text: ``"value [ci_low, ci_high]"``."""
        row = self.metrics[(self.metrics.image_set == image_set) & (self.metrics.metric == metric)]
        if row.empty:
            raise KeyError(f"no {metric!r} for {image_set!r}")
        r = row.iloc[0]
        return f"{r.value:.{digits}f} [{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]"

    @property
    def baseline(self) -> str | None:
        """Label of the real-vs-real baseline set (None if it was not measured)."""
        return BASELINE if BASELINE in self.labels else None

    @property
    def replicates(self) -> dict:
        """Paired bootstrap replicates ``{metric: {label: ndarray}}`` (:data:`PAIRED`)."""
        return {m: {k: np.asarray(v, dtype=float) for k, v in d.items()}
                for m, d in self.meta.get("replicates", {}).items()}

    def compare(self, a: str, b: str, metric: str = "face_frechet") -> SetComparison:
        """:func:`compare_sets` of two sets, with the paired replicates where there are some."""
        return compare_sets(self.metrics, a, b, metric, replicates=self.replicates.get(metric))

    def ellipse_region_mass(self, label: str) -> float:
        """Share of the fitted normal's mass in the region an ellipse sampler draws from.

        ``(1 - exp(-k**2/2))**(D/2)`` (:func:`lsreport.sampling.ellipse_region_mass`)
        for the sampler's ``k`` and the latent dimension D.
        """
        from .sampling import ellipse_region_mass

        st = self.settings.get(label, {})
        if st.get("sampler") != "ellipse":
            raise ValueError(f"{label!r} is not an ellipse sampler")
        return ellipse_region_mass(float(st.get("k", 2.0)), int(np.shape(self.z[label])[1]))

    def labels_of(self, *samplers: str) -> list:
        """Labels of the sets drawn by the named samplers (registry names), in table order."""
        return [lbl for lbl in self.labels if self.settings.get(lbl, {}).get("sampler") in samplers]

    def image_sets(self, labels=None, *, n: int | None = None) -> dict:
        """``{label: images}`` for some labels (default all), the first ``n`` of each."""
        labels = self.labels if labels is None else list(labels)
        return {lbl: self.images[lbl][:n] for lbl in labels}

    def radii(self, stats, labels=None) -> dict:
        """Mahalanobis radius of every decoded z-vector under ``stats``.

        Parameters
        ----------
        stats : LatentStats
            Statistics of the training latents (:func:`fit_latent_stats`).
        labels : sequence of str, optional
            Which sets; default all (samplers and reconstructions).

        Returns
        -------
        dict
            ``{label: radii}``.
        """
        labels = self.labels if labels is None else list(labels)
        return {lbl: stats.mahalanobis(self.z[lbl]) for lbl in labels}


def _dlib_blas() -> bool:
    """Whether the face metrics ran on a dlib built with BLAS (``make fast-dlib``): equal to rounding."""
    import dlib

    return bool(getattr(dlib, "DLIB_USE_BLAS", False))


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")


def generation_key(cfg: Config, latents_key: str | None = None) -> str:
    """Artifact key: sampler and metric settings plus the latents' key."""
    if latents_key is None:
        from .latent import latents_key as lk

        latents_key = lk(cfg)
    return section_hash(cfg, ["sampling", "quality", "stats.bin_width", "run.seed"], latents_key,
                        step="generation")


def fit_latent_stats(cfg: Config, z_train: np.ndarray):
    """The :class:`~lsreport.sampling.LatentStats` the samplers draw from.

    Cheap (moments, quantiles, histograms); chapters call it to measure
    radii in the same frame as the generation step. The mixture of
    :func:`fit_latent_models` is not refitted.
    """
    from .sampling import LatentStats

    return LatentStats.fit(z_train, bin_width=cfg.stats.bin_width)


def fit_latent_models(cfg: Config, z_train: np.ndarray):
    """The statistics every sampler draws from: ``(LatentStats, LatentGMM)``.

    The moments come from all of ``z_train``; the mixture from at most
    ``cfg.sampling.gmm_max_fit`` of them, a random subset drawn with the
    run's seed where there are more (all of them otherwise).
    """
    from .sampling import LatentGMM

    stats = fit_latent_stats(cfg, z_train)
    cap = int(cfg.sampling.gmm_max_fit)
    if cap < 1:
        raise ValueError(f"sampling.gmm_max_fit = {cap} must be at least 1")
    z_fit = z_train
    if len(z_train) > cap:
        pick = np.random.default_rng([cfg.run.seed, 16]).choice(len(z_train), cap, replace=False)
        z_fit = np.asarray(z_train)[np.sort(pick)]
    n_comp = min(cfg.sampling.gmm_components, max(1, len(z_fit) // 10))
    gmm = LatentGMM.fit(z_fit, n_components=n_comp, seed=cfg.run.seed)
    return stats, gmm


def cloud_t_dof(stats, z_train: np.ndarray) -> float:
    """Degrees of freedom ν of the multivariate t sampler: the cloud's own.

    ν of the t whose kurtosis ratio ``b₂ / D(D+2)`` equals that of the
    training latents' squared Mahalanobis distances
    (:func:`lsreport.stats.elliptical.implied_t_dof`); infinite (the normal)
    when the cloud is not heavier-tailed than a normal one.
    """
    from .stats.elliptical import implied_t_dof, kurtosis_ratio

    d2 = stats.mahalanobis(np.asarray(z_train)) ** 2
    return float(implied_t_dof(kurtosis_ratio(d2, stats.dim)))


def _sampler_settings(cfg: Config, stats=None, z_train=None) -> dict:
    """The generation step's samplers; with ``stats`` and ``z_train`` the t sampler too."""
    from .sampling import sampler_config

    s = cfg.sampling
    nu = cloud_t_dof(stats, z_train) if stats is not None and z_train is not None else None
    return sampler_config(cube_bounds=s.cube_bounds, shrink=s.shrink,
                          ellipse_k=(s.ellipse_k,), diagonal=True, gmm=True, t_nu=nu)


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
    key = generation_key(cfg, latents.key)

    def compute() -> ArtifactData:
        from contextlib import nullcontext

        from .latent import decode, encode_images, reconstruct
        from .quality import _result_of, face_pool, paired_replicates, quality_table, submit_faces, to_uint8
        from .sampling import sample_from_config

        t0 = time.perf_counter()
        say = print if progress else (lambda *a, **k: None)
        n = cfg.sampling.n_per_sampler
        q = cfg.quality
        z_train = np.asarray(latents.split_z("train"))
        test = faces.split_images("test")
        val = faces.split_images("validation")
        # real-vs-real baseline: test faces not in the reference, measured
        # against it exactly like a sampler's faces (up to n of them; with
        # few test faces a third is held out rather than no baseline)
        n_hold = min(n, max(len(test) - q.n_reference, len(test) // 3))
        n_ref = min(q.n_reference, len(test) - n_hold)
        # both drawn at random from the test split: its images come grouped
        # by identity (on the CelebA subset the last 581 test images show 22
        # people), and a held-out block of few people is no real-vs-real baseline
        perm = np.random.default_rng([cfg.run.seed, 15]).permutation(len(test))
        reference = np.asarray(test[np.sort(perm[:n_ref])])
        held_out = np.asarray(test[np.sort(perm[n_ref : n_ref + n_hold])]) if n_hold >= 2 else None
        n_rec = min(n, len(val))
        val_imgs = np.asarray(val[:n_rec])
        train_imgs = faces.split_images("train")
        n_train = min(len(train_imgs), 5000)
        pick = np.sort(np.random.default_rng([cfg.run.seed, 12]).choice(
            len(train_imgs), n_train, replace=False))
        # The dlib work (most of this step's CPU time) runs in a worker pool
        # from the start: each image set is queued as soon as it exists, and
        # this process fits the mixture, decodes and computes the pixel
        # metrics meanwhile. The order of every computation that draws random
        # numbers is unchanged, so the numbers are those of a serial run.
        kw = {"max_descriptors": q.max_descriptors, "n_jobs": q.workers}
        with (face_pool(q.workers) if q.workers > 1 else nullcontext()) as pool:
            ref_job = submit_faces(reference, executor=pool, **kw)
            recon = to_uint8(reconstruct(model.decoder, model.encoder, val_imgs))
            jobs = {RECONSTRUCTIONS: submit_faces(recon, executor=pool, **kw)}
            say("fitting latent statistics and the Gaussian mixture ...", flush=True)
            stats, gmm = fit_latent_models(cfg, z_train)
            settings = _sampler_settings(cfg, stats, z_train)
            zs = sample_from_config(settings, n, rng=np.random.default_rng([cfg.run.seed, 11]),
                                    stats=stats, gmm=gmm)
            say(f"decoding {len(zs)} x {n} samples ...", flush=True)
            images = {}
            for lbl, z in zs.items():
                images[lbl] = decode(model.decoder, z)
                jobs[lbl] = submit_faces(images[lbl], executor=pool, **kw)
            images[RECONSTRUCTIONS] = recon
            zs[RECONSTRUCTIONS] = encode_images(model.encoder, val_imgs)
            if held_out is not None:
                images[BASELINE] = to_uint8(held_out)
                jobs[BASELINE] = submit_faces(images[BASELINE], executor=pool, **kw)
                zs[BASELINE] = encode_images(model.encoder, held_out)
            ref_z = encode_images(model.encoder, reference)
            say(f"measuring {len(images)} image sets with dlib and pixel metrics ...", flush=True)
            table = quality_table(images, reference, np.asarray(train_imgs[pick]),
                                  rng=np.random.default_rng([cfg.run.seed, 13]),
                                  latents=zs, latent_stats=stats, latent_reference=ref_z,
                                  n_boot=q.n_bootstrap, executor=pool, faces=jobs,
                                  reference_faces=ref_job, **kw)
            # paired bootstrap of the face Fréchet distance over the shared
            # reference: the basis of every "better than" between two sets
            desc = {lbl: _result_of(job).descriptors for lbl, job in jobs.items()}
            replicates = {"face_frechet": {
                k: v.tolist() for k, v in paired_replicates(
                    desc, _result_of(ref_job).descriptors, rng=np.random.default_rng([cfg.run.seed, 14]),
                    n_boot=q.n_bootstrap).items()}}
        labels = list(images)
        arrays = {}
        for lbl in labels:
            arrays[f"img_{_slug(lbl)}"] = images[lbl]
            arrays[f"z_{_slug(lbl)}"] = np.asarray(zs[lbl], np.float32)
        arrays["reference_z"] = ref_z
        meta = {"labels": labels, "settings": {k: v for k, v in settings.items()},
                "metrics": table.to_dict(orient="records"), "n_per_sampler": n,
                "n_reference": n_ref, "n_reconstructions": n_rec,
                "n_baseline": int(n_hold) if held_out is not None else 0, "replicates": replicates,
                "gmm_converged": bool(gmm.converged), "gmm_components": int(gmm.n_components),
                "dlib_blas": _dlib_blas(),
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


# --------------------------------------------------------------------- verdicts


def sampler_groups(gen: Generation) -> dict[str, list[str]]:
    """Sampler labels by what they use of the latent statistics.

    Returns
    -------
    dict
        ``{"independent": [...], "joint": [...]}`` in table order:
        ``independent`` holds the samplers that draw every component on its
        own (cube, intervals, diagonal normals), ``joint`` those that use
        the correlations (full normal, ellipses, Gaussian mixture).
        Labels whose sampler is in neither group are left out.
    """
    kind = {lbl: gen.settings.get(lbl, {}).get("sampler") for lbl in gen.labels}
    return {
        "independent": [lbl for lbl in gen.labels if kind[lbl] in INDEPENDENT],
        "joint": [lbl for lbl in gen.labels if kind[lbl] in JOINT],
    }


#: Sampler settings as the tables write them.
_SETTING_NAMES = {"nu": "ν"}


def _setting_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if np.isfinite(v) else ("∞" if v > 0 else "−∞")
    return str(v)


def sampler_table(gen: Generation) -> pd.DataFrame:
    """One row per sampler: its group, registry name, settings and a description."""
    from .sampling import SAMPLERS

    group = {lbl: g for g, lbls in sampler_groups(gen).items() for lbl in lbls}
    rows = []
    for lbl in gen.labels:
        if lbl not in gen.settings:
            continue
        st = dict(gen.settings[lbl])
        name = st.pop("sampler")
        rows.append({"label": lbl, "group": group.get(lbl, ""), "sampler": name,
                     "settings": ", ".join(f"{_SETTING_NAMES.get(k, k)} = {_setting_value(v)}"
                                           for k, v in sorted(st.items())) or "-",
                     "description": SAMPLERS[name].description if name in SAMPLERS else ""})
    return pd.DataFrame(rows).set_index("label")


def radius_table(gen: Generation, stats, *, band=(0.05, 0.95)) -> pd.DataFrame:
    """Where each set's z-vectors lie relative to the shell of the real latents.

    Parameters
    ----------
    gen : Generation
    stats : LatentStats
        Statistics of the training latents (:func:`fit_latent_stats`).
    band : (float, float), default (0.05, 0.95)
        Quantile levels of the real (test) latents' radii that delimit the
        shell.

    Returns
    -------
    pandas.DataFrame
        Index: the image sets and :data:`REAL`; columns ``median radius``,
        ``share in shell`` (of vectors whose radius lies in the shell; about
        ``band[1] - band[0]`` for the real latents) and ``median lies``
        (``"inside"``, ``"on"`` or ``"outside"`` the shell). The shell's
        radii are in ``attrs["shell"]``.
    """
    if not 0 <= band[0] < band[1] <= 1:
        raise ValueError(f"band must be two increasing quantile levels in [0, 1]; got {band}")
    ref = stats.mahalanobis(gen.reference_z)
    lo, hi = np.quantile(ref, band)
    rows = {}
    for lbl, r in {**gen.radii(stats), REAL: ref}.items():
        med = float(np.median(r))
        rows[lbl] = {"median radius": med, "share in shell": float(np.mean((r >= lo) & (r <= hi))),
                     "median lies": "inside" if med < lo else "outside" if med > hi else "on"}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "image_set"
    out.attrs["shell"] = (float(lo), float(hi))
    return out


def metric_table(metrics: pd.DataFrame, keys=None, *, digits: int = 3) -> pd.DataFrame:
    """The tidy metric table as one row per image set, readable headers.

    Cells read ``value [ci_low, ci_high]`` (just the value where a metric has
    no interval); for the distances the bracket is the estimator's spread at
    this n, not a confidence interval. Each header names the number of
    images (or descriptors) that most sets of that column rest on; a cell
    resting on another number ends with its own ``(n = ...)``.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Columns ``image_set, metric, value, ci_low, ci_high, n``.
    keys : sequence of str, optional
        Which metrics, in this order; default all, in the order of
        :data:`lsreport.quality.METRICS`.
    digits : int, default 3
        Significant digits.

    Returns
    -------
    pandas.DataFrame
        Index: image sets in table order; empty cells where a set lacks a
        metric.
    """
    from .quality import METRICS

    sets = list(dict.fromkeys(metrics.image_set))
    present = list(dict.fromkeys(metrics.metric))
    if keys is None:
        keys = [k for k in METRICS if k in present] + [k for k in present if k not in METRICS]
    cols = {}
    for key in keys:
        sub = metrics[metrics.metric == key].set_index("image_set")
        if sub.empty:
            raise KeyError(f"no metric {key!r} in the table")
        common = int(sub.n.astype(int).mode().max())
        label, better = METRICS.get(key, (key, ""))
        arrow = {"higher": " (↑)", "lower": " (↓)", "closer to 1": " (→1)"}.get(better, "")
        cells = {}
        for name, r in sub.iterrows():
            c = (f"{r.value:.{digits}g} [{r.ci_low:.{digits}g}, {r.ci_high:.{digits}g}]"
                 if np.isfinite(r.ci_low) and np.isfinite(r.ci_high) else f"{r.value:.{digits}g}")
            cells[name] = c if int(r.n) == common else f"{c} (n = {int(r.n):,})"
        cols[f"{label}{arrow}, n = {common:,}"] = cells
    return pd.DataFrame(cols).reindex(sets).fillna("")


@dataclass(frozen=True)
class SetComparison:
    """One metric of image set ``a`` against image set ``b``.

    Attributes
    ----------
    metric, a, b : str
    value_a, value_b : float
        Point estimates.
    ci_a, ci_b : (float, float)
        Each set's own bootstrap interval (for distances: the estimator's
        spread at this n).
    n_a, n_b : int
        Number of images (or descriptors) each value rests on.
    diff_ci : (float, float)
        95 % interval of ``value_a - value_b``: paired bootstrap over the
        common reference for the metrics of :data:`PAIRED`, a
        two-proportion (Wald) interval for the rates of :data:`RATES`, NaN
        otherwise.
    method : str
        ``"paired bootstrap"``, ``"two proportions"`` or ``"none"``.
    """

    metric: str
    a: str
    b: str
    value_a: float
    value_b: float
    ci_a: tuple
    ci_b: tuple
    n_a: int
    n_b: int
    diff_ci: tuple = (float("nan"), float("nan"))
    method: str = "none"

    @property
    def ratio(self) -> float:
        """``value_a / value_b`` (NaN when ``value_b`` is 0)."""
        return self.value_a / self.value_b if self.value_b else float("nan")

    @property
    def difference(self) -> float:
        """``value_a - value_b``."""
        return self.value_a - self.value_b

    @property
    def separated(self) -> bool:
        """True when the interval of the difference excludes 0 (the difference is clear).

        False when no interval of the difference exists (``method == "none"``):
        two sets' own intervals, least of all the spreads of biased
        distances, do not tell whether they differ.
        """
        lo, hi = self.diff_ci
        return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))

    @property
    def a_better(self) -> bool:
        """Whether ``a``'s point estimate is better, in the metric's direction."""
        from .quality import METRICS

        better = METRICS.get(self.metric, ("", "lower"))[1]
        if better == "higher":
            return self.value_a > self.value_b
        if better == "closer to 1":
            return abs(self.value_a - 1) < abs(self.value_b - 1)
        return self.value_a < self.value_b

    @property
    def clearly_better(self) -> bool:
        """``a`` better and the difference clear (:attr:`separated`)."""
        return self.a_better and self.separated

    def words(self, better: str = "clearly better than", worse: str = "clearly worse than",
              unclear: str = "not clearly different from") -> str:
        """One of three phrases for the prose, chosen by :attr:`separated` and :attr:`a_better`."""
        if not self.separated:
            return unclear
        return better if self.a_better else worse


def _two_proportions(pa, na, pb, nb, z=1.959963984540054) -> tuple:
    se = np.sqrt(pa * (1 - pa) / max(na, 1) + pb * (1 - pb) / max(nb, 1))
    d = pa - pb
    return float(d - z * se), float(d + z * se)


def compare_sets(metrics: pd.DataFrame, a: str, b: str, metric: str = "face_frechet", *,
                 replicates: dict | None = None) -> SetComparison:
    """Compare two image sets on one metric of a tidy metric table.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Columns ``image_set, metric, value, ci_low, ci_high, n``
        (:attr:`Generation.metrics`).
    a, b : str
        Image-set labels.
    metric : str, default "face_frechet"
    replicates : dict, optional
        ``{label: paired bootstrap replicates}`` of this metric
        (:attr:`Generation.replicates`); gives the interval of the
        difference for a distance.

    Returns
    -------
    SetComparison

    Raises
    ------
    KeyError
        When either set lacks the metric.

    Notes
    -----
    "Clearly better" means that the 95 % interval of the difference
    excludes 0. For a distance to the real reference that interval comes
    from the paired bootstrap (both sets and the shared reference
    resampled); two sets' own intervals are not compared, since a distance's
    interval is only its estimator's spread around a biased value.
    """
    from .quality import difference_interval

    rows = {}
    for name in (a, b):
        r = metrics[(metrics.image_set == name) & (metrics.metric == metric)]
        if r.empty:
            raise KeyError(f"no {metric!r} for {name!r}")
        rows[name] = r.iloc[0]
    ra, rb = rows[a], rows[b]
    va, vb = float(ra.value), float(rb.value)
    diff_ci, method = (float("nan"), float("nan")), "none"
    if replicates is not None and a in replicates and b in replicates:
        _, lo, hi = difference_interval(replicates[a], replicates[b], va, vb)
        diff_ci, method = (lo, hi), "paired bootstrap"
    elif metric in RATES:
        diff_ci, method = _two_proportions(va, int(ra.n), vb, int(rb.n)), "two proportions"
    return SetComparison(metric, a, b, va, vb,
                         (float(ra.ci_low), float(ra.ci_high)), (float(rb.ci_low), float(rb.ci_high)),
                         int(ra.n), int(rb.n), diff_ci, method)


@dataclass(frozen=True)
class GenerationVerdict:
    """The comparisons the chapter on generation states, computed.

    Build it with :func:`generation_verdict`.

    Attributes
    ----------
    metric : str
        The ranking metric.
    best, worst : str
        Best and worst sampler by :attr:`metric`.
    best_vs_runner_up : SetComparison or None
        The best sampler against the second best (None with one sampler).
    best_vs_worst : SetComparison
    detection : SetComparison
        Detection rate of :attr:`best` against the reconstructions'.
    frechet : SetComparison
        Face Fréchet distance of :attr:`best` against the reconstructions'.
    frechet_factor : float
        Development target (best distance within this multiple of the
        reconstructions'); kept for old callers, not a finding.
    best_detection : str
        The sampler with the highest detection rate.
    real_detection : float
        Detection rate of the real test images (NaN if not measured).
    cube : str or None
        The cube sampler with the highest detection rate (None without cubes).
    cube_rate : float
        Its detection rate (NaN without cubes).
    almost_none : float
        A detection rate below this counts as "almost no faces".
    full : str or None
        The full-covariance normal without shrinking (else the first normal).
    per_component : dict
        ``{label: SetComparison}`` of :attr:`full` against each
        per-component sampler (intervals, diagonal) on :attr:`metric`.
    per_component_detection : dict
        The same on the detection rate.
    baseline : str or None
        Label of the real-vs-real baseline (held-out real faces), None if
        not measured.
    baseline_frechet : float
        Face Fréchet distance of the held-out real faces to the reference:
        what "as close as real faces are to each other" is at this n.
    best_vs_baseline : SetComparison or None
        The best sampler's face Fréchet distance against the baseline's.
    reconstructions_vs_baseline : SetComparison or None
        The reconstructions' against the baseline's.
    best_vs_reconstructions : SetComparison
        The best sampler's face Fréchet distance against the reconstructions'
        (the same as :attr:`frechet`).
    """

    metric: str
    best: str
    worst: str
    best_vs_runner_up: SetComparison | None
    best_vs_worst: SetComparison
    detection: SetComparison
    frechet: SetComparison
    frechet_factor: float
    best_detection: str
    real_detection: float
    cube: str | None
    cube_rate: float
    almost_none: float
    full: str | None
    per_component: dict
    per_component_detection: dict
    baseline: str | None = None
    baseline_frechet: float = float("nan")
    best_vs_baseline: SetComparison | None = None
    reconstructions_vs_baseline: SetComparison | None = None

    @property
    def best_vs_reconstructions(self) -> SetComparison:
        """See the class attributes."""
        return self.frechet

    @property
    def detection_reached(self) -> bool:
        """The best sampler's detection rate is at least the reconstructions'."""
        return self.detection.value_a >= self.detection.value_b

    @property
    def frechet_within(self) -> bool:
        """The best distance is within ``frechet_factor`` times the reconstructions' (development target)."""
        return self.frechet.value_a <= self.frechet_factor * self.frechet.value_b

    @property
    def best_as_close_as_real(self) -> bool:
        """The best sampler's distance is not clearly worse than real faces' own (False without baseline)."""
        c = self.best_vs_baseline
        return bool(c is not None and not (c.separated and not c.a_better))

    @property
    def cube_almost_none(self) -> bool:
        """The best cube sampler's detection rate is below :attr:`almost_none`."""
        return bool(self.cube_rate < self.almost_none)

    @property
    def full_clearly_beats_per_component(self) -> bool:
        """The full normal is clearly better than every per-component sampler on both metrics."""
        comps = [*self.per_component.values(), *self.per_component_detection.values()]
        return bool(comps) and all(c.clearly_better for c in comps)


def generation_verdict(gen: Generation, metric: str = "face_frechet", *, frechet_factor: float = 1.5,
                       almost_none: float = 0.05) -> GenerationVerdict:
    """Which sampler wins, by how much, and how close is it to real faces?

    Parameters
    ----------
    gen : Generation
    metric : str, default "face_frechet"
        Metric that ranks the samplers (:attr:`Generation.ranking`).
    frechet_factor : float, default 1.5
        Old development target, kept in the result for old callers.
    almost_none : float, default 0.05
        A detection rate below this counts as "almost no faces".

    Returns
    -------
    GenerationVerdict

    Notes
    -----
    "Clearly" means that the 95 % interval of the difference excludes 0
    (:func:`compare_sets`): the paired bootstrap over the reference for the
    face Fréchet distance, two proportions for detection rates.
    """
    m = gen.metrics
    ranking = gen.ranking(metric)
    order = list(ranking.index)
    if not order:
        raise ValueError(f"no sampler has the metric {metric!r}")
    best, worst = order[0], order[-1]
    det = gen.ranking("detection_rate")
    kind = {lbl: gen.settings.get(lbl, {}).get("sampler") for lbl in gen.labels}
    cubes = det[[kind.get(lbl) == "cube" for lbl in det.index]]
    normals = [lbl for lbl in gen.labels if kind[lbl] == "mvn"]
    unshrunk = [lbl for lbl in normals if float(gen.settings[lbl].get("shrink", 1.0)) == 1.0]
    full = (unshrunk or normals or [None])[0]
    per = [lbl for lbl in gen.labels if kind[lbl] in ("intervals", "diagonal")]
    real = m[(m.image_set == REAL) & (m.metric == "detection_rate")]
    base = gen.baseline
    has = set(m[m.metric == "face_frechet"].image_set)
    base_ok = base is not None and base in has
    return GenerationVerdict(
        metric=metric,
        best=best,
        worst=worst,
        best_vs_runner_up=gen.compare(best, order[1], metric) if len(order) > 1 else None,
        best_vs_worst=gen.compare(best, worst, metric),
        detection=gen.compare(best, RECONSTRUCTIONS, "detection_rate"),
        frechet=gen.compare(best, RECONSTRUCTIONS, "face_frechet"),
        frechet_factor=float(frechet_factor),
        best_detection=str(det.index[0]),
        real_detection=float(real.value.iloc[0]) if len(real) else float("nan"),
        cube=str(cubes.index[0]) if len(cubes) else None,
        cube_rate=float(cubes.value.iloc[0]) if len(cubes) else float("nan"),
        almost_none=float(almost_none),
        full=full,
        per_component={lbl: gen.compare(full, lbl, metric) for lbl in per} if full else {},
        per_component_detection=(
            {lbl: gen.compare(full, lbl, "detection_rate") for lbl in per} if full else {}
        ),
        baseline=base if base_ok else None,
        baseline_frechet=gen.value(base, "face_frechet") if base_ok else float("nan"),
        best_vs_baseline=gen.compare(best, base, "face_frechet") if base_ok else None,
        reconstructions_vs_baseline=(gen.compare(RECONSTRUCTIONS, base, "face_frechet")
                                     if base_ok and RECONSTRUCTIONS in has else None),
    )


# --------------------------------------------------------------------- paths


@dataclass(frozen=True, eq=False)
class PathWalk:
    """Images decoded along latent paths, with their radius and dlib's verdict.

    Build it with :func:`walk_paths`.

    Attributes
    ----------
    paths : tuple of LatentPath
    images : tuple of ndarray
        uint8 images ``(n_steps, S, S, 3)`` per path.
    radii : tuple of ndarray
        Mahalanobis radius of every point (training statistics).
    detected : tuple of ndarray of bool, or None
        Whether dlib's HOG detector finds a face in each image (None when
        detection was skipped).
    reference_radii : ndarray
        Radii of real (test) latents under the same statistics.
    band : (float, float)
        Quantile levels of :attr:`reference_radii` that delimit the shell of
        real latents.
    """

    paths: tuple
    images: tuple
    radii: tuple
    detected: tuple
    reference_radii: np.ndarray = field(repr=False)
    band: tuple = (0.05, 0.95)

    @property
    def shell(self) -> tuple[float, float]:
        """The radii at the :attr:`band` quantiles of the real latents."""
        lo, hi = np.quantile(self.reference_radii, self.band)
        return float(lo), float(hi)

    def summary(self) -> pd.DataFrame:
        """One row per path: radius range, steps inside the shell, face detection rate.

        Index ``path`` (the labels); columns ``steps``, ``smallest radius``,
        ``largest radius``, ``share in shell`` (of steps whose radius lies in
        :attr:`shell`), ``real below largest`` (share of real latents whose
        radius is at most the path's largest) and ``share with a face``
        (NaN without detection).
        """
        lo, hi = self.shell
        ref = np.sort(self.reference_radii)
        rows = []
        detected = self.detected or (None,) * len(self.paths)
        for p, r, d in zip(self.paths, self.radii, detected):
            rows.append({
                "path": p.label,
                "steps": int(r.size),
                "smallest radius": float(r.min()),
                "largest radius": float(r.max()),
                "share in shell": float(np.mean((r >= lo) & (r <= hi))),
                "real below largest": float(np.searchsorted(ref, r.max(), side="right") / ref.size),
                "share with a face": float(np.mean(d)) if d is not None else float("nan"),
            })
        return pd.DataFrame(rows).set_index("path")


def walk_paths(decoder, stats, paths, *, reference_z, band=(0.05, 0.95), detect: bool = True) -> PathWalk:
    """Decode latent paths and measure how far each point lies from the cloud.

    Parameters
    ----------
    decoder : keras.Model
        The trained decoder (see :func:`lsreport.latent.decode`).
    stats : LatentStats
        Statistics of the training latents (:func:`fit_latent_stats`).
    paths : sequence of LatentPath
        E.g. from :func:`lsreport.sampling.plane_path`,
        :func:`~lsreport.sampling.principal_axis_path`,
        :func:`~lsreport.sampling.interpolation_path`.
    reference_z : array_like, shape (m, D)
        Real latents (e.g. of the test images) that define the shell.
    band : (float, float), default (0.05, 0.95)
        Quantile levels of the real radii that delimit the shell.
    detect : bool, default True
        Run dlib's HOG face detector on every decoded image (a few ms each).

    Returns
    -------
    PathWalk
    """
    from .latent import decode

    paths = tuple(paths)
    if not paths:
        raise ValueError("no paths given")
    if not 0 <= band[0] < band[1] <= 1:
        raise ValueError(f"band must be two increasing quantile levels in [0, 1]; got {band}")
    sizes = np.cumsum([0] + [len(p.points) for p in paths])
    images = decode(decoder, np.concatenate([p.points for p in paths]))
    found = None
    if detect:
        from .quality import analyse_faces

        found = analyse_faces(images, max_descriptors=0, n_jobs=1).detected
    cut = lambda a: tuple(a[lo:hi] for lo, hi in zip(sizes[:-1], sizes[1:]))  # noqa: E731
    return PathWalk(
        paths=paths,
        images=cut(images),
        radii=tuple(stats.mahalanobis(p.points) for p in paths),
        detected=cut(found) if found is not None else None,
        reference_radii=stats.mahalanobis(reference_z),
        band=(float(band[0]), float(band[1])),
    )


def detection_by_region(*walks: PathWalk) -> pd.DataFrame:
    """Face detection rate of path steps inside, on and outside the shell.

    Parameters
    ----------
    *walks : PathWalk
        Walks with detection (:func:`walk_paths` with ``detect=True``); the
        shell of the first one is used for all.

    Returns
    -------
    pandas.DataFrame
        Index ``inside``, ``shell``, ``outside`` (radius below, within or
        above :attr:`PathWalk.shell`); columns ``steps`` and ``share with a
        face`` (NaN where there are no steps).
    """
    if not walks:
        raise ValueError("no walks given")
    if any(w.detected is None for w in walks):
        raise ValueError("every walk needs face detection (walk_paths(..., detect=True))")
    lo, hi = walks[0].shell
    r = np.concatenate([x for w in walks for x in w.radii])
    d = np.concatenate([x for w in walks for x in w.detected]).astype(bool)
    rows = {}
    for name, mask in (("inside", r < lo), ("shell", (r >= lo) & (r <= hi)), ("outside", r > hi)):
        rows[name] = {"steps": int(mask.sum()),
                      "share with a face": float(d[mask].mean()) if mask.any() else float("nan")}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "region"
    return out
