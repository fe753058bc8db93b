"""Words computed from numbers: below, close to, above."""

import math

import pytest

from lsreport.stats.verdict import compare


@pytest.mark.parametrize(
    ("observed", "expected", "kw", "word"),
    [
        (0.93, 0.95, {"atol": 0.03}, "close to"),
        (0.91, 0.95, {"atol": 0.03}, "below"),
        (0.99, 0.95, {"atol": 0.03}, "above"),
        (2.15, 2.0, {"rtol": 0.1}, "close to"),   # |0.15| <= 0.1 * 2
        (2.3, 2.0, {"rtol": 0.1}, "above"),
        (1.0, 1.0, {}, "close to"),              # equal without tolerance
        (1.0 + 1e-9, 1.0, {}, "above"),           # no tolerance: any gap counts
    ],
)
def test_compare_follows_the_isclose_rule(observed, expected, kw, word):
    assert compare(observed, expected, **kw) == word


def test_custom_words_and_nan():
    words = ("lighter", "as heavy as", "heavier")
    assert compare(3.0, 0.0, atol=0.5, words=words) == "heavier"
    assert compare(-3.0, 0.0, atol=0.5, words=words) == "lighter"
    assert compare(0.2, 0.0, atol=0.5, words=words) == "as heavy as"
    assert compare(math.nan, 1.0) == "undefined"


def test_negative_tolerance_is_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        compare(1.0, 1.0, atol=-0.1)
