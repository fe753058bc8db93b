"""Tables for people: formats written out by hand, HTML/Markdown without the index."""

import numpy as np
import pandas as pd
import pytest

from lsreport import tables as T


@pytest.mark.parametrize("x, digits, expected", [
    (12345.6, 3, "12,346"), (0.012345, 3, "0.0123"), (-1.5, 3, "−1.50"), (0.9996, 3, "1.00"),
    (9.996, 3, "10.0"), (0.0, 3, "0"), (123.456, 2, "123"), (1.0e-4, 2, "0.00010"), (1.23e-70, 2, "1.2 × 10⁻⁷⁰"),
    (-3.0e-6, 3, "−3.00 × 10⁻⁶"),
    (np.nan, 3, "–"), (None, 3, "–"), (2.5, 1, "2"),
])
def test_sig(x, digits, expected):
    assert T.sig(digits)(x) == expected


@pytest.mark.parametrize("p, expected", [
    (0.0, "< 0.001"), (0.000999, "< 0.001"), (0.001, "0.0010"), (0.0123, "0.012"),
    (0.5, "0.50"), (0.987, "0.99"), (np.nan, "–"),
])
def test_pvalue(p, expected):
    assert T.pvalue(p) == expected


def test_integer_percent_interval_dec():
    assert T.integer(202599) == "202,599"
    assert T.integer(-1234.0) == "−1,234"
    assert T.percent(1)(0.9312) == "93.1 %"
    assert T.percent(0)(0.02) == "2 %"
    assert T.interval(3)(27.05, 25.1, 29.3) == "27.1 [25.1, 29.3]"
    assert T.interval(2)(-0.0123, -0.02, 0.001) == "−0.012 [−0.020, 0.001]"
    assert T.dec(2)(-0.001) == "0.00"
    assert T.shape((None, 16, 16, 32)) == "16 × 16 × 32"


def test_table_drops_index_and_formats_by_dtype():
    df = pd.DataFrame({"n_images": [15723, 400], "d2_var_ratio": [27.0512, 1.0],
                       "done": [True, False], "dataset": ["celeba_tight", "olivetti"]},
                      index=pd.Index([5, 7], name="component"))
    t = T.table(df, {"dataset": "Data set", "n_images": "Images", "d2_var_ratio": "Variance ratio",
                     "done": "Ran"})
    assert t.header == ("Data set", "Images", "Variance ratio", "Ran")
    assert t.rows == (("celeba tight", "15,723", "27.1", "yes"), ("olivetti", "400", "1.00", "no"))
    page = t._repr_html_()
    # neither the index name nor the row labels reach the page
    assert "component" not in page and ">5<" not in page and ">7<" not in page
    assert page.count("<tr>") == 3
    assert 'style="text-align: right;">15,723' in page
    md = t._repr_markdown_().splitlines()
    assert md[0] == "| Data set | Images | Variance ratio | Ran |"
    assert md[1] == "| :--- | ---: | ---: | ---: |"
    assert len(md) == 4


def test_table_index_column_tuple_keys_and_rows():
    df = pd.DataFrame({"est": [1.2345, 2.0], "lo": [1.1, 1.5], "hi": [1.4, 2.5]},
                      index=["PC 1", "PC 2"])
    t = T.table(df, {("est", "lo", "hi"): ("Estimate [95 % interval]", T.interval(3))},
                index="Component", rows=1)
    assert t.to_frame().to_dict("list") == {"Component": ["PC 1"],
                                            "Estimate [95 % interval]": ["1.23 [1.10, 1.40]"]}
    with pytest.raises(ValueError):
        T.table(df, {("est", "lo"): "no formatter"})
    with pytest.raises(KeyError, match="est, lo, hi"):
        T.table(df, {"missing": "X"})


def test_default_headers_are_words_and_escaped():
    df = pd.DataFrame({"ad_p": [0.5], "a|b": ["x<y"]})
    t = T.table(df)
    assert t.header == ("Ad p", "A|b")
    assert "x&lt;y" in t._repr_html_()
    assert "A\\|b" in t._repr_markdown_()


@pytest.mark.slow
def test_layers_kernel_stride_and_parameters(smoke_cfg=None):
    from lsreport.config import load_config
    from lsreport.model import build_encoder

    enc = build_encoder(load_config("smoke"))
    t = T.layers(enc).to_frame()
    convs = t[t["Layer"] == "Convolution"]
    assert len(convs) == len(load_config("smoke").model.filters)
    assert set(convs["Stride"]) == {"2"} and all("×" in k for k in convs["Kernel"])
    total = sum(int(p.replace(",", "")) for p in t["Parameters"])
    assert total == enc.count_params()
    assert t["Layer"].iloc[0] == "Input"
