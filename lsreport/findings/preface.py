"""What the preface says: the scorecard, the series' setting beside ours, the limitations.

Every number is computed from the build's cached results; the verdict
rules are class constants, stated once, and tested on both sides
(``tests/test_findings_preface.py``). The series' own numbers
(:data:`SERIES`) are what its posts report, each with the post it is from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from .. import tables as T
from ..stats import elliptical as E

__all__ = ["SERIES", "CELEBA_IMAGES", "PrefaceFindings", "preface_findings", "Limitations",
           "limitations", "data_note", "data_sentence", "setting_table"]

#: Images in the full CelebA release (Liu et al. 2015).
CELEBA_IMAGES = 202_599

#: The series' own setting, as its posts state it (citation key of the post).
SERIES = {
    "images": (170_000, "moenchmeyer2023i"),
    "resolution": ("178 × 218 (full resolution)", "moenchmeyer2023i"),
    "latent_dim": (256, "moenchmeyer2023i"),
    "architecture": ("convolutional encoder and mirrored decoder, no constraint on the latent space",
                     "moenchmeyer2023i"),
    "cube_bound": (1.5, "moenchmeyer2023v"),
}


def _rate(gen, label: str) -> float:
    return gen.value(label, "detection_rate")


@dataclass(frozen=True)
class PrefaceFindings:
    """The four claims of the series, each with its verdict and key number.

    Attributes
    ----------
    d, n : int
        Latent size and number of training vectors.
    median_abs_skew, median_abs_kurt : float
        Over the components.
    outside3, outside3_normal, outside3_t : float
        Share outside the 3-sigma ellipses of the analysed pairs: measured
        (mean over pairs), for a normal law, for a t with :attr:`nu`.
    var_ratio : float
        ``var(d²) / 2D``.
    kappa : float
        ``b₂ / D(D+2)`` (dimension-free; 1 when normal).
    nu : float
        Degrees of freedom of the multivariate t with that kurtosis.
    kendall_max_sd : float
        Largest |τ − (2/π) arcsin r| over the checked pairs, in null s.d.
        (NaN without latents).
    mvn_label : str
        The full-covariance normal sampler's set.
    mvn_rate, real_rate : float
        Face-detection rates of its decoded samples and of real test faces.
    cube_rates : dict
        Cube bound -> face-detection rate.
    """

    #: median |skewness| and |excess kurtosis| below these read as "bell-shaped".
    SKEW_TOL: ClassVar[float] = 0.5
    KURT_TOL: ClassVar[float] = 1.0
    #: measured 3-sigma tail within this factor of the normal share reads as "elliptic, normal tails".
    TAIL_FACTOR: ClassVar[float] = 1.5
    #: kurtosis ratio within this of 1 reads as "multivariate normal".
    KAPPA_TOL: ClassVar[float] = 0.05
    #: the normal sampler "works" when its face rate is this many times the best cube's.
    RATE_FACTOR: ClassVar[float] = 2.0

    d: int
    n: int
    median_abs_skew: float
    median_abs_kurt: float
    outside3: float
    outside3_normal: float
    outside3_t: float
    var_ratio: float
    kappa: float
    nu: float
    kendall_max_sd: float
    mvn_label: str
    mvn_rate: float
    real_rate: float
    cube_rates: dict

    @property
    def bell_shaped(self) -> bool:
        return bool(self.median_abs_skew < self.SKEW_TOL and self.median_abs_kurt < self.KURT_TOL)

    @property
    def elliptic(self) -> bool:
        return bool(self.outside3 <= self.TAIL_FACTOR * self.outside3_normal)

    @property
    def normal(self) -> bool:
        return bool(abs(self.kappa - 1) <= self.KAPPA_TOL)

    @property
    def sampling_works(self) -> bool:
        best_cube = max(self.cube_rates.values(), default=0.0)
        return bool(self.mvn_rate > self.RATE_FACTOR * best_cube)

    @property
    def elliptic_verdict(self) -> str:
        """Normal tails, t-like tails (within the factor of the t share) or neither."""
        if self.elliptic:
            return "holds"
        if self.outside3 <= self.TAIL_FACTOR * self.outside3_t:
            return "holds, with t-like tails"
        return "does not hold"

    @property
    def cube_text(self) -> str:
        """``"5 % and 2 % for the cubes with b = 0.5 and 2"``."""
        parts = [T.percent(0)(r) for r in self.cube_rates.values()]
        bounds = [f"{b:g}" for b in self.cube_rates]
        if not parts:
            return "no cube sampler in this build"
        return f"{' and '.join(parts)} for the cubes with b = {' and '.join(bounds)}"

    @property
    def summary_sentence(self) -> str:
        """The scorecard in two sentences."""
        comp = "bell-shaped" if self.bell_shaped else "not bell-shaped"
        pairs = {"holds": "pairs of them look elliptic",
                 "holds, with t-like tails": "pairs of them look elliptic, with somewhat heavy tails",
                 "does not hold": "pairs of them do not look elliptic"}[self.elliptic_verdict]
        if self.normal:
            cloud = (f"and the cloud as a whole passes for multivariate normal (Mardia's kurtosis "
                     f"ratio {self.kappa:.3f}).")
        else:
            cloud = (f"{'yet' if self.bell_shaped else 'and'} the cloud as a whole is not "
                     f"multivariate normal: the squared Mahalanobis distances spread "
                     f"{self.var_ratio:.0f} times as much as for a normal cloud, as they would "
                     f"for a multivariate t distribution with about {self.nu_text} degrees of "
                     "freedom.")
        samp = ("Sampling the fitted normal distribution " + ("still " if not self.normal else "")
                + f"makes detectable faces in {self.mvn_rate_text} of the cases, against "
                f"{self.cube_text}" + ("." if self.sampling_works else
                                        ", which is not the clear win the series reports."))
        return f"The components are {comp}, {pairs}, {cloud} {samp}"

    @property
    def mvn_rate_text(self) -> str:
        return T.percent(0)(self.mvn_rate)

    @property
    def kappa_tol_text(self) -> str:
        return T.percent(0)(self.KAPPA_TOL)

    @property
    def kendall_text(self) -> str:
        """``"; Kendall's τ within 1.2 s.d. of (2/π) arcsin r"``, or empty without the check."""
        if not np.isfinite(self.kendall_max_sd):
            return ""
        return (f"; Kendall's τ within {self.kendall_max_sd:.1f} s.d. (of t samples) of the "
                "elliptical value (2/π) arcsin r")

    @property
    def nu_text(self) -> str:
        return "∞ (normal)" if not np.isfinite(self.nu) else f"{self.nu:.0f}"

    def rows(self) -> pd.DataFrame:
        """The scorecard as a frame: claim, verdict, key number, chapter."""
        def yes(b, y="holds", n="does not hold"):
            return y if b else n

        r = [
            ("Each component is close to Gaussian", yes(self.bell_shaped),
             f"median |skewness| {self.median_abs_skew:.2f}, median |excess kurtosis| "
             f"{self.median_abs_kurt:.2f}", "@sec-component-distributions"),
            ("Pairs of components are elliptic, with linear correlations", self.elliptic_verdict,
             f"{T.percent(1)(self.outside3)} of points outside the 3-sigma ellipses (normal "
             f"{T.percent(1)(self.outside3_normal)}, t with ν = {self.nu_text}: "
             f"{T.percent(1)(self.outside3_t)}){self.kendall_text}",
             "@sec-correlations-and-ellipses"),
            ("The cloud is multivariate normal", yes(self.normal),
             f"var(d²) is {self.var_ratio:.0f} times its normal value; kurtosis ratio "
             f"b₂ / D(D+2) = {self.kappa:.3f}, as a multivariate t with ν ≈ {self.nu_text}",
             "@sec-multivariate-normality-and-pca"),
            ("Sampling the fitted normal makes faces, a cube does not", yes(self.sampling_works),
             f"{T.percent(0)(self.mvn_rate)} detectable faces against {self.cube_text} "
             f"(real test faces: {T.percent(0)(self.real_rate)})",
             "@sec-generating-faces"),
        ]
        return pd.DataFrame(r, columns=["claim", "verdict", "number", "where"])

    def scorecard(self):
        """The scorecard as a :class:`lsreport.tables.Table`."""
        return T.table(self.rows(), {"claim": ("Claim of the series", str),
                                     "verdict": ("Verdict here", str),
                                     "number": ("Key number", str), "where": ("Chapter", str)})

    @property
    def scorecard_markdown(self) -> str:
        """The scorecard as a captioned Markdown table (its cross-references resolve in Quarto)."""
        return self.scorecard().to_markdown(
            "The claims of the series, the verdict of this build and the number behind it.",
            "tbl-preface-scorecard", widths=(24, 14, 50, 12))


def preface_findings(analysis, generation, z=None, *, rng=None) -> PrefaceFindings:
    """Compute the scorecard from the analysis and generation results.

    Parameters
    ----------
    analysis : LatentAnalysis
        ``book.load("analysis")``.
    generation : Generation
        ``book.load("generation")``.
    z : ndarray, optional
        The training latents, for the Kendall check of the analysed pairs.
    rng : numpy.random.Generator, optional
        For the Kendall null samples (default seed 0).
    """
    from ..generate import REAL

    a, g = analysis, generation
    gd = a.goodness
    m = a.mahalanobis
    var_ratio = float(m.var_d2 / m.expected_var)
    kappa = E.kurtosis_ratio_from_var(var_ratio, a.d)
    nu = E.implied_t_dof(kappa)
    out3 = [1 - e.coverage_measured for p in a.pairs for e in p.ellipses if abs(e.k - 3) < 1e-9]
    outside3 = float(np.mean(out3)) if out3 else np.nan
    kmax = np.nan
    if z is not None and a.pairs:
        kv = E.kendall_vs_pearson(z, [p.pair for p in a.pairs], rng=rng or np.random.default_rng(0),
                                  n_null=20, max_points=3000,
                                  nu=float(nu) if np.isfinite(nu) and nu > 2 else np.inf)
        kmax = float(np.abs(kv["in_null_sd"]).max())
    mvn = g.labels_of("mvn")
    cubes = {}
    for lbl in g.labels_of("cube"):
        st = g.settings[lbl]
        bound = st.get("bound", st.get("b", np.nan))
        cubes[float(bound)] = _rate(g, lbl)
    return PrefaceFindings(
        d=int(a.d), n=int(a.n_samples),
        median_abs_skew=float(np.median(np.abs(gd.skewness))),
        median_abs_kurt=float(np.median(np.abs(gd.excess_kurtosis))),
        outside3=outside3, outside3_normal=E.t_outside_ellipse(3, np.inf),
        outside3_t=E.t_outside_ellipse(3, nu) if np.isfinite(nu) else E.t_outside_ellipse(3, np.inf),
        var_ratio=var_ratio, kappa=float(kappa), nu=float(nu), kendall_max_sd=kmax,
        mvn_label=mvn[0] if mvn else "", mvn_rate=_rate(g, mvn[0]) if mvn else np.nan,
        real_rate=_rate(g, REAL), cube_rates=cubes,
    )


def setting_table(cfg, faces, model):
    """The series' setting beside this build's, as a :class:`lsreport.tables.Table`."""
    sizes = faces.meta.get("original_sizes", {})
    res = ", ".join(str(s).replace("x", " × ") for s in sizes) or "drawn at render size"
    s = {k: v for k, (v, _) in SERIES.items()}
    rows = [
        ("Training images", f"about {s['images']:,}", f"{int(model.meta.get('n_train', 0)):,}"),
        ("Source resolution", s["resolution"], res),
        ("Latent size", f"{s['latent_dim']}", f"{cfg.model.latent_dim}"),
        ("Architecture", s["architecture"],
         f"{len(cfg.model.filters)} strided convolutions ({', '.join(map(str, cfg.model.filters))} "
         f"filters), a dense layer to z, a mirrored decoder"),
        ("Cube bound b", f"{s['cube_bound']:g}", " and ".join(f"{b:g}" for b in cfg.sampling.cube_bounds)),
    ]
    df = pd.DataFrame(rows, columns=["what", "series", "here"])
    return T.table(df, {"what": ("", str), "series": ("The series", str), "here": ("This build", str)})


def data_sentence(faces) -> str:
    """What the face array holds, in words (no paths or configuration keys)."""
    m = faces.meta
    n = len(faces)
    size = m.get("image_size")
    sizes = m.get("original_sizes", {})
    res = ", ".join(str(s).replace("x", " × ") for s in sizes)
    if faces.source == "synthetic":
        return f"{n:,} synthetic faces drawn by the package at {size} × {size} pixels."
    name = {"celeba": "aligned CelebA images", "olivetti": "Olivetti faces"}.get(faces.source,
                                                                              "face images")
    frac = m.get("crop_fraction")
    text = f"{n:,} {name} of {res} pixels"
    if frac is not None and frac < 1:
        text += (f", cropped to a square of {T.percent(1)(frac)} of the width, centred at "
                 f"{T.percent(0)(m.get('crop_center_y', 0.5))} of the height,")
    text += f" and resized to {size} × {size} pixels"
    ident = faces.identities
    if ident is not None:
        n_id = len(np.unique(ident[ident >= 0]))
        text += f"; no one among its {n_id:,} people appears in two splits"
    return text + "."


def data_note(cfg, faces) -> str:
    """A callout when the build uses synthetic faces (empty string otherwise)."""
    if faces.source != "synthetic":
        return ""
    why = ("no CelebA folder was configured" if cfg.data.source == "auto"
           else f"the profile *{cfg.profile}* asks for it")
    return ("::: {.callout-important}\nThis build uses the synthetic face set that the package "
            f"draws itself, because {why}; point the environment variable `LSREPORT_CELEBA` at a "
            "CelebA folder (with the *default* or *full* profile) to build it on CelebA.\n:::\n")


@dataclass(frozen=True)
class Limitations:
    """What a reader should know before citing a number of this build."""

    source: str
    n_images: int
    n_identities: int
    resolution: str
    how_chosen: str
    image_size: int
    train_minutes: float
    epochs: int
    psnr: float
    sweep_image_size: int
    sweep_images: int
    sweep_epochs: int
    descriptors: int
    detector_size: int

    @property
    def items(self) -> list[str]:
        out = []
        if self.source == "celeba":
            share = self.n_images / CELEBA_IMAGES
            out.append(f"**Data.** {self.n_images:,} of CelebA's {CELEBA_IMAGES:,} images "
                       f"({T.percent(1)(share)}) of {self.n_identities:,} people, {self.how_chosen}, at a "
                       f"source resolution of {self.resolution} pixels — not the full-resolution "
                       f"178 × 218 images of the series.")
        else:
            out.append(f"**Data.** {self.n_images:,} {self.source} images, not CelebA: every "
                       "statement about faces is about the package's drawn faces.")
        out.append(f"**Network.** Images of {self.image_size} × {self.image_size} pixels; "
                   f"{self.epochs} epochs of training in {self.train_minutes:.1f} minutes on a CPU, "
                   f"reaching a test PSNR of {self.psnr:.1f} dB — a small, briefly trained network "
                   "beside the series'.")
        out.append(f"**The sweep** of @sec-what-makes-it-normal runs at {self.sweep_image_size} × "
                   f"{self.sweep_image_size} pixels, {self.sweep_images:,} images per variant and "
                   f"{self.sweep_epochs} {'epoch' if self.sweep_epochs == 1 else 'epochs'}; its numbers compare variants with each other.")
        out.append(f"**Face metrics.** The face detector (dlib) sees the decoded "
                   f"{self.image_size}-pixel images upsampled to {self.detector_size} pixels; each "
                   f"Fréchet distance rests on at most {self.descriptors:,} face descriptors per "
                   "image set, so its intervals are wide.")
        return out

    @property
    def markdown(self) -> str:
        return "\n".join(f"- {s}" for s in self.items) + "\n"


def limitations(cfg, faces, model, latents, generation=None) -> Limitations:
    """The limitations of this build, computed from its cached results.

    ``generation`` (optional) gives the number of face descriptors actually
    behind the Fréchet distances; without it the profile's cap is used.
    """
    import inspect

    from ..quality import upsample

    sizes = faces.meta.get("original_sizes", {})
    res = ", ".join(str(s).replace("x", " × ") for s in sizes) or "unknown"
    ident = faces.identities
    n_id = int(len(np.unique(ident[ident >= 0]))) if ident is not None else 0
    cap = cfg.data.max_images
    how = ("every image of the configured folder" if not cap or cap >= len(faces)
           else f"the first {cap:,} images of the configured folder")
    how += ", split by identity" if n_id else ", split at random"
    descriptors = cfg.quality.max_descriptors
    if generation is not None:
        fr = generation.metrics[generation.metrics.metric == "face_frechet"]
        if len(fr) and "n" in fr:
            descriptors = int(fr["n"].max())
    return Limitations(
        source=faces.source, n_images=len(faces), n_identities=n_id, resolution=res,
        how_chosen=how, image_size=cfg.data.image_size,
        train_minutes=float(model.meta.get("train_seconds", np.nan)) / 60,
        epochs=len(model.history), psnr=float(latents.summary["psnr_mean"]),
        sweep_image_size=cfg.sweep.image_size, sweep_images=cfg.sweep.max_images,
        sweep_epochs=cfg.sweep.epochs, descriptors=descriptors,
        detector_size=int(inspect.signature(upsample).parameters["size"].default),
    )
