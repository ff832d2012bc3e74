"""``lsq-analysis leads``: the account's leads (who they are, source, stage, owner) to a file.

Example:
    $ lsq-analysis leads --modified-since 7d --out leads.parquet
    $ lsq-analysis leads --where ProspectStage=Customer --store lsq-store --out customers.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import LeadSquaredError
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_account_arguments,
    out_problem,
    print_error,
    write_frame,
)

__all__ = ["add_leads_parser", "leads_command"]


def add_leads_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``lsq-analysis leads``.

    Example:
        >>> add_leads_parser(parser.add_subparsers())
    """
    parser = subparsers.add_parser(
        "leads",
        help="find leads in the account (modified or created since, a search, field values)",
        description=(
            "Find leads in your LeadSquared account and write them, one typed row per lead "
            "(source, stage, owner with their name, scores, dates, every other field), to a "
            "Parquet or CSV file. With --store they are kept in its leads table too, and a "
            "run with no criterion reads only what changed since the last one. Keys come "
            "from LSQ_HOST, LSQ_ACCESS_KEY and LSQ_SECRET_KEY (or a .env file)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  lsq-analysis leads --modified-since 7d --out leads.parquet\n"
            "  lsq-analysis leads --search example.com --out found.csv\n"
            "  lsq-analysis leads --where ProspectStage=Customer --where Source='Google Ads' "
            "--out customers.parquet\n"
            "  lsq-analysis leads --store lsq-store --out changed.parquet   # since the last run"
        ),
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="a .parquet or .csv file")
    parser.add_argument("--modified-since", metavar="AGE", help="e.g. 7d, 12h or 2026-11-01")
    parser.add_argument("--created-since", metavar="AGE", help="e.g. 30d or 2026-01-01")
    parser.add_argument("--search", metavar="TEXT", help="the account's quick search")
    parser.add_argument(
        "--where",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        help="a field's value (a schema name such as ProspectStage or mx_City, or source, "
        "stage, owner_id...); may be repeated",
    )
    parser.add_argument("--store", metavar="DIR", help="keep the leads in this store folder")
    add_account_arguments(parser)
    parser.set_defaults(handler=leads_command)


def leads_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis leads``; returns the exit status.

    Example:
        >>> leads_command(build_parser().parse_args(["leads", "--search", "x", "--out", "a.csv"]))
        0
    """
    out = Path(args.out)
    problem = out_problem(out, (".parquet", ".csv"))
    if problem:
        print_error(problem)
        return EXIT_USAGE
    filters: dict[str, Any] = {}
    for item in args.where:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            print_error(f"--where {item!r}: write FIELD=VALUE, e.g. ProspectStage=Customer")
            return EXIT_USAGE
        filters[field.strip()] = value.strip()
    from ..api.client import LeadSquaredClient
    from ..leads import find_leads

    started = time.monotonic()
    try:
        calls, seconds = args.rate_limit
        client = LeadSquaredClient(args.host, max_calls=calls, per_seconds=seconds)
        leads = find_leads(
            client=client,
            store=args.store,
            modified_since=args.modified_since,
            created_since=args.created_since,
            search=args.search,
            progress=not args.no_progress,
            **filters,
        )
        write_frame(leads, out)
    except KeyboardInterrupt:
        kept = f" The windows read so far are kept in {args.store}." if args.store else ""
        print(f"\nInterrupted.{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, LeadSquaredError) as err:
        print_error(str(err))
        return EXIT_USAGE
    except OSError as err:
        print_error(f"cannot write {str(out)!r}: {err.strerror or err}")
        return EXIT_USAGE
    by_stage = leads["stage"].value_counts(sort=True).head(3).rows() if leads.height else []
    stages = ", ".join(f"{stage or '(none)'} {n:,}" for stage, n in by_stage)
    print(
        f"Found {leads.height:,} leads in {client.stats.calls:,} calls, "
        f"{time.monotonic() - started:.1f}s" + (f" (stages: {stages})" if stages else "")
    )
    print(f"Wrote {leads.height:,} rows x {leads.width} columns to {out}")
    return EXIT_OK
