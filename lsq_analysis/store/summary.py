"""What a store holds, in figures: for :meth:`ActivityStore.info` and ``lsq-analysis store info``
(and what :meth:`ActivityStore.optimize` did: :class:`OptimizeResult`).

Example:
    >>> store_info(path, tables, current, version, fetches)["leads"]
    300
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from .batches import OUTCOME_FAILED
from .folder import STORE_VERSION
from .tables import Table

__all__ = ["OptimizeResult", "store_info"]


@dataclass(frozen=True)
class OptimizeResult:
    """What :meth:`ActivityStore.optimize` did.

    Attributes:
        rows_dropped: superseded rows removed (``activities`` and ``raw`` together).
        files_replaced: data files rewritten (compacted, without superseded rows).
        files_written: data files written in their place.
        files_deleted: unreferenced files older than the retention window, deleted.
        fetches_dropped: rows of ``fetches`` older than the retention window that no longer
            say what a lead is (each lead keeps its state then and its last failure).
    """

    rows_dropped: int
    files_replaced: int
    files_written: int
    files_deleted: int
    fetches_dropped: int = 0


def store_info(
    path: Path, tables: Sequence[Table], current: pl.DataFrame, version: int, fetches: Table
) -> dict[str, Any]:
    """Leads, activities, version, size on disk, last refresh, failed fetches, and per table
    its files, rows and bytes (tables not created yet are left out).

    Args:
        path: the store folder.
        tables: the store's tables.
        current: each lead's latest complete batch (``lead_id``, ``n_activities``,
            ``fetched_at``).
        version: the store's version.
        fetches: the ``fetches`` table.

    Example:
        >>> store_info(path, tables, current, 3, fetches)["failed_fetches"]
        1
    """
    figures: dict[str, dict[str, int]] = {}
    for table in tables:
        if not table.exists():
            continue
        files = table.files(table.snapshot())
        figures[table.spec.name] = {
            "files": files.height,
            "rows": int(files["rows"].sum()),
            "bytes": int(files["size"].sum()),
        }
    on_disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    activities = int(current["n_activities"].sum())
    failed = (
        fetches.scan(fetches.snapshot())
        .filter(pl.col("outcome") == OUTCOME_FAILED)
        .select(pl.len())
        .collect()
        .item()
    )
    return {
        "path": str(path),
        "store_version": STORE_VERSION,
        "version": version,
        "leads": current.height,
        "activities": activities,
        "superseded_rows": figures.get("activities", {"rows": 0})["rows"] - activities,
        "failed_fetches": int(failed),
        "last_refresh": current["fetched_at"].max(),
        "bytes_on_disk": on_disk,
        "tables": figures,
    }
