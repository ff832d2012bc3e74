"""The ``lsq-analysis`` command line.

Each subcommand is a pair of functions: ``add_<name>_parser(subparsers)`` declares its
arguments and sets ``handler=`` to ``<name>_command(args) -> int``. Adding a subcommand
is one new pair and one line in :data:`SUBCOMMANDS`.

Keys are read from ``LSQ_ACCESS_KEY`` / ``LSQ_SECRET_KEY`` (or a ``.env`` file), never
from the command line, where they would end up in shell history and process lists.

Exit status: 0 done; 1 some leads failed (the others were written); 2 the command could
not run (bad arguments, settings, keys or store); 130 interrupted.

Example:
    $ lsq-analysis fake-server --port 8765 --synthetic 50 --write-leads leads.txt
    $ lsq-analysis fetch --leads-file leads.txt --store lsq-store --out activities.parquet
    $ lsq-analysis store info lsq-store
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .common import (
    EXIT_INTERRUPTED,
    EXIT_LEADS_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    read_leads_file,
)
from .events import add_fetch_events_parser
from .fake_server import add_fake_server_parser
from .fetching import add_fetch_parser
from .leads import add_leads_parser
from .reports import add_demo_parser, add_report_parser, run_demo, run_report
from .store import add_store_parser

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_LEADS_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SUBCOMMANDS",
    "build_parser",
    "main",
    "read_leads_file",
    "run_demo",
    "run_report",
]

SUBCOMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    add_demo_parser,
    add_report_parser,
    add_fetch_parser,
    add_fetch_events_parser,
    add_leads_parser,
    add_store_parser,
    add_fake_server_parser,
]
"""Each entry declares one subcommand (see the module docstring)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``lsq-analysis`` argument parser with every subcommand.

    Example:
        >>> build_parser().parse_args(["fetch", "--lead", lead_id, "--out", "a.csv"]).command
        'fetch'
    """
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="lsq-analysis",
        description=(
            "Fetch, expand and analyse LeadSquared lead activities. Keys come from "
            "LSQ_HOST, LSQ_ACCESS_KEY and LSQ_SECRET_KEY (or a .env file)."
        ),
        epilog="Run `lsq-analysis COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"lsq-analysis {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> main(["fetch", "--leads-file", "leads.txt", "--out", "activities.parquet"])
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(handler(args))
    except KeyboardInterrupt:  # a command that does not handle Ctrl-C itself
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
