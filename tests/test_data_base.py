"""Crop boxes, colour conversion, the split and the bad-file report."""

import math

import numpy as np
import pytest
from PIL import Image

from lsreport.data import BadFileReport, assign_split, crop_box
from lsreport.data.base import crop_resize, to_rgb


def test_crop_box_celeba_full_size_is_the_140_px_square():
    # closed form: side = 0.7865 * 178 = 139.997 -> 140; centred: (178 - 140) / 2 = 19,
    # vertical centre 109 -> top 109 - 70 = 39
    assert crop_box(178, 218, 0.7865, 0.5) == (19, 39, 159, 179)


def test_crop_box_half_size_selects_the_same_region():
    left, top, right, bottom = crop_box(89, 109, 0.7865, 0.5)
    assert right - left == 70 and bottom - top == 70
    full = np.array([19, 39, 159, 179]) / [178, 218, 178, 218]
    half = np.array([left, top, right, bottom]) / [89, 109, 89, 109]
    # same place within half a pixel of the small image
    assert np.all(np.abs(full - half) <= 0.5 / 89 + 1e-12)


@pytest.mark.parametrize("w,h,frac,cy", [(178, 218, 1.0, 0.5), (300, 200, 1.0, 0.5),
                                         (100, 100, 0.3, 0.0), (100, 100, 0.3, 1.0)])
def test_crop_box_is_a_square_inside_the_image(w, h, frac, cy):
    left, top, right, bottom = crop_box(w, h, frac, cy)
    assert right - left == bottom - top == min(round(frac * w), h)
    assert 0 <= left and 0 <= top and right <= w and bottom <= h


def test_crop_box_rejects_bad_fraction():
    with pytest.raises(ValueError, match="crop_fraction"):
        crop_box(100, 100, 1.5)


def test_crop_resize_takes_the_box_only():
    # red inside the CelebA box, blue outside: the crop must be red throughout
    arr = np.zeros((218, 178, 3), np.uint8)
    arr[..., 2] = 255
    arr[39:179, 19:159] = (255, 0, 0)
    out = crop_resize(Image.fromarray(arr), crop_box(178, 218, 0.7865), 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert out[..., 0].min() >= 250 and out[..., 2].max() <= 5


@pytest.mark.parametrize("mode,value,expected", [
    ("L", 100, (100, 100, 100)),
    ("RGBA", (10, 20, 30, 0), (255, 255, 255)),      # fully transparent -> white
    ("RGBA", (10, 20, 30, 255), (10, 20, 30)),
    ("CMYK", (0, 255, 255, 0), (255, 0, 0)),          # no cyan, full magenta+yellow = red
    ("LA", (50, 255), (50, 50, 50)),
])
def test_to_rgb_converts_modes(mode, value, expected):
    img = Image.new(mode, (4, 4), value)
    out = np.asarray(to_rgb(img))
    assert out.shape == (4, 4, 3)
    assert np.all(np.abs(out.astype(int) - expected) <= 1)


def test_to_rgb_16_bit_is_scaled():
    img = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    assert np.asarray(to_rgb(img)).min() == 255


def test_split_is_group_disjoint_and_balanced(rng):
    sizes = rng.integers(1, 40, size=300)
    groups = np.repeat(np.arange(300), sizes)
    split = assign_split(groups, (0.8, 0.1, 0.1), seed=3)
    for g in range(300):
        assert len(np.unique(split[groups == g])) == 1
    n = len(groups)
    counts = np.bincount(split, minlength=3)
    # the midpoint rule misses each boundary by at most half the largest group
    assert np.all(np.abs(counts - np.array([0.8, 0.1, 0.1]) * n) <= sizes.max())


def test_split_of_singletons_hits_the_shares_and_depends_on_seed():
    a = assign_split(np.arange(1000), (0.7, 0.2, 0.1), seed=1)
    b = assign_split(np.arange(1000), (0.7, 0.2, 0.1), seed=2)
    assert np.array_equal(np.bincount(a), [700, 200, 100])
    assert not np.array_equal(a, b)
    assert np.array_equal(a, assign_split(np.arange(1000), (0.7, 0.2, 0.1), seed=1))


def test_split_allows_an_empty_share():
    s = assign_split(np.arange(50), (0.9, 0.0, 0.1), seed=0)
    assert np.bincount(s, minlength=3)[1] == 0


def test_bad_file_report_frame():
    r = BadFileReport(3, 1, (("a.jpg", "OSError: truncated"), ("b.jpg", "UnidentifiedImageError")))
    df = r.to_frame()
    assert list(df.columns) == ["file", "reason"] and len(df) == 2 == r.n_skipped
    assert BadFileReport.from_dict(r.to_dict()) == r
    assert math.isclose(len(BadFileReport(0, 0).to_frame()), 0)
