"""Each chapter's derived numbers and verdicts, tested against known truth.

One module per chapter; each holds a frozen findings class whose rules are
named class constants (with the reason for their value) and a function that
builds it from cached pipeline results. A chapter calls :func:`load` in its
hidden setup cell and reads attributes in its prose:

================  ==============================================  =========
module            findings                                        chapter
================  ==============================================  =========
``components``    :class:`~.components.ComponentFindings`          3
``pairs``         :class:`~.pairs.PairFindings`                    4
``cloud``         :class:`~.cloud.CloudFindings`                   5
``generation``    :class:`~.generation.GenerationFindings`         6
``paths``         :class:`~.paths.PathFindings`                    7
``preface``       :class:`~.preface.PrefaceFindings`               preface
================  ==============================================  =========
"""

from __future__ import annotations

__all__ = ["load", "CHAPTERS"]

#: The findings :func:`load` can build, by name.
CHAPTERS = ("components", "pairs", "cloud", "generation", "paths")


def load(name: str):
    """Build one chapter's findings from the cached results (never trains).

    Parameters
    ----------
    name : {"components", "pairs", "cloud", "generation", "paths"}

    Returns
    -------
    The chapter's findings object.
    """
    from .. import book

    if name not in CHAPTERS:
        raise ValueError(f"unknown findings {name!r}; choose one of {', '.join(CHAPTERS)}")
    ctx = book.context()
    if name == "components":
        from .components import component_findings

        return component_findings(book.load("analysis"), book.load("latents").split_z("train"))
    if name == "pairs":
        from .pairs import pair_findings

        return pair_findings(book.load("analysis"), book.load("latents").split_z("train"), rng=ctx.rng(4))
    if name == "cloud":
        from .cloud import cloud_findings

        return cloud_findings(book.load("analysis"), book.load("latents").split_z("train"),
                              cfg=ctx.cfg, rng=ctx.rng(5))
    if name == "generation":
        from .generation import generation_findings

        return generation_findings(book.load("generation"), book.load("latents").split_z("train"),
                                   cfg=ctx.cfg)
    from .paths import path_findings

    lat = book.load("latents")
    return path_findings(book.load("model").decoder, lat.split_z("train"), lat.split_z("test"),
                         book.load("generation").reference_z, cfg=ctx.cfg, rng=ctx.rng(7))
