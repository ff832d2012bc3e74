"""What every command shares: exit statuses, argument types, lead ids from the command line
or a file, and output paths checked before any API call.

Example:
    >>> read_leads_file("leads.txt")[:1]
    ['3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf']
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import re
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from ..vocabulary import is_lead_id

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_LEADS_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_account_arguments",
    "add_lead_arguments",
    "fallback_path",
    "leads_from_args",
    "out_problem",
    "parse_latency",
    "parse_max_age",
    "parse_rate_limit",
    "parse_share",
    "print_error",
    "read_leads_file",
    "wrap_help",
    "write_frame",
]

EXIT_OK = 0


EXIT_LEADS_FAILED = 1


EXIT_USAGE = 2


EXIT_INTERRUPTED = 130


_LEAD_COLUMNS = ("lead_id", "leadid", "prospectid", "prospect_id", "relatedprospectid", "id")


def parse_rate_limit(text: str) -> tuple[int, float] | None:
    """``"25/5"`` -> (25, 5.0); ``"none"`` -> None."""
    if text.strip().lower() in ("none", "off", "0"):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", text)
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate limit; write CALLS/SECONDS, e.g. 25/5 (25 calls per 5 s)"
        )
    return int(match.group(1)), float(match.group(2))


def parse_max_age(text: str) -> timedelta:
    """``"12h"``, ``"30m"``, ``"7d"``, ``"90s"`` or plain seconds -> timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an age; write a number with s, m, h or d, e.g. 12h or 7d"
        )
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=float(match.group(1)) * unit)


def parse_latency(text: str) -> tuple[float, float]:
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


def parse_share(text: str) -> float:
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


def write_frame(frame: object, out: Path) -> None:
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

    stamp = time.strftime("%Y%m%d-%H%M%S")
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        candidate = folder / f"lsq-unsaved-{stamp}-{os.getpid()}-{name}"
        if out_problem(candidate) is None:
            return candidate
    return Path(tempfile.mkstemp(prefix="lsq-unsaved-", suffix=f"-{name}")[1])


def wrap_help(text: str) -> str:
    """A paragraph wrapped for --help (the raw formatter keeps the examples' lines)."""
    return textwrap.fill(text, width=79)


def print_error(message: str) -> None:
    print(f"lsq-analysis: error: {message}", file=sys.stderr)


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    """``--host``, ``--rate-limit`` and ``--no-progress``: what a command that calls the account
    takes (keys come from the environment only).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_account_arguments(parser)
        >>> parser.parse_args(["--rate-limit", "5/5"]).rate_limit
        (5, 5.0)
    """
    parser.add_argument("--host", help="LeadSquared API host; default: LSQ_HOST")
    parser.add_argument(
        "--rate-limit", metavar="N/S", type=parse_rate_limit, default=(25, 5.0),
        help="your plan's API limit, calls per seconds (default 25/5)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_lead_arguments(parser: argparse.ArgumentParser, *, modified_since: bool = False) -> None:
    """``--lead ID...`` or ``--leads-file FILE`` (or, with ``modified_since``,
    ``--leads-modified-since AGE``): one of them is required."""
    which = parser.add_mutually_exclusive_group(required=True)
    if modified_since:
        which.add_argument(
            "--leads-modified-since",
            metavar="AGE",
            help="the leads modified in the account since then (e.g. 7d, 12h, or a date "
            "such as 2026-11-01), found with Leads.RecentlyModified",
        )
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
    """The lead ids of ``--lead`` or ``--leads-file``; None (said on stderr) if unreadable;
    ``[]`` for ``--leads-modified-since`` (the caller asks the account)."""
    if getattr(args, "leads_modified_since", None):
        return []
    if not args.leads_file:
        return list(args.leads)
    try:
        leads = read_leads_file(args.leads_file)
    except (OSError, UnicodeDecodeError) as err:
        print_error(f"cannot read --leads-file {args.leads_file!r}: {err}")
        return None
    if not leads:
        print_error(f"--leads-file {args.leads_file!r} holds no lead ids")
        return None
    return leads
