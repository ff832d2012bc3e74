"""``lsq-analysis fake-server``: a local LeadSquared for demos, tests and benchmarks.

Example:
    $ lsq-analysis fake-server --port 8765 --synthetic 50 --write-leads leads.txt
"""

from __future__ import annotations

import argparse
import shlex
import signal
import threading
from pathlib import Path

from .common import (
    EXIT_OK,
    EXIT_USAGE,
    parse_latency,
    parse_rate_limit,
    parse_share,
    print_error,
    wrap_help,
)

__all__ = ["add_fake_server_parser", "fake_server_command"]


def add_fake_server_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``lsq-analysis fake-server``."""
    parser = subparsers.add_parser(
        "fake-server",
        help="run a local fake LeadSquared API (for demos, training and offline work)",
        description=wrap_help(
            "Run a fake LeadSquared API on this machine until Ctrl-C. It serves the bundled "
            "sample leads (and --synthetic more), checks its own generated test keys, pages "
            "and rate-limits like the real API and can inject faults. It prints the "
            "variables to export so that `lsq-analysis fetch` and the Python client talk "
            "to it."
        ),
        epilog=(
            "example:\n"
            "  lsq-analysis fake-server --port 8765 --synthetic 100 --latency 0.1-0.3 "
            "--write-leads leads.txt\n"
            "  # then, in another shell, paste the export lines it prints and run:\n"
            "  lsq-analysis fetch --leads-file leads.txt --out activities.parquet"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    parser.add_argument(
        "--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--synthetic", type=int, default=0, metavar="N", help="add N synthetic leads"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of synthetic leads and faults")
    parser.add_argument(
        "--paging",
        choices=("row", "page0", "page1"),
        default="row",
        help="how Offset is read: a row offset, a 0-based or a 1-based page (default row)",
    )
    parser.add_argument(
        "--record-count",
        choices=("total", "page"),
        default="total",
        help="RecordCount is the lead's total or this page's rows (default total)",
    )
    parser.add_argument(
        "--max-page-size", type=int, default=1000, metavar="N", help="rows per reply at most"
    )
    parser.add_argument(
        "--rate-limit",
        type=parse_rate_limit,
        default=(25, 5.0),
        metavar="N/S",
        help="calls per seconds allowed (default 25/5; 'none' for no limit)",
    )
    parser.add_argument(
        "--rate-limit-style",
        choices=("429", "403", "200"),
        default="429",
        help="HTTP status of a rate-limit reply (default 429)",
    )
    parser.add_argument(
        "--latency",
        type=parse_latency,
        default=(0.0, 0.0),
        metavar="LOW-HIGH",
        help="seconds each reply is delayed, e.g. 0.1-0.3",
    )
    parser.add_argument(
        "--error-rate", type=parse_share, default=0.0, help="share of HTTP 500 replies"
    )
    parser.add_argument(
        "--drop-rate", type=parse_share, default=0.0, help="share of connections dropped"
    )
    parser.add_argument(
        "--write-leads",
        metavar="FILE",
        help="write the served lead ids to FILE, one per line (for fetch --leads-file)",
    )
    parser.set_defaults(handler=fake_server_command)


def fake_server_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis fake-server`` until Ctrl-C; returns the exit status."""
    from ..api.fake.server import FakeLeadSquared

    try:
        fake = FakeLeadSquared(
            synthetic=args.synthetic,
            seed=args.seed,
            paging=args.paging,
            record_count=args.record_count,
            max_page_size=args.max_page_size,
            rate_limit=args.rate_limit,
            rate_limit_style=args.rate_limit_style,
            latency=args.latency,
            error_rate=args.error_rate,
            drop_rate=args.drop_rate,
            host=args.bind,
            port=args.port,
        )
        fake.start()  # listening (in a background thread) before the URL is printed
    except (ValueError, OSError) as err:
        print_error(f"cannot start the fake server: {err}")
        return EXIT_USAGE
    if args.write_leads:
        try:
            Path(args.write_leads).write_text("".join(f"{lead}\n" for lead in fake.leads))
        except OSError as err:
            print_error(f"cannot write --write-leads {args.write_leads!r}: {err}")
            fake.stop()
            return EXIT_USAGE
    limit = (
        "no rate limit"
        if args.rate_limit is None
        else (f"rate limit {args.rate_limit[0]} calls per {args.rate_limit[1]:g} s")
    )
    print(f"Fake LeadSquared listening on {fake.url}")
    print(f"{len(fake.leads)} leads, paging={args.paging}, {limit}.")
    if args.write_leads:
        print(f"Lead ids written to {args.write_leads}.")
    print("These are the fake server's own test keys. To use it, run in your shell:")
    print(f"  export LSQ_HOST={shlex.quote(fake.url)}")
    print(f"  export LSQ_ACCESS_KEY={shlex.quote(fake.access_key)}")
    print(f"  export LSQ_SECRET_KEY={shlex.quote(fake.secret_key)}")
    print("Press Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set()) if in_main else None
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        fake.stop()
    print("Fake LeadSquared stopped.", flush=True)
    return EXIT_OK
