"""Words for the text, computed from the numbers they describe.

A chapter must not type "close to normal" or "heavier tails" as a fact when
the next build could say otherwise. :func:`compare` turns a measured value
and its reference into one of three words with an explicit tolerance, so the
sentence around it stays true on every profile.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compare"]


def compare(
    observed: float,
    expected: float,
    *,
    rtol: float = 0.0,
    atol: float = 0.0,
    words: tuple[str, str, str] = ("below", "close to", "above"),
) -> str:
    """Say whether ``observed`` lies below, close to or above ``expected``.

    Parameters
    ----------
    observed, expected : float
        The measured value and its reference (e.g. a pass share and
        ``1 - alpha``, or ``var(d²)`` and ``2 d``).
    rtol, atol : float
        "Close" means ``|observed - expected| <= atol + rtol * |expected|``
        (the rule of :func:`numpy.isclose`); state the tolerance in the text.
    words : (str, str, str)
        The words for below, close and above.

    Returns
    -------
    str
        One of ``words``; ``"undefined"`` if either value is NaN.

    Examples
    --------
    >>> compare(0.93, 0.95, atol=0.03)
    'close to'
    >>> compare(3.1, 1.0, rtol=0.1, words=("lighter", "about as heavy as", "heavier"))
    'heavier'
    """
    if rtol < 0 or atol < 0:
        raise ValueError(f"tolerances must be non-negative; got rtol={rtol!r}, atol={atol!r}.")
    o, e = float(observed), float(expected)
    if np.isnan(o) or np.isnan(e):
        return "undefined"
    if abs(o - e) <= atol + rtol * abs(e):
        return words[1]
    return words[2] if o > e else words[0]
