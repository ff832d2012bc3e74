"""What leads do next: the events that follow each lead's first ``start`` event, step by step.

``start`` here is an **event** (a code or a name, as :func:`paths` names it in the issue), the
event the paths start from; it is not a date. Within a lead, activities are ordered by
``created_on``, ties keeping the frame's order, as everywhere in :mod:`lsq_analysis.analysis`.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.next_events import paths
    >>> paths(lsq.load_sample(), start="Lead Capture", steps=2, top=3)["step"].unique().to_list()
    [1, 2]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from ..vocabulary import Event, Events, Frame, Leads, event_labels, resolve_events
from .prepare import prepared

__all__ = ["OTHER_EVENT", "paths"]

OTHER_EVENT = "other"
"""The label :func:`paths` gives the events outside the ``top`` of a step."""


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"paths(): {name} must be a whole number from 1, not {value!r}")
    return value


def _start_codes(df: Frame, start: Event | Sequence[Event] | None) -> list[int] | None:
    """The codes of ``start`` (None: a lead's first activity, whatever its event)."""
    if start is None:
        return None
    hint = (
        "paths(start=...) is the event the paths start from (a code or a name such as "
        "'Lead Capture'), not a date; to keep a time window, filter the frame first "
        "(lsq.filter_activities(df, start=..., end=...))"
    )
    if isinstance(start, (dt.date, dt.datetime)):
        raise ValueError(f"{hint}; got {start!r}")
    try:
        codes = resolve_events(start, df)
    except ValueError as error:
        raise ValueError(f"{error}. {hint}") from None
    if not codes:
        raise ValueError(f"paths(): start={start!r} names no event. {hint}")
    return codes


def paths(
    df: Frame,
    *,
    start: Event | Sequence[Event] | None = None,
    steps: int = 4,
    top: int = 8,
    leads: Leads = None,
    events: Events = None,
) -> pl.DataFrame:
    """The next ``steps`` events after each lead's first ``start`` event, counted per step.

    ``start`` is an event (code or name, or a list of either: the first of any of them), not
    a date: the date filters of the other analyses are not taken here (filter the frame
    first). Each lead's path begins at its first ``start`` activity, or with ``start=None``
    at its first activity of any kind; that activity is step 0, and steps 1 ... ``steps``
    are the activities that follow it in the lead's order. Step ``k`` goes from the event at
    step ``k - 1`` (``from_event``) to the event at step ``k`` (``to_event``); a lead with
    fewer activities after its start stops there. Leads without a ``start`` activity have no
    path.

    At each step (0 included) the ``top`` events done by the most leads keep their label and
    the others are grouped as ``"other"`` (:data:`OTHER_EVENT`), on both sides of the links,
    so step ``k``'s ``to_event`` values are step ``k + 1``'s ``from_event`` values. Ties for
    the last places of the top are broken by event label (alphabetical), so the answer never
    depends on row order.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        start: the event(s) the paths start from; ``None``: each lead's first activity.
        steps: how many events to follow after the start (at least 1).
        top: how many events keep their label at each step (at least 1).
        leads: only these leads.
        events: only these events make up the paths (the others are skipped, as in
            :func:`~lsq_analysis.analysis.transitions`); ``start`` should be among them.

    Returns:
        ``step`` (1 ... ``steps``), ``from_event``, ``to_event`` (display labels, see
        :func:`~lsq_analysis.vocabulary.event_labels`, or ``"other"``), ``n_leads`` (leads
        that went that way at that step); sorted by step, ``n_leads`` (most first), then the
        labels.

    Raises:
        ValueError: ``start`` is a date or names no or an unknown event, ``steps`` or ``top``
            is not a whole number from 1, or an unknown event in ``events``.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.next_events import paths
        >>> moves = paths(lsq.load_sample(), start="Lead Capture", steps=3, top=4)
        >>> moves.columns
        ['step', 'from_event', 'to_event', 'n_leads']
        >>> int(moves.filter(pl.col("step") == 1)["n_leads"].sum())
        25
    """
    n_steps = _count(steps, "steps")
    n_top = _count(top, "top")
    start_codes = _start_codes(df, start)
    labels = event_labels(df)
    # no sort of the whole frame: each lead's rows are ordered inside its group (by time, a
    # stable sort keeping the frame's order on ties), and only its first ``steps + 1`` events
    # from the start are kept
    base = prepared(df, "paths", [], leads, events, None, None, ordered=False).filter(
        pl.col("event_code").is_not_null()
    )
    codes = pl.col("event_code").sort_by("created_on", maintain_order=True)
    if start_codes is None:
        per_lead = base.group_by("lead_id").agg(codes.head(n_steps + 1).alias("_path"))
    else:
        is_start = pl.col("event_code").is_in(pl.Series(start_codes, dtype=pl.Int32).implode())
        first = is_start.sort_by("created_on", maintain_order=True).arg_max()
        per_lead = (
            base.group_by("lead_id")
            .agg(codes.slice(first, n_steps + 1).alias("_path"), is_start.any().alias("_has"))
            .filter(pl.col("_has"))
        )
    walked = (
        per_lead.select("_path")
        .with_columns(pl.int_ranges(0, pl.col("_path").list.len()).alias("_step"))
        .explode("_path", "_step")
        .rename({"_path": "event_code"})
        .collect()  # small (a few rows per lead), and read twice below
        .lazy()
    )
    code_labels = pl.col("event_code").replace_strict(
        labels["event_code"], labels["event"], default=None, return_dtype=pl.Utf8
    )
    ranked = (
        walked.group_by("_step", "event_code")
        .agg(pl.len().alias("_n"))
        .with_columns(code_labels.alias("_label"))
        .sort(["_step", "_n", "_label"], descending=[False, True, False])
        .with_columns(
            pl.when(pl.int_range(pl.len()).over("_step") < n_top)
            .then(pl.col("_label"))
            .otherwise(pl.lit(OTHER_EVENT))
            .alias("to_event")
        )
        .select("_step", "event_code", "to_event")
    )
    # each lead's steps are consecutive rows (0, 1, ...): the row before step k >= 1 is the
    # same lead's step k - 1
    moves = (
        walked.join(ranked, on=["_step", "event_code"], how="left", maintain_order="left")
        .with_columns(pl.col("to_event").shift(1).alias("from_event"))
        .filter(pl.col("_step") >= 1)
        .group_by(pl.col("_step").alias("step"), "from_event", "to_event")
        .agg(pl.len().cast(pl.Int64).alias("n_leads"))
        .select(pl.col("step").cast(pl.Int64), "from_event", "to_event", "n_leads")
        .sort(["step", "n_leads", "from_event", "to_event"], descending=[False, True, False, False])
    )
    return moves.collect()
