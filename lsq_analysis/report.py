"""A self-contained HTML report of lead activities: rendering only (the commands that fetch and
then render are in :mod:`lsq_analysis.cli.reports`).

:func:`write_report` turns an expanded frame into one HTML file that opens offline: plotly's
JavaScript is inlined once, every chart after it reuses it. It opens with an overview of the
account (activity over time, event mix, weekday x hour, speed to lead, stage velocity, a
cohort table and the main funnel with its drop-offs; by owner and source when the leads are
known), then the lead summary (:func:`lsq_analysis.analysis.lead_summary`), a score chart of
the most engaged leads (named by name), and a timeline and score chart per lead.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.report import write_report
    >>> write_report(lsq.load_sample(), "report.html").leads
    25
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars and plotly load when a report is written, not for `--help`
    import plotly.graph_objects as go
    import polars as pl

    from .fetch import FetchResult

__all__ = [
    "GOAL_WORDS",
    "LOSS_WORDS",
    "ReportResult",
    "default_funnel_steps",
    "write_report",
]

DEFAULT_MAX_LEADS = 25

GOAL_WORDS = ("payment", "paid", "purchase", "order", "won", "sale", "converted", "enrol",
              "admission", "contract", "booked")  # fmt: skip
"""Word starts in an event's name that make it the default funnel's goal (any case)."""
LOSS_WORDS = ("unsubscrib", "bounce", "lost", "opt out", "opted out", "spam", "disqualif",
              "invalid", "junk")  # fmt: skip
"""Word starts in an event's name that keep it out of the default funnel (any case)."""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1200px; color: #222; }
h1 { margin-bottom: 4px; } .meta { color: #555; margin-top: 0; }
table.summary { border-collapse: collapse; font-size: 13px; margin: 12px 0 24px; }
table.summary th, table.summary td { border-bottom: 1px solid #ddd; padding: 4px 8px;
       text-align: left; white-space: nowrap; }
table.summary th { background: #f4f4f4; }
td.num { text-align: right; }
td.blank { background: #fafafa; }
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
    import polars as pl

    lead = summary["lead_id"].replace_strict(names, default="", return_dtype=pl.Utf8)
    return _table(
        summary.drop("last_event_code", strict=False).insert_column(0, lead.alias("lead"))
    )


def default_funnel_steps(
    df: pl.DataFrame, *, max_steps: int = 5, min_share: float = 0.1
) -> list[str]:
    """The report's main funnel when none is given: from the first event to the rarest goal.

    Of the event types (not the audit log or stage changes) that at least ``min_share`` of
    the leads did, each placed by the median time of its first occurrence after each lead's
    first activity: the funnel starts with the earliest and ends with a goal: the first event
    whose name says a sale (:data:`GOAL_WORDS`: payment, purchase, order, won...), else the
    one the fewest leads did. Between them it takes, in time order, the events done by fewer
    leads than the step before and more than the goal, up to ``max_steps`` in all. Events
    whose name says a loss (:data:`LOSS_WORDS`: unsubscribed, bounced, lost...) are never
    steps. Give ``funnel_steps=`` to :func:`write_report` to choose instead.

    Example:
        >>> import lsq_analysis as lsq
        >>> steps = default_funnel_steps(lsq.load_sample())
        >>> steps[0], steps[-1]
        ('Lead Capture', 'Payment Received')
    """
    import polars as pl

    from .analysis import event_labels

    leads = df["lead_id"].n_unique()
    if leads == 0:
        return []
    firsts = (
        df.lazy()
        .filter(~pl.col("event_code").is_in([3002, 3011]) & pl.col("created_on").is_not_null())
        .with_columns(pl.col("created_on").min().over("lead_id").alias("_began"))
        .group_by("lead_id", "event_code")
        .agg((pl.col("created_on").min() - pl.col("_began").first()).alias("_after"))
        .group_by("event_code")
        .agg(pl.len().alias("n"), pl.col("_after").median().alias("after"))
        .filter(pl.col("n") >= min_share * leads)
        .sort(["after", "n", "event_code"], descending=[False, True, False])
        .collect()
    )
    if firsts.height < 2:
        return []
    labels = dict(event_labels(df).select("event_code", "event").iter_rows())

    def says(code: int, words: Sequence[str]) -> bool:
        # word starts, so "LeadAssigned" is no "signed" and "Unsubscribed" no "subscribed"
        return any(re.search(rf"(?<![a-z]){re.escape(w)}", labels[code].lower()) for w in words)

    rows = [row for row in firsts.select("event_code", "n").rows() if not says(row[0], LOSS_WORDS)]
    if len(rows) < 2:
        return []
    first, later = rows[0], rows[1:]
    sales = [row for row in later if says(row[0], GOAL_WORDS)]
    goal = sales[0] if sales else min(reversed(later), key=lambda row: row[1])
    steps, previous = [first[0]], first[1]
    for code, n in later[: later.index(goal)]:
        if goal[1] < n < previous and len(steps) < max_steps - 1:
            steps.append(code)
            previous = n
    return [labels[code] for code in [*steps, goal[0]]]


def _table(frame: pl.DataFrame, *, percent: Sequence[str] = ()) -> str:
    """A small HTML table of ``frame`` (shares in ``percent`` shown as percentages)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column, value in row.items():
            if column in percent and isinstance(value, float):
                cells.append(f"<td class='num'>{value:.0%}</td>")
            elif column in percent and value is None:  # a share not known yet, never 0%
                cells.append("<td class='blank'></td>")
            else:
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


def _cohort_table(table: pl.DataFrame) -> pl.DataFrame:
    """Cohorts as rows, periods as columns of shares (blank where a cohort is too young)."""
    import polars as pl

    wide = table.with_columns(pl.col("cohort").dt.strftime("%Y-%m-%d")).pivot(
        on="period", index=["cohort", "n_leads"], values="share"
    )
    return wide.rename({c: f"period {c}" for c in wide.columns if c not in ("cohort", "n_leads")})


def _overview(
    df: pl.DataFrame, chart: Callable[[go.Figure], str], *, tz: str, funnel_steps: Sequence[str]
) -> list[str]:
    """The overview's sections; one that cannot be computed says why instead."""
    import polars as pl

    from .analysis import cohorts, funnel, speed_to_lead, stage_velocity
    from .charts import (
        activity_heatmap_chart,
        cohort_chart,
        event_mix,
        funnel_chart,
        speed_to_lead_chart,
        stage_velocity_chart,
    )

    span = pl.col("created_on").max() - pl.col("created_on").min()
    span_days: int = df.select(span.dt.total_days()).item() or 0
    segments: list[str | None] = [c for c in ("lead.owner_name", "lead.source") if c in df.columns]
    parts = ["<h2>Overview</h2>"]

    def section(heading: str, build: Callable[[], list[str]]) -> None:
        parts.append(f"<h3>{html.escape(heading)}</h3>")
        try:
            parts.extend(build())
        except ValueError as error:  # the data cannot answer it; say why, keep the report
            parts.append(f"<p class='note'>Not shown: {html.escape(str(error))}</p>")

    every = "1d" if span_days <= 90 else "1w" if span_days <= 730 else "1mo"
    section("Activity over time", lambda: [chart(event_mix(df, every, tz=tz))])
    section("Event mix", lambda: [chart(event_mix(df, tz=tz))])
    section("When leads are active", lambda: [chart(activity_heatmap_chart(df, tz=tz))])

    def speed() -> list[str]:
        out = []
        for by in segments or [None]:
            table = speed_to_lead(df, by=by)
            if table.is_empty() or not int(table["n_leads"].sum()):
                raise ValueError("no lead has a Lead Capture activity to count from")
            out.append(chart(speed_to_lead_chart(df, by=by)))
            shares = ("within_5m", "within_1h", "never")
            out.append(_table(table, percent=shares))
        return out

    section("Speed to lead" + (" by owner and by source" if segments else ""), speed)

    def stages() -> list[str]:
        table = stage_velocity(df)
        if table.is_empty():
            raise ValueError("no stage changes (event 3002) in the data")
        return [chart(stage_velocity_chart(df)), _table(table)]

    section("Stage velocity", stages)
    goal = funnel_steps[-1] if funnel_steps else None

    def cohort() -> list[str]:
        if goal is None:
            raise ValueError("no funnel steps, so no event to convert to")
        weekly = span_days <= 180
        period = "1w" if weekly else "1mo"
        options = {"event": goal, "start_event": funnel_steps[0], "every": period, "periods": 6}
        table = cohorts(df, **options)  # type: ignore[arg-type]
        if table.is_empty():
            raise ValueError(f"no lead has a {funnel_steps[0]!r} activity to start from")
        note = (
            f"<p class='note'>Share of each {'week' if weekly else 'month'}'s leads (from their "
            f"first {html.escape(funnel_steps[0])}) that reached {html.escape(goal)} within "
            "k + 1 periods; blank: the cohort is too young to tell.</p>"
        )
        shares = [f"period {k}" for k in range(6)]
        figure = cohort_chart(df, **options)  # type: ignore[arg-type]
        return [note, chart(figure), _table(_cohort_table(table), percent=shares)]

    section(f"Cohorts: reaching {goal}" if goal else "Cohorts", cohort)

    def main_funnel() -> list[str]:
        if len(funnel_steps) < 2:
            raise ValueError("fewer than two events that enough leads did in order")
        table = funnel(df, list(funnel_steps)).select(
            "step", "event", "n_leads", "conversion_from_previous", "conversion_from_first",
            "median_hours_from_previous",
        )  # fmt: skip
        dropped = table["n_leads"].shift(1) - table["n_leads"]
        table = table.with_columns(dropped.alias("dropped"))
        return [
            chart(funnel_chart(df, list(funnel_steps))),
            _table(table, percent=["conversion_from_previous", "conversion_from_first"]),
        ]

    section("Main funnel and its drop-offs", main_funnel)
    return parts


def write_report(
    df: pl.DataFrame,
    path: str | Path = "lsq-report.html",
    *,
    title: str = "LeadSquared lead activities",
    source: str = "",
    limit: int = DEFAULT_MAX_LEADS,
    tz: str = "UTC",
    notes: Sequence[str] = (),
    leads: pl.DataFrame | None = None,
    users: object = None,
    funnel_steps: Sequence[str] | None = None,
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
        leads: the leads frame (:func:`lsq_analysis.leads_frame`): the overview is then also
            by owner and by source, and leads are named from it; ``df``'s own ``lead.``
            columns (after :func:`lsq_analysis.with_leads`) serve as well.
        users: the users (frame or raw), to name the leads' owners.
        funnel_steps: the main funnel's events; default :func:`default_funnel_steps`.

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
    from .frames import leads_frame, with_leads

    started = time.perf_counter()
    path = Path(path)
    if leads is not None:
        df = with_leads(df, leads_frame(leads, users=users) if users is not None else leads)
    summary = lead_summary(df)
    names = _names(df)
    if "lead.first_name" in df.columns:  # the leads frame knows names the activities may not
        given = [pl.col(c) for c in ("lead.first_name", "lead.last_name") if c in df.columns]
        full = pl.concat_str(given, separator=" ", ignore_nulls=True).str.strip_chars()
        known = df.group_by("lead_id").agg(full.drop_nulls().first().alias("name"))
        names |= {k: v for k, v in known.iter_rows() if v and not names.get(k)}
    steps = list(funnel_steps) if funnel_steps is not None else default_funnel_steps(df)
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
    ]
    inlined: list[bool] = []  # plotly's JavaScript goes into the first chart only

    def chart(figure: go.Figure) -> str:
        div: str = figure.to_html(
            full_html=False, include_plotlyjs=not inlined, config={"displaylogo": False}
        )
        inlined.append(True)
        return div

    parts += _overview(df, chart, tz=tz, funnel_steps=steps)
    parts += [
        "<h2>Lead summary</h2>",
        "<p class='note'>Sorted by engagement: total score, then activities.</p>",
        _summary_table(summary, names),
    ]

    colors = event_colors(df)  # an event type keeps its colour in every lead's timeline
    focus = df.filter(pl.col("lead_id").is_in(top))
    parts.append(f"<h2>Score over time, top {len(top)} leads</h2>")
    short = {k: v.split(" (")[0] for k, v in names.items() if v}  # legends: names, not ids
    parts.append(chart(score_chart(focus, tz=tz, lead_names=short)))
    by_lead = focus.partition_by("lead_id", as_dict=True)
    for lead in top:
        activities = by_lead[(lead,)]
        parts.append(
            f"<section class='lead'><h2>{html.escape(names.get(lead) or 'lead')} "
            f"<small><code>{html.escape(lead)}</code></small></h2>"
            f"<p class='note'>{activities.height:,} activities</p>"
        )
        parts.append(chart(timeline(activities, tz=tz, color_map=colors, rows="event")))
        parts.append(chart(score_chart(activities, tz=tz, lead_names=short)))
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
