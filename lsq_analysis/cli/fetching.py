"""``lsq-analysis fetch``: many leads at the plan's limit into a Parquet or CSV file.

Example:
    $ lsq-analysis fetch --leads-file leads.txt --store lsq-store --out activities.parquet
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from ..errors import LeadSquaredError
from ..store.writer import BATCH_LEADS, BATCH_SECONDS
from .common import (
    EXIT_INTERRUPTED,
    EXIT_LEADS_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_lead_arguments,
    fallback_path,
    leads_from_args,
    out_problem,
    parse_max_age,
    parse_rate_limit,
    print_error,
    wrap_help,
    write_frame,
)

__all__ = ["add_fetch_parser", "fetch_command"]


def add_fetch_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``lsq-analysis fetch``."""
    parser = subparsers.add_parser(
        "fetch",
        help="fetch the activities of many leads into a Parquet or CSV file",
        description=wrap_help(
            "Fetch the activities of many leads at your plan's full rate limit and write "
            "them, expanded (one row per activity, one column per field), to a .parquet or "
            ".csv file. With --store, raw activities are kept per lead so that a re-run "
            "fetches only what is missing or older than --max-age. The host and keys come "
            "from the environment (LSQ_HOST, LSQ_ACCESS_KEY, LSQ_SECRET_KEY) or a .env file "
            "in the current folder, never from the command line."
        ),
        epilog=(
            "examples:\n"
            "  lsq-analysis fetch --lead 3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf --out one.csv\n"
            "  lsq-analysis fetch --leads-file leads.txt --store lsq-store --out all.parquet\n"
            "  lsq-analysis fetch --leads-file leads.csv --event 21 --rate-limit 5/5 "
            "--out calls.parquet\n\n"
            "exit status: 0 all leads fetched; 1 some leads failed (the rest were written);\n"
            "2 nothing could be done (arguments, settings, keys, store); 130 interrupted."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_lead_arguments(parser, modified_since=True)
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="where to write the activities: a path ending in .parquet or .csv",
    )
    parser.add_argument(
        "--event", metavar="CODE", type=int, help="only activities of this event code (e.g. 21)"
    )
    parser.add_argument(
        "--store",
        metavar="DIR",
        help="keep the activities in this store folder (Delta tables; `lsq-analysis store "
        "info DIR` says what it holds); leads already there cost no call",
    )
    parser.add_argument(
        "--batch-leads",
        type=int,
        default=BATCH_LEADS,
        metavar="N",
        help=f"with --store: commit fetched leads every N leads (default {BATCH_LEADS}) ...",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=BATCH_SECONDS,
        metavar="S",
        help=f"... or every S seconds, whichever comes first (default {BATCH_SECONDS:g}); a "
        "run killed at any moment loses only the leads not committed yet",
    )
    parser.add_argument(
        "--max-age",
        metavar="AGE",
        type=parse_max_age,
        help="with --store: refresh stored leads older than this (e.g. 12h, 7d); only their "
        "newest activities are fetched (see --refresh). Default: stored leads never expire",
    )
    parser.add_argument(
        "--refresh",
        choices=("newest", "full"),
        default="newest",
        help="how --max-age refreshes a stale lead: 'newest' fetches only its new activities "
        "(edits to older ones are not seen: the API has no 'modified since'); 'full' fetches "
        "all of it again and replaces what is stored. Default: newest",
    )
    parser.add_argument(
        "--host",
        help="LeadSquared API host (e.g. api-in21.leadsquared.com) or base URL; default: LSQ_HOST",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="N/S",
        type=parse_rate_limit,
        default=(25, 5.0),
        help="your plan's API limit, calls per seconds (default 25/5); lowered automatically "
        "if the server names a lower one",
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="leads in flight at once (default: limit + 2)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=fetch_command)


def fetch_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis fetch``; returns the exit status."""
    out = Path(args.out)
    problem = out_problem(out, (".parquet", ".csv"))  # before any call: nothing fetched is lost
    if problem:
        print_error(problem)
        return EXIT_USAGE
    leads = leads_from_args(args)
    if leads is None:
        return EXIT_USAGE

    from ..fetch import run_fetch

    try:
        from ..api.client import LeadSquaredClient

        options: dict[str, Any] = {}
        if args.rate_limit is not None:
            options.update(max_calls=args.rate_limit[0], per_seconds=args.rate_limit[1])
        client = LeadSquaredClient(args.host, **options)
        if args.leads_modified_since:
            from ..leads import find_leads

            found = find_leads(
                client=client,
                store=args.store,
                modified_since=args.leads_modified_since,
                progress=not args.no_progress,
            )
            leads = found["lead_id"].to_list()
            print(f"Found {len(leads):,} leads modified since {args.leads_modified_since}")
            if not leads:
                print(f"Nothing to fetch; nothing written to {out}")
                return EXIT_OK
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # notes are printed below instead
            result = run_fetch(
                leads,
                client=client,
                event=args.event,
                store=args.store,
                progress=not args.no_progress,
                max_age=args.max_age,
                max_workers=args.workers,
                refresh=args.refresh,
                batch_leads=args.batch_leads,
                batch_seconds=args.batch_seconds,
            )
    except KeyboardInterrupt:
        stored = f" Leads fetched so far are kept in {args.store}." if args.store else ""
        print(f"\nInterrupted.{stored}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, LeadSquaredError) as err:
        print_error(str(err))
        return EXIT_USAGE

    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    # nothing came back: an earlier export at --out is worth more than an empty file
    nothing = result.frame.height == 0 and result.failures.height > 0
    try:
        if not nothing:
            write_frame(result.frame, out)
    except OSError as err:
        fallback = fallback_path(out.name)
        try:
            write_frame(result.frame, fallback)
        except OSError:
            print_error(f"cannot write {str(out)!r}: {err.strerror or err}")
            return EXIT_USAGE
        print_error(
            f"cannot write {str(out)!r}: {err.strerror or err}. The {result.frame.height:,} "
            f"rows fetched were saved to {str(fallback)!r} instead; move that file where "
            "you want it"
        )
        return EXIT_USAGE
    print(f"Fetched {result.summary()}")
    if nothing:
        print(f"Nothing written to {out}: no lead could be fetched (a file there is unchanged)")
    else:
        print(f"Wrote {result.frame.height:,} rows x {result.frame.width} columns to {out}")
    if result.failures.height:
        print(result.failure_message(), file=sys.stderr)
        return EXIT_LEADS_FAILED
    return EXIT_OK
