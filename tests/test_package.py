"""The public surface and the one-direction layering of DESIGN.md."""

from __future__ import annotations

import subprocess
import sys

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
        ("import lsq_analysis.client", {"plotly", "ipywidgets", "lsq_analysis.frames"}),
        ("import lsq_analysis.charts", {"ipywidgets", "requests"}),
        ("import lsq_analysis.cli", {"plotly", "ipywidgets"}),
    ],
)
def test_layers_import_only_what_is_before_them(statement: str, forbidden: set[str]) -> None:
    loaded = _modules_after(statement)
    assert not forbidden & loaded, f"{statement} also loads {sorted(forbidden & loaded)}"
