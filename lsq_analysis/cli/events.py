"""``lsq-analysis fetch-events``: every activity of one type in the account, into the store.

Example:
    $ lsq-analysis fetch-events --event 'Phone Call' --since 30d --store lsq-store
    $ lsq-analysis fetch-events --event 21 --since 2026-11-01 --until 2026-12-01 --out calls.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import FetchError, LeadSquaredError
from .common import (
    EXIT_INTERRUPTED,
    EXIT_LEADS_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_account_arguments,
    out_problem,
    print_error,
    wrap_help,
    write_frame,
)

__all__ = ["add_fetch_events_parser", "fetch_events_command"]


def add_fetch_events_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Declare ``lsq-analysis fetch-events``.

    Example:
        >>> add_fetch_events_parser(parser.add_subparsers())
    """
    parser = subparsers.add_parser(
        "fetch-events",
        help="fetch every activity of one type in the account (account-wide) into a store",
        description=wrap_help(
            "Fetch every activity of one type modified in a window, across the whole account, "
            "with LeadSquared's account-wide call (RetrieveByActivityEvent: up to a thousand "
            "activities a call, where fetching lead by lead costs a call or more per lead). "
            "With --store they join each lead's stored activities without duplicates (leads "
            "the store did not hold are kept as partial until fetched per lead); with --out "
            "they are written, expanded, to a .parquet or .csv file. Keys come from LSQ_HOST, "
            "LSQ_ACCESS_KEY and LSQ_SECRET_KEY (or a .env file)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  lsq-analysis fetch-events --event 'Phone Call' --since 30d --store lsq-store\n"
            "  lsq-analysis fetch-events --event 21 --since 2026-11-01 --until 2026-12-01 "
            "--out opened.parquet\n\n"
            "exit status: 0 done; 1 a call failed part way (what came before is kept);\n"
            "2 nothing could be done (arguments, settings, keys, store); 130 interrupted."
        ),
    )
    parser.add_argument(
        "--event", required=True, help="the activity type: its name ('Phone Call') or code"
    )
    parser.add_argument(
        "--since", required=True, metavar="AGE", help="window start: 30d, 12h or 2026-11-01"
    )
    parser.add_argument("--until", metavar="WHEN", help="window end (exclusive); default now")
    parser.add_argument("--store", metavar="DIR", help="merge the activities into this store")
    parser.add_argument("--out", metavar="FILE", help="also write them to a .parquet or .csv")
    add_account_arguments(parser)
    parser.set_defaults(handler=fetch_events_command)


def fetch_events_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis fetch-events``; returns the exit status.

    Example:
        >>> fetch_events_command(parser.parse_args(["fetch-events", "--event", "21",
        ...                                         "--since", "7d", "--store", "s"]))
        0
    """
    if not args.store and not args.out:
        print_error("say where the activities go: --store DIR, --out FILE, or both")
        return EXIT_USAGE
    out = Path(args.out) if args.out else None
    problem = out_problem(out, (".parquet", ".csv")) if out else None
    if problem:
        print_error(problem)
        return EXIT_USAGE
    from ..api.client import LeadSquaredClient
    from ..events import run_fetch_events

    try:
        calls, seconds = args.rate_limit
        client = LeadSquaredClient(args.host, max_calls=calls, per_seconds=seconds)
        result = run_fetch_events(
            args.event,
            args.since,
            args.until,
            client=client,
            store=args.store,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        kept = f" What was fetched so far is kept in {args.store}." if args.store else ""
        print(f"\nInterrupted.{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FetchError as err:
        print_error(str(err))
        if out is not None and err.frame.height:
            write_frame(err.frame, out)
            print(f"Wrote the {err.frame.height:,} activities fetched before it to {out}")
        return EXIT_LEADS_FAILED
    except (ValueError, LeadSquaredError) as err:
        print_error(str(err))
        return EXIT_USAGE
    print(f"Fetched {result.summary()}")
    if out is not None:
        write_frame(result.frame, out)
        print(f"Wrote {result.frame.height:,} rows x {result.frame.width} columns to {out}")
    return EXIT_OK
