"""Migrating a store folder of version 1 (Parquet per lead) to the Delta tables of version 2.

:class:`~lsq_analysis.store.ActivityStore` runs it when it opens a version-1 folder, holding
the store's write lock:

1. ``raw/`` (the lead files) moves to ``v1/raw/``; a migration resumed after a kill finds it
   there and drops the tables it had half written;
2. the leads are written into the new tables in batches, with a progress bar;
3. the marker is rewritten to version 2 (the commit point: until then the folder is a
   version-1 store, migrated again from the start on the next open);
4. ``cache/``, ``tmp/`` and the migrated lead files in ``v1/`` are deleted (on a later open,
   if a kill came between 3 and 4).

No lead is lost: a lead file that cannot be read is named in a warning and left in ``v1/``
(the store does not hold it, so the next fetch of that lead fetches it again).

Example:
    >>> store = ActivityStore("old-store")   # a version-1 folder: migrated here, once
    Migrating the store to Delta tables: 100%|██████████| 300/300 leads
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from ..errors import StoreError
from .folder import TABLE_NAMES, V1_LEFTOVERS, write_marker
from .records import RAW_SCHEMA
from .v1_folder import RAW, lead_file, list_raw

__all__ = ["MIGRATION_BATCH", "V1_FOLDER", "migrate_v1", "remove_leftovers"]

V1_FOLDER = "v1"
"""Where a migration moves the version-1 ``raw/`` folder while it runs."""
MIGRATION_BATCH = 2_000
"""Leads per commit while migrating."""

Write = Callable[[Mapping[str, list[dict[str, Any]]], Mapping[str, datetime]], object]


def migrate_v1(path: Path, write: Write, *, progress: bool = True) -> int:
    """Move a version-1 folder's lead files aside, ``write`` them in batches, mark version 2.

    Args:
        path: the store folder (its marker says version 1); the caller holds the write lock
            and has not created the tables yet.
        write: writes one batch: lead -> activities (as the API sent them), lead -> fetched at.
        progress: show a progress bar.

    Returns:
        The number of leads migrated.

    Example:
        >>> migrate_v1(Path("old-store"), store_write, progress=False)
        300
    """
    from tqdm.auto import tqdm

    old = path / V1_FOLDER
    if (path / RAW).is_dir() and not (path / RAW / "_delta_log").exists():
        if (old / RAW).exists():
            raise StoreError(
                f"The store {str(path)!r} holds both {RAW}/ and {V1_FOLDER}/{RAW}/ of version 1; "
                f"move one of them out of the store folder, then open it again."
            )
        old.mkdir(exist_ok=True)
        (path / RAW).rename(old / RAW)
    for name in TABLE_NAMES:  # half-written by a migration that was killed
        if (path / name).exists():
            shutil.rmtree(path / name)
    leads = sorted(list_raw(old))
    unreadable: list[str] = []
    bar = tqdm(
        total=len(leads),
        unit="lead",
        desc="Migrating the store to Delta tables",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        for start in range(0, len(leads), MIGRATION_BATCH):
            batch: dict[str, list[dict[str, Any]]] = {}
            when: dict[str, datetime] = {}
            for lead, activities, fetched_at in _read_leads(old, leads[start:][:MIGRATION_BATCH]):
                if activities is None:
                    unreadable.append(lead)
                    continue
                batch[lead], when[lead] = activities, fetched_at
            write(batch, when)
            bar.update(min(MIGRATION_BATCH, len(leads) - start))
    finally:
        bar.close()
    write_marker(path)
    remove_leftovers(path, stored=set(leads) - set(unreadable))
    if unreadable:
        shown = ", ".join(unreadable[:5]) + (" ..." if len(unreadable) > 5 else "")
        warnings.warn(
            f"{len(unreadable)} lead file(s) of the version-1 store could not be read and were "
            f"not migrated ({shown}); they stay in {str(old)!r}, and the next fetch of those "
            "leads fetches them again.",
            UserWarning,
            stacklevel=4,
        )
    return len(leads) - len(unreadable)


def remove_leftovers(path: Path, stored: set[str]) -> None:
    """Delete what a finished migration left: ``cache/``, ``tmp/``, and the version-1 lead
    files of leads the store holds (``v1/`` goes once it holds none).

    Example:
        >>> remove_leftovers(Path("lsq-store"), stored=set(store.lead_ids()))
    """
    for name in V1_LEFTOVERS:
        if name != V1_FOLDER and (path / name).is_dir():
            shutil.rmtree(path / name, ignore_errors=True)
    old = path / V1_FOLDER
    if not old.is_dir():
        return
    try:
        left = list_raw(old)
    except StoreError:
        return  # something foreign in there: leave it for the user
    for lead in left:
        if lead in stored:
            shutil.rmtree(lead_file(old, lead).parent, ignore_errors=True)
    if not (old / RAW).is_dir() or not any((old / RAW).iterdir()):
        shutil.rmtree(old, ignore_errors=True)


def _read_leads(
    old: Path, leads: list[str]
) -> Iterator[tuple[str, list[dict[str, Any]] | None, datetime]]:
    """Each lead's activities and fetch time from its version-1 file (None: unreadable)."""
    for lead in leads:
        file = lead_file(old, lead)
        try:
            df = pl.read_parquet(file, glob=False)
            meta = pl.read_parquet_metadata(file)
            if list(df.columns) != list(RAW_SCHEMA):
                raise ValueError("not a store file")
            fetched_at = datetime.fromisoformat(meta["fetched_at"])
            activities = [orjson.loads(text) for text in df.sort("position")["activity"]]
        except Exception:  # a damaged file of any kind: reported, never migrated half
            yield lead, None, datetime.min
            continue
        yield lead, activities, fetched_at
