"""Figures survive a notebook's export to HTML, offline (issue 15, item 9).

``jupyter nbconvert --to html --execute`` keeps a figure only if it has ``text/html``:
:func:`~lsq_analysis.charts.rendering.use_notebook_renderer` adds it beside plotly's mime type,
with plotly.js inlined once. The browser test converts notebooks/03_lead_journeys.ipynb with
that call as its first code cell, opens the page in Debian's chromium with every request but
``file:`` blocked, and finds each figure drawn.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS
from plotly.offline import get_plotlyjs

from lsq_analysis.charts.rendering import (
    RENDERER_NAME,
    NotebookExportRenderer,
    figure_html,
    use_notebook_renderer,
)

REPO = Path(__file__).resolve().parent.parent
EXPORTED = ["03_lead_journeys.ipynb", "04_sales_performance.ipynb"]
# the line the example notebooks get at their top
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
PLOTLYJS = get_plotlyjs()
PLOTLYJS_HEAD = PLOTLYJS[:200]  # the licence banner with the version, and the wrapper
PLOTLYJS_TAIL = "window.Plotly = Plotly;"


@pytest.fixture
def default_renderer() -> Iterator[None]:
    """Puts plotly's default renderer back after a test changed it."""
    before = pio.renderers.default
    yield
    pio.renderers.default = before


def urls_in_script_sources(html: str) -> list[str]:
    return re.findall(r"<script[^>]*\ssrc=\"([^\"]*)\"", html)


# ---------------------------------------------------------------------------- the renderer


@pytest.mark.usefixtures("default_renderer")
def test_the_first_figure_carries_plotlyjs_and_the_next_ones_reuse_it() -> None:
    use_notebook_renderer()
    assert pio.renderers.default == RENDERER_NAME
    # through plotly's own path (it renders with a copy of the registered renderer)
    first = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))._repr_mimebundle_()
    second = go.Figure(go.Scatter(y=[3, 1]))._repr_mimebundle_()
    for bundle in (first, second):
        assert set(bundle) == {PLOTLY_MIMETYPE, "text/html"}
        assert urls_in_script_sources(bundle["text/html"]) == []
        assert "plotly-graph-div" in bundle["text/html"]
    assert first["text/html"].count(PLOTLYJS_HEAD) == 1
    assert first["text/html"].count(PLOTLYJS_TAIL) == 1
    assert PLOTLYJS_HEAD not in second["text/html"]
    assert len(second["text/html"]) < 20_000
    # JupyterLab still gets plotly's mime type as plotly's own renderer gives it
    assert first[PLOTLY_MIMETYPE]["data"][0]["y"] == [1, 2]
    assert second[PLOTLY_MIMETYPE]["data"][0]["type"] == "scatter"
    assert pio.renderers[RENDERER_NAME].carried_plotlyjs
    # calling it again starts over: the next figure carries plotly.js again
    use_notebook_renderer()
    assert not pio.renderers[RENDERER_NAME].carried_plotlyjs
    again = go.Figure(go.Bar(y=[1]))._repr_mimebundle_()
    assert again["text/html"].count(PLOTLYJS_HEAD) == 1


@pytest.mark.usefixtures("default_renderer")
def test_config_reaches_both_mimetypes() -> None:
    use_notebook_renderer(config={"displaylogo": False})
    bundle = go.Figure(go.Bar(y=[1]))._repr_mimebundle_()
    assert bundle[PLOTLY_MIMETYPE]["config"]["displaylogo"] is False
    assert '"displaylogo": false' in bundle["text/html"]


def test_figure_html_draws_now_or_once_the_page_has_loaded() -> None:
    html = figure_html(go.Figure(go.Bar(y=[1])), include_plotlyjs=False, div_id="fig-1")
    assert html.count("<script") == 1 and 'id="fig-1"' in html
    assert "if (window.Plotly) { draw(); }" in html
    assert 'addEventListener("DOMContentLoaded", draw' in html
    # plotly's JSON escapes "</", so a label cannot close the script early
    tricky = figure_html(go.Figure(go.Bar(x=["</script>"], y=[1])), include_plotlyjs=False)
    assert tricky.count("</script>") == 1
    # no MathJax and no CDN: nothing to fetch
    assert "mathjax" not in html.lower() and urls_in_script_sources(html) == []
    renderer = NotebookExportRenderer()
    assert not renderer.carried_plotlyjs


# ---------------------------------------------------------------------------- export + browser


@dataclass
class Export:
    html: str
    path: Path
    figures: int  # the chart cells of the notebook


def chart_cells(nb: nbformat.NotebookNode) -> int:
    """The code cells whose last line shows a chart (``lsq.<name>_chart(...)``)."""
    count = 0
    for cell in nb.cells:
        lines = [line for line in cell.source.splitlines() if line.strip()]
        if cell.cell_type == "code" and lines and re.match(r"lsq\.\w+_chart\(", lines[-1]):
            count += 1
    return count


@pytest.fixture(scope="module", params=EXPORTED)
def exported(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Export:
    """An example notebook as committed (it calls the renderer itself), run and converted to
    HTML the way it is shared: ``jupyter nbconvert --to html --execute``."""
    folder = tmp_path_factory.mktemp("export")
    notebook = REPO / "notebooks" / request.param
    nb = nbformat.read(notebook, as_version=4)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "lsq.use_notebook_renderer()" in first_code.source  # without it: no chart drawn
    path = folder / notebook.name
    nbformat.write(nb, path)
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ)
    env.pop("PLOTLY_RENDERER", None)
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / ".ipython"),
    )
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "html",
        "--execute",
        "--ExecutePreprocessor.kernel_name=python3",
        "--ExecutePreprocessor.timeout=180",
        "--output-dir",
        str(folder),
        str(path),
    ]
    done = subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    html_path = path.with_suffix(".html")
    return Export(html_path.read_text(encoding="utf-8"), html_path, chart_cells(nb))


def test_the_exported_page_inlines_plotlyjs_exactly_once(exported: Export) -> None:
    assert exported.figures >= 4  # 03: two funnels, transitions, heatmap; 04: six charts
    assert exported.html.count(PLOTLYJS_HEAD) == 1
    assert exported.html.count(PLOTLYJS_TAIL) == 1
    assert exported.html.count('class="plotly-graph-div"') == exported.figures
    # the page's only script URLs are nbconvert's own (require.js, MathJax), none of ours
    assert not [url for url in urls_in_script_sources(exported.html) if "plot" in url.lower()]


DRAWN_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  svg: gd.querySelectorAll('.main-svg').length,
  traces: (gd._fullData || []).map(t => t.type),
  marks: gd.querySelectorAll('.main-svg .trace, .main-svg .sankey, .main-svg .hm').length,
}))"""

# what an online page would get from the CDN: an AMD loader (require.js defines `define`)
AMD_STUB = (
    "window.__amd = []; window.define = function () { window.__amd.push(arguments.length); };"
    " window.define.amd = {}; window.require = function () {};"
)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium, launched once for the module (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: scripts/test.sh installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def open_offline(browser: Any, page_path: Path, *, amd_loader: bool) -> dict[str, Any]:
    """Open the page with every request but ``file:``/``data:`` refused; return what drew.

    With ``amd_loader`` the page's require.js request gets a stand-in AMD loader, as a viewer
    online would have one.
    """
    from nbconvert.exporters import HTMLExporter

    require_js = HTMLExporter().require_js_url
    blocked: list[str] = []
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})

    def answer(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        elif amd_loader and url == require_js:
            route.fulfill(body=AMD_STUB, content_type="application/javascript")
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", answer)
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(page_path.as_uri(), wait_until="load", timeout=60_000)
        page.wait_for_function(
            """(n) => [...document.querySelectorAll('.js-plotly-plot')]
                 .filter(gd => gd.querySelector('.main-svg')).length >= n""",
            arg=1,
            timeout=30_000,
        )
        page.wait_for_timeout(500)  # let any later figure finish too
        drawn = page.evaluate(DRAWN_JS)
        amd_calls = page.evaluate("() => window.__amd || []")
        return {"drawn": drawn, "blocked": blocked, "errors": errors, "amd": amd_calls}
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("amd_loader", [False, True], ids=["offline", "with-amd-loader"])
def test_the_exported_figures_draw_offline(
    exported: Export, chromium: Any, amd_loader: bool
) -> None:
    from nbconvert.exporters import HTMLExporter

    seen = open_offline(chromium, exported.path, amd_loader=amd_loader)
    drawn = seen["drawn"]
    # every figure is a plotly graph with its svg and its traces drawn
    assert len(drawn) == exported.figures, drawn
    for plot in drawn:
        assert plot["svg"] >= 1 and plot["traces"] and plot["marks"] >= 1, plot
    assert seen["errors"] == []
    assert seen["amd"] == []  # plotly.js does not register itself with an AMD loader
    # what the page asked the network for is nbconvert's template (require.js, MathJax) only
    exporter = HTMLExporter()
    template = {exporter.require_js_url, exporter.mathjax_url}
    assert set(seen["blocked"]) <= template, seen["blocked"]
