"""The face-data chapter's sentences, tables and example images (no paths, no config keys)."""

from __future__ import annotations

import numpy as np

from .. import tables as T

__all__ = ["crop_sentence", "skipped_table", "synthetic_examples", "synthetic_sets", "sweep_samples"]


def crop_sentence(cfg) -> str:
    """How the crop box is set, in words."""
    d = cfg.data
    return (f"The crop box is a square of {T.percent(2)(d.crop_fraction)} of the image width, "
            f"centred at {T.percent(0)(d.crop_center_y)} of the height, given as fractions of the "
            "image size so that the same profile cuts the same face region from the full-size "
            f"CelebA files and from smaller copies. The square is then resized to "
            f"{d.image_size} × {d.image_size} pixels with a Lanczos filter, which suppresses the "
            "aliasing a plain subsampling would leave.")


def skipped_table(report, rows: int = 20):
    """The skipped files and why, as a table for the page (empty when none)."""
    df = report.to_frame()
    cols = list(df.columns)
    return T.table(df, {cols[0]: ("File", str), cols[1]: ("Reason", str)}, rows=rows)


def synthetic_examples(cfg, n: int = 16, law: str = "normal", *, seed: int = 0) -> np.ndarray:
    """A few faces of the package's synthetic generator, drawn now (about 0.1 s).

    Parameters
    ----------
    cfg : Config
    n : int
    law : {"normal", "uniform", "bimodal"}
        The law of the generating factors.
    seed : int
    """
    from ..data.synthetic import render_faces, sample_factors

    s = cfg.data.synthetic
    return render_faces(sample_factors(n, seed, law), render_size=s.render_size,
                        image_size=cfg.data.image_size, workers=1)


def synthetic_sets(cfg, n: int = 8, *, seed: int = 0) -> dict:
    """``{"normal": …, "uniform": …, "two-peaked": …}``: synthetic faces under each factor law."""
    return {label: synthetic_examples(cfg, n, law, seed=seed)
            for label, law in (("normal", "normal"), ("uniform", "uniform"),
                               ("two-peaked", "bimodal"))}


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(img)
    return np.asarray(im.convert("RGB").resize((size, size), Image.LANCZOS))


def sweep_samples(cfg, n: int = 8, *, rng: np.random.Generator, size: int = 64) -> dict:
    """``{data set name: n images}`` of every real data set of the sweep that is present.

    Synthetic sets are drawn with :func:`synthetic_examples`; missing sets
    are left out. Images are resized to ``size`` pixels for display.
    """
    from PIL import Image

    from ..data.folder import list_images
    from ..data.olivetti import read_olivetti
    from ..experiments import data_root

    root = data_root(cfg)
    out = {}
    for name in cfg.sweep.datasets:
        if name in ("celeba_tight", "utkface") and (root / name).exists():
            files = list_images(root / name)
            pick = rng.choice(len(files), size=min(n, len(files)), replace=False)
            out[name.replace("_", " ")] = np.stack(
                [_resize(np.asarray(Image.open(files[i][1]).convert("RGB")), size) for i in pick])
        elif name == "olivetti" and (root / "olivetti_faces.mat").exists():
            g = read_olivetti(root / "olivetti_faces.mat")
            pick = rng.choice(len(g), size=n, replace=False)
            out[name] = np.stack([_resize(g[i], size) for i in pick])
        elif name.startswith("synthetic_"):
            law = name.split("_", 1)[1]
            out[f"synthetic, {law} factors"] = synthetic_examples(cfg, n, law,
                                                                  seed=int(rng.integers(1 << 30)))
    return out
