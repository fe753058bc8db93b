"""Controlled experiments: what makes the latent distribution normal?

Each variant is the sweep's base profile with a few settings changed
(latent size, batch normalisation, data set, training length, seed). It is
trained, encoded and analysed by the same pipeline steps as the main
chapters, cached, and summarised by one fixed set of numbers
(:func:`summarise_latents`), so the variants can be compared in one table.

The sweep runs at the smaller sizes of the ``[sweep]`` section (image size,
number of images, epochs) so that all variants fit a CPU budget; the book
says so where it shows the table.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import ClassVar
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import ArtifactData, ArtifactMissingError, ArtifactStore
from .config import Config, celeba_path, section_hash, with_overrides

__all__ = [
    "Variant",
    "SweepResult",
    "sweep_base",
    "variants",
    "summarise_latents",
    "factor_relation",
    "compare_to_base",
    "NORMAL_VALUES",
    "run_variant",
    "run_sweep",
    "data_root",
    "MissingDataError",
    "SUMMARY_COLUMNS",
    "FOCUS",
    "DESIGN",
    "NORMALITY",
    "SHAPE",
    "SweepFindings",
    "findings",
    "pretty",
    "HEADERS",
    "book_table",
    "batch_norm_switch",
]

log = logging.getLogger(__name__)

#: Step name of one variant's summary in the artifact store.
STEP = "variant"

#: The numbers every variant is summarised by, with a short description.
SUMMARY_COLUMNS = {
    "psnr": "mean test PSNR of reconstructions (dB)",
    "abs_skew_median": "median |skewness| over components",
    "abs_skew_iqr": "interquartile range of |skewness|",
    "exkurt_median": "median excess kurtosis over components",
    "exkurt_iqr": "interquartile range of excess kurtosis",
    "pass_share_sub500": "share of components passing normality tests on subsamples of 500",
    "mardia_skew_p": "median p-value of Mardia's skewness (subsamples)",
    "mardia_kurt_z": "Mardia's kurtosis z statistic (all points)",
    "d2_var_ratio": "variance of squared Mahalanobis distances / chi-square variance 2D",
    "ellipse2_error": "mean |measured - expected| coverage of 2-sigma ellipses, strongest pairs",
    "abs_r_mean": "mean |Pearson r| off the diagonal",
    "pca_n90": "principal components for 90 % of the variance",
    "pca_first_ratio": "variance share of the first principal component",
    "centre_distance": "distance of the centre from the origin, in units of the spread",
    "mvn_face_rate": "dlib face-detection rate of decoded multivariate-normal samples",
}


class MissingDataError(FileNotFoundError):
    """A variant's data set is not available on this machine."""


@dataclass(frozen=True)
class Variant:
    """One experimental condition.

    Attributes
    ----------
    name : str
        Row label, e.g. ``"latent 16"``.
    group : str
        What is varied: ``"base"``, ``"latent size"``, ``"batch norm"``,
        ``"data"``, ``"training"``, ``"seed"``.
    overrides : dict
        Dotted config keys applied to the sweep base.
    untrained : bool
        Encode with the randomly initialised encoder (no training).
    dataset : str
        The data set's short name.
    """

    name: str
    group: str
    overrides: dict = field(default_factory=dict)
    untrained: bool = False
    dataset: str = ""


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The summaries of all variants.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per variant: ``name``, ``group``, ``dataset``, ``status``
        (``"done"`` or ``"skipped: <reason>"``), ``latent_dim``, ``n_images``,
        ``seconds`` and the :data:`SUMMARY_COLUMNS`.
    spectra : dict
        Variant name -> explained-variance ratios of the PCA.
    factor_r2 : pandas.DataFrame or None
        Synthetic variants: cross-validated R² of each known factor from z.
    canonical : dict
        Synthetic variants: canonical correlations between factors and z.
    settings : dict
        The sweep section and base settings (for the chapter's text).
    """

    table: pd.DataFrame
    spectra: dict
    factor_r2: pd.DataFrame | None
    canonical: dict
    settings: dict

    def seed_spread(self, columns=None) -> pd.DataFrame:
        """Mean and standard deviation of each summary over the seed runs."""
        cols = list(columns or SUMMARY_COLUMNS)
        rows = self.table[self.table["group"].isin(["base", "seed"])
                          & (self.table["status"] == "done")]
        return rows[cols].agg(["mean", "std", "count"]).T


# ----------------------------------------------------------------- variants


def data_root(cfg: Config) -> Path:
    """Folder of the other face sets: ``sweep.data_root``, ``$LSREPORT_FACES`` or ../shared/data."""
    if cfg.sweep.data_root:
        return Path(cfg.sweep.data_root)
    if os.environ.get("LSREPORT_FACES"):
        return Path(os.environ["LSREPORT_FACES"])
    from .config import profiles_dir  # the project root, without importing pipeline

    return profiles_dir().parent.parent / "shared" / "data"


def _dataset_overrides(name: str, cfg: Config) -> dict:
    """Config changes selecting a data set, or MissingDataError saying what is missing."""
    sw = cfg.sweep
    root = data_root(cfg)
    if name == "celeba":
        path = celeba_path(cfg)
        if not path or not Path(path).exists():
            raise MissingDataError("CelebA not configured (set LSREPORT_CELEBA)")
        return {"data.source": "celeba", "data.path": str(path), "data.max_images": sw.max_images}
    if name in ("celeba_tight", "utkface"):
        path = root / name
        if not path.exists():
            raise MissingDataError(f"{path} not found")
        return {"data.source": "folder", "data.path": str(path), "data.crop_fraction": 1.0,
                "data.crop_center_y": 0.5, "data.max_images": sw.max_images}
    if name == "olivetti":
        path = root / "olivetti_faces.mat"
        if not path.exists():
            raise MissingDataError(f"{path} not found")
        # 400 images in all: take every one of them
        return {"data.source": "olivetti", "data.path": str(path), "data.max_images": 0}
    if name.startswith("synthetic_"):
        law = name.split("_", 1)[1]
        if law not in ("normal", "uniform", "bimodal"):
            raise ValueError(f"unknown synthetic law {law!r} in sweep.datasets")
        n = sw.max_images or cfg.data.synthetic.n_images
        return {"data.source": "synthetic", "data.synthetic.factor_distribution": law,
                "data.synthetic.n_images": n, "data.max_images": 0}
    raise ValueError(f"unknown data set {name!r} in sweep.datasets; use celeba, celeba_tight, "
                     "utkface, olivetti or synthetic_normal/_uniform/_bimodal")


def sweep_base(cfg: Config) -> Config:
    """The profile at the sweep's sizes: image size, number of images, epochs."""
    sw = cfg.sweep
    return with_overrides(cfg, {"data.image_size": sw.image_size,
                                "data.max_images": sw.max_images,
                                "train.epochs": sw.epochs})


def _base_dataset(cfg: Config) -> str:
    try:
        _dataset_overrides("celeba", cfg)
        return "celeba"
    except MissingDataError:
        return "synthetic_normal"


def variants(cfg: Config) -> list[Variant]:
    """Every variant of the sweep, base first.

    The base uses CelebA when it is configured and synthetic faces with
    normal factors otherwise; each other variant changes one thing.
    """
    sw, base_ds = cfg.sweep, _base_dataset(cfg)
    out = [Variant("base", "base", {}, dataset=base_ds)]
    for d in sw.latent_dims:
        if d != cfg.model.latent_dim:
            out.append(Variant(f"latent {d}", "latent size", {"model.latent_dim": int(d)},
                               dataset=base_ds))
    out.append(Variant("batch norm", "batch norm", {"model.batch_norm": not cfg.model.batch_norm},
                       dataset=base_ds))
    for ds in sw.datasets:
        if ds != base_ds:
            out.append(Variant(ds.replace("_", " "), "data", {}, dataset=ds))
    out.append(Variant("untrained", "training", {}, untrained=True, dataset=base_ds))
    if sw.epochs > 1:
        out.append(Variant("1 epoch", "training", {"train.epochs": 1}, dataset=base_ds))
    for s in sw.seeds:
        if s != cfg.run.seed:
            out.append(Variant(f"seed {s}", "seed", {"run.seed": int(s)}, dataset=base_ds))
    return out


def variant_config(cfg: Config, v: Variant) -> Config:
    """The full profile of one variant (raises MissingDataError when its data is absent)."""
    base = sweep_base(cfg)
    return with_overrides(base, {**_dataset_overrides(v.dataset, base), **v.overrides})


# ------------------------------------------------------------------ summary


def _iqr(x: np.ndarray) -> float:
    q1, q3 = np.percentile(x, [25, 75])
    return float(q3 - q1)


def summarise_latents(z: np.ndarray, *, rng: np.random.Generator, cfg: Config) -> tuple[dict, np.ndarray]:
    """The sweep's summary numbers of one latent cloud.

    Parameters
    ----------
    z : ndarray, shape (n, d)
    rng : numpy.random.Generator
    cfg : Config
        Supplies the bin width and subsample sizes (``[stats]``).

    Returns
    -------
    summary : dict
        The statistical entries of :data:`SUMMARY_COLUMNS`.
    spectrum : ndarray
        Explained-variance ratios of the PCA.
    """
    from .stats import analyse

    n, d = z.shape
    st = cfg.stats
    a = analyse(z, rng=rng, bin_width=st.bin_width,
                subsample_sizes=tuple(s for s in (500,) if s <= n) or (max(20, n // 2),),
                subsample_repeats=5, kde_points=200, n_pairs=3, ellipse_k=(2.0,),
                hz_subsample=min(st.hz_subsample, n), hz_repeats=2, mardia_repeats=1,
                pc_tests=5, kde_grid=48, n_box=2000, shrinkage=None)
    s = a.summary()
    g = a.goodness
    skew = np.abs(np.asarray(g.skewness))
    kurt = np.asarray(g.excess_kurtosis)
    sg = a.subsample_goodness
    pass_share = float(np.mean(sg.pass_share[:, 0]))
    errs = [abs(e.coverage_measured - e.coverage_expected) for p in a.pairs for e in p.ellipses]
    out = {
        "abs_skew_median": float(np.median(skew)),
        "abs_skew_iqr": _iqr(skew),
        "exkurt_median": float(np.median(kurt)),
        "exkurt_iqr": _iqr(kurt),
        "pass_share_sub500": pass_share,
        "mardia_skew_p": s.get("mardia_skew_p_median", np.nan),
        "mardia_kurt_z": s.get("mardia_full_kurtosis_z", np.nan),
        "d2_var_ratio": s["d2_var"] / s["d2_expected_var"],
        "ellipse2_error": float(np.mean(errs)) if errs else np.nan,
        "abs_r_mean": s["abs_r_mean"],
        "pca_n90": s["pca_n90"],
        "pca_first_ratio": s["pca_first_ratio"],
        "centre_distance": s["centre_distance_in_std"],
    }
    return out, np.asarray(a.pca.explained_variance_ratio, dtype=np.float64)


def factor_relation(z: np.ndarray, factors: pd.DataFrame, *, seed: int = 0) -> tuple[pd.Series, np.ndarray]:
    """How much of each known factor a linear map of z recovers.

    Parameters
    ----------
    z : ndarray, shape (n, d)
    factors : DataFrame, shape (n, k)
        The synthetic faces' standardised factors (row i belongs to z[i]).
    seed : int
        Seed of the cross-validation folds.

    Returns
    -------
    r2 : Series
        5-fold cross-validated R² of a ridge regression of each factor on
        the standardised z (scikit-learn ``RidgeCV``, penalty chosen per
        factor): the share of the factor's variance that the best linear
        predictor from z explains on held-out images. It does not depend on
        the scale of z; a factor z does not carry scores about 0 (slightly
        below on held-out data).
    canonical : ndarray
        Canonical correlations between the factors and z (statsmodels
        ``CanCorr``), largest first.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from statsmodels.multivariate.cancorr import CanCorr

    folds = KFold(5, shuffle=True, random_state=seed)
    zz = np.asarray(z, dtype=np.float64)
    ff = factors.to_numpy(dtype=np.float64)
    # Standardise inside each fold: the ridge penalty then means the same for
    # every variant, whatever the scale of its z (R² is scale-free, the
    # penalty is not). One multi-output fit per fold with a penalty chosen
    # per factor is the same as one fit per factor, 16 times cheaper.
    scores = []
    for train, test in folds.split(zz):
        model = make_pipeline(StandardScaler(),
                              RidgeCV(alphas=np.logspace(-3, 3, 7), alpha_per_target=True))
        model.fit(zz[train], ff[train])
        scores.append(r2_score(ff[test], model.predict(zz[test]), multioutput="raw_values"))
    r2 = dict(zip(factors.columns, np.mean(scores, axis=0).astype(float)))
    # CanCorr needs full column rank and more rows than columns: use the
    # principal components of z with non-negligible variance, at most n // 4.
    u, s, _ = np.linalg.svd(zz - zz.mean(0), full_matrices=False)
    rank = int(np.sum(s > s[0] * 1e-8)) if s.size and s[0] > 0 else 0
    k = min(rank, zz.shape[0] // 4)
    if k < 1:
        return pd.Series(r2, name="r2"), np.zeros(0)
    cc = CanCorr(u[:, :k] * s[:k], ff).cancorr
    return pd.Series(r2, name="r2"), np.sort(np.asarray(cc))[::-1]


#: The value each summary column takes for a multivariate normal cloud
#: (``pass_share_sub500``: 1 - alpha at the analysis' alpha of 0.05).
NORMAL_VALUES = {
    "abs_skew_median": 0.0,
    "exkurt_median": 0.0,
    "pass_share_sub500": 0.95,
    "mardia_kurt_z": 0.0,
    "d2_var_ratio": 1.0,
    "ellipse2_error": 0.0,
}


def compare_to_base(table: pd.DataFrame, column, *, reference: str | None = None,
                    level: float = 0.95) -> pd.DataFrame:
    """Each variant's change of one summary, in units of the seed-to-seed spread.

    The seed runs (groups ``"base"`` and ``"seed"``: the base configuration
    trained with different seeds) give the noise: their mean ``m`` and
    standard deviation ``s`` over ``k`` runs. A variant whose change made no
    difference is one more draw from that distribution, so it lies outside
    the prediction interval ``m ± t(k-1) s sqrt(1 + 1/k)`` only with
    probability ``1 - level``.

    Parameters
    ----------
    table : DataFrame
        :attr:`SweepResult.table`.
    column : str or sequence of str
        One or more of :data:`SUMMARY_COLUMNS`.
    reference : str, optional
        Compare with this data set's variant (e.g. ``"synthetic_normal"``)
        instead of the mean of the seed runs; it is a single run, so the
        bound becomes ``t(k-1) s sqrt(2)``.
    level : float, default 0.95
        Level of the prediction interval.

    Returns
    -------
    DataFrame
        One row per finished variant that is not a seed run (nor the
        reference) and per column, indexed by variant name: ``column``,
        ``group``, ``value``, ``reference``,
        ``difference``, ``seed_sd``, ``n_seeds``, ``in_seed_sd``
        (difference / seed_sd), ``bound`` (the prediction bound in seed sds),
        ``beyond_noise`` (bool; NaN-safe: False without a spread),
        ``toward_normal`` (for the columns of :data:`NORMAL_VALUES`:
        ``"closer to normal"`` or ``"farther from normal"``, else ``""``) and
        ``verdict``, a phrase for the text.

    Notes
    -----
    With two or three seed runs ``t(k-1)`` is large (12.7 and 4.3 at
    95 %), so only large effects count as beyond the noise; that is the
    honest reading of so few runs, not a defect.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"name": ["base", "seed 2", "seed 3", "wide"],
    ...                   "group": ["base", "seed", "seed", "latent size"],
    ...                   "dataset": ["celeba"] * 4, "status": ["done"] * 4,
    ...                   "d2_var_ratio": [1.0, 1.1, 0.9, 2.0]})
    >>> c = compare_to_base(t, "d2_var_ratio").loc["wide"]
    >>> float(round(c.in_seed_sd, 1)), c.verdict
    (10.0, 'farther from normal, beyond the seed noise')
    """
    if not isinstance(column, str):
        return pd.concat([compare_to_base(table, c, reference=reference, level=level)
                          for c in column])
    from scipy import stats as sps

    done = table[table["status"] == "done"]
    seeds = done[done["group"].isin(["base", "seed"])][column].astype(float)
    k = int(seeds.notna().sum())
    sd = float(seeds.std(ddof=1)) if k >= 2 else np.nan
    t = float(sps.t.ppf(0.5 + level / 2, k - 1)) if k >= 2 else np.nan
    others = done[~done["group"].isin(["base", "seed"])]
    if reference is None:
        ref_value = float(seeds.mean()) if k else np.nan
        bound = t * np.sqrt(1 + 1 / k) if k else np.nan
    else:
        hit = done[(done["dataset"] == reference) & done["group"].isin(["base", "data"])]
        ref_value = float(hit[column].iloc[0]) if len(hit) else np.nan
        bound = t * np.sqrt(2)
        others = others[others["dataset"] != reference]
    value = others[column].astype(float).to_numpy()
    diff = value - ref_value
    with np.errstate(divide="ignore", invalid="ignore"):
        in_sd = np.where(diff == 0, 0.0, diff / sd)
    beyond = np.abs(in_sd) > bound
    if column in NORMAL_VALUES:
        nv = NORMAL_VALUES[column]
        closer = np.abs(value - nv) < np.abs(ref_value - nv)
        toward = np.where(closer, "closer to normal", "farther from normal")
    else:
        toward = np.full(len(value), "")
    verdict = []
    for b, tw, d in zip(beyond, toward, diff):
        if not np.isfinite(d):
            verdict.append("not comparable")
        elif not np.isfinite(bound) or not np.isfinite(sd):
            verdict.append("no seed spread to compare with")
        elif not b:
            verdict.append("within the seed noise")
        else:
            verdict.append(f"{tw or ('higher' if d > 0 else 'lower')}, beyond the seed noise")
    return pd.DataFrame({
        "column": column, "group": others["group"].to_numpy(), "value": value, "reference": ref_value,
        "difference": diff, "seed_sd": sd, "n_seeds": k, "in_seed_sd": in_sd,
        "bound": bound, "beyond_noise": beyond, "toward_normal": toward, "verdict": verdict,
    }, index=pd.Index(others["name"].to_numpy(), name="variant"))


# ------------------------------------------------------------------ running


def _untrained(vcfg: Config, faces) -> tuple[np.ndarray, float, object]:
    """z of every image, test PSNR and the decoder of a randomly initialised autoencoder."""
    import keras

    from .latent import encode_images, reconstruct, reconstruction_metrics
    from .model import build_decoder, build_encoder

    keras.utils.set_random_seed(vcfg.run.seed)
    enc, dec = build_encoder(vcfg), build_decoder(vcfg)
    test = faces.split_images("test")
    psnr = float(reconstruction_metrics(test, reconstruct(dec, enc, test))["psnr"].mean())
    return encode_images(enc, faces.images), psnr, dec


def _mvn_face_rate(vcfg: Config, decoder, z: np.ndarray, rng: np.random.Generator) -> float:
    from .latent import decode
    from .quality import analyse_faces
    from .sampling import LatentStats, sample_mvn

    stats = LatentStats.fit(z, bin_width=vcfg.stats.bin_width)
    zs = sample_mvn(stats, vcfg.sweep.n_samples, rng=rng)
    imgs = decode(decoder, zs)
    return analyse_faces(imgs, max_descriptors=0, n_jobs=vcfg.quality.workers).rate


def variant_key(cfg: Config, v: Variant) -> str:
    """The artifact key of one variant's summary."""
    from .data import faces_key
    from .train import model_key

    vcfg = variant_config(cfg, v)
    upstream = faces_key(vcfg) if v.untrained else model_key(vcfg)
    return section_hash(vcfg, ["stats", "sweep.n_samples", "run.seed", "model"],
                        upstream, v.untrained, step="sweep")


def run_variant(cfg: Config, v: Variant, store: ArtifactStore, *, progress: bool = False):
    """Train (or load), encode and summarise one variant; cached.

    Returns
    -------
    Artifact
        Step ``"variant"``: meta holds the summary, arrays the PCA spectrum
        and, for synthetic data, the factor R² and canonical correlations.
    """
    # The steps themselves, not lsreport.pipeline: the pipeline's sweep step
    # calls this module, so the dependency runs one way (pipeline -> experiments).
    from .data import load_faces
    from .latent import encode
    from .train import train_model

    vcfg = variant_config(cfg, v)

    def compute() -> ArtifactData:
        t0 = time.perf_counter()
        rng = np.random.default_rng([vcfg.run.seed, 7])
        faces = load_faces(vcfg, store, progress=progress)
        if v.untrained:
            z, psnr, decoder = _untrained(vcfg, faces)
        else:
            model = train_model(vcfg, store, faces, progress=progress)
            lat = encode(vcfg, store, faces, model, progress=progress)
            z, psnr, decoder = np.asarray(lat.z), float(lat.summary["psnr_mean"]), model.decoder
        summary, spectrum = summarise_latents(z, rng=rng, cfg=vcfg)
        summary["psnr"] = psnr
        summary["mvn_face_rate"] = _mvn_face_rate(vcfg, decoder, z, rng)
        arrays = {"spectrum": spectrum}
        meta = {"summary": summary, "n_images": int(z.shape[0]), "latent_dim": int(z.shape[1])}
        if faces.factors is not None:
            r2, cc = factor_relation(z, faces.factors, seed=vcfg.data.seed)
            arrays["canonical"] = cc
            meta["factor_r2"] = r2.to_dict()
        meta["seconds"] = time.perf_counter() - t0
        return ArtifactData(arrays=arrays, meta=meta)

    return store.get_or_compute(STEP, variant_key(cfg, v), compute)


def _variant_job(cfg: Config, v: Variant, store: ArtifactStore) -> None:
    # one Ray task of the sweep (lsreport.cluster)
    run_variant(cfg, v, store, progress=False)


def run_sweep(cfg: Config, store: ArtifactStore, *, progress: bool = True,
              ray_address: str | None = None) -> SweepResult:
    """Run (or load) every variant and collect the summaries.

    Variants whose data is missing are kept in the table as
    ``"skipped: <reason>"``, never dropped. A read-only store (the book)
    raises :class:`~lsreport.artifacts.ArtifactMissingError` for a variant
    that has not run. With ``ray_address`` (``"auto"``, ``"local"``,
    ``"ray://host:port"``) the variants not cached yet first run as Ray tasks
    into the same store (:mod:`lsreport.cluster`); the collection below is
    then the same as without Ray.
    """
    from tqdm.auto import tqdm

    vs = variants(cfg)
    if ray_address is not None:
        from .cluster import ClusterJob, run_on_ray

        run_on_ray([ClusterJob(v.name, STEP, variant_key(cfg, v), _variant_job, (cfg, v),
                               skip=(MissingDataError,)) for v in vs],
                   store, address=ray_address, progress=progress)
    rows, spectra, r2_rows, canonical = [], {}, {}, {}
    bar = tqdm(vs, desc="sweep", unit="variant", disable=not progress)
    for v in bar:
        bar.set_postfix_str(v.name)
        row = {"name": v.name, "group": v.group, "dataset": v.dataset}
        try:
            art = run_variant(cfg, v, store, progress=False)
        except MissingDataError as exc:
            row["status"] = f"skipped: {exc}"
            rows.append(row)
            continue
        except ArtifactMissingError:
            raise
        row.update(status="done", latent_dim=art.meta["latent_dim"], n_images=art.meta["n_images"],
                   seconds=art.meta["seconds"], **art.meta["summary"])
        rows.append(row)
        spectra[v.name] = np.asarray(art.array("spectrum"))
        if "factor_r2" in art.meta:
            r2_rows[v.name] = art.meta["factor_r2"]
            canonical[v.name] = np.asarray(art.array("canonical"))
    table = pd.DataFrame(rows)
    for col in ["status", "latent_dim", "n_images", "seconds", *SUMMARY_COLUMNS]:
        if col not in table:
            table[col] = np.nan
    factor_r2 = pd.DataFrame(r2_rows).T if r2_rows else None
    settings = {"sweep": dataclasses.asdict(cfg.sweep), "latent_dim": cfg.model.latent_dim,
                "base_dataset": _base_dataset(cfg)}
    return SweepResult(table, spectra, factor_r2, canonical, settings)


# ----------------------------------------------------------------- findings

#: The normality measures the variants are weighed by (all in :data:`NORMAL_VALUES`).
FOCUS = ("d2_var_ratio", "exkurt_median", "abs_skew_median", "pass_share_sub500", "ellipse2_error")

#: Column groups of :attr:`SweepResult.table` as the book shows them (lists,
#: to index a DataFrame): the design of each variant, reconstruction and
#: univariate normality, and the shape of the cloud.
DESIGN = ["group", "dataset", "status", "latent_dim", "n_images", "seconds"]
NORMALITY = ["psnr", "abs_skew_median", "abs_skew_iqr", "exkurt_median", "exkurt_iqr",
             "pass_share_sub500", "mardia_skew_p", "mardia_kurt_z"]
SHAPE = ["d2_var_ratio", "ellipse2_error", "abs_r_mean", "pca_n90", "pca_first_ratio",
         "centre_distance", "mvn_face_rate"]


#: Short column headers in words for the book's tables.
HEADERS = {
    "group": "Change", "dataset": "Data set", "status": "Status", "latent_dim": "Latent size",
    "n_images": "Images", "seconds": "Seconds", "psnr": "PSNR (dB)",
    "abs_skew_median": "Median |skewness|", "abs_skew_iqr": "IQR |skewness|",
    "exkurt_median": "Median excess kurtosis", "exkurt_iqr": "IQR excess kurtosis",
    "pass_share_sub500": "Share passing", "mardia_skew_p": "Mardia skewness p",
    "mardia_kurt_z": "Mardia kurtosis z", "d2_var_ratio": "var(d²) / 2D",
    "ellipse2_error": "2-sigma coverage gap", "abs_r_mean": "Mean |r|",
    "pca_n90": "Components for 90 %", "pca_first_ratio": "First component share",
    "centre_distance": "Centre distance", "mvn_face_rate": "Face rate (normal samples)",
    "kurtosis_ratio": "b₂ / D(D+2)", "implied_nu": "Implied ν",
    "mean": "Mean", "std": "Standard deviation", "count": "Runs",
}


def book_table(frame: pd.DataFrame, columns, *, index: str | None = "Variant", digits: int = 3,
               plain: bool = False):
    """A sweep table for the page: headers in words, p-values as ``< 0.001``, shares in %.

    ``plain=True`` writes every column as a number to ``digits`` significant
    digits (for tables of changes in seed standard deviations).
    """
    from . import tables as T

    if plain:
        spec = {c: (HEADERS.get(c, str(c).replace("_", " ")), T.sig(digits)) for c in columns}
        frame = frame.rename(index=lambda v: HEADERS.get(v, str(v).replace("_", " ")))
        return T.table(frame, spec, index=index)

    fmts = {"mardia_skew_p": T.pvalue, "pass_share_sub500": T.percent(0),
            "mvn_face_rate": T.percent(0), "pca_first_ratio": T.percent(1),
            "ellipse2_error": T.percent(1), "status": T.text, "group": T.text, "dataset": T.text,
            "seconds": T.integer, "implied_nu": T.sig(2)}
    spec = {c: (HEADERS.get(c, str(c).replace("_", " ")), fmts.get(c, T.sig(digits)))
            for c in columns}
    for c in ("latent_dim", "n_images", "pca_n90", "count"):
        if c in spec:
            spec[c] = (spec[c][0], T.integer)
    frame = frame.rename(index=lambda v: HEADERS.get(v, str(v).replace("_", " ")))
    return T.table(frame, spec, index=index)


def pretty(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """A table for the page: rounded, with spaces for the underscores of the column names.

    Examples
    --------
    >>> pretty(pd.DataFrame({"d2_var_ratio": [1.23456]}), 2)
       d2 var ratio
    0          1.23
    """
    names = pd.Index([str(c).replace("_", " ") for c in frame.columns])
    return frame.round(decimals).set_axis(names, axis=1)


def batch_norm_switch(cfg: Config) -> str:
    """``"on"`` or ``"off"``: how the batch-norm variant switches batch normalisation."""
    return "off" if cfg.model.batch_norm else "on"


def _listed(names) -> str:
    return ", ".join(names) or "none"


@dataclass(frozen=True, eq=False)
class SweepFindings:
    """What the sweep says about the three explanations, computed.

    Build it with :func:`findings`. Rows of :func:`compare_to_base` are
    pandas Series with ``value``, ``reference``, ``seed_sd``, ``in_seed_sd``,
    ``beyond_noise``, ``verdict`` …; a variant that did not run gives a row
    of NaN with the verdict ``"did not run"``.

    Attributes
    ----------
    table : DataFrame
        :attr:`SweepResult.table` indexed by variant name.
    spread : DataFrame
        :meth:`SweepResult.seed_spread` of every summary number.
    fx : DataFrame
        :func:`compare_to_base` of the :attr:`focus` measures against the
        mean of the seed runs.
    law : DataFrame
        The same against the variant with normal synthetic factors.
    focus : tuple of str
        The normality measures weighed.
    level : float
        Level of the prediction interval that separates an effect from
        seed noise.
    psnr_tol : float
        A PSNR gain of training below this (dB) counts as "barely trained".
    r2_good : float
        A factor with a cross-validated R² above this counts as recovered.
    u_d2, u_kurt : Series
        The untrained encoder's ``d2_var_ratio`` and ``exkurt_median`` rows
        of :attr:`fx`.
    bn_d2 : Series
        The ``d2_var_ratio`` row of the batch-norm variant.
    lat_d2 : Series
        ``d2_var_ratio`` change of each latent-size variant, in seed sds.
    uni, uni_d2 : Series
        The uniform-factor variant's ``exkurt_median`` and ``d2_var_ratio``
        rows of :attr:`law`.
    uniform_kurt : float
        Median excess kurtosis over the factors of a large sample of the
        generator's uniform law (-1.2 in theory).
    n_beyond, n_far : int
        Variant–measure pairs of :attr:`fx` beyond the seed noise, and those
        of them farther from normal than the seed runs.
    u_far : int
        Focus measures in which the untrained encoder is farther from normal,
        beyond the seed noise.
    psnr_gain : float
        Mean test PSNR of the seed runs minus the untrained encoder's (dB).
    inherited : float
        Change of the median kurtosis in z between uniform and normal factors,
        as a share of the change in the factors (1: z inherits the law fully).
    inherited_sd : float
        One seed standard deviation of that share (the difference of two
        single runs: seed sd · √2).
    r2 : Series or None
        Cross-validated R² of each factor for the first synthetic variant
        (named by ``r2.name``); None without synthetic variants.
    top_canonical : float
        Its largest canonical correlation between factors and z (NaN without).
    """

    table: pd.DataFrame
    spread: pd.DataFrame
    fx: pd.DataFrame
    law: pd.DataFrame
    focus: tuple
    level: float
    psnr_tol: float
    r2_good: float
    u_d2: pd.Series
    u_kurt: pd.Series
    bn_d2: pd.Series
    lat_d2: pd.Series
    uni: pd.Series
    uni_d2: pd.Series
    uniform_kurt: float
    n_beyond: int
    n_far: int
    u_far: int
    psnr_gain: float
    inherited: float
    inherited_sd: float
    r2: pd.Series | None
    top_canonical: float

    # ---------------------------------------------------------- the table

    @property
    def done(self) -> pd.DataFrame:
        """The variants that ran."""
        return self.table[self.table["status"] == "done"]

    @property
    def base(self) -> pd.Series:
        """The base variant's row."""
        return self.table.loc["base"]

    @property
    def n_variants(self) -> int:
        return len(self.table)

    @property
    def n_skipped(self) -> int:
        """Variants skipped because their data was missing."""
        return int((self.table["status"] != "done").sum())

    @property
    def n_seed_runs(self) -> int:
        """Seed runs of the base configuration (the most over the summary numbers)."""
        return int(self.spread["count"].max())

    @property
    def n_seeds(self) -> int:
        """Seed runs behind the prediction bound of :attr:`fx` (0 without rows)."""
        return int(self.fx["n_seeds"].iloc[0]) if len(self.fx) else 0

    @property
    def bound(self) -> float:
        """The prediction bound of one more seed run, in seed sds."""
        return float(self.fx["bound"].iloc[0]) if len(self.fx) else np.nan

    @property
    def effects_table(self) -> pd.DataFrame:
        """Change in seed sds, one row per variant and one column per focus measure."""
        wide = self.fx.reset_index().pivot(index="variant", columns="column", values="in_seed_sd")
        return wide.reindex(index=self.fx.index.unique(), columns=list(self.focus))

    @property
    def latent_d2_text(self) -> str:
        """``"latent 8: -6.5; …"``: the latent sizes' change of ``d2_var_ratio``."""
        return "; ".join(f"{name}: {v:+.1f}" for name, v in self.lat_d2.items()) or "nothing (none ran)"

    # ------------------------------------------- dimension-free measures

    #: A variant with fewer images than this many per latent dimension gives
    #: a degenerate cloud (its covariance is barely estimable): reported, not compared.
    MIN_IMAGES_PER_DIM: ClassVar[float] = 5.0

    @property
    def kurtosis(self) -> pd.DataFrame:
        """Per finished variant: ``kurtosis_ratio`` b₂/D(D+2) and ``implied_nu``.

        ``var(d²)/2D`` grows with D for any scale mixture, so latent sizes
        cannot be compared by it; b₂/D(D+2) (1 for a normal cloud) and the
        degrees of freedom of the multivariate t with that kurtosis can.
        """
        from .stats.elliptical import implied_t_dof, kurtosis_ratio_from_var

        d = self.done
        k = kurtosis_ratio_from_var(d["d2_var_ratio"].astype(float).to_numpy(),
                                    d["latent_dim"].astype(float).to_numpy())
        return pd.DataFrame({"latent_dim": d["latent_dim"].astype(int).to_numpy(),
                             "n_images": d["n_images"].astype(int).to_numpy(),
                             "kurtosis_ratio": k, "implied_nu": implied_t_dof(k)},
                            index=d.index)

    @property
    def degenerate(self) -> list[str]:
        """Variants with fewer than :attr:`MIN_IMAGES_PER_DIM` images per latent dimension."""
        d = self.done
        few = d["n_images"].astype(float) < self.MIN_IMAGES_PER_DIM * d["latent_dim"].astype(float)
        return list(d.index[few])

    @property
    def degenerate_text(self) -> str:
        if not self.degenerate:
            return ("Every variant has at least "
                    f"{self.MIN_IMAGES_PER_DIM:g} images per latent dimension.")
        parts = [f"{n} ({int(self.table.loc[n, 'n_images']):,} images for "
                 f"{int(self.table.loc[n, 'latent_dim'])} dimensions)" for n in self.degenerate]
        return (f"With fewer than {self.MIN_IMAGES_PER_DIM:g} images per latent dimension the "
                f"cloud of {_listed(parts)} is degenerate: its covariance is barely estimable, "
                "so its shape measures are reported but not compared with the others.")

    @property
    def latent_kurtosis_text(self) -> str:
        """The base and latent-size variants' kurtosis ratio and implied ν, in words."""
        k = self.kurtosis
        names = ["base", *[n for n in k.index if self.table.loc[n, "group"] == "latent size"]]
        parts = [f"{int(k.loc[n, 'latent_dim'])} dimensions: {k.loc[n, 'kurtosis_ratio']:.3f}"
                 + ("" if not np.isfinite(k.loc[n, "implied_nu"])
                    else f" (ν ≈ {k.loc[n, 'implied_nu']:.0f})")
                 for n in names if n in k.index]
        return "; ".join(parts) or "none ran"

    @property
    def cartoon_text(self) -> str:
        """The face rate of decoded samples on the synthetic variants, flagged for what it measures."""
        d = self.done
        syn = d[d["dataset"].astype(str).str.startswith("synthetic") & d["group"].isin(["base", "data"])]
        if syn.empty:
            return ""
        rates = ", ".join(f"{n}: {r:.0%}".replace("%", " %") for n, r in syn["mvn_face_rate"].items())
        return (f"On the synthetic variants the face detector finds faces in few decoded samples "
                f"({rates}): the detector does not see cartoons, so these rates say nothing "
                "about the sampler.")

    @property
    def factor_law_kurtosis_text(self) -> str:
        """Which factor law gives the least normal cloud, by the kurtosis ratio."""
        k = self.kurtosis
        d = self.done
        syn = [n for n in k.index if str(d.loc[n, "dataset"]).startswith("synthetic")
               and d.loc[n, "group"] in ("base", "data")]
        if len(syn) < 2:
            return ""
        kk = k.loc[syn, "kurtosis_ratio"].sort_values(ascending=False)
        least = kk.index[0]
        others = ", ".join(f"{n} {v:.3f}" for n, v in kk.iloc[1:].items())
        text = (f"By the dimension-free kurtosis ratio the least normal synthetic cloud is that "
                f"of {least} ({kk.iloc[0]:.3f}, against {others}).")
        if str(d.loc[least, "dataset"]) == "synthetic_normal":
            text += (" Normally distributed factors thus give the least normal cloud: the shape "
                     "of z is not inherited from the factors' law — a linear map of normal "
                     "factors would be exactly normal — but made by the encoder's non-linear "
                     "mixing of them.")
        return text

    @property
    def untrained_sentence(self) -> str:
        """The untrained encoder against the seed runs, in words, without identifiers."""
        u, k = self.u_d2, self.u_kurt
        if not np.isfinite(u["value"]):
            return "The untrained encoder did not run in this build."
        return (f"The untrained encoder's squared Mahalanobis distances spread "
                f"{u['value']:.1f} times as much as a normal cloud's, against "
                f"{u['reference']:.1f} for the trained seed runs, a difference of "
                f"{abs(u['in_seed_sd']):.1f} seed standard deviations "
                f"({'beyond' if u['beyond_noise'] else 'inside'} the ±{self.bound:.1f} that "
                f"separate an effect from seed noise); its median excess kurtosis is "
                f"{k['value']:.2f} against {k['reference']:.2f} ({k['verdict']}).")

    @property
    def implication_sentence(self) -> str:
        """What untrained ≈ trained means for the series' reading."""
        if self.barely_trained:
            return ""
        if self.training_matters:
            return ("Training moves the cloud away from what the architecture gives by itself, "
                    "so its shape tells something about what the network learned.")
        return ("An encoder that was never trained already gives a cloud of the same shape as a "
                "trained one. The shape therefore comes with the architecture — every latent "
                "component sums many convolutional features — and not from learning faces: it "
                "is no evidence of how the network encodes faces, and a sampler that exploits "
                "it exploits the architecture.")

    # ------------------------------------------------------------ factors

    @property
    def recovered(self) -> list[str]:
        """Factors of :attr:`r2` with R² above :attr:`r2_good` (spaces for underscores)."""
        r2 = self.r2 if self.r2 is not None else pd.Series(dtype=float)
        return [str(n).replace("_", " ") for n, v in r2.items() if v > self.r2_good]

    @property
    def not_recovered(self) -> list[str]:
        """Factors of :attr:`r2` with R² at or below :attr:`r2_good`."""
        r2 = self.r2 if self.r2 is not None else pd.Series(dtype=float)
        return [str(n).replace("_", " ") for n, v in r2.items() if v <= self.r2_good]

    @property
    def recovered_text(self) -> str:
        return _listed(self.recovered)

    @property
    def not_recovered_text(self) -> str:
        return _listed(self.not_recovered)

    # ----------------------------------------------------------- verdicts

    @property
    def barely_trained(self) -> bool:
        """Training raised the PSNR by less than :attr:`psnr_tol`."""
        return bool(self.psnr_gain < self.psnr_tol)

    @property
    def training_matters(self) -> bool:
        """The untrained encoder is farther from normal, beyond the noise, in most focus measures."""
        return self.u_far > len(self.focus) // 2

    @property
    def law_matters(self) -> bool:
        """Uniform factors move the kurtosis of z away from normal, beyond the noise."""
        beyond = self.uni["beyond_noise"]
        return bool(pd.notna(beyond) and beyond) and self.uni["toward_normal"] == "farther from normal"

    @property
    def training_sentence(self) -> str:
        """What the PSNR gain says about how far the networks trained."""
        if self.barely_trained:
            return (f"With less than {self.psnr_tol:g} dB the trained networks of this build have "
                    "barely left their initial state, so this comparison says little about training.")
        return "The trained networks therefore differ clearly from their initial state."

    @property
    def law_sentence(self) -> str:
        """How much of the factors' law reaches z, read with two seed sds (a clause after a colon)."""
        lo, hi = self.inherited - 2 * self.inherited_sd, self.inherited + 2 * self.inherited_sd
        if hi < 0.5:
            return ("the encoder's sums dilute the factors' law rather than pass it on, so a "
                    "normal-looking cloud does not require normal factors.")
        if lo > 0.5:
            return ("much of the factors' law reaches z, so the data's distribution is part of "
                    "what shapes the cloud.")
        return ("within two such deviations the seed noise does not say whether less or more "
                "than half of the factors' law reaches z.")

    @property
    def series_sentence(self) -> str:
        """Which parts of the series' reading the sweep supports."""
        if self.barely_trained:
            training = "cannot test the part about training (its networks barely trained)"
        elif self.training_matters:
            training = "supports the part about training"
        else:
            training = "does not support the part about training"
        does = "does" if self.law_matters else "does not"
        return (f"Measured against the seed noise, this sweep {training}, and it {does} find the "
                "law of the generating factors in z beyond the seed noise.")

    @property
    def conclusion_sentence(self) -> str:
        """Which explanation the sweep leaves standing."""
        trained = self.training_matters and not self.barely_trained
        if trained and self.law_matters:
            return ("Training and the factor law both matter, so the architecture alone does not "
                    "explain the shape.")
        if trained:
            return "Training matters here; the factor law does not reach z measurably."
        if self.law_matters:
            return (f"The factor law reaches z measurably, with {self.inherited:.0%} of the "
                    "factors' kurtosis change, so the data are part of the answer.")
        if self.barely_trained:
            return "With networks this barely trained, the sweep cannot tell the explanations apart."
        return ("Neither training nor the factor law shows a clear effect, which leaves the "
                "architectural explanation standing: every latent component sums many "
                "convolutional features, before training as after, and such sums are close to "
                "normal whatever the law of their terms.")


def _row(frame: pd.DataFrame, column: str, variant: str) -> pd.Series:
    """One variant's row of a :func:`compare_to_base` frame; NaN if it did not run."""
    row = frame[frame["column"] == column].reindex([variant]).iloc[0].copy()
    if pd.isna(row["verdict"]):
        row["verdict"] = "did not run"
    return row


def findings(sweep: SweepResult, *, seed: int, level: float = 0.95, focus=FOCUS,
             psnr_tol: float = 1.0, r2_good: float = 0.5,
             n_factor_sample: int = 20_000) -> SweepFindings:
    """Weigh the sweep's variants against the seed noise and word the verdicts.

    Three explanations of the normal latent cloud are tested: the data
    (z inherits the law of the generating factors), training (an untrained
    encoder gives a clearly less normal cloud) and the architecture (sums of
    many features are close to normal either way).

    Parameters
    ----------
    sweep : SweepResult
    seed : int
        Seed of the sample of uniform factors whose excess kurtosis is the
        yardstick of inheritance (the profile's ``data.seed``).
    level : float, default 0.95
        Level of the prediction interval of :func:`compare_to_base`.
    focus : sequence of str, default :data:`FOCUS`
        The normality measures weighed.
    psnr_tol : float, default 1.0
        Training that raises the test PSNR by less (dB) counts as "barely
        trained": the comparison with the untrained encoder then says little.
    r2_good : float, default 0.5
        A factor with a cross-validated R² above this counts as recovered.
    n_factor_sample : int, default 20000
        Size of the sample of uniform factors.

    Returns
    -------
    SweepFindings

    Notes
    -----
    Training *matters* when the untrained encoder is farther from normal,
    beyond the seed noise, in more than half of the focus measures; the
    factor law *matters* when uniform factors move the median excess
    kurtosis of z away from normal beyond the noise, compared with normal
    factors. The inherited share
    ``(kurt_z(uniform) - kurt_z(normal)) / kurt(uniform factors)`` is read
    against one half with two seed standard deviations of margin.

    Examples
    --------
    >>> f = findings(book.load("sweep"), seed=ctx.cfg.data.seed)  # doctest: +SKIP
    >>> f.conclusion_sentence  # doctest: +SKIP
    'With networks this barely trained, the sweep cannot tell the explanations apart.'
    """
    from .data.synthetic import sample_factors

    focus = tuple(focus)
    t = sweep.table.set_index("name")
    spread = sweep.seed_spread()
    fx = compare_to_base(sweep.table, focus, level=level)
    law = compare_to_base(sweep.table, focus, reference="synthetic_normal", level=level)
    d2 = fx[fx["column"] == "d2_var_ratio"]
    uni = _row(law, "exkurt_median", "synthetic uniform")
    uniform_kurt = float(sample_factors(n_factor_sample, seed, "uniform").kurt().median())
    # a measure the variant moved away from normal, beyond the noise
    far = fx["verdict"].str.startswith("farther from normal, beyond")
    psnr_untrained = t["psnr"].get("untrained", np.nan)
    # the first synthetic variant (the base when it uses normal synthetic factors)
    r2 = sweep.factor_r2.iloc[0] if sweep.factor_r2 is not None and len(sweep.factor_r2) else None
    cc = sweep.canonical.get(r2.name, []) if r2 is not None else []
    top = float(cc[0]) if len(cc) else np.nan
    return SweepFindings(
        table=t, spread=spread, fx=fx, law=law, focus=focus, level=level,
        psnr_tol=psnr_tol, r2_good=r2_good,
        u_d2=_row(fx, "d2_var_ratio", "untrained"), u_kurt=_row(fx, "exkurt_median", "untrained"),
        bn_d2=_row(fx, "d2_var_ratio", "batch norm"),
        lat_d2=d2[d2["group"] == "latent size"]["in_seed_sd"],
        uni=uni, uni_d2=_row(law, "d2_var_ratio", "synthetic uniform"),
        uniform_kurt=uniform_kurt,
        n_beyond=int(fx["beyond_noise"].sum()), n_far=int(far.sum()),
        u_far=int(far[fx.index == "untrained"].sum()),
        psnr_gain=float(spread.loc["psnr", "mean"] - psnr_untrained),
        inherited=float((uni["value"] - uni["reference"]) / uniform_kurt),
        inherited_sd=float(uni["seed_sd"] * 2 ** 0.5 / abs(uniform_kurt)),
        r2=r2, top_canonical=top,
    )
