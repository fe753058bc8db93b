"""Chapter 7's findings on walks of known radii and detections."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lsreport.findings.paths import PathFindings
from lsreport.generate import PathWalk
from lsreport.sampling import LatentPath, LatentStats

D = 4


def walk(radii, detected, params=None, ref=None):
    radii = [np.asarray(r, float) for r in radii]
    params = params or [np.linspace(-3, 3, len(r)) for r in radii]
    paths = tuple(LatentPath(points=np.zeros((len(r), D), np.float32), params=np.asarray(p, float), label=f"p{k}")
                  for k, (r, p) in enumerate(zip(radii, params)))
    ref = np.linspace(1.0, 3.0, 101) if ref is None else ref  # shell: 1.1 to 2.9
    return PathWalk(paths=paths, images=tuple(np.zeros((len(r), 2, 2, 3), np.uint8) for r in radii),
                    radii=tuple(radii), detected=tuple(np.asarray(d, bool) for d in detected),
                    reference_radii=ref)


@pytest.fixture
def found():
    rng = np.random.default_rng(0)
    stats = LatentStats.fit(rng.normal(size=(5000, D)) * [2.0, 1.5, 1.0, 0.5])
    plane = walk([[3, 1, 0, 1, 3], [2, 0.5, 0, 0.5, 2]], [[0, 1, 1, 1, 0], [1, 1, 0, 1, 1]])
    axis = walk([[3, 1.5, 0, 1.5, 3], [6, 3, 0, 3, 6]], [[0, 1, 0, 1, 0], [0, 1, 1, 1, 1]],
                params=[np.array([-3, -1.5, 0, 1.5, 3.0]), np.array([-6, -3, 0, 3, 6.0])])
    interp = walk([[2.0, 1.6, 1.4, 1.6, 2.0], [2.4, 2.0, 1.8, 2.0, 2.0]], [[1] * 5, [1, 1, 0, 1, 1]])
    return PathFindings.from_walks(stats, plane, axis, interp, widest=(0, 1), far=4.35)


def test_shell_and_regions(found):
    f = found
    assert f.shell == pytest.approx((1.1, 2.9))
    r = f.regions
    assert r["steps"].tolist() == [8, 14, 8]  # nearer the centre, in the shell, beyond (radius > 2.9)
    assert f.n_steps == 30
    assert f.regions_sentence == ("75% of the 8 steps nearer the centre than the shell, 93% of the 14 steps "
                                  "in the shell, 38% of the 8 steps beyond the shell")
    assert f.region_table().to_frame()["Radius"].tolist() == [
        "nearer the centre than the shell", "in the shell", "beyond the shell"]


def test_centre_and_long_line(found):
    assert found.centre_words == "finds"  # step of smallest radius on the first line
    # the long axis line: faces at |t| 0, 3, 6 -> outermost at 6, beyond the shell (2.9)
    assert found.long_sentence == "80% of its steps show a face, the outermost at radius 6.0, beyond the shell"
    none = dataclasses.replace(found, axis=walk([[3, 0, 3], [6, 0, 6]], [[0, 0, 0], [0, 0, 0]]))
    assert none.long_sentence == "none of its steps shows a face"
    inner = dataclasses.replace(found, axis=walk([[3, 0, 3], [6, 0, 6]], [[0, 0, 0], [0, 1, 0]],
                                                 params=[np.array([-3, 0, 3.0]), np.array([-6, 0.5, 6.0])]))
    assert inner.long_sentence.endswith("radius 0.5, nearer the centre than the shell")


def test_interpolation_dips(found):
    # smallest radius over the mean of the two ends: 1.4/2.0 and 1.8/2.2
    assert found.dips == pytest.approx([0.7, 1.8 / 2.2])
    assert found.dips_text == "0.70, 0.82"
    assert found.end_min == 2.0 and found.end_max == 2.4


def test_radius_per_sigma_of_independent_components(found):
    # uncorrelated components: moving one of them moves the radius by exactly 1 per s.d.
    assert found.per_sigma == pytest.approx(1.0, abs=0.02)
    assert found.r_squared_i == pytest.approx(0.0, abs=0.04)
    assert found.leave_shell_t == pytest.approx(2.9, rel=0.03)


def test_counts_beyond_and_in_the_shell(found):
    assert found.plane_beyond_steps == 2 and found.plane_beyond_text == "0%"  # radius 3: no face
    assert found.axis_in_shell_steps == 2 and found.axis_in_shell_text == "100%"


def test_summary_table_is_for_people(found):
    t = found.summary_table().to_frame()
    assert t.columns[0] == "Path" and len(t) == 6 and not any("_" in c for c in t.columns)


def test_long_line_outermost_face_in_the_shell(found):
    mid = dataclasses.replace(found, axis=walk([[3, 0, 3], [6, 0, 6]], [[0, 0, 0], [1, 0, 0]],
                                               params=[np.array([-3, 0, 3.0]), np.array([-2, 0, 6.0])]))
    assert mid.long_sentence.endswith("radius 2.0, in the shell")
