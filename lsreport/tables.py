"""Tables for people: headers in words, numbers formatted for reading.

Every table of the book goes through :func:`table`: it takes a pandas
DataFrame, the columns to show with their headers in words, and how to write
each column's numbers, and returns a :class:`Table` that renders as an HTML
table in the HTML book (no index column, no index-name row, no row numbers,
numbers right-aligned) and as a Markdown pipe table in the PDF.

One style for every table:

- numbers to a few significant digits with thousands separators
  (:func:`sig`), integers with thousands separators (:func:`integer`);
- p-values to two significant digits, ``"< 0.001"`` below 0.001
  (:func:`pvalue`);
- shares as percentages (:func:`percent`);
- an estimate with an interval as ``"1.23 [1.10, 1.36]"`` (:func:`interval`);
- the typographic minus sign; a missing value as an en dash.

The formatting is written here rather than taken from pandas' ``Styler``
because the Styler's HTML keeps the index unless told otherwise, has no
significant-digit format and renders no Markdown for the PDF.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"lilliefors_p": [0.0001, 0.2], "n": [12000, 3]})
>>> t = table(df, {"lilliefors_p": ("Lilliefors p", pvalue), "n": "Images"})
>>> t.to_frame()
  Lilliefors p  Images
0      < 0.001  12,000
1         0.20       3
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "Table",
    "table",
    "sig",
    "dec",
    "integer",
    "pvalue",
    "percent",
    "interval",
    "text",
    "yesno",
    "shape",
    "layers",
    "MISSING",
    "MINUS",
]

#: What a missing value (None, NaN) is written as.
MISSING = "–"
#: The typographic minus sign used for negative numbers.
MINUS = "−"

Formatter = Callable[..., str]


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _minus(s: str) -> str:
    return s.replace("-", MINUS) if s.startswith("-") else s


def _sig_str(x: float, digits: int) -> str:
    """x to ``digits`` significant digits, thousands separated, no exponent."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return "∞" if x > 0 else f"{MINUS}∞"
    mag = math.floor(math.log10(abs(x)))
    if mag < -4:  # 0.0000123: scientific, as a reader writes it
        m = f"{x / 10 ** mag:.{max(digits - 1, 0)}f}"
        sup = str(mag).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return _minus(f"{m} × 10{sup}")
    decimals = max(digits - 1 - mag, 0)
    r = round(x, decimals)
    # rounding can carry into the next power of ten (9.996 -> 10.0)
    if r != 0 and math.floor(math.log10(abs(r))) > mag:
        decimals = max(decimals - 1, 0)
        r = round(x, decimals)
    return _minus(f"{r:,.{decimals}f}")


def sig(digits: int = 3) -> Formatter:
    """Format numbers to ``digits`` significant digits (never fewer than the integer part).

    >>> f = sig(3)
    >>> f(12345.6), f(0.012345), f(-1.5), f(0.9996)
    ('12,346', '0.0123', '−1.50', '1.00')
    """

    def fmt(x) -> str:
        if _missing(x):
            return MISSING
        return _sig_str(float(x), digits)

    fmt.__name__ = f"sig{digits}"
    return fmt


def dec(decimals: int = 2) -> Formatter:
    """Format numbers to a fixed number of decimals, thousands separated.

    >>> dec(1)(1234.56), dec(0)(-3.4)
    ('1,234.6', '−3')
    """

    def fmt(x) -> str:
        if _missing(x):
            return MISSING
        s = f"{float(x):,.{decimals}f}"
        if float(s.replace(",", "")) == 0:
            s = s.lstrip("-")
        return _minus(s)

    fmt.__name__ = f"dec{decimals}"
    return fmt


def integer(x) -> str:
    """An integer with thousands separators.

    >>> integer(202599), integer(3.0)
    ('202,599', '3')
    """
    if _missing(x):
        return MISSING
    return _minus(f"{int(round(float(x))):,d}")


def pvalue(p, *, floor: float = 0.001) -> str:
    """A p-value: two significant digits, ``"< 0.001"`` below ``floor``.

    >>> pvalue(0.0004), pvalue(0.0123), pvalue(0.5), pvalue(1.0)
    ('< 0.001', '0.012', '0.50', '1.0')
    """
    if _missing(p):
        return MISSING
    p = float(p)
    if p < floor:
        return f"< {floor:g}"
    return _sig_str(p, 2)


def percent(decimals: int = 1) -> Formatter:
    """A share (0–1) as a percentage, a space before the sign.

    A plain space, not a no-break one: Quarto shows an inline expression's
    string through its ``repr``, which would print a no-break space as
    ``\\xa0`` in the prose.

    >>> percent(1)(0.9312), percent(0)(0.05)
    ('93.1 %', '5 %')
    """

    def fmt(x) -> str:
        if _missing(x):
            return MISSING
        return _minus(f"{100 * float(x):,.{decimals}f}") + " %"

    fmt.__name__ = f"percent{decimals}"
    return fmt


def interval(digits: int = 3) -> Formatter:
    """An estimate with its interval, ``"est [lo, hi]"``; takes three values.

    Use it with a tuple of three column names as the key in :func:`table`.

    >>> interval(3)(1.2345, 1.1, 1.36)
    '1.23 [1.10, 1.36]'
    """
    s = sig(digits)

    def fmt(est, lo, hi) -> str:
        if _missing(est):
            return MISSING
        # one number of decimals for all three, set by the estimate
        e = s(est)
        decimals = len(e.split(".")[1]) if "." in e else 0
        d = dec(decimals)
        return f"{e} [{d(lo)}, {d(hi)}]"

    fmt.__name__ = f"interval{digits}"
    return fmt


def text(x) -> str:
    """A value as text (underscores become spaces)."""
    if _missing(x):
        return MISSING
    return str(x).replace("_", " ")


def yesno(x) -> str:
    """A boolean as ``"yes"``/``"no"``."""
    if _missing(x):
        return MISSING
    return "yes" if bool(x) else "no"


def shape(x) -> str:
    """A tensor shape without the batch axis: ``(None, 16, 16, 32)`` -> ``"16 × 16 × 32"``."""
    if _missing(x) if not isinstance(x, (tuple, list)) else False:
        return MISSING
    dims = [d for d in tuple(x) if d is not None]
    return " × ".join(f"{int(d):,d}" for d in dims) or MISSING


def _default(series: pd.Series) -> Formatter:
    if pd.api.types.is_bool_dtype(series):
        return yesno
    if pd.api.types.is_integer_dtype(series):
        return integer
    if pd.api.types.is_float_dtype(series):
        vals = series.dropna().to_numpy()
        if vals.size and np.all(np.isclose(vals, np.round(vals))) and np.all(np.abs(vals) < 1e15):
            return integer
        return sig(3)
    return text


def _words(key) -> str:
    s = str(key).replace("_", " ").strip()
    return s[:1].upper() + s[1:]


@dataclass(frozen=True)
class Table:
    """A formatted table: headers and cells as text.

    Attributes
    ----------
    header : tuple of str
    rows : tuple of tuple of str
    align : tuple of str
        ``"left"`` or ``"right"`` per column.
    """

    header: tuple
    rows: tuple
    align: tuple

    def to_frame(self) -> pd.DataFrame:
        """The cells as a DataFrame of strings (for tests and further use)."""
        return pd.DataFrame(list(self.rows), columns=list(self.header))

    def _repr_html_(self) -> str:
        def cell(tag, value, al):
            return f'<{tag} style="text-align: {al};">{html.escape(value)}</{tag}>'

        head = "".join(cell("th", h, a) for h, a in zip(self.header, self.align))
        body = "".join("<tr>" + "".join(cell("td", v, a) for v, a in zip(r, self.align)) + "</tr>"
                       for r in self.rows)
        return (f'<table class="table table-sm lsr-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    def _repr_markdown_(self, widths=None) -> str:
        def esc(s):
            return s.replace("|", "\\|")

        # pandoc sets relative column widths from the dashes of the rule line
        # (when a line is longer than 72 characters), so widths are dashes
        dashes = [max(3, int(round(w))) for w in widths] if widths else [3] * len(self.align)
        rule = ["-" * n + ":" if a == "right" else ":" + "-" * n
                for n, a in zip(dashes, self.align)]
        lines = ["| " + " | ".join(map(esc, self.header)) + " |", "| " + " | ".join(rule) + " |"]
        lines += ["| " + " | ".join(map(esc, r)) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"

    def to_markdown(self, caption: str | None = None, label: str | None = None,
                    widths=None) -> str:
        """A pipe table, with a Quarto caption line ``: caption {#tbl-…}`` when given.

        Print it from a cell with ``#| output: asis``: cross-references such
        as ``@sec-…`` in its cells then resolve. ``widths`` (relative, one per
        column, e.g. percentages) set the column widths of a long table.
        """
        out = self._repr_markdown_(widths)
        if caption:
            out += f"\n: {caption}" + (f" {{#{label}}}" if label else "") + "\n"
        return out

    def __repr__(self) -> str:
        return self.to_frame().to_string(index=False)


def table(frame: pd.DataFrame, columns: Mapping | Sequence | None = None, *,
          index: str | None = None, formats: Mapping[str, Formatter] | None = None,
          rows: int | None = None) -> Table:
    """Format a DataFrame for the page.

    Parameters
    ----------
    frame : DataFrame
    columns : mapping or sequence, optional
        The columns to show, in order. A mapping ``key -> header`` or
        ``key -> (header, formatter)``; a key may be a tuple of column names
        whose values are all passed to the formatter (e.g. :func:`interval`).
        A sequence of keys uses their names in words as headers. Default:
        every column.
    index : str, optional
        Show the frame's index as the first column under this header. By
        default the index (row numbers or names) is not shown.
    formats : mapping, optional
        Formatters by column key, for columns given without one. Columns
        without any use a default by dtype: integers (also floats holding
        whole numbers) with thousands separators, other floats to three
        significant digits, booleans as yes/no, the rest as text.
    rows : int, optional
        Show only the first ``rows`` rows.

    Returns
    -------
    Table

    Examples
    --------
    >>> df = pd.DataFrame({"est": [1.2345], "lo": [1.1], "hi": [1.4]}, index=["a"])
    >>> table(df, {("est", "lo", "hi"): ("Estimate [95 % interval]", interval(3))},
    ...       index="Item").to_frame()
      Item Estimate [95 % interval]
    0    a        1.23 [1.10, 1.40]
    """
    formats = dict(formats or {})
    if rows is not None:
        frame = frame.head(rows)
    if columns is None:
        columns = list(frame.columns)
    if not isinstance(columns, Mapping):
        columns = {c: _words(c) for c in columns}
    header, cols, align = [], [], []
    if index is not None:
        idx = pd.Series(frame.index, index=frame.index)
        f = formats.get("index") or _default(idx)
        header.append(index)
        cols.append([f(v) for v in idx])
        align.append("left" if f is text else "right")
    for key, spec in columns.items():
        name, fmt = (spec, None) if isinstance(spec, str) else spec
        if isinstance(key, tuple):
            if fmt is None:
                raise ValueError(f"columns {key} need a formatter taking {len(key)} values")
            vals = [fmt(*r) for r in frame[list(key)].itertuples(index=False, name=None)]
        else:
            if key not in frame.columns:
                raise KeyError(f"no column {key!r}; the frame has {', '.join(map(str, frame.columns))}")
            fmt = fmt or formats.get(key) or _default(frame[key])
            vals = [fmt(v) for v in frame[key]]
        header.append(name)
        cols.append(vals)
        align.append("left" if fmt in (text, shape) or fmt is str else "right")
    body = tuple(zip(*cols)) if cols else ()
    return Table(tuple(header), tuple(tuple(r) for r in body), tuple(align))


def layers(model) -> Table:
    """The layer table of a Keras model: type, kernel, stride, activation, output, parameters.

    Parameters
    ----------
    model : keras.Model
        The encoder or the decoder (nested models are walked).

    Returns
    -------
    Table
        One row per layer (the input layer included), with the kernel size
        and strides of convolutions (``"4 × 4"``, ``"2"``) and an en dash for
        layers that have none; the parameter counts add up to
        ``model.count_params()``.
    """
    import keras

    names = {"Conv2D": "Convolution", "Conv2DTranspose": "Transposed convolution",
             "Dense": "Dense", "Flatten": "Flatten", "Reshape": "Reshape",
             "BatchNormalization": "Batch normalisation", "InputLayer": "Input",
             "Activation": "Activation", "LeakyReLU": "Leaky ReLU", "ReLU": "ReLU"}
    out = []

    def walk(m, top):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer, False)
                continue
            if isinstance(layer, keras.layers.InputLayer) and not top:
                continue
            kind = type(layer).__name__
            k = getattr(layer, "kernel_size", None)
            s = getattr(layer, "strides", None)
            act = getattr(layer, "activation", None)
            act = getattr(act, "__name__", None) if act is not None else None
            try:
                shp = tuple(layer.output.shape)
            except (AttributeError, ValueError):
                shp = ()
            out.append({
                "layer": names.get(kind, kind),
                "kernel": " × ".join(map(str, k)) if k else MISSING,
                "stride": (str(s[0]) if len(set(s)) == 1 else " × ".join(map(str, s))) if s else MISSING,
                "activation": {None: MISSING, "linear": "linear", "leaky_relu": "leaky ReLU",
                               "relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh"}.get(act, act or MISSING),
                "output": shp,
                "parameters": int(layer.count_params()),
            })

    walk(model, True)
    df = pd.DataFrame(out)
    return table(df, {"layer": ("Layer", text), "kernel": ("Kernel", str), "stride": ("Stride", str),
                      "activation": ("Activation", str), "output": ("Output", shape),
                      "parameters": ("Parameters", integer)})
