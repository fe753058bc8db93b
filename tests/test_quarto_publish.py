"""The publish path: the GitHub workflow, the Makefile and .ci/run call what they should.

The workflow cannot run here, so its YAML is parsed and its steps checked:
Python and Quarto (with TeX) are set up, ``make book`` builds the default
profile on synthetic faces, and ``_book`` goes to GitHub Pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def workflow() -> dict:
    return yaml.safe_load((ROOT / ".github/workflows/publish.yml").read_text(encoding="utf-8"))


def steps(job: dict) -> list[dict]:
    return job["steps"]


def test_publish_workflow_builds_the_default_book_and_deploys_pages():
    wf = workflow()
    on = wf.get("on", wf.get(True))                  # YAML 1.1 reads a bare `on` as True
    assert "push" in on and "workflow_dispatch" in on
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    uses = [s.get("uses", "").split("@")[0] for s in steps(build)]
    for action in ("actions/checkout", "actions/setup-python", "quarto-dev/quarto-actions/setup",
                   "actions/upload-pages-artifact"):
        assert action in uses, action
    assert uses.index("actions/checkout") < uses.index("actions/setup-python") \
        < uses.index("actions/upload-pages-artifact")
    quarto = next(s for s in steps(build) if s.get("uses", "").startswith("quarto-dev/"))
    assert quarto["with"]["tinytex"] is True         # the PDF needs TeX
    runs = [s["run"] for s in steps(build) if "run" in s]
    make = [r for r in runs if re.search(r"\bmake book\b", r)]
    assert make and "PROFILE=default" in make[0]
    assert uses.index("quarto-dev/quarto-actions/setup") < [
        i for i, s in enumerate(steps(build)) if "make book" in s.get("run", "")][0]
    assert build["env"]["PROFILE"] == "default" and build["env"]["LSREPORT_CELEBA"] == ""
    upload = next(s for s in steps(build) if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_book"
    assert deploy["needs"] == "build"
    assert [s["uses"].split("@")[0] for s in steps(deploy)] == ["actions/deploy-pages"]


def test_make_book_runs_the_pipeline_then_quarto_and_make_pdf_insists():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    rules = dict(re.findall(r"^([\w-]+):[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M))
    deps = dict(re.findall(r"^([\w-]+):([^\n]*)$", text, re.M))
    assert "pipeline" in deps["book"] and "lsreport run --upto sweep" in rules["pipeline"]
    assert "lsreport render" in rules["book"] and "--install-quarto" in rules["book"]
    assert "--to all" in rules["pdf"] and "--to" not in rules["book"]
    assert "quarto preview" in rules["preview"]


def test_quarto_yml_runs_the_pipeline_before_rendering():
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    pre = cfg["project"]["pre-render"]
    pre = [pre] if isinstance(pre, str) else pre
    assert pre == ["scripts/prerender.py"] and (ROOT / pre[0]).exists()
    assert cfg["execute"]["freeze"] == "auto"
    assert set(cfg["format"]) >= {"html", "pdf"}
    header = "".join(h["text"] for h in cfg["format"]["pdf"]["include-in-header"])
    assert r"\usepackage{multirow}" in header        # pandas MultiIndex tables in LaTeX


def test_ci_installs_quarto_with_tex_before_the_tests():
    text = (ROOT / ".ci/run").read_text(encoding="utf-8")
    install = text.index("../shared/tools/quarto/install.sh --pdf")
    assert install < text.index("make test")
    assert "chromium-driver" in text and "poppler-utils" in text


def test_environment_yml_is_a_conda_forge_env_with_every_dependency():
    import tomllib

    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    norm = lambda s: re.split(r"[<>=!~ \[]", s.strip().strip('"'), maxsplit=1)[0].lower() \
        .replace("_", "-")
    conda = {norm(d) for d in deps if isinstance(d, str)} | {norm(p) for p in pip}
    conda |= {"matplotlib"} if "matplotlib-base" in conda else set()
    assert {"python", "quarto", "tensorflow", "keras", "numpy", "scipy"} <= conda
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    missing = sorted({norm(w) for w in wanted} - conda)
    assert missing == [], f"pyproject.toml needs, environment.yml lacks: {missing}"
    assert any(p.startswith("-e") for p in pip)
