"""Elliptical but heavy-tailed, or not elliptical? The main build's cloud, in numbers and words.

Used by the closing section of the chapter on what shapes the latent cloud:
the dimension-free kurtosis and its t reading, the excess of var(d²) along
the principal-component spectrum, the 2-D ellipse tails it predicts against
those measured, and Kendall's τ against (2/π) arcsin r.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from .. import tables as T
from ..stats import elliptical as E

__all__ = ["CloudShape", "cloud_shape"]


@dataclass(frozen=True, eq=False)
class CloudShape:
    """The shape of the training cloud beyond "normal or not".

    Attributes
    ----------
    excess : D2Excess
        :func:`lsreport.stats.elliptical.d2_excess_by_component`.
    nu : float
        Implied degrees of freedom of a multivariate t.
    outside3 : float
        Measured share outside the 3-sigma ellipses (mean over the analysed pairs).
    outside3_normal, outside3_t : float
        The same for a normal law and for a t with :attr:`nu`.
    kendall : DataFrame
        :func:`lsreport.stats.elliptical.kendall_vs_pearson` of the checked pairs,
        with a ``group`` column (strongest, typical, random).
    """

    #: |τ − (2/π) arcsin r| beyond this many null s.d. reads as "not elliptical" for a pair.
    KENDALL_SD: ClassVar[float] = 3.0
    #: at most this share of the pairs beyond it reads as "a small departure".
    MINOR_SHARE: ClassVar[float] = 1 / 3

    excess: object
    nu: float
    outside3: float
    outside3_normal: float
    outside3_t: float
    kendall: pd.DataFrame

    @property
    def n_kendall_off(self) -> int:
        return int((self.kendall["in_null_sd"].abs() > self.KENDALL_SD).sum())

    @property
    def blocks(self) -> pd.DataFrame:
        return self.excess.by_block((0.1, 0.25, 0.5, 1.0))

    def blocks_table(self):
        b = self.blocks.assign(axes=[f"{f}–{lst}" for f, lst in zip(self.blocks["first"],
                                                                   self.blocks["last"])])
        return T.table(b, {"axes": ("Principal axes", str),
                           "share_of_axes": ("Share of the axes", T.percent(0)),
                           "share_of_excess": ("Share of the excess of var(d²)", T.percent(0)),
                           "own_share": ("Of it: the axes' own kurtosis", T.percent(0))})

    def kendall_table(self):
        k = self.kendall.assign(pair=[f"z[{i}], z[{j}]" for i, j in zip(self.kendall["i"],
                                                                          self.kendall["j"])])
        return T.table(k, {"group": ("Pair", str), "pair": ("Components", str),
                           "pearson_r": ("Pearson r", T.dec(3)),
                           "kendall_tau": ("Kendall τ", T.dec(3)),
                           "tau_elliptical": ("(2/π) arcsin r", T.dec(3)),
                           "in_null_sd": ("Difference (null s.d.)", T.dec(1))})

    @property
    def tail_sentence(self) -> str:
        """The 2-D tails measured against the normal and the t reading."""
        nu = "∞" if not np.isfinite(self.nu) else f"{self.nu:.0f}"
        closer = ("the normal" if abs(self.outside3 - self.outside3_normal)
                  < abs(self.outside3 - self.outside3_t) else "the t")
        return (f"A multivariate t with ν = {nu}, the law whose kurtosis the cloud has, would "
                f"leave {T.percent(2)(self.outside3_t)} of the points outside the 3-sigma ellipse "
                f"of every pair; a normal law leaves {T.percent(2)(self.outside3_normal)}; the "
                f"analysed pairs leave {T.percent(2)(self.outside3)}, closer to {closer} share.")

    @property
    def spectrum_sentence(self) -> str:
        """Where in the spectrum the excess of var(d²) sits, and of what kind."""
        b = self.blocks
        last = b.iloc[-1]
        first = b.iloc[0]
        own = self.excess.own_share
        kind = ("mostly the axes' own heavy tails" if own > 0.5 else
                "mostly squared scores of different axes growing together")
        return (f"The first {T.percent(0)(first['share_of_axes'])} of the principal axes carry "
                f"{T.percent(0)(first['share_of_excess'])} of the excess of var(d²) over 2D, the "
                f"last {T.percent(0)(last['share_of_axes'])} carry "
                f"{T.percent(0)(last['share_of_excess'])}. The axes' own kurtosis makes "
                f"{T.percent(0)(own)} of it (a scale mixture such as the t would give "
                f"{T.percent(1)(self.excess.elliptical_own_share)}): the excess is {kind}.")

    @property
    def kendall_sentence(self) -> str:
        n = len(self.kendall)
        off = self.n_kendall_off
        worst = float(self.kendall["deviation"].abs().max()) if n else np.nan
        if off == 0:
            verdict = "as every elliptical law requires"
        elif off <= self.MINOR_SHARE * n:
            verdict = (f"a small departure from an elliptical law (the largest difference in τ is "
                       f"{worst:.3f})")
        else:
            verdict = "which no elliptical law allows"
        return (f"Kendall's τ differs from (2/π) arcsin r by more than {self.KENDALL_SD:g} "
                f"standard deviations of t samples with the cloud's ν in {off} of the {n} checked "
                f"pairs, {verdict}.")


def cloud_shape(analysis, z, *, rng: np.random.Generator, n_pairs: int = 2) -> CloudShape:
    """Compute :class:`CloudShape` from the analysis and the training latents."""
    a = analysis
    ex = E.d2_excess_by_component(z, a.pca)
    kappa = E.kurtosis_ratio_from_var(a.mahalanobis.var_d2 / a.mahalanobis.expected_var, a.d)
    nu = float(E.implied_t_dof(kappa))
    out3 = [1 - e.coverage_measured for p in a.pairs for e in p.ellipses if abs(e.k - 3) < 1e-9]
    picks = E.pick_pairs(a.correlation.r, rng=rng, n=n_pairs)
    rows = []
    for group, label in (("strongest", "strongest"), ("typical", "typical |r|"), ("random", "random")):
        if picks[group]:
            kv = E.kendall_vs_pearson(z, picks[group], rng=rng, n_null=20, max_points=3000,
                                      nu=nu if np.isfinite(nu) and nu > 2 else np.inf)
            rows.append(kv.assign(group=label))
    kendall = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["i", "j", "pearson_r", "kendall_tau", "tau_elliptical", "deviation", "null_sd",
                 "in_null_sd", "group"])
    return CloudShape(
        excess=ex, nu=nu, outside3=float(np.mean(out3)) if out3 else np.nan,
        outside3_normal=E.t_outside_ellipse(3, np.inf),
        outside3_t=E.t_outside_ellipse(3, nu) if np.isfinite(nu) else E.t_outside_ellipse(3, np.inf),
        kendall=kendall)
