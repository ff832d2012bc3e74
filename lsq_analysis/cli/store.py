"""``lsq-analysis store``: what a store folder holds, and its upkeep.

Example:
    $ lsq-analysis store info lsq-store
    $ lsq-analysis store optimize lsq-store
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from ..errors import StoreError
from .common import EXIT_OK, EXIT_USAGE

__all__ = ["add_store_parser", "store_command"]


def add_store_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``store info DIR`` and ``store optimize DIR``.

    Example:
        >>> add_store_parser(parser.add_subparsers())
    """
    parser = subparsers.add_parser(
        "store",
        help="what a store folder holds (info), and compacting it (optimize)",
        description=(
            "Look after a store folder (the Delta tables that `fetch --store` writes). "
            "A store of the older layout (Parquet per lead) is migrated when first opened."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  lsq-analysis store info lsq-store\n"
            "  lsq-analysis store info lsq-store --json\n"
            "  lsq-analysis store optimize lsq-store --retention-hours 168"
        ),
    )
    actions = parser.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="leads, activities, versions, size, last refresh")
    info.add_argument("dir", help="the store folder")
    info.add_argument("--json", action="store_true", help="print the figures as JSON")
    info.set_defaults(handler=store_command)
    optimize = actions.add_parser(
        "optimize",
        help="compact the tables, drop superseded rows, delete old unreferenced files",
    )
    optimize.add_argument("dir", help="the store folder")
    optimize.add_argument(
        "--retention-hours",
        type=float,
        default=168.0,
        help="keep files a snapshot younger than this still needs (default 168 = 7 days), "
        "so readers that started earlier and changes() over that window keep working",
    )
    optimize.add_argument("--no-progress", action="store_true", help="no progress bar")
    optimize.set_defaults(handler=store_command)


def store_command(args: argparse.Namespace) -> int:
    """Run ``store info`` or ``store optimize``; returns the exit status.

    Example:
        >>> store_command(build_parser().parse_args(["store", "info", "lsq-store"]))
        0
    """
    from pathlib import Path

    from ..store import ActivityStore

    path = Path(args.dir).expanduser()
    if not (path / "lsq-store.json").is_file():
        print(
            f"error: {str(path)!r} is not a store folder (it has no lsq-store.json); give the "
            "folder you passed to `fetch --store`.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        store = ActivityStore(path, progress=not getattr(args, "no_progress", False))
        if args.store_action == "info":
            info = store.info()
            if args.json:
                print(json.dumps(info, default=str, indent=2))
            else:
                print(_info_text(info))
            return EXIT_OK
        if args.retention_hours < 0:
            print("error: --retention-hours must be 0 or more", file=sys.stderr)
            return EXIT_USAGE
        before = store.info()
        result = store.optimize(retention=timedelta(hours=args.retention_hours))
        after = store.info()
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"Optimized {str(path)!r}: {result.rows_dropped:,} superseded rows dropped, "
        f"{result.files_replaced:,} files rewritten as {result.files_written:,}, "
        f"{result.files_deleted:,} old files deleted, {result.fetches_dropped:,} old rows of "
        f"fetches dropped; size on disk "
        f"{_size(before['bytes_on_disk'])} -> {_size(after['bytes_on_disk'])}."
    )
    return EXIT_OK


def _info_text(info: dict[str, Any]) -> str:
    last = info["last_refresh"]
    lines = [
        f"store        {info['path']} (layout version {info['store_version']})",
        f"version      {info['version']:,} (one per write; Delta tables raw, activities, fetches)",
        f"leads        {info['leads']:,}",
        f"activities   {info['activities']:,}"
        + (
            f" (+{info['superseded_rows']:,} superseded rows until `store optimize`)"
            if info["superseded_rows"]
            else ""
        ),
        f"failed       {info['failed_fetches']:,} failed fetches recorded",
        f"last refresh {last.isoformat(timespec='seconds') if last is not None else 'never'}",
        f"on disk      {_size(info['bytes_on_disk'])}",
    ]
    for name, table in info["tables"].items():
        lines.append(
            f"  {name:<11}{table['rows']:>12,} rows {table['files']:>6,} files "
            f"{_size(table['bytes']):>10}"
        )
    return "\n".join(lines)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TB"
