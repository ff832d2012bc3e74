"""The public surface and the one-direction layering of DESIGN.md."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lsq_analysis


def test_every_public_name_resolves() -> None:
    for name in lsq_analysis.__all__:
        assert getattr(lsq_analysis, name) is not None, name
    assert lsq_analysis.__version__ != "0.0.0"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = lsq_analysis.nope


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        ("import lsq_analysis.frames", {"plotly", "ipywidgets", "requests"}),
        ("import lsq_analysis.analysis", {"plotly", "ipywidgets", "requests"}),
        ("import lsq_analysis.api.client", {"plotly", "ipywidgets", "lsq_analysis.frames"}),
        ("import lsq_analysis.charts", {"ipywidgets", "requests"}),
        ("import lsq_analysis.cli", {"plotly", "ipywidgets"}),
        (  # a report is rendered without the widgets layer (issue #12: lead_index moved)
            "import tempfile, lsq_analysis as lsq; from lsq_analysis.report import write_report; "
            "write_report(lsq.load_sample(), tempfile.mkdtemp() + '/r.html', limit=2)",
            {"ipywidgets", "lsq_analysis.widgets"},
        ),
    ],
)
def test_layers_import_only_what_is_before_them(statement: str, forbidden: set[str]) -> None:
    loaded = _modules_after(statement)
    assert not forbidden & loaded, f"{statement} also loads {sorted(forbidden & loaded)}"


@pytest.mark.slow
def test_a_built_wheel_carries_the_c_parser_and_the_sample(tmp_path: Path) -> None:
    """What `pip install` from PyPI would get: the compiled parser and the bundled sample."""
    repo = Path(__file__).resolve().parent.parent
    source = tmp_path / "source"  # a copy without this checkout's build leftovers
    shutil.copytree(
        repo,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "*.so", "__pycache__", "test-artifacts"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("lsq_analysis-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(
        n.startswith("lsq_analysis/frames/_fastjson") and n.endswith((".so", ".pyd")) for n in names
    )
    samples = [n for n in names if n.startswith("lsq_analysis/_samples/")]
    assert len(samples) == len(list((repo / "data" / "samples").glob("*.json")))
    assert not any(n.startswith("third_party/") or n.endswith(".c") for n in names)
    # installed on its own (the dependencies come from this venv), it loads the sample with
    # the C parser, without the source tree
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import lsq_analysis, lsq_analysis.frames.readers as f;"
        f"assert lsq_analysis.__file__.startswith({str(target)!r}), lsq_analysis.__file__;"
        "assert f._fastjson is not None;"
        "print(lsq_analysis.load_sample().height)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(out.stdout) > 2000
