"""``lsq-analysis demo`` and ``lsq-analysis report``: fetch, then render with
:func:`lsq_analysis.report.write_report`.

:func:`run_demo` starts the fake LeadSquared on loopback, fetches every sample lead through
the real client (paging, rate limit, retries, progress bar) and writes the report.
:func:`run_report` does the same against a real account, keys from ``LSQ_*`` variables or a
``.env`` file.

Example:
    $ lsq-analysis demo
    $ lsq-analysis report --leads-file leads.txt --out report.html
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import LeadSquaredError
from ..report import DEFAULT_MAX_LEADS, ReportResult, write_report

if TYPE_CHECKING:  # polars and the client load when a command runs
    import polars as pl

    from ..api.client import LeadSquaredClient

from .common import (
    add_lead_arguments,
    fallback_path,
    leads_from_args,
    out_problem,
    print_error,
)

__all__ = [
    "DEMO_PAGE_SIZE",
    "DEMO_RATE_LIMIT",
    "add_demo_parser",
    "add_report_parser",
    "demo_command",
    "print_summary",
    "report_command",
    "run_demo",
    "run_report",
]

# The fake server's limit in the demo: generous so the demo takes seconds, while the client
# still pages and rate-limits for real (real plans allow 2 to 25 calls per 5 seconds).
DEMO_RATE_LIMIT = (100, 5.0)


# The fake server's page cap in the demo: small, so every lead takes several pages.
DEMO_PAGE_SIZE = 50


def print_summary(result: ReportResult, stream: TextIO) -> None:
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


DEMO_STORE = "lsq-demo-store"
"""Where the demo keeps what it fetched (Delta tables; open it with ``ActivityStore``)."""


def report_leads(
    client: LeadSquaredClient, lead_ids: Sequence[str]
) -> tuple[pl.DataFrame | None, str]:
    """The leads frame of ``lead_ids`` with owners named, for the report's segments.

    Two or three calls (``Leads/Retrieve/ByIds`` per 1,000 leads, ``Users.Get``). When the
    account refuses them the report goes on without segments: the second item says why.
    """
    from ..frames import leads_frame

    try:
        leads = client.get_leads_by_ids(list(lead_ids))
    except LeadSquaredError as error:
        return None, f"Leads not read ({error}); the overview is not split by owner or source."
    try:
        leads = leads_frame(leads, users=client.get_users())
    except LeadSquaredError as error:
        return leads, f"Users not read ({error}); owners are shown by id."
    return leads, f"Leads: {leads.height:,} read with their owners and sources."


def run_demo(
    out: str | Path = "lsq-report.html",
    *,
    store: str | Path | None = DEMO_STORE,
    progress: bool = True,
    limit: int = DEFAULT_MAX_LEADS,
    stream: TextIO | None = None,
) -> ReportResult:
    """Fetch every sample lead from a local fake LeadSquared and write the HTML report.

    Nothing leaves the machine: the fake server listens on 127.0.0.1 with keys of its own.
    The client is the real one: it discovers the server's paging, keeps to its rate limit
    and retries; the fake caps pages at 50 rows so each lead takes several calls.

    Args:
        out: where to write the report.
        store: the store folder the sample leads are fetched into (a run over it refreshes
            them: the newest page of each lead), or None for none.
        progress: show the fetch progress bar.
        limit: leads given their own charts.
        stream: where to print the summary (default: standard output).

    Returns:
        A :class:`ReportResult`, with the fetch figures in ``.fetch``.

    Example:
        >>> from lsq_analysis.report import run_demo
        >>> run_demo("demo.html", progress=False).leads
        25
    """
    from ..api.fake.server import FakeLeadSquared
    from ..fetch import run_fetch

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
        result = run_fetch(
            list(fake.leads),
            client=client,
            store=store,
            max_age=None if store is None else 0,
            progress=progress,
        )
        source = (
            f"Fetched from a fake LeadSquared on {fake.url} (the bundled sample, invented people)."
        )
        leads, leads_note = report_leads(client, list(fake.leads))
    if result.failures.height:
        raise LeadSquaredError(f"the demo could not fetch {result.failures.height} sample leads")
    report = write_report(
        result.frame,
        out,
        title="lsq-analysis demo: the bundled sample leads",
        source=source,
        limit=limit,
        notes=[f"Fetch: {result.summary()}.", leads_note],
        leads=leads,
    )
    report.fetch = result
    if store is not None:
        report.notes.append(
            f"The activities are stored in {str(store)!r} (Delta tables): "
            f"`lsq-analysis store info {store}`, or lsq.ActivityStore({str(store)!r}) in Python."
        )
    report.notes.append(
        f"The fake server's limit ({calls} calls per {seconds:g} s) is generous for the demo; "
        "the client kept to it itself."
    )
    print_summary(report, stream)
    return report


def run_report(
    lead_ids: Sequence[str],
    out: str | Path = "lsq-report.html",
    *,
    host: str | None = None,
    event: int | str | None = None,
    store: str | Path | None = None,
    progress: bool = True,
    limit: int = DEFAULT_MAX_LEADS,
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
        limit: leads given their own charts.
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
    from ..api.client import LeadSquaredClient
    from ..fetch import run_fetch

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
    leads, leads_note = report_leads(client, result.frame["lead_id"].unique().to_list())

    def write(path: str | Path) -> ReportResult:
        return write_report(
            result.frame,
            path,
            source=f"Fetched from {client.base_url}.",
            limit=limit,
            notes=[f"Fetch: {result.summary()}.", leads_note, *result.notes],
            leads=leads,
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
    print_summary(report, stream)
    return report


def add_demo_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    parser.add_argument(
        "--store",
        default=DEMO_STORE,
        metavar="DIR",
        help="the store folder to fetch into; a run over it refreshes the leads "
        "(default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis demo``; returns the exit status."""

    try:
        run_demo(args.out, store=args.store, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except (LeadSquaredError, OSError) as error:
        print_error(str(error))
        return 2
    return 0


def add_report_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
            limit=args.max_leads,
        )
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except (ValueError, LeadSquaredError, OSError) as error:
        print_error(str(error))
        return 2
    failures = report.fetch.failures if report.fetch is not None else None
    if failures is not None and failures.height:
        print(f"{failures.height} leads failed and are not in the report:", file=sys.stderr)
        for lead, error_name, message in failures.head(10).iter_rows():
            print(f"  {lead}: {error_name}: {message}", file=sys.stderr)
        return 1
    return 0
