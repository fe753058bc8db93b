"""What the chapter on generating faces concludes, and why.

:func:`generation_findings` turns the cached generation step (decoded samples
of every sampler and their independent face metrics) and the training
latents into a :class:`GenerationFindings`: which sampler wins and by how
much, what the cube gives, whether the full normal beats the per-component
samplers, and where each sampler's points lie relative to the shell of the
real latents. The comparisons come from
:func:`lsreport.generate.generation_verdict`; the rules are class constants.
Tested in ``tests/test_findings_generation.py``.

"In the shell" has one meaning here and in the chapter on latent paths: a
Mahalanobis radius between the 5 % and 95 % quantiles of the real test
latents' radii. Below it a point is "nearer the centre than the shell",
above it "beyond the shell".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import chi2

from .. import tables as T
from ..generate import (RECONSTRUCTIONS, REAL, compare_sets, fit_latent_stats, generation_verdict,
                        radius_table, sampler_groups)

__all__ = ["GenerationFindings", "generation_findings", "REGION_WORDS"]

#: How :func:`lsreport.generate.radius_table` places a median, in the book's words.
REGION_WORDS = {"inside": "nearer the centre than the shell", "on": "in the shell",
                "outside": "beyond the shell"}


def _signed(x: float, digits: int = 3) -> str:
    """``x`` with its sign, and no "-0.000" for a value that rounds to zero."""
    x = float(x)
    return f"{0.0 if round(x, digits) == 0 else x:+.{digits}f}"


def _join(parts) -> str:
    parts = list(parts)
    return "; ".join(parts) if parts else "none"


@dataclass(frozen=True, eq=False)
class GenerationFindings:
    """The numbers and verdicts of the chapter on generating faces.

    Build it with :func:`generation_findings`. Rates and shares are fractions.
    """

    #: A Spearman rank correlation of at least 0.7 between the samplers'
    #: radius distance and their face Fréchet distance reads "the radius alone
    #: predicts the ranking": with the 8 or so samplers of a build, 0.7 is about
    #: the 5 % critical value of Spearman's ρ (0.64 at n = 8, 0.68 at n = 7).
    RHO_STRONG: ClassVar[float] = 0.7
    #: The cube "decodes to almost no faces" when its best detection rate is
    #: below 5 %, a twentieth of what real faces reach (about 95 %).
    ALMOST_NONE: ClassVar[float] = 0.05
    #: Quantile levels of the real test latents' radii that bound the shell.
    BAND: ClassVar[tuple] = (0.05, 0.95)
    #: Decoded images shown per sampler in the grids (a 4 × 4 grid).
    N_SHOWN: ClassVar[int] = 16

    gen: object = field(repr=False)
    stats: object = field(repr=False)      # LatentStats of the training latents
    verdict: object = field(repr=False)    # GenerationVerdict
    groups: dict = field(repr=False)
    radii: pd.DataFrame = field(repr=False)   # radius_table
    rho: float = float("nan")
    settings: object = None                # cfg.sampling

    # ------------------------------------------------------------ sizes
    @property
    def n_samplers(self) -> int:
        return len(self.gen.settings)

    @property
    def n_per_sampler(self) -> int:
        return int(self.gen.meta["n_per_sampler"])

    @property
    def n_reference(self) -> int:
        return int(self.gen.meta["n_reference"])

    @property
    def n_reconstructions(self) -> int:
        return int(self.gen.meta["n_reconstructions"])

    @property
    def n_train(self) -> int:
        return int(self.stats.n)

    @property
    def dim(self) -> int:
        return int(self.stats.dim)

    @property
    def gmm_components(self) -> int:
        return int(self.gen.meta["gmm_components"])

    @property
    def cube_bounds_text(self) -> str:
        return " and ".join(f"{b:g}" for b in self.settings.cube_bounds)

    @property
    def shrink_text(self) -> str:
        return " and ".join(f"{f:g}" for f in self.settings.shrink if f != 1)

    @property
    def ellipse_k(self) -> float:
        return float(self.settings.ellipse_k)

    @property
    def ellipse_region_mass(self) -> float:
        """Probability the fitted normal gives the ellipse sampler's region (all pairs inside)."""
        from ..sampling import ellipse_region_mass

        return float(ellipse_region_mass(self.ellipse_k, self.dim))

    @property
    def joint_and_reconstructions(self) -> list:
        return [*self.groups["joint"], RECONSTRUCTIONS]

    @property
    def n_shown_samplers(self) -> int:
        return len(self.groups["independent"]) + len(self.groups["joint"])

    # ------------------------------------------------------------ metrics
    def rate(self, label: str) -> float:
        return self.gen.value(label, "detection_rate")

    @property
    def _wide(self) -> pd.DataFrame:
        labels = [*self.groups["independent"], *self.groups["joint"]]
        m = self.gen.metrics
        return m[m.image_set.isin(labels)].pivot(index="image_set", columns="metric", values="value").loc[labels]

    @property
    def best(self) -> str:
        return self.verdict.best

    @property
    def best_cell(self) -> str:
        return self.gen.cell(self.best, self.verdict.metric)

    @property
    def runner_up_sentence(self) -> str:
        """The best sampler against the runner-up, in words, with both distances."""
        c = self.verdict.best_vs_runner_up
        if c is None:
            return "It is the only sampler"
        return (f"It is {c.words()} the runner-up, {c.b} ({self.gen.cell(c.b, self.verdict.metric)}; "
                f"the best distance is {c.ratio:.2f} times the runner-up's)")

    @property
    def worst(self) -> str:
        return self.verdict.worst

    @property
    def worst_factor(self) -> float:
        return 1 / self.verdict.best_vs_worst.ratio

    @property
    def baseline_sentence(self) -> str:
        """The real-vs-real yardstick of the distances (held-out real faces), when measured."""
        b = getattr(self.gen, "baseline", None)
        if not b:
            return "No held-out real faces were measured in this build, so the distances have no real-vs-real yardstick"
        return (f"Real test faces held out of the reference and measured like a sampler's images reach "
                f"{self.gen.cell(b, self.verdict.metric)}: the distance a perfect sampler would have at this size")

    @property
    def top_rate(self) -> float:
        return self.rate(self.verdict.best_detection)

    @property
    def detection_sentence(self) -> str:
        if self.top_rate > 0:
            return f"The highest detection rate, {self.top_rate:.1%}, belongs to {self.verdict.best_detection}"
        return "No sampler produces a single image in which dlib finds a face"

    @property
    def real_rate(self) -> float:
        return float(self.verdict.real_detection)

    def compare(self, a: str, b: str, metric: str):
        """Set ``a`` against set ``b`` on one metric (paired where the step kept replicates)."""
        if hasattr(self.gen, "compare"):
            return self.gen.compare(a, b, metric)
        return compare_sets(self.gen.metrics, a, b, metric)

    # ------------------------------------------------------------ shrinking
    @property
    def full(self) -> str:
        return self.verdict.full

    @property
    def shrunk(self) -> str | None:
        others = [k for k in self.gen.labels_of("mvn") if k != self.full]
        return others[0] if others else None

    @property
    def shrink_detection(self):
        return self.compare(self.shrunk, self.full, "detection_rate")

    @property
    def shrink_frechet(self):
        return self.compare(self.shrunk, self.full, self.verdict.metric)

    @property
    def shrink_trade(self) -> bool:
        """Shrinking raises the detection rate *and* the Fréchet distance (less varied faces)."""
        d, f = self.shrink_detection, self.shrink_frechet
        return bool(d.value_a > d.value_b and f.value_a > f.value_b)

    @property
    def shrink_sentence(self) -> str:
        if self.shrink_trade:
            return (": points nearer the centre decode to faces nearer the average face, easier to detect "
                    "but less varied than real ones")
        return ", so here shrinking does not trade variety for detectability"

    # ------------------------------------------------------------ t
    @property
    def t(self) -> str | None:
        """Label of the multivariate t sampler (None in a build without it)."""
        labels = self.gen.labels_of("t")
        return labels[0] if labels else None

    @property
    def t_nu(self) -> float:
        """Its degrees of freedom: those of the cloud's kurtosis ratio."""
        return float(self.gen.settings[self.t]["nu"]) if self.t else float("nan")

    @property
    def t_nu_text(self) -> str:
        """ν for the prose: one decimal, or ∞ where the cloud is not heavier-tailed than a normal one."""
        return f"{self.t_nu:.1f}" if np.isfinite(self.t_nu) else "∞"

    @property
    def t_sentence(self) -> str:
        """The t sampler against the fitted normal: face Fréchet distance, detection rate, radii."""
        if self.t is None:
            return "This build drew no samples from a multivariate t."
        m = self.verdict.metric
        c = self.compare(self.t, self.full, m)
        d = self.compare(self.t, self.full, "detection_rate")
        r = self.compare(self.t, self.full, "latent_radius_w1")
        lo, hi = c.diff_ci
        interval = f" [{_signed(lo)}, {_signed(hi)}]" if np.isfinite(lo) and np.isfinite(hi) else ""
        closer = r.value_a < r.value_b
        if not c.separated:
            moral = (" Matching the cloud's spread of radii does not, by itself, change what the decoder "
                     "makes of the points." if closer else "")
        elif c.a_better:
            moral = " Its points, spread like the cloud's, decode to faces closer to real ones."
        else:
            moral = " Its heavier tail puts more points far out, where the decoder makes worse faces."
        return (f"The multivariate t ({self.t}) {'gives' if closer else 'does not give'} the radii "
                f"the spread the cloud has: its radius distance to the real latents is {r.value_a:.3g} "
                f"against {r.value_b:.3g} for the fitted normal. Its face Fréchet distance, "
                f"{self.gen.cell(self.t, m)}, is {c.words()} the normal's (difference "
                f"{_signed(c.difference)}{interval}), and its detection rate is {d.value_a:.1%} against "
                f"{d.value_b:.1%} "
                f"({d.words('clearly higher than', 'clearly lower than', 'not clearly different from')} "
                f"the normal's).{moral}")

    def nearest_training(self, faces, n: int = 8):
        """The best sampler's first ``n`` images beside their nearest training images (pixel space)."""
        from .source_images import nearest_training

        return nearest_training(self.gen, faces, self.best, n=n)

    # ------------------------------------------------------------ copies
    @property
    def copier(self) -> str:
        return str(self._wide["copy_rate"].idxmax())

    @property
    def copier_rate(self) -> float:
        return float(self._wide.loc[self.copier, "copy_rate"])

    @property
    def copier_detection(self) -> float:
        return float(self._wide.loc[self.copier, "detection_rate"])

    # ------------------------------------------------------------ cube
    @property
    def cube(self) -> str | None:
        return self.verdict.cube

    @property
    def cube_rate(self) -> float:
        return float(self.verdict.cube_rate)

    @property
    def other_cubes_text(self) -> str:
        others = [k for k in self.gen.labels_of("cube") if k != self.cube]
        return ", ".join(f"{k} {self.rate(k):.1%}" for k in others) or "none"

    @property
    def cube_almost_none(self) -> bool:
        return bool(self.cube_rate < self.ALMOST_NONE)

    @property
    def cube_words(self) -> str:
        if self.cube_almost_none:
            return "almost no faces"
        more = "fewer" if self.cube_rate < self.real_rate else "as many"
        return f"{more} faces than real images do, but not almost none"

    # ------------------------------------------------------------ full normal
    @property
    def full_cell(self) -> str:
        return self.gen.cell(self.full, self.verdict.metric)

    @property
    def full_rate(self) -> float:
        return self.rate(self.full)

    @property
    def per_component_frechet_text(self) -> str:
        return _join(f"{c.words()} {c.b} ({c.value_b:.3f})" for c in self.verdict.per_component.values())

    @property
    def per_component_detection_text(self) -> str:
        return _join(f"{c.words()} {c.b}'s ({c.value_b:.1%})"
                     for c in self.verdict.per_component_detection.values())

    @property
    def beats_per_component(self) -> bool:
        return bool(self.verdict.full_clearly_beats_per_component)

    @property
    def beats_sentence(self) -> str:
        """Whether the full normal beats every per-component sampler on both metrics, said plainly."""
        comps = [*self.verdict.per_component.values(), *self.verdict.per_component_detection.values()]
        if self.beats_per_component:
            return ("The full multivariate normal is therefore clearly better than every per-component "
                    "sampler on both metrics.")
        won = sum(c.clearly_better for c in comps)
        return (f"The full multivariate normal is therefore not clearly better than every per-component "
                f"sampler on both metrics: it is clearly better in {won} of the {len(comps)} comparisons.")

    @property
    def pixel_text(self) -> str:
        comps = [self.compare(self.full, k, "pixel_frechet") for k in self.verdict.per_component]
        return _join(f"{c.words()} {c.b}'s {c.value_b:.3g}" for c in comps)

    @property
    def full_pixel(self) -> float:
        return self.gen.value(self.full, "pixel_frechet")

    @property
    def reconstruction_detection_sentence(self) -> str:
        d = self.verdict.detection
        reach = "reaches" if self.verdict.detection_reached else "does not reach"
        apart = "the intervals lie apart" if d.separated else "the intervals overlap"
        return (f"The best sampler's detection rate of {d.value_a:.1%} {reach} the reconstructions' "
                f"{d.value_b:.1%} ({apart})")

    @property
    def frechet_ratio(self) -> float:
        return float(self.verdict.frechet.ratio)

    @property
    def reconstruction_cell(self) -> str:
        return self.gen.cell(RECONSTRUCTIONS, "face_frechet")

    # ------------------------------------------------------------ radii
    @property
    def shell(self) -> tuple[float, float]:
        return tuple(self.radii.attrs["shell"])

    @property
    def chi_shell(self) -> tuple[float, float]:
        """The same quantiles of the radius of the fitted normal (χ with D degrees of freedom)."""
        lo, hi = np.sqrt(chi2.ppf(self.BAND, self.dim))
        return float(lo), float(hi)

    @property
    def sqrt_d(self) -> float:
        return float(np.sqrt(self.dim))

    def median_radius(self, label: str) -> float:
        return float(self.radii.loc[label, "median radius"])

    def share_in_shell(self, label: str) -> float:
        return float(self.radii.loc[label, "share in shell"])

    @property
    def real_median(self) -> float:
        return self.median_radius(REAL)

    @property
    def real_in_shell(self) -> float:
        return self.share_in_shell(REAL)

    @property
    def diag_rms(self) -> float:
        """√tr(diag(Σ) Σ⁻¹): the root mean squared radius of the diagonal normal."""
        s = self.stats
        return float(np.sqrt(np.sum(s.std ** 2 * np.diag(np.linalg.inv(s.cov)))))

    def _texts(self, sampler: str, what: str, fmt: str, sep: str = ", ") -> str:
        labels = self.gen.labels_of(sampler)
        vals = [self.median_radius(k) if what == "median" else self.share_in_shell(k) for k in labels]
        return sep.join(format(v, fmt) for v in vals) or "none"

    @property
    def diagonal_median_text(self) -> str:
        return self._texts("diagonal", "median", ".1f")

    @property
    def diagonal_shell_text(self) -> str:
        return self._texts("diagonal", "shell", ".0%")

    @property
    def intervals_shell_text(self) -> str:
        return self._texts("intervals", "shell", ".0%")

    @property
    def cubes_shell_text(self) -> str:
        return self._texts("cube", "shell", ".0%", " and ")

    @property
    def joint_shell_range(self) -> tuple[float, float]:
        v = self.radii.loc[self.groups["joint"], "share in shell"]
        return float(v.min()), float(v.max())

    @property
    def reconstructions_in_shell(self) -> float:
        return self.share_in_shell(RECONSTRUCTIONS)

    @property
    def most_faces(self) -> str:
        """The per-component sampler with the highest detection rate."""
        return str(self._wide.loc[self.groups["independent"], "detection_rate"].idxmax())

    @property
    def nearest(self) -> str:
        """The per-component sampler whose median radius lies closest to the shell's."""
        return str(self.radii.loc[self.groups["independent"], "median radius"].idxmin())

    @property
    def more_faces_farther(self) -> bool:
        return bool(self.rate(self.most_faces) > self.rate(self.nearest))

    @property
    def shell_story_sentence(self) -> str:
        if self.more_faces_farther:
            return "Missing the shell is not the whole story, though."
        return "Among the samplers that miss the shell, none decodes to more faces than the nearest."

    @property
    def radius_predicts(self) -> bool:
        return bool(self.rho >= self.RHO_STRONG)

    @property
    def radius_words(self) -> str:
        return ("the radius alone predicts the ranking" if self.radius_predicts
                else "the radius alone does not predict the ranking")

    @property
    def reference_radii(self) -> np.ndarray:
        return self.stats.mahalanobis(self.gen.reference_z)

    def reference_sets(self, faces) -> dict:
        """The reconstructions and the real test images, for the reference grids."""
        return {RECONSTRUCTIONS: self.gen.images[RECONSTRUCTIONS], REAL: faces.split_images("test")}

    # ------------------------------------------------------------ tables
    def sampler_table(self) -> T.Table:
        from ..generate import sampler_table

        df = sampler_table(self.gen)
        df["group"] = df["group"].map({"independent": "independent components",
                                       "joint": "joint distribution"}).fillna(df["group"])
        return T.table(df, {"group": ("Group", T.text), "settings": ("Settings", str),
                            "description": ("What it draws", str)}, index="Sampler", formats={"index": T.text})

    def metric_table(self, keys) -> T.Table:
        from ..generate import metric_table

        df = metric_table(self.gen.metrics, list(keys))
        return T.table(df, {c: (c, str) for c in df.columns}, index="Image set", formats={"index": T.text})

    def radius_table(self) -> T.Table:
        df = self.radii.copy()
        df["where"] = df["median lies"].map(REGION_WORDS)
        return T.table(df, {"median radius": ("Median radius", T.sig(3)),
                            "share in shell": ("Share in the shell", T.percent(0)),
                            "where": ("Median lies", T.text)}, index="Image set", formats={"index": T.text})


def generation_findings(gen, z_train, *, cfg) -> GenerationFindings:
    """What the chapter on generating faces concludes.

    Parameters
    ----------
    gen : Generation
        The cached generation step.
    z_train : array_like, shape (n, D)
        The training latents (the statistics every sampler drew from).
    cfg : Config
        The profile (sampler settings, bin width).
    """
    stats = fit_latent_stats(cfg, np.asarray(z_train))
    groups = sampler_groups(gen)
    v = generation_verdict(gen)
    rad = radius_table(gen, stats, band=GenerationFindings.BAND)
    labels = [*groups["independent"], *groups["joint"]]
    m = gen.metrics
    wide = m[m.image_set.isin(labels)].pivot(index="image_set", columns="metric", values="value").loc[labels]
    rho = float(wide["latent_radius_w1"].corr(wide[v.metric], method="spearman")) if len(wide) > 2 else float("nan")
    return GenerationFindings(gen=gen, stats=stats, verdict=v, groups=groups, radii=rad, rho=rho,
                              settings=cfg.sampling)
