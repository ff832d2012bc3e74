"""Figures that survive a notebook's export to HTML, offline.

In JupyterLab a figure is shown from plotly's own mime type
(``application/vnd.plotly.v1+json``), which ``jupyter nbconvert --to html`` cannot draw: the
exported page has no chart. :func:`use_notebook_renderer` makes every figure the notebook
shows carry both that mime type (JupyterLab keeps using it) and ``text/html``, a ``<div>``
with a script that draws it. The first figure shown after the call carries plotly.js itself,
inlined (about 4.8 MB, from the plotly package: no CDN, so the page draws with no network);
the figures after it reuse that copy, so an exported page holds plotly.js exactly once.

A figure's script draws it at once when plotly.js is already loaded, else when the page has
finished loading (``DOMContentLoaded``): the figures of an exported page draw whatever the
order of their cells. Nothing refers to a CDN (no MathJax either).

Put this at the top of a notebook that is shared as HTML::

    from lsq_analysis.charts.rendering import use_notebook_renderer
    use_notebook_renderer()

then ``jupyter nbconvert --to html --execute notebook.ipynb``. Running cells again by hand
replaces their outputs: if the first figure's cell is run again, plotly.js goes with its
output, so call :func:`use_notebook_renderer` again (or restart and run all) before saving a
notebook to export it without ``--execute``.

Example:
    >>> import plotly.graph_objects as go
    >>> import plotly.io as pio
    >>> from lsq_analysis.charts.rendering import use_notebook_renderer
    >>> before = pio.renderers.default
    >>> use_notebook_renderer()
    >>> first = go.Figure(go.Bar(y=[1, 2]))._repr_mimebundle_()
    >>> sorted(first)
    ['application/vnd.plotly.v1+json', 'text/html']
    >>> second = go.Figure(go.Bar(y=[3]))._repr_mimebundle_()
    >>> len(first["text/html"]) > 1_000_000 > len(second["text/html"])
    True
    >>> pio.renderers.default = before
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer, PlotlyRenderer
from plotly.offline import get_plotlyjs

__all__ = ["RENDERER_NAME", "NotebookExportRenderer", "figure_html", "use_notebook_renderer"]

RENDERER_NAME = "lsq_notebook"
"""The name :func:`use_notebook_renderer` registers in ``plotly.io.renderers``."""

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"

# Set before plotly.js loads, as plotly's own HTML does: MathJax (if a page has it) is not
# configured by plotly.js.
_PLOTLY_CONFIG = "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
# Draw now if plotly.js is loaded, else once the page is (an exported page runs its scripts in
# document order, so a figure above the one carrying plotly.js waits for it).
_DEFERRED = (
    "<script>(function () {{ function draw() {{ {script} }} "
    "if (window.Plotly) {{ draw(); }} "
    'else {{ window.addEventListener("DOMContentLoaded", draw, {{once: true}}); }} '
    "}})();</script>"
)


def figure_html(
    fig: Any,
    *,
    include_plotlyjs: bool,
    config: Mapping[str, Any] | None = None,
    div_id: str | None = None,
) -> str:
    """A figure as an HTML fragment for a notebook output: its ``<div>`` and the script that
    draws it, with plotly.js inlined before them when ``include_plotlyjs``.

    The fragment refers to no URL. The script draws at once when ``window.Plotly`` exists,
    else on ``DOMContentLoaded``. The ``<div>`` is 100% wide and, unless the figure's layout
    sets them, 525 px high (as plotly's notebook renderer).

    Args:
        fig: a ``go.Figure`` or a figure dict.
        include_plotlyjs: inline plotly.js (from the installed plotly package) first.
        config: plotly.js config options (``{"displaylogo": False}``...).
        div_id: the ``<div>``'s id (a fresh UUID by default).

    Returns:
        The HTML fragment.

    Example:
        >>> import plotly.graph_objects as go
        >>> from lsq_analysis.charts.rendering import figure_html
        >>> html = figure_html(go.Figure(), include_plotlyjs=False, div_id="fig-1")
        >>> html.count("<script"), 'id="fig-1"' in html, "https://" in html
        (1, True, False)
    """
    html: str = pio.to_html(
        fig,
        config=dict(config) if config else None,
        auto_play=False,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        default_width="100%",
        default_height=525,
        validate=False,
        div_id=div_id,
    )
    # plotly writes one <script> (the data are JSON with "</" escaped): wrap what it runs
    opening = html.index("<script>")
    closing = html.rindex("</script>")
    script = html[opening + len("<script>") : closing]
    html = html[:opening] + _DEFERRED.format(script=script) + html[closing + len("</script>") :]
    if include_plotlyjs:
        html = f"{_PLOTLY_CONFIG}\n<script>{get_plotlyjs()}</script>\n{html}"
    return html


class NotebookExportRenderer(MimetypeRenderer):  # type: ignore[misc]
    """A plotly renderer giving each figure plotly's mime type and ``text/html``.

    The first figure it renders carries plotly.js (see :func:`figure_html`); the later ones
    do not. :func:`use_notebook_renderer` registers one as ``plotly.io.renderers``'s default.

    Args:
        config: plotly.js config options for every figure (``{"displaylogo": False}``...).

    Example:
        >>> import plotly.graph_objects as go
        >>> from lsq_analysis.charts.rendering import NotebookExportRenderer
        >>> renderer = NotebookExportRenderer()
        >>> renderer.carried_plotlyjs
        False
        >>> bundle = renderer.to_mimebundle(go.Figure().to_dict())
        >>> renderer.carried_plotlyjs
        True
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config) if config else {}
        # plotly renders with a shallow copy of the registered renderer: the copies share
        # this dict, so the one that inlines plotly.js tells the others
        self._shared: dict[str, bool] = {"carried": False}

    @property
    def carried_plotlyjs(self) -> bool:
        """True once a figure rendered by this renderer (or a copy of it) carried plotly.js."""
        return self._shared["carried"]

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        """The figure's mime bundle: plotly's mime type and ``text/html``."""
        # plotly's renderer writes the config into the dict it is given: give it a copy
        bundle: dict[str, Any] = PlotlyRenderer(config=self.config).to_mimebundle(
            copy.copy(fig_dict)
        )
        bundle["text/html"] = figure_html(
            fig_dict, include_plotlyjs=not self._shared["carried"], config=self.config
        )
        self._shared["carried"] = True
        return bundle


def use_notebook_renderer(*, config: Mapping[str, Any] | None = None) -> None:
    """Show every figure of this notebook so that it survives an export to HTML, offline.

    Registers a fresh :class:`NotebookExportRenderer` as ``plotly.io.renderers["lsq_notebook"]``
    and makes it the default renderer. From then on each figure a cell shows (a cell's last
    value, or ``fig.show()``) carries plotly's mime type, which JupyterLab draws as before, and
    ``text/html``, which ``jupyter nbconvert --to html`` keeps; the first figure after the call
    inlines plotly.js once for the whole page (no CDN, so the exported page draws offline).
    Calling it again starts over: the next figure carries plotly.js again.

    Args:
        config: plotly.js config options for every figure (``{"displaylogo": False}``...).

    Returns:
        None (so that the call, as a cell's last line, shows nothing).

    Example:
        >>> import plotly.io as pio
        >>> from lsq_analysis.charts.rendering import use_notebook_renderer
        >>> before = pio.renderers.default
        >>> use_notebook_renderer()
        >>> pio.renderers.default
        'lsq_notebook'
        >>> pio.renderers.default = before
    """
    pio.renderers[RENDERER_NAME] = NotebookExportRenderer(config)
    pio.renderers.default = RENDERER_NAME
