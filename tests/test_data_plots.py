"""Plots of the face data (lsreport.plots.data): they draw what they are given."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from lsreport.data import BadFileReport, FaceData
from lsreport.plots import (
    plot_crop_box,
    plot_face_grid,
    plot_factor_distributions,
    plot_split_sizes,
)


def test_face_grid_tiles_images(rng):
    imgs = rng.integers(0, 256, (10, 8, 6, 3), dtype=np.uint8)
    fig, ax = plt.subplots()
    out = plot_face_grid(imgs, ax=ax, ncols=4, labels=[str(i) for i in range(10)], pad=1)
    assert out is ax
    grid = ax.get_images()[0].get_array()
    assert grid.shape == (3 * 9 + 1, 4 * 7 + 1, 3)          # 3 rows x 4 columns + padding
    np.testing.assert_array_equal(grid[1:9, 1:7], imgs[0])
    np.testing.assert_array_equal(grid[10:18, 8:14], imgs[5])  # row 1, column 1
    assert [t.get_text() for t in ax.texts] == [str(i) for i in range(10)]


def test_face_grid_takes_floats_and_the_current_axes(rng):
    imgs = rng.random((3, 4, 4, 3))
    ax = plot_face_grid(imgs, ncols=8)
    assert ax is plt.gca()
    assert ax.get_images()[0].get_array().dtype == np.uint8


def test_crop_box_draws_the_rectangle(rng):
    img = rng.integers(0, 256, (109, 89, 3), dtype=np.uint8)
    ax = plot_crop_box(img, (10, 20, 80, 90))
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rects) == 1
    assert rects[0].get_width() == 70 and rects[0].get_height() == 70
    assert rects[0].get_xy() == (9.5, 19.5)


def _face_data(split):
    n = len(split)
    return FaceData(images=np.zeros((n, 4, 4, 3), np.uint8), ids=np.arange(n).astype(str),
                    split=np.asarray(split, np.int8), source="synthetic", description="",
                    report=BadFileReport(n, n), factors=None,
                    identities=np.arange(n) // 2, key="k")


def test_split_sizes_bars_match_counts():
    fd = _face_data([0] * 8 + [1] * 3 + [2] * 2)
    ax = plot_split_sizes(fd)
    assert [b.get_height() for b in ax.patches] == [8, 3, 2]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["train", "validation", "test"]
    assert "7 people" in ax.get_title()
    assert fd.split_sizes() == {"train": 8, "validation": 3, "test": 2}
    assert fd.split_images("validation").shape[0] == 3


def test_factor_distributions_one_panel_per_factor(rng):
    df = pd.DataFrame(rng.standard_normal((500, 5)), columns=list("abcde"))
    axes = plot_factor_distributions(df, laws={c: "normal" for c in df})
    assert len(axes) == 5
    assert [a.get_title() for a in axes] == list("abcde")
    assert all(len(a.lines) == 1 for a in axes)
    fig, given = plt.subplots(2, 3)
    out = plot_factor_distributions(df, axes=given)
    assert out[0] is given[0, 0] and len(out[0].lines) == 0
