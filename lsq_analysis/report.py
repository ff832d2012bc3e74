"""A self-contained HTML report of lead activities: rendering only (the commands that fetch and
then render are in :mod:`lsq_analysis.cli.reports`).

:func:`write_report` turns an expanded frame into one HTML file that opens offline: plotly's
JavaScript is inlined once, every chart after it reuses it. It holds the lead summary
(:func:`lsq_analysis.analysis.lead_summary`), a score chart of every lead, and a timeline and
score chart per lead (the most engaged first).

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.report import write_report
    >>> write_report(lsq.load_sample(), "report.html").leads
    25
"""

from __future__ import annotations

import datetime as dt
import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars and plotly load when a report is written, not for `--help`
    import plotly.graph_objects as go
    import polars as pl

    from .fetch import FetchResult

__all__ = [
    "ReportResult",
    "write_report",
]

DEFAULT_MAX_LEADS = 25

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1200px; color: #222; }
h1 { margin-bottom: 4px; } .meta { color: #555; margin-top: 0; }
table.summary { border-collapse: collapse; font-size: 13px; margin: 12px 0 24px; }
table.summary th, table.summary td { border-bottom: 1px solid #ddd; padding: 4px 8px;
       text-align: left; white-space: nowrap; }
table.summary th { background: #f4f4f4; }
td.num { text-align: right; }
section.lead { border-top: 2px solid #eee; margin-top: 24px; }
.note { color: #555; font-size: 13px; }
"""


@dataclass
class ReportResult:
    """What a report run produced.

    Attributes:
        path: the HTML file written.
        leads: leads in the report.
        activities: activities in the report.
        lead_sections: leads given their own timeline and score chart.
        seconds: time to build and write the report.
        fetch: the fetch run's figures, when the command fetched the data.
        notes: lines printed with the summary.
    """

    path: Path
    leads: int
    activities: int
    lead_sections: int
    seconds: float
    fetch: FetchResult | None = None
    notes: list[str] = field(default_factory=list)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _names(df: pl.DataFrame) -> dict[str, str]:
    """Lead id -> "Name (e-mail)" when the data holds them, for headings."""
    from .analysis import lead_index

    names = {}
    for row in lead_index(df).iter_rows(named=True):
        label = row["name"] or ""
        if row["email"]:
            label = f"{label} ({row['email']})" if label else row["email"]
        names[row["lead_id"]] = label
    return names


def _summary_table(summary: pl.DataFrame, names: dict[str, str]) -> str:
    columns = [c for c in summary.columns if c != "last_event_code"]
    head = "<th>lead</th>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for row in summary.iter_rows(named=True):
        cells = [f"<td>{html.escape(names.get(row['lead_id'], ''))}</td>"]
        for column in columns:
            value = row[column]
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            css = " class='num'" if number else ""
            cells.append(f"<td{css}>{html.escape(_fmt(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        "<div style='overflow-x:auto'><table class='summary'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def write_report(
    df: pl.DataFrame,
    path: str | Path = "lsq-report.html",
    *,
    title: str = "LeadSquared lead activities",
    source: str = "",
    limit: int = DEFAULT_MAX_LEADS,
    tz: str = "UTC",
    notes: Sequence[str] = (),
) -> ReportResult:
    """Write a self-contained HTML report (opens offline) of an expanded activity frame.

    Args:
        df: the expanded activity frame.
        path: where to write the HTML file.
        title: the page title.
        source: where the data came from (shown under the title; never holds a key).
        limit: leads given their own timeline and score chart, most engaged first.
        tz: time zone of the charts' time axes.
        notes: extra lines shown under the title.

    Returns:
        A :class:`ReportResult` (path, counts, time taken).

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.report import write_report
        >>> write_report(lsq.load_sample(), "sample-report.html").leads
        25
    """
    import polars as pl

    from .analysis import lead_summary
    from .charts import event_colors, score_chart, timeline

    started = time.perf_counter()
    path = Path(path)
    summary = lead_summary(df)
    names = _names(df)
    top = summary["lead_id"].head(limit).to_list()
    first, last = df["created_on"].min(), df["created_on"].max()
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p class='meta'>"
        + html.escape(
            f"{summary.height:,} leads, {df.height:,} activities, "
            f"{df['event_code'].n_unique()} event types, "
            f"from {_fmt(first)} to {_fmt(last)} UTC. "
            f"Written {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC."
        )
        + (f"<br>{html.escape(source)}" if source else "")
        + "".join(f"<br>{html.escape(note)}" for note in notes)
        + "</p>",
        "<h2>Lead summary</h2>",
        "<p class='note'>Sorted by engagement: total score, then activities.</p>",
        _summary_table(summary, names),
    ]
    inlined: list[bool] = []  # plotly's JavaScript goes into the first chart only

    def chart(figure: go.Figure) -> str:
        div: str = figure.to_html(
            full_html=False, include_plotlyjs=not inlined, config={"displaylogo": False}
        )
        inlined.append(True)
        return div

    colors = event_colors(df)  # an event type keeps its colour in every lead's timeline
    focus = df.filter(pl.col("lead_id").is_in(top))
    parts.append(f"<h2>Score over time, top {len(top)} leads</h2>")
    parts.append(chart(score_chart(focus, tz=tz)))
    by_lead = focus.partition_by("lead_id", as_dict=True)
    for lead in top:
        activities = by_lead[(lead,)]
        parts.append(
            f"<section class='lead'><h2>{html.escape(names.get(lead) or 'lead')} "
            f"<small><code>{html.escape(lead)}</code></small></h2>"
            f"<p class='note'>{activities.height:,} activities</p>"
        )
        parts.append(chart(timeline(activities, tz=tz, color_map=colors, rows="event")))
        parts.append(chart(score_chart(activities, tz=tz)))
        parts.append("</section>")
    if summary.height > len(top):
        parts.append(
            f"<p class='note'>{summary.height - len(top):,} less engaged leads are in the summary "
            "table only.</p>"
        )
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    tmp.replace(path)
    return ReportResult(
        path=path.resolve(),
        leads=summary.height,
        activities=df.height,
        lead_sections=len(top),
        seconds=time.perf_counter() - started,
    )
