"""The identifier check itself: it must flag code names in prose and spare code elements."""

import pytest

from prose_check import identifiers_in_prose


@pytest.mark.parametrize("html, expected", [
    ("<main><p>The untrained encoder has a d2_var_ratio of 25.13.</p></main>", ["d2_var_ratio"]),
    ("<main><p>Set LSREPORT_CELEBA first.</p></main>", ["LSREPORT_CELEBA"]),
    ("<main><p>(data.crop_fraction = 0.79)</p></main>", ["data.crop_fraction"]),
    ("<main><p>with `leaky_relu` activations</p></main>", ["leaky_relu", "`", "`"]),
    ("<main><p>Set <code>LSREPORT_CELEBA</code>; see <code>d2_var_ratio</code>.</p>"
     "<pre>x = a_b</pre><div class='sourceCode'>c_d</div></main>", []),
    ("<main><p>on x86_64 with 2 cores</p></main>", []),
    ("<main><p>var(d²) is 27 times 2D; t-like with ν ≈ 14; files like 000001.jpg.</p></main>", []),
    ("<main><p>see <a href='x_y.html'>the chapter</a>, path celeba/img_align_celeba</p></main>", []),
])
def test_identifiers_in_prose(html, expected):
    assert identifiers_in_prose(html) == expected
