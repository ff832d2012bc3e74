"""A self-contained HTML report of lead activities, and the ``demo`` and ``report`` commands.

:func:`write_report` turns an expanded frame into one HTML file that opens offline: plotly's
JavaScript is inlined once, every chart after it reuses it. It holds the lead summary
(:func:`lsq_analysis.analysis.lead_summary`), a score chart of every lead, and a timeline and
score chart per lead (the most engaged first).

:func:`run_demo` is ``lsq-analysis demo``: it starts the fake LeadSquared server on loopback,
fetches every sample lead through the real client (paging, rate limit, retries, progress
bar) and writes the report. :func:`run_report` is ``lsq-analysis report``: the same against a
real account, keys from ``LSQ_*`` variables or a ``.env`` file.

Example:
    $ lsq-analysis demo
    $ lsq-analysis report --leads-file leads.txt --out report.html
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .errors import LeadSquaredError

if TYPE_CHECKING:  # polars and plotly load when a report is written, not for `--help`
    import polars as pl

    from .fetch import FetchResult

__all__ = [
    "DEMO_RATE_LIMIT",
    "ReportResult",
    "add_demo_parser",
    "add_report_parser",
    "demo_command",
    "report_command",
    "run_demo",
    "run_report",
    "write_report",
]

# The fake server's limit in the demo: generous so the demo takes seconds, while the client
# still pages and rate-limits for real (real plans allow 2 to 25 calls per 5 seconds).
DEMO_RATE_LIMIT = (100, 5.0)
# The fake server's page cap in the demo: small, so every lead takes several pages.
DEMO_PAGE_SIZE = 50
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
    from .widgets.core import lead_index

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
    max_leads: int = DEFAULT_MAX_LEADS,
    tz: str = "UTC",
    notes: Sequence[str] = (),
) -> ReportResult:
    """Write a self-contained HTML report (opens offline) of an expanded activity frame.

    Args:
        df: the expanded activity frame.
        path: where to write the HTML file.
        title: the page title.
        source: where the data came from (shown under the title; never holds a key).
        max_leads: leads given their own timeline and score chart, most engaged first.
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

    from .analysis.core import lead_summary
    from .charts.core import event_colors, score_chart, timeline

    started = time.perf_counter()
    path = Path(path)
    summary = lead_summary(df)
    names = _names(df)
    top = summary["lead_id"].head(max_leads).to_list()
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
    inlined = []  # plotly's JavaScript goes into the first chart only

    def chart(figure: object) -> str:
        div = figure.to_html(  # type: ignore[attr-defined]
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


def _print_summary(result: ReportResult, stream: TextIO) -> None:
    fetch = result.fetch
    if fetch is not None:
        print(f"Fetched {fetch.summary()}", file=stream)
    for note in result.notes:
        print(note, file=stream)
    print(
        f"Report: {result.leads:,} leads, {result.activities:,} activities, "
        f"{result.lead_sections} lead sections, written in {result.seconds:.1f}s",
        file=stream,
    )
    print(f"Open it in a browser (works offline): {result.path}", file=stream)


def run_demo(
    out: str | Path = "lsq-report.html",
    *,
    progress: bool = True,
    max_leads: int = DEFAULT_MAX_LEADS,
    stream: TextIO | None = None,
) -> ReportResult:
    """Fetch every sample lead from a local fake LeadSquared and write the HTML report.

    Nothing leaves the machine: the fake server listens on 127.0.0.1 with keys of its own.
    The client is the real one: it discovers the server's paging, keeps to its rate limit
    and retries; the fake caps pages at 50 rows so each lead takes several calls.

    Args:
        out: where to write the report.
        progress: show the fetch progress bar.
        max_leads: leads given their own charts.
        stream: where to print the summary (default: standard output).

    Returns:
        A :class:`ReportResult`, with the fetch figures in ``.fetch``.

    Example:
        >>> from lsq_analysis.report import run_demo
        >>> run_demo("demo.html", progress=False).leads
        25
    """
    from .api.fake.server import FakeLeadSquared
    from .fetch import run_fetch

    stream = stream or sys.stdout
    calls, seconds = DEMO_RATE_LIMIT
    with FakeLeadSquared(rate_limit=DEMO_RATE_LIMIT, max_page_size=DEMO_PAGE_SIZE) as fake:
        print(
            f"Started a fake LeadSquared on {fake.url} (loopback only, no real account used). "
            f"It serves the {len(fake.leads)} bundled sample leads, at most {DEMO_PAGE_SIZE} "
            f"activities per page, and allows {calls} calls per {seconds:g} s to keep the demo "
            "quick (real plans allow 2 to 25 per 5 s).",
            file=stream,
            flush=True,
        )
        client = fake.client()
        result = run_fetch(list(fake.leads), client=client, progress=progress)
        source = (
            f"Fetched from a fake LeadSquared on {fake.url} (the bundled sample, invented people)."
        )
    if result.failures.height:
        raise LeadSquaredError(f"the demo could not fetch {result.failures.height} sample leads")
    report = write_report(
        result.frame,
        out,
        title="lsq-analysis demo: the bundled sample leads",
        source=source,
        max_leads=max_leads,
        notes=[f"Fetch: {result.summary()}."],
    )
    report.fetch = result
    report.notes.append(
        f"The fake server's limit ({calls} calls per {seconds:g} s) is generous for the demo; "
        "the client kept to it itself."
    )
    _print_summary(report, stream)
    return report


def run_report(
    lead_ids: Sequence[str],
    out: str | Path = "lsq-report.html",
    *,
    host: str | None = None,
    event: int | str | None = None,
    store: str | Path | None = None,
    progress: bool = True,
    max_leads: int = DEFAULT_MAX_LEADS,
    stream: TextIO | None = None,
) -> ReportResult:
    """Fetch leads from a LeadSquared account (keys from ``LSQ_*`` or ``.env``) and report.

    Args:
        lead_ids: the leads to fetch.
        out: where to write the report.
        host: the API host (default: ``LSQ_HOST``).
        event: only this event code.
        store: an ActivityStore folder, so a re-run costs no API calls.
        progress: show the fetch progress bar.
        max_leads: leads given their own charts.
        stream: where to print the summary.

    Returns:
        A :class:`ReportResult`; failed leads are listed in ``.fetch.failures`` and left out.

    Raises:
        ConfigurationError: no keys or host set.
        AuthenticationError: wrong keys (or another region's host).
        ValueError: ``out`` cannot be written (checked before any API call).
        OSError: writing ``out`` failed after the fetch; the message names the fallback
            file the report was written to instead.

    Example:
        >>> from lsq_analysis.report import run_report
        >>> run_report(["3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"], "report.html")  # doctest: +SKIP
    """
    from .api.client import LeadSquaredClient
    from .cli import fallback_path, out_problem
    from .fetch import run_fetch

    problem = out_problem(out, create_parents=True)  # before any call: nothing is lost
    if problem:
        raise ValueError(problem)
    stream = stream or sys.stdout
    client = LeadSquaredClient(host)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # notes are printed below instead
        result = run_fetch(lead_ids, client=client, event=event, store=store, progress=progress)
    if result.frame.is_empty():
        why = ""
        if result.failures.height:
            first = result.failures.row(0, named=True)
            why = f" ({result.failures.height} leads failed; the first: {first['message']})"
        raise LeadSquaredError(
            f"no activities were fetched, so there is nothing to report{why}; "
            f"{str(out)!r} was not written"
        )

    def write(path: str | Path) -> ReportResult:
        return write_report(
            result.frame,
            path,
            source=f"Fetched from {client.base_url}.",
            max_leads=max_leads,
            notes=[f"Fetch: {result.summary()}.", *result.notes],
        )

    try:
        report = write(out)
    except OSError as error:  # the fetch must not be lost: write the report elsewhere
        fallback = fallback_path(Path(out).name)
        write(fallback)
        raise OSError(
            f"cannot write {str(out)!r} ({error.strerror or error}); the report was saved "
            f"to {str(fallback)!r} instead"
        ) from None
    report.fetch = result
    _print_summary(report, stream)
    return report


# ------------------------------------------------------------------ command line
def add_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    """Declare ``lsq-analysis demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="fetch the sample leads from a local fake LeadSquared and write an HTML report",
        description=(
            "Start a fake LeadSquared on 127.0.0.1 (no account, no network), fetch every "
            "bundled sample lead through the real client (paging, rate limit, progress bar), "
            "and write a self-contained HTML report that opens offline."
        ),
    )
    parser.add_argument(
        "--out", default="lsq-report.html", help="the HTML file to write (default: %(default)s)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis demo``; returns the exit status."""
    from .cli import _error

    try:
        run_demo(args.out, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except (LeadSquaredError, OSError) as error:
        _error(str(error))
        return 2
    return 0


def add_report_parser(subparsers: argparse._SubParsersAction) -> None:
    """Declare ``lsq-analysis report``."""
    parser = subparsers.add_parser(
        "report",
        help="fetch leads from your LeadSquared account and write an HTML report",
        description=(
            "Fetch leads (given with --lead or listed in a file) from your account and write a "
            "self-contained HTML report (lead summary, timelines, score charts). Keys come "
            "from LSQ_HOST, "
            "LSQ_ACCESS_KEY and LSQ_SECRET_KEY (or a .env file), never from the command line."
        ),
    )
    from .cli import add_lead_arguments

    add_lead_arguments(parser)
    parser.add_argument(
        "--out", default="lsq-report.html", help="the HTML file to write (default: %(default)s)"
    )
    parser.add_argument("--host", default=None, help="API host (default: LSQ_HOST)")
    parser.add_argument("--event", default=None, help="only this activity event code")
    parser.add_argument("--store", default=None, help="keep raw activities in this folder")
    parser.add_argument(
        "--max-leads",
        type=int,
        default=DEFAULT_MAX_LEADS,
        help="leads given their own charts, most engaged first (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis report``; returns the exit status (1 when some leads failed)."""
    from .cli import _error, leads_from_args

    leads = leads_from_args(args)
    if leads is None:
        return 2
    try:
        report = run_report(
            leads,
            args.out,
            host=args.host,
            event=args.event,
            store=args.store,
            progress=not args.no_progress,
            max_leads=args.max_leads,
        )
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except (ValueError, LeadSquaredError, OSError) as error:
        _error(str(error))
        return 2
    failures = report.fetch.failures if report.fetch is not None else None
    if failures is not None and failures.height:
        print(f"{failures.height} leads failed and are not in the report:", file=sys.stderr)
        for lead, error, message in failures.head(10).iter_rows():
            print(f"  {lead}: {error}: {message}", file=sys.stderr)
        return 1
    return 0
