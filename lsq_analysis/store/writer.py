"""BatchWriter: what a fetch hands the store lead by lead, committed in batches.

A fetch finishes leads one at a time, but each store commit costs a few Delta commits, so
:class:`BatchWriter` keeps the finished leads and writes them with one
:meth:`~lsq_analysis.store.ActivityStore.write_leads` every ``max_leads`` leads or
``max_seconds`` seconds, whichever comes first (and at :meth:`~BatchWriter.flush`). A run
killed at any moment loses only the leads not committed yet; the next run fetches them
again. Failed leads are committed with the batch as ``fetches`` rows of outcome
``"failed"``.

A lead refreshed from its newest pages only (the fetch stopped at the first activity already
stored) is merged with what the store holds for it when its batch is written
(:func:`~lsq_analysis.store.records.merge_activities`).

Example:
    >>> writer = BatchWriter(store, max_leads=500, max_seconds=5)
    >>> writer.add(lead, activities, fetched_at=now, pages=2)
    >>> writer.flush()
    1
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ..vocabulary import activity_identity
from .activity_store import ActivityStore
from .records import merge_activities

__all__ = ["BATCH_LEADS", "BATCH_SECONDS", "BatchWriter", "stored_identities"]

BATCH_LEADS = 500
"""Leads per commit while fetching, at most."""
BATCH_SECONDS = 5.0
"""Seconds a finished lead waits for its commit, at most."""


@dataclass
class _Lead:
    activities: Sequence[Mapping[str, Any]]
    fetched_at: datetime
    pages: int | None
    complete: bool


class BatchWriter:
    """Buffers finished leads and failures; writes them to ``store`` in batches.

    Args:
        store: the store to write to.
        max_leads: commit once this many leads (and failures) are waiting.
        max_seconds: commit once the oldest waiting lead has waited this long.

    Example:
        >>> with BatchWriter(store) as writer:
        ...     writer.add(lead, activities, fetched_at=now, pages=1)
    """

    def __init__(
        self,
        store: ActivityStore,
        *,
        max_leads: int = BATCH_LEADS,
        max_seconds: float = BATCH_SECONDS,
    ) -> None:
        self.store = store
        self.max_leads = max(1, int(max_leads))
        self.max_seconds = float(max_seconds)
        self.commits = 0
        self._leads: dict[str, _Lead] = {}
        self._failed: dict[str, str] = {}
        self._since: float | None = None

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def __len__(self) -> int:
        return len(self._leads) + len(self._failed)

    def add(
        self,
        lead: str,
        activities: Sequence[Mapping[str, Any]],
        *,
        fetched_at: datetime,
        pages: int | None = None,
        complete: bool = True,
    ) -> None:
        """Queue one finished lead (``complete=False``: only its newest pages, to merge).

        Example:
            >>> writer.add(lead, activities, fetched_at=now, pages=3)
        """
        self._failed.pop(lead, None)
        self._leads[lead] = _Lead(activities, fetched_at, pages, complete)
        self._queued()

    def fail(self, lead: str, reason: str) -> None:
        """Queue a failed lead: a ``fetches`` row with outcome ``"failed"`` and ``reason``.

        Example:
            >>> writer.fail(lead, "ServerError: No reply within 30 s")
        """
        if lead not in self._leads:
            self._failed[lead] = reason
            self._queued()

    def _queued(self) -> None:
        if self._since is None:
            self._since = time.monotonic()
        if len(self) >= self.max_leads:
            self.flush()

    def due_in(self) -> float | None:
        """Seconds until the waiting leads are due for their commit (None: none waiting).

        Example:
            >>> writer.due_in()
            4.2
        """
        if self._since is None:
            return None
        return max(0.0, self._since + self.max_seconds - time.monotonic())

    def flush_if_due(self) -> int | None:
        """Commit if the oldest waiting lead has waited ``max_seconds``; the new version.

        Example:
            >>> writer.flush_if_due()
        """
        due = self.due_in()
        return self.flush() if due is not None and due <= 0 else None

    def flush(self) -> int | None:
        """Commit everything waiting, in one write; returns the store's new version (None
        when nothing was waiting). On an error nothing waiting is dropped: call again.

        Example:
            >>> writer.flush()
            12
        """
        if not self._leads and not self._failed:
            return None
        partial = [lead for lead, item in self._leads.items() if not item.complete]
        stored = _stored_activities(self.store, partial) if partial else {}
        mapping = {
            lead: (
                item.activities
                if item.complete
                else merge_activities(stored.get(lead, []), item.activities, complete=False)
            )
            for lead, item in self._leads.items()
        }
        version = self.store.write_leads(
            mapping,
            fetched_at={lead: item.fetched_at for lead, item in self._leads.items()},
            pages={lead: item.pages for lead, item in self._leads.items() if item.pages},
            failed=self._failed,
        )
        self._leads, self._failed, self._since = {}, {}, None
        self.commits += 1
        return version


def _stored_activities(store: ActivityStore, leads: list[str]) -> dict[str, list[Any]]:
    rows = store.raw_rows(leads).sort("lead_id", "position", maintain_order=True)
    out: dict[str, list[Any]] = {}
    for lead, text in zip(rows["lead_id"], rows["activity"], strict=True):
        out.setdefault(lead, []).append(orjson.loads(text))
    return out


def stored_identities(store: ActivityStore, leads: Iterable[str]) -> dict[str, set[bytes]]:
    """Lead -> the identities (:func:`~lsq_analysis.vocabulary.activity_identity`) of its
    stored activities, for a refresh that stops at the first activity already stored.

    Example:
        >>> stored_identities(store, [lead])[lead]
        {b'...', b'...'}
    """
    wanted = list(leads)
    out: dict[str, set[bytes]] = {lead: set() for lead in wanted}
    rows = store.raw_rows(wanted)
    for lead, text in zip(rows["lead_id"], rows["activity"], strict=True):
        out.setdefault(lead, set()).add(activity_identity(text))
    return out
