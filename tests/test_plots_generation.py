"""Drawing of generated faces and radii: colours that stay with a sampler, thumbnails without grid lines."""

import matplotlib.pyplot as plt
import numpy as np

from lsreport import plots
from lsreport.plots import generation as pg


def test_sampler_colors_are_fixed_per_label_and_family():
    a = pg.sampler_colors(["cube b=0.5", "cube b=2", "normal x1", "GMM"])
    b = pg.sampler_colors(["cube b=0.5", "cube b=2", "normal x1", "GMM"])
    assert a == b and len(set(a.values())) == 4
    assert a["cube b=0.5"] in pg._SAMPLER_PALETTES["cube"]
    assert a["normal x1"] in pg._SAMPLER_PALETTES["normal"]


def test_radius_panels_give_a_sampler_the_same_colour(rng):
    fig, (top, bottom) = plt.subplots(2, 1)
    r = {"cube b=0.5": rng.chisquare(8, 200) ** 0.5, "normal x1": rng.chisquare(8, 200) ** 0.5}
    ref = rng.chisquare(8, 300) ** 0.5
    pg.plot_radius_distributions(r, ref, ax=top)
    pg.plot_radius_distributions({"normal x1": r["normal x1"]}, ref, ax=bottom)
    col = {p.get_label(): p.get_edgecolor() for ax in (top, bottom) for p in ax.patches
           if p.get_label() == "normal x1"}
    top_c = [p.get_edgecolor() for p in top.patches if p.get_label() == "normal x1"][0]
    bot_c = [p.get_edgecolor() for p in bottom.patches if p.get_label() == "normal x1"][0]
    assert np.allclose(top_c, bot_c) and col
    assert "log10" not in top.get_ylabel()
    plt.close(fig)


def test_thumbnails_have_no_grid_lines(rng):
    plt.rcParams["axes.grid"] = True
    imgs = rng.integers(0, 255, size=(4, 8, 8, 3), dtype=np.uint8)
    fig, axes = plt.subplots(3, 1)
    pg.plot_path_strip(imgs, np.arange(4.0), ax=axes[0])
    plots.plot_reconstructions(imgs, imgs, ax=axes[1], n=4)
    pg.plot_image_grid(imgs, ax=axes[2])
    for ax in axes:
        assert not any(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())
    plt.close(fig)
    plt.rcParams["axes.grid"] = False


def test_face_sets_one_row_each_and_column_width(rng):
    fig = plt.figure()
    sets = {"a": rng.integers(0, 255, (8, 8, 8, 3), dtype=np.uint8),
            "b": rng.integers(0, 255, (8, 8, 8), dtype=np.uint8)}
    axes = plots.plot_face_sets(sets)
    assert [ax.get_ylabel() for ax in axes] == ["a", "b"]
    assert fig.get_size_inches()[0] == 7.0
    plt.close(fig)
