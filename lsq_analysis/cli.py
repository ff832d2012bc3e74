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
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import re
import shlex
import signal
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from .errors import LeadSquaredError
from .report import add_demo_parser, add_report_parser
from .vocabulary import is_lead_id

__all__ = ["SUBCOMMANDS", "build_parser", "main", "read_leads_file"]

EXIT_OK = 0
EXIT_LEADS_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_LEAD_COLUMNS = ("lead_id", "leadid", "prospectid", "prospect_id", "relatedprospectid", "id")


# --------------------------------------------------------------------- helpers
def _rate_limit(text: str) -> tuple[int, float] | None:
    """``"25/5"`` -> (25, 5.0); ``"none"`` -> None."""
    if text.strip().lower() in ("none", "off", "0"):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", text)
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate limit; write CALLS/SECONDS, e.g. 25/5 (25 calls per 5 s)"
        )
    return int(match.group(1)), float(match.group(2))


def _max_age(text: str) -> timedelta:
    """``"12h"``, ``"30m"``, ``"7d"``, ``"90s"`` or plain seconds -> timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an age; write a number with s, m, h or d, e.g. 12h or 7d"
        )
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=float(match.group(1)) * unit)


def _latency(text: str) -> tuple[float, float]:
    """``"0.1-0.3"`` -> (0.1, 0.3); ``"0.2"`` -> (0.2, 0.2)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a latency; write seconds or LOW-HIGH, e.g. 0.1-0.3"
        )
    low = float(match.group(1))
    high = float(match.group(2)) if match.group(2) else low
    if high < low:
        raise argparse.ArgumentTypeError(f"in {text!r} the high latency is below the low one")
    return low, high


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def read_leads_file(path: str | os.PathLike[str]) -> list[str]:
    """Lead ids from a file: one per line (``#`` comments and blank lines ignored), or a
    CSV file with a ``lead_id`` / ``ProspectID`` column (else its first column). ``-``
    reads standard input.

    Raises:
        OSError: the file cannot be read.

    Example:
        >>> read_leads_file("leads.txt")[:1]
        ['3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf']
    """
    text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    is_csv = str(path).lower().endswith(".csv") or "," in lines[0] or "\t" in lines[0]
    if not is_csv:
        return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
    dialect = "excel-tab" if "\t" in lines[0] else "excel"
    rows = [row for row in csv.reader(io.StringIO("\n".join(lines)), dialect) if row]
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in _LEAD_COLUMNS if name in header), 0)
    body = rows[1:] if not is_lead_id(rows[0][column]) else rows
    return [row[column].strip() for row in body if len(row) > column and row[column].strip()]


def _write_frame(frame: object, out: Path) -> None:
    """Write atomically: a temporary file beside the target, then a rename."""
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            frame.write_csv(tmp)
        else:
            frame.write_parquet(tmp)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def out_problem(
    out: str | os.PathLike[str],
    suffixes: Sequence[str] | None = None,
    *,
    create_parents: bool = False,
) -> str | None:
    """What stops ``out`` from being written, or None: checked before any API call.

    Args:
        out: the file to write.
        suffixes: the endings allowed (lower case, with the dot); None allows any.
        create_parents: the writer creates missing folders, so only the nearest
            existing one must be writable.

    Returns:
        A message saying what to fix, or None when a file could be written there
        (a temporary file is created beside it and removed again).

    Example:
        >>> out_problem("no-such-folder/out.parquet", (".parquet", ".csv"))
        "the folder of --out ('no-such-folder') does not exist; create it first"
    """
    path = Path(out)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        return f"--out must end in {' or '.join(suffixes)}, not {path.name!r}"
    if path.is_dir():
        return (
            f"--out {str(path)!r} is an existing folder, not a file; name a file "
            "(or move the folder away)"
        )
    folder = path.parent
    if create_parents:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
    if not folder.is_dir():
        return f"the folder of --out ({str(path.parent)!r}) does not exist; create it first"
    probe = folder / f".{path.name}.{os.getpid()}.probe"
    try:
        probe.touch(exist_ok=False)
    except OSError as err:
        return (
            f"cannot write --out {str(path)!r} ({err.strerror or err}); choose a folder "
            "you can write to"
        )
    with contextlib.suppress(OSError):
        probe.unlink()
    return None


def fallback_path(name: str) -> Path:
    """A free file name for output that could not go where asked: here, else the temp folder.

    Example:
        >>> fallback_path("activities.parquet").name.startswith("lsq-unsaved-")
        True
    """
    import tempfile
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        candidate = folder / f"lsq-unsaved-{stamp}-{os.getpid()}-{name}"
        if out_problem(candidate) is None:
            return candidate
    return Path(tempfile.mkstemp(prefix="lsq-unsaved-", suffix=f"-{name}")[1])


def _wrap(text: str) -> str:
    """A paragraph wrapped for --help (the raw formatter keeps the examples' lines)."""
    return textwrap.fill(text, width=79)


def _error(message: str) -> None:
    print(f"lsq-analysis: error: {message}", file=sys.stderr)


# ------------------------------------------------------------------- fetch
def add_lead_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lead ID...`` or ``--leads-file FILE`` (one of them is required)."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--lead",
        dest="leads",
        metavar="ID",
        nargs="+",
        action="extend",
        help="one or more lead ids (GUIDs, the ProspectID of a lead)",
    )
    which.add_argument(
        "--leads-file",
        metavar="FILE",
        help="a file with one lead id per line, or a CSV with a lead_id/ProspectID column "
        "('-' reads standard input)",
    )


def leads_from_args(args: argparse.Namespace) -> list[str] | None:
    """The lead ids of ``--lead`` or ``--leads-file``; None (said on stderr) if unreadable."""
    if not args.leads_file:
        return list(args.leads)
    try:
        leads = read_leads_file(args.leads_file)
    except (OSError, UnicodeDecodeError) as err:
        _error(f"cannot read --leads-file {args.leads_file!r}: {err}")
        return None
    if not leads:
        _error(f"--leads-file {args.leads_file!r} holds no lead ids")
        return None
    return leads


def add_fetch_parser(subparsers: argparse._SubParsersAction) -> None:
    """Declare ``lsq-analysis fetch``."""
    parser = subparsers.add_parser(
        "fetch",
        help="fetch the activities of many leads into a Parquet or CSV file",
        description=_wrap(
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
    add_lead_arguments(parser)
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
        help="keep raw activities per lead in this folder; leads already there cost no call",
    )
    parser.add_argument(
        "--max-age",
        metavar="AGE",
        type=_max_age,
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
        type=_rate_limit,
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
        _error(problem)
        return EXIT_USAGE
    leads = leads_from_args(args)
    if leads is None:
        return EXIT_USAGE

    from .fetch import run_fetch

    try:
        from .api.client import LeadSquaredClient

        options: dict[str, object] = {}
        if args.rate_limit is not None:
            options.update(max_calls=args.rate_limit[0], per_seconds=args.rate_limit[1])
        client = LeadSquaredClient(args.host, **options)
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
            )
    except KeyboardInterrupt:
        stored = f" Leads completed so far are kept in {args.store}." if args.store else ""
        print(f"\nInterrupted.{stored}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, LeadSquaredError) as err:
        _error(str(err))
        return EXIT_USAGE

    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    # nothing came back: an earlier export at --out is worth more than an empty file
    nothing = result.frame.height == 0 and result.failures.height > 0
    try:
        if not nothing:
            _write_frame(result.frame, out)
    except OSError as err:
        fallback = fallback_path(out.name)
        try:
            _write_frame(result.frame, fallback)
        except OSError:
            _error(f"cannot write {str(out)!r}: {err.strerror or err}")
            return EXIT_USAGE
        _error(
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


# ------------------------------------------------------------- fake-server
def add_fake_server_parser(subparsers: argparse._SubParsersAction) -> None:
    """Declare ``lsq-analysis fake-server``."""
    parser = subparsers.add_parser(
        "fake-server",
        help="run a local fake LeadSquared API (for demos, training and offline work)",
        description=_wrap(
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
        type=_rate_limit,
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
        type=_latency,
        default=(0.0, 0.0),
        metavar="LOW-HIGH",
        help="seconds each reply is delayed, e.g. 0.1-0.3",
    )
    parser.add_argument("--error-rate", type=_rate, default=0.0, help="share of HTTP 500 replies")
    parser.add_argument("--drop-rate", type=_rate, default=0.0, help="share of connections dropped")
    parser.add_argument(
        "--write-leads",
        metavar="FILE",
        help="write the served lead ids to FILE, one per line (for fetch --leads-file)",
    )
    parser.set_defaults(handler=fake_server_command)


def fake_server_command(args: argparse.Namespace) -> int:
    """Run ``lsq-analysis fake-server`` until Ctrl-C; returns the exit status."""
    from .api.fake.server import FakeLeadSquared

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
        _error(f"cannot start the fake server: {err}")
        return EXIT_USAGE
    if args.write_leads:
        try:
            Path(args.write_leads).write_text("".join(f"{lead}\n" for lead in fake.leads))
        except OSError as err:
            _error(f"cannot write --write-leads {args.write_leads!r}: {err}")
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


# -------------------------------------------------------------------- main
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_demo_parser,
    add_report_parser,
    add_fetch_parser,
    add_fake_server_parser,
]
"""Each entry declares one subcommand (see the module docstring)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``lsq-analysis`` argument parser with every subcommand.

    Example:
        >>> build_parser().parse_args(["fetch", "--lead", lead_id, "--out", "a.csv"]).command
        'fetch'
    """
    from . import __version__

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
