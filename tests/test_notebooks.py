"""Every example notebook runs top to bottom in a real kernel, with no credentials set."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = [
    "01_quickstart.ipynb",
    "02_fetch_from_leadsquared.ipynb",
    "03_lead_journeys.ipynb",
    "04_sales_performance.ipynb",
]


def _outputs(nb: nbformat.NotebookNode, output_type: str) -> list[dict]:
    return [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output["output_type"] == output_type
    ]


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")))
            parts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


def test_the_notebook_folder_holds_exactly_the_documented_notebooks():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"  # JupyterLab starts it unasked
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    # every cell carries its own id on disk (nbformat only warns, and will refuse it later)
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    ids = [cell.get("id") for cell in cells]
    assert None not in ids and len(set(ids)) == len(ids), ids


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom_on_a_fresh_kernel(name, tmp_path):
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    nb = nbformat.read(tmp_path / name, as_version=4)
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()  # raises CellExecutionError on the first failing cell

    assert _outputs(nb, "error") == []
    stderr = [o["text"] for o in _outputs(nb, "stream") if o["name"] == "stderr"]
    assert stderr == []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)  # every cell ran
    text = _text(nb)
    if name == "01_quickstart.ipynb":
        assert "activities of 25 leads" in text
        widget_views = [
            o
            for o in _outputs(nb, "display_data") + _outputs(nb, "execute_result")
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        ]
        assert widget_views, "the explorer was not displayed"
    if name == "02_fetch_from_leadsquared.ipynb":
        assert "No LeadSquared credentials are set" in text and "FAKE LeadSquared" in text
        assert "0 API calls (all from the store)" in text
        assert "refresh: 1 new activities" in text
        assert "changed since the refresh began: 1 activities" in text  # the table history
        assert re.search(
            r"reads the activities table directly: (\d+) rows; store.frame\(\): \1\b", text
        )
        assert "leads failed" in text or "no lead failed" in text
        assert "Type this lead id (not fetched yet) in the search box" in text
    if name == "03_lead_journeys.ipynb":
        assert "25 leads from" in text and "owners" in text  # the leads and their segments
        assert "changed fields" in text
    if name == "04_sales_performance.ipynb":
        assert "25 leads, 2,594 activities, 8 owners, 6 sources" in text
        assert re.search(r"\d+ leads stuck for more than 30 days", text)
        assert re.search(r"\d+ leads applied but have not paid", text)
        figures = [
            o
            for o in _outputs(nb, "execute_result") + _outputs(nb, "display_data")
            if "application/vnd.plotly.v1+json" in o.get("data", {})
        ]
        assert len(figures) == 6  # speed, stages, cohorts, time to payment, paths, owners
        assert all("text/html" in o["data"] for o in figures)  # drawn in an HTML export too
