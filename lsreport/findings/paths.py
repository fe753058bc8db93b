"""What the chapter on latent paths concludes, and why.

:func:`path_findings` decodes straight lines through the latent cloud (in
the plane of the two widest components, along the first principal axis, and
between pairs of real test faces), asks dlib where it finds a face, and
builds a :class:`PathFindings` from the walks (:meth:`PathFindings.from_walks`,
which the tests call with walks of known radii).

"In the shell" means what it means in the chapter on generation
(:mod:`lsreport.findings.generation`): a Mahalanobis radius between the 5 %
and 95 % quantiles of the real test latents' radii; below it "nearer the
centre than the shell", above it "beyond the shell".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from .. import tables as T
from .generation import REGION_WORDS

__all__ = ["PathFindings", "path_findings"]

#: Region names of :func:`lsreport.generate.detection_by_region` → the radius_table's words.
_REGION_KEY = {"inside": "inside", "shell": "on", "outside": "outside"}


def _joined(values, fmt: str, sep: str = ", ") -> str:
    return sep.join(format(v, fmt) for v in values)


@dataclass(frozen=True, eq=False)
class PathFindings:
    """The numbers and verdicts of the chapter on latent paths.

    Build it with :func:`path_findings` (decodes) or :meth:`from_walks`.
    """

    #: Lines through the centre run from −3 to 3 standard deviations along
    #: their direction: far enough to leave the bulk of a normal cloud (99.7 %
    #: of a normal coordinate lies within ±3 s.d.).
    EXTENT: ClassVar[float] = 3.0
    #: The long principal-axis line reaches 1.5 times the outer edge of the
    #: shell, so that it surely runs past the real latents.
    FAR_FACTOR: ClassVar[float] = 1.5
    #: Pairs of real test faces joined by straight lines.
    N_INTERPOLATIONS: ClassVar[int] = 3

    plane: object = field(repr=False)    # PathWalk: two lines in the plane of z[i], z[j]
    axis: object = field(repr=False)     # PathWalk: short and long line along principal axis 0
    interp: object = field(repr=False)   # PathWalk: lines between test faces
    widest: tuple = (0, 1)
    far: float = float("nan")
    per_sigma: float = float("nan")      # radius per s.d. along z[i]
    dim: int = 0

    @classmethod
    def from_walks(cls, stats, plane, axis, interp, *, widest, far) -> "PathFindings":
        """The findings of three walks (see :func:`lsreport.generate.walk_paths`)."""
        i = int(widest[0])
        per_sigma = float(np.sqrt(stats.cov[i, i] * np.linalg.inv(stats.cov)[i, i]))
        return cls(plane=plane, axis=axis, interp=interp, widest=(int(widest[0]), int(widest[1])),
                   far=float(far), per_sigma=per_sigma, dim=int(stats.dim))

    # ------------------------------------------------------------ shell
    @property
    def shell(self) -> tuple[float, float]:
        return self.plane.shell

    @property
    def n_reference(self) -> int:
        return int(len(self.plane.reference_radii))

    @property
    def closest_real(self) -> float:
        return float(np.min(self.plane.reference_radii))

    # ------------------------------------------------------------ centre lines
    @property
    def i(self) -> int:
        return self.widest[0]

    @property
    def j(self) -> int:
        return self.widest[1]

    @property
    def _plane(self) -> pd.DataFrame:
        return self.plane.summary()

    @property
    def _axis(self) -> pd.DataFrame:
        return self.axis.summary()

    @property
    def _interp(self) -> pd.DataFrame:
        return self.interp.summary()

    @property
    def centre_face(self) -> bool:
        """dlib finds a face in the decoded centre (the step of smallest radius on the first line)."""
        mid = int(np.argmin(self.plane.radii[0]))
        return bool(self.plane.detected[0][mid])

    @property
    def centre_words(self) -> str:
        return "finds" if self.centre_face else "does not find"

    @property
    def r_squared_i(self) -> float:
        """Share of the variance of z[i] the other components predict: 1 − 1/per_sigma²."""
        return 1 - 1 / self.per_sigma ** 2

    @property
    def plane_largest_text(self) -> str:
        return _joined(self._plane["largest radius"], ".1f", " and ")

    @property
    def plane_faces_text(self) -> str:
        return _joined(self._plane["share with a face"], ".0%", " and ")

    @property
    def axis_short_largest(self) -> float:
        return float(self._axis["largest radius"].iloc[0])

    @property
    def axis_short_faces(self) -> float:
        return float(self._axis["share with a face"].iloc[0])

    @property
    def long_sentence(self) -> str:
        """What dlib sees along the long principal-axis line."""
        t = np.abs(self.axis.paths[1].params)
        found = np.asarray(self.axis.detected[1], bool)
        if not found.any():
            return "none of its steps shows a face"
        last = float(t[found].max())  # along a principal axis the radius is |t|
        lo, hi = self.shell
        where = ("nearer the centre than the shell" if last < lo else
                 "in the shell" if last <= hi else "beyond the shell")
        return (f"{found.mean():.0%} of its steps show a face, the outermost at radius {last:.1f}, "
                f"{where}")

    @property
    def leave_shell_t(self) -> float:
        """|t| (in s.d. of z[i]) at which the line along z[i] leaves the shell."""
        return self.shell[1] / self.per_sigma

    # ------------------------------------------------------------ interpolations
    @property
    def _ends(self) -> np.ndarray:
        return np.array([r[[0, -1]] for r in self.interp.radii])

    @property
    def end_min(self) -> float:
        return float(self._ends.min())

    @property
    def end_max(self) -> float:
        return float(self._ends.max())

    @property
    def dips(self) -> np.ndarray:
        """Smallest radius along each interpolation over the mean radius of its two ends."""
        return np.array([r.min() for r in self.interp.radii]) / self._ends.mean(axis=1)

    @property
    def dips_text(self) -> str:
        return _joined(self.dips, ".2f")

    @property
    def inv_sqrt2(self) -> float:
        return float(1 / np.sqrt(2))

    @property
    def interp_shell_text(self) -> str:
        return _joined(self._interp["share in shell"], ".0%")

    @property
    def interp_faces_text(self) -> str:
        return _joined(self._interp["share with a face"], ".0%")

    # ------------------------------------------------------------ regions
    @property
    def regions(self) -> pd.DataFrame:
        from ..generate import detection_by_region

        return detection_by_region(self.plane, self.axis, self.interp)

    @property
    def n_steps(self) -> int:
        return int(self.regions["steps"].sum())

    @property
    def regions_sentence(self) -> str:
        """dlib's face rate in each region that has steps, in words."""
        r = self.regions
        parts = [f"{r.loc[k, 'share with a face']:.0%} of the {int(r.loc[k, 'steps'])} steps "
                 f"{REGION_WORDS[_REGION_KEY[k]]}" for k in r.index if r.loc[k, "steps"]]
        return ", ".join(parts) or "no steps"

    @property
    def plane_beyond(self) -> pd.Series:
        from ..generate import detection_by_region

        return detection_by_region(self.plane).loc["outside"]

    @property
    def plane_beyond_steps(self) -> int:
        return int(self.plane_beyond["steps"])

    @property
    def plane_beyond_text(self) -> str:
        b = self.plane_beyond
        return f"{b['share with a face']:.0%}" if b["steps"] else "none"

    @property
    def axis_in_shell(self) -> pd.Series:
        from ..generate import detection_by_region

        return detection_by_region(self.axis).loc["shell"]

    @property
    def axis_in_shell_steps(self) -> int:
        return int(self.axis_in_shell["steps"])

    @property
    def axis_in_shell_text(self) -> str:
        a = self.axis_in_shell
        return f"{a['share with a face']:.0%}" if a["steps"] else "none"

    # ------------------------------------------------------------ tables
    def summary_table(self) -> T.Table:
        df = pd.concat([self._plane, self._axis, self._interp])
        return T.table(df, {"steps": ("Steps", T.integer), "smallest radius": ("Smallest radius", T.sig(3)),
                            "largest radius": ("Largest radius", T.sig(3)),
                            "share in shell": ("Steps in the shell", T.percent(0)),
                            "real below largest": ("Real latents within its largest radius", T.percent(0)),
                            "share with a face": ("Steps with a face", T.percent(0))},
                       index="Path", formats={"index": T.text})

    def region_table(self) -> T.Table:
        df = self.regions.copy()
        df.index = [REGION_WORDS[_REGION_KEY[k]] for k in df.index]
        return T.table(df, {"steps": ("Steps", T.integer), "share with a face": ("Share with a face", T.percent(0))},
                       index="Radius", formats={"index": T.text})


def path_findings(decoder, z_train, z_test, z_ref, *, cfg, rng: np.random.Generator) -> PathFindings:
    """Decode the chapter's paths and build their findings.

    Parameters
    ----------
    decoder : keras.Model
    z_train, z_test : array_like
        Training latents (the statistics) and test latents (the faces joined).
    z_ref : array_like
        The real latents that define the shell (the generation step's reference).
    cfg : Config
    rng : numpy.random.Generator
        Picks the pairs of test faces.
    """
    from ..generate import fit_latent_stats, walk_paths
    from ..sampling import interpolation_path, plane_path, principal_axis_path

    stats = fit_latent_stats(cfg, np.asarray(z_train))
    z_test = np.asarray(z_test)
    n, ext = cfg.sampling.path_steps, PathFindings.EXTENT
    i, j = (int(c) for c in np.argsort(stats.std)[::-1][:2])  # the two widest components
    far = PathFindings.FAR_FACTOR * float(np.quantile(stats.mahalanobis(z_ref), 0.95))
    lines = [plane_path(stats, (i, j), n_steps=n, extent=ext),
             plane_path(stats, (i, j), angle=np.pi / 4, n_steps=n, extent=ext)]
    axes = [principal_axis_path(stats, 0, n_steps=n, extent=ext),
            principal_axis_path(stats, 0, n_steps=n, extent=far, label="principal axis 0, far")]
    pairs = rng.choice(len(z_test), size=(PathFindings.N_INTERPOLATIONS, 2), replace=False)
    tracks = [interpolation_path(z_test[a], z_test[b], n_steps=n, label=f"test face {a} to test face {b}")
              for a, b in pairs]
    walk = lambda paths: walk_paths(decoder, stats, paths, reference_z=z_ref)  # noqa: E731
    return PathFindings.from_walks(stats, walk(lines), walk(axes), walk(tracks), widest=(i, j), far=far)
