"""Stage velocity: how long leads stay in each stage, and which leads are stuck in one.

A lead's stages come from its stage-change rows (event code 3002, "StageChange"), each
``data.PreviousStage`` -> ``data.CurrentStage``. A *visit* is a stay in one stage, from the
change into it to the next change (or, while the lead is still in it, to ``as_of``). The stage
before a lead's first change is its ``data.PreviousStage``, entered at the lead's first
activity.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.stages import stage_velocity
    >>> stage_velocity(lsq.load_sample())["stage"].to_list()[:2]
    ['Prospect', 'Contacted']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import polars as pl

from ..vocabulary import (
    DurationLike,
    Frame,
    Leads,
    TimeBound,
    as_list,
    column_names,
    to_timedelta,
    to_utc,
)
from .prepare import latest_value, lead_starts, prepared, segment_keys

__all__ = [
    "CURRENT_STAGE",
    "LEAD_STAGE",
    "PREVIOUS_STAGE",
    "STAGE_CHANGE_CODE",
    "stage_durations",
    "stage_velocity",
    "stuck_leads",
]

STAGE_CHANGE_CODE = 3002
"""The event code of LeadSquared's stage-change activity ("StageChange")."""
PREVIOUS_STAGE = "data.PreviousStage"
"""The stage a stage change leaves."""
CURRENT_STAGE = "data.CurrentStage"
"""The stage a stage change enters."""
LEAD_STAGE = "lead.stage"
"""The lead's stage from the leads frame (:func:`lsq_analysis.with_leads`): the stage of a lead
that never changed stage."""

_US_PER_DAY = 86_400_000_000
_DURATION_COLUMNS = ("lead_id", "stage", "entered_at", "left_at", "days")
_VELOCITY_COLUMNS = ("stage", "n_visits", "median_days", "p90_days", "n_current", "n_stuck")
_STUCK_COLUMNS = ("lead_id", "stage", "entered_at", "days")


def _stage(column: str, have: Sequence[str]) -> pl.Expr:
    """A stage column's text, spaces stripped, empty as null (null when the frame lacks it)."""
    if column not in have:
        return pl.lit(None, dtype=pl.Utf8)
    text = pl.col(column).cast(pl.Utf8).str.strip_chars()
    return pl.when(text != "").then(text)


def _visits(
    df: Frame, function: str, as_of: TimeBound, keys: Sequence[str], leads: Leads
) -> pl.LazyFrame:
    """Every stage visit: ``lead_id``, ``stage``, ``entered_at``, ``left_at``, ``days``,
    ``_pos`` (the visit's place in the lead's visits, from 0) and the lead's segment of
    ``keys``; lazily, sorted by lead and entry."""
    have = column_names(df)
    stage_columns = [c for c in (PREVIOUS_STAGE, CURRENT_STAGE, LEAD_STAGE) if c in have]
    segment = [key for key in keys if key != "lead_id"]
    base = prepared(
        df, function, [*stage_columns, *segment], leads, None, None, None, ordered=False
    )
    cutoff = to_utc(as_of, "as_of")
    if cutoff is not None:
        base = base.filter(pl.col("created_on") <= cutoff)
        horizon: dt.datetime | None = cutoff
    else:
        horizon = df.lazy().select(pl.col("created_on").max()).collect().item()
    rows = base.with_row_index("_row")  # frame order, for changes at the same time

    per_lead = rows.group_by("lead_id").agg(
        pl.col("created_on").min().alias("_first"),
        *([latest_value(LEAD_STAGE).alias("_lead_stage")] if LEAD_STAGE in have else []),
        *[latest_value(key) for key in segment],
    )
    current, previous = _stage(CURRENT_STAGE, have), _stage(PREVIOUS_STAGE, have)
    changes = (
        rows.filter((pl.col("event_code") == STAGE_CHANGE_CODE) & current.is_not_null())
        .select(
            "lead_id",
            "created_on",
            "_row",
            previous.alias("_from"),
            current.alias("_to"),
        )
        .sort("lead_id", "created_on", "_row")
        # the stage a change starts from: the one the previous change entered (the first
        # change's PreviousStage); a change to that same stage is no move and is dropped
        .with_columns(
            lead_starts().alias("_opens"),
            pl.when(lead_starts())
            .then(pl.col("_from"))
            .otherwise(pl.col("_to").shift(1))
            .alias("_in"),
        )
    )
    first_stage = (
        changes.filter("_opens")
        .filter(pl.col("_from").is_not_null())
        .join(per_lead.select("lead_id", "_first"), on="lead_id", how="inner")
        .select(
            "lead_id",
            pl.col("_from").alias("stage"),
            pl.col("_first").alias("entered_at"),
            pl.lit(-1, dtype=pl.Int64).alias("_order"),
        )
    )
    moves = changes.filter(pl.col("_to").ne_missing(pl.col("_in"))).select(
        "lead_id",
        pl.col("_to").alias("stage"),
        pl.col("created_on").alias("entered_at"),
        pl.col("_row").cast(pl.Int64).alias("_order"),
    )
    parts = [first_stage, moves]
    if LEAD_STAGE in have:
        # a lead without stage changes has been in its lead record's stage all along
        unchanged = (
            per_lead.join(changes.select("lead_id").unique(), on="lead_id", how="anti")
            .filter(pl.col("_lead_stage").is_not_null())
            .select(
                "lead_id",
                pl.col("_lead_stage").cast(pl.Utf8).str.strip_chars().alias("stage"),
                pl.col("_first").alias("entered_at"),
                pl.lit(-1, dtype=pl.Int64).alias("_order"),
            )
            .filter(pl.col("stage") != "")
        )
        parts.append(unchanged)
    same_lead = pl.col("lead_id") == pl.col("lead_id").shift(-1)
    visits = (
        pl.concat(parts)
        .sort("lead_id", "entered_at", "_order")
        .with_columns(
            pl.when(same_lead).then(pl.col("entered_at").shift(-1)).alias("left_at"),
            pl.int_range(pl.len(), dtype=pl.Int64).over("lead_id").alias("_pos"),
        )
    )
    end = pl.coalesce(pl.col("left_at"), pl.lit(horizon, dtype=pl.Datetime("us", "UTC")))
    days = (end - pl.col("entered_at")).dt.total_microseconds().cast(pl.Float64) / _US_PER_DAY
    visits = visits.with_columns(days.alias("days"))
    if segment:
        visits = visits.join(
            per_lead.select("lead_id", *segment), on="lead_id", how="left", maintain_order="left"
        )
    return visits.select(*_DURATION_COLUMNS, "_pos", *segment)


def stage_durations(df: Frame, *, as_of: TimeBound = None, leads: Leads = None) -> pl.DataFrame:
    """One row per lead per stage visit, from the stage-change rows (code 3002, "StageChange").

    Each change ``data.PreviousStage`` -> ``data.CurrentStage`` enters ``data.CurrentStage``
    at its ``created_on`` and leaves the stage the lead was in. The stage before a lead's
    first change (that change's ``data.PreviousStage``) was entered at the lead's first
    activity. A lead's stages follow its changes' ``data.CurrentStage`` in time (ties in the
    frame's order); a change into the stage the lead is already in (``Enrolled`` ->
    ``Enrolled``) is no move and starts no visit, while a stage left and entered again is a
    visit each time.

    Leads without a stage change: their stage cannot be read from activities, so they have no
    rows, unless the frame carries the leads' ``lead.stage`` (:func:`lsq_analysis.with_leads`):
    then such a lead has one visit to its ``lead.stage``, entered at its first activity and not
    left. (``lead.stage`` is the lead's stage when the leads were read, which an ``as_of`` in
    the past does not change.)

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        as_of: the time the data runs to (a datetime, date or ISO string; a date or naive
            time is UTC); activities after it are left out. Default: the latest
            ``created_on`` of the frame (all of it, not only the ``leads`` picked).
        leads: only these leads (the shared filter of :mod:`lsq_analysis.analysis`).

    Returns:
        Columns ``lead_id``, ``stage``, ``entered_at``, ``left_at`` (null while the lead is
        still in the stage), ``days`` (Float64: from ``entered_at`` to ``left_at``, or to
        ``as_of`` while the lead is still in it); sorted by lead and ``entered_at``.

    Raises:
        ValueError: a bad ``as_of``, or a frame lacking a column of the expanded frame.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.stages import stage_durations
        >>> visits = stage_durations(lsq.load_sample())
        >>> visits.columns, visits["left_at"].null_count() == visits["lead_id"].n_unique()
        (['lead_id', 'stage', 'entered_at', 'left_at', 'days'], True)
    """
    return _visits(df, "stage_durations", as_of, [], leads).drop("_pos").collect()


def _stuck_days(stuck_after: DurationLike, function: str) -> float:
    try:
        limit = to_timedelta(stuck_after, "stuck_after")
    except ValueError as error:
        raise ValueError(f"{function}(): {error}") from None
    if limit < dt.timedelta(0):
        raise ValueError(f"{function}(): stuck_after={stuck_after!r} must not be negative")
    return limit / dt.timedelta(days=1)


def _final(final_stages: str | Iterable[str]) -> pl.Series:
    return pl.Series(sorted({str(s).strip() for s in as_list(final_stages)}), dtype=pl.Utf8)


def _is_stuck(days: float, final: pl.Series) -> pl.Expr:
    return (
        pl.col("left_at").is_null()
        & (pl.col("days") > days)
        & ~pl.col("stage").is_in(final.implode())
    )


def stage_velocity(
    df: Frame,
    *,
    by: str | Sequence[str] | None = None,
    stuck_after: DurationLike = "30d",
    as_of: TimeBound = None,
    final_stages: str | Iterable[str] = (),
    leads: Leads = None,
) -> pl.DataFrame:
    """Per stage: how many visits, how long the finished ones took, and how many leads are stuck.

    The visits are :func:`stage_durations`'. A lead is *stuck* in a stage when it is still in
    it (as of ``as_of``) and has been for longer than ``stuck_after``, unless the stage is one
    of ``final_stages`` (where a lead is done, such as "Enrolled" or "Lost").

    Segments: with ``by``, each lead (and all its visits) is in its segment, its latest
    non-null value of each ``by`` column among its activities (a ``lead.`` attribute is the
    lead's own); null segments are sorted last.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        by: segment column(s), such as ``"lead.owner_name"`` after
            :func:`lsq_analysis.with_leads`.
        stuck_after: how long a lead may stay in a stage before it is stuck (``"30d"``,
            ``"2w"``, a ``timedelta``).
        as_of: the time the data runs to (see :func:`stage_durations`).
        final_stages: stage names in which no lead is ever stuck.
        leads: only these leads (the shared filter of :mod:`lsq_analysis.analysis`).

    Returns:
        One row per stage (the ``by`` columns first): ``stage``, ``n_visits`` (visits to it,
        finished or not), ``median_days`` and ``p90_days`` (of the **finished** visits, those
        the lead left, linear interpolation; null when none finished: a visit still under way
        has no duration yet), ``n_current`` (leads in the stage now), ``n_stuck`` (of them,
        the stuck ones). Sorted by segment, then by the stage's usual place in a lead's
        journey (the median position of its visits over all leads), then by name.

    Raises:
        ValueError: ``stuck_after`` not a duration, a bad ``as_of``, or ``by`` naming a column
            the frame lacks (a ``lead.`` one: call ``with_leads`` first) or an output column.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.stages import stage_velocity
        >>> table = stage_velocity(lsq.load_sample(), stuck_after="30d")
        >>> table.columns
        ['stage', 'n_visits', 'median_days', 'p90_days', 'n_current', 'n_stuck']
    """
    keys = segment_keys(df, by, "stage_velocity", reserved=(*_VELOCITY_COLUMNS, "lead_id"))
    days = _stuck_days(stuck_after, "stage_velocity")
    final = _final(final_stages)
    visits = _visits(df, "stage_velocity", as_of, keys, leads).collect()
    order = (
        visits.group_by("stage")
        .agg(pl.col("_pos").median().alias("_place"))
        .sort("_place", "stage")
        .with_row_index("_rank")
    )
    done = pl.col("days").filter(pl.col("left_at").is_not_null())
    return (
        visits.group_by(*keys, "stage")
        .agg(
            pl.len().cast(pl.Int64).alias("n_visits"),
            done.median().cast(pl.Float64).alias("median_days"),
            done.quantile(0.9, "linear").cast(pl.Float64).alias("p90_days"),
            pl.col("left_at").is_null().sum().cast(pl.Int64).alias("n_current"),
            _is_stuck(days, final).sum().cast(pl.Int64).alias("n_stuck"),
        )
        .join(order.select("stage", "_rank"), on="stage", how="left")
        .sort(*keys, "_rank", nulls_last=True)
        .select(*keys, *_VELOCITY_COLUMNS)
    )


def stuck_leads(
    df: Frame,
    *,
    by: str | Sequence[str] | None = None,
    stuck_after: DurationLike = "30d",
    as_of: TimeBound = None,
    final_stages: str | Iterable[str] = (),
    leads: Leads = None,
) -> pl.DataFrame:
    """The stuck leads themselves: still in a stage, for longer than ``stuck_after``.

    The rule and the parameters are :func:`stage_velocity`'s; its ``n_stuck`` counts these
    rows.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        by: segment column(s) to show with each lead (its latest non-null value).
        stuck_after, as_of, final_stages, leads: as in :func:`stage_velocity`.

    Returns:
        One row per stuck lead: ``lead_id``, the ``by`` columns, ``stage``, ``entered_at``,
        ``days`` (in the stage so far); longest stuck first, then by lead id.

    Raises:
        ValueError: as :func:`stage_velocity`.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.stages import stuck_leads
        >>> stuck = stuck_leads(lsq.load_sample(), stuck_after="30d", final_stages="Enrolled")
        >>> stuck.columns, (stuck["days"] > 30).all()
        (['lead_id', 'stage', 'entered_at', 'days'], True)
    """
    keys = segment_keys(df, by, "stuck_leads", reserved=_STUCK_COLUMNS)
    days = _stuck_days(stuck_after, "stuck_leads")
    final = _final(final_stages)
    visits = _visits(df, "stuck_leads", as_of, keys, leads)
    return (
        visits.filter(_is_stuck(days, final))
        .select("lead_id", *keys, "stage", "entered_at", "days")
        .sort(["days", "lead_id"], descending=[True, False])
        .collect()
    )
