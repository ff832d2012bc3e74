"""What each person does: activities per creator and period, with a count per event type.

The creator of an activity is the user named in its ``data.CreatedByName`` (per-lead
activities; the account-wide call's flat ``created_by_name`` column where the frame has one).
Rows without a creator name (most system events, the audit-log rows) are nobody's, and
``"System"`` is left out by default.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.owners import owner_activity
    >>> weekly = owner_activity(lsq.load_sample(), every="1mo")
    >>> weekly.columns[:5]
    ['owner', 'owner_id', 'period', 'n_activities', 'n_leads']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from ..frames.leads import users_frame
from ..vocabulary import (
    GUID_PATTERN,
    Events,
    Frame,
    Leads,
    TimeBound,
    as_list,
    check_zone,
    column_names,
    event_labels,
)
from .cohort_conversion import check_every
from .prepare import in_zone, prepared

__all__ = ["CREATOR_ID_COLUMNS", "CREATOR_NAME_COLUMNS", "owner_activity"]

CREATOR_NAME_COLUMNS = ("data.CreatedByName", "created_by_name")
"""Where an activity names its creator, in order of preference."""
CREATOR_ID_COLUMNS = ("fields.CreatedBy", "created_by", "data.CreatedBy")
"""Where an activity may carry its creator's user id (only GUID values are read as ids: the
audit-log rows' ``data.CreatedBy`` holds a name)."""
_CREATOR_EMAIL = "created_by_email_address"
_OWNER_COLUMNS = ("owner", "owner_id", "period", "n_activities", "n_leads")


def _users(users: object) -> pl.DataFrame:
    """``user_id``, ``_shown`` (name, else email, else id), ``_email`` and ``_name`` keys."""
    frame = users.lazy().collect() if isinstance(users, (pl.DataFrame, pl.LazyFrame)) else None
    if frame is None:
        try:
            frame = users_frame(users)
        except (TypeError, ValueError) as error:
            raise ValueError(
                "owner_activity(): users= takes a users frame (lsq.users_frame(client."
                f"get_users())) or the raw users ({error})"
            ) from None
    if "user_id" not in frame.columns:
        raise ValueError(
            "owner_activity(): users= has no user_id column; build it with lsq.users_frame("
            f"client.get_users()) (it has {frame.columns})"
        )

    def text(name: str) -> pl.Expr:
        if name not in frame.columns:
            return pl.lit(None, dtype=pl.Utf8)
        value = pl.col(name).cast(pl.Utf8).str.strip_chars()
        return pl.when(value != "").then(value)

    uid = text("user_id").str.to_lowercase()
    return (
        frame.select(
            uid.alias("user_id"),
            pl.coalesce(text("name"), text("email"), uid).alias("_shown"),
            text("email").str.to_lowercase().alias("_email"),
            text("name").str.to_lowercase().alias("_name"),
        )
        .filter(pl.col("user_id").is_not_null())
        .unique("user_id", keep="first", maintain_order=True)
    )


def _lookup(users: pl.DataFrame, key: str) -> tuple[pl.Series, pl.Series]:
    """Key -> user id for the keys that name exactly one user."""
    unique = (
        users.drop_nulls(key)
        .group_by(key)
        .agg(pl.col("user_id").unique())
        .filter(pl.col("user_id").list.len() == 1)
    )
    return unique[key], unique["user_id"].list.first()


def _owner_names(
    frame: pl.LazyFrame, users: pl.DataFrame | None, columns: Iterable[str]
) -> pl.LazyFrame:
    """``frame`` (holding ``_name``, the creator's name) with ``owner`` and ``owner_id``.

    The rule is :func:`owner_activity`'s; ``users`` is :func:`_users`' table and ``columns``
    the frame's columns (which id and e-mail columns it has).
    """
    if users is None:
        return frame.with_columns(
            pl.col("_name").alias("owner"), pl.lit(None, dtype=pl.Utf8).alias("owner_id")
        )
    have = set(columns)
    values = [pl.col(c).cast(pl.Utf8).str.strip_chars() for c in CREATOR_ID_COLUMNS if c in have]
    ids = [
        pl.when(value.str.contains(f"^{GUID_PATTERN}$")).then(value.str.to_lowercase())
        for value in values
    ]
    known = pl.Series(users["user_id"].unique().to_list(), dtype=pl.Utf8)
    by_id = pl.coalesce(ids) if ids else pl.lit(None, dtype=pl.Utf8)
    emails, email_ids = _lookup(users, "_email")
    names, name_ids = _lookup(users, "_name")
    by_email = (
        pl.col(_CREATOR_EMAIL).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
        if _CREATOR_EMAIL in have
        else pl.lit(None, dtype=pl.Utf8)
    ).replace_strict(emails, email_ids, default=None, return_dtype=pl.Utf8)
    by_name = (
        pl.col("_name")
        .str.to_lowercase()
        .replace_strict(names, name_ids, default=None, return_dtype=pl.Utf8)
    )
    uid = pl.coalesce(pl.when(by_id.is_in(known.implode())).then(by_id), by_email, by_name)
    shown = pl.col("owner_id").replace_strict(
        users["user_id"], users["_shown"], default=None, return_dtype=pl.Utf8
    )
    return frame.with_columns(uid.alias("owner_id")).with_columns(
        pl.coalesce(shown, pl.col("_name")).alias("owner")
    )


def owner_activity(
    df: Frame,
    *,
    every: str = "1w",
    events: Events = None,
    users: pl.DataFrame | pl.LazyFrame | Iterable[Mapping[str, Any]] | None = None,
    exclude_creators: str | Iterable[str] = ("System",),
    tz: str = "UTC",
    leads: Leads = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Per creator and period: how many activities, on how many leads, of each event type.

    An activity's creator is its ``data.CreatedByName`` (or the account-wide call's
    ``created_by_name``), spaces stripped; rows without one are left out, and so are the
    names in ``exclude_creators`` (compared in any case; ``"System"`` by default).

    With ``users`` (the users table), owners are named by their user record: a row is the
    user whose id it carries (a GUID in ``fields.CreatedBy``, ``created_by`` or
    ``data.CreatedBy``), else the one user with its creator e-mail (``created_by_email_address``),
    else the one user of that name (any case; a name two users share matches neither). The
    owner is then the user's ``name`` (its e-mail when the record has no name) and
    ``owner_id`` its ``user_id``; a creator matching no user keeps the activity's name, with
    a null ``owner_id``. Without ``users``, ``owner_id`` is null and owners are the names.

    The per-event-type columns come after the fixed ones, one per event code counted (in code
    order), named by the event's display label
    (:func:`~lsq_analysis.vocabulary.event_labels`); a label equal to a fixed column name gets
    its code appended (``"n_leads (205)"``). Each holds the number of that owner's activities
    of that type in the period (0 when none), so they add up to ``n_activities``.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        every: the period, a polars duration string (``"1d"``, ``"1w"`` from Monday,
            ``"1mo"``...), cut in ``tz``.
        events: only these events count (codes or names).
        users: the users table (:func:`lsq_analysis.users_frame`, or the raw users of
            ``client.get_users()`` / :func:`lsq_analysis.samples.load_sample_users`).
        exclude_creators: creator names left out.
        tz: the time zone the periods are cut in (IANA name); ``period`` is in it.
        leads, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        One row per owner and period with activities: ``owner``, ``owner_id``, ``period``
        (the period's start, Datetime in ``tz``), ``n_activities``, ``n_leads`` (distinct
        leads), then the event-type columns; sorted by owner, owner id (nulls last) and period.

    Raises:
        ValueError: the frame has no creator column (``data.CreatedByName``), ``every`` is
            not a duration string, a bad ``tz``, an unknown event, or ``users`` is not a
            users table.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.owners import owner_activity
        >>> from lsq_analysis.samples import load_sample_users
        >>> table = owner_activity(lsq.load_sample(), every="1mo", users=load_sample_users())
        >>> "System" in table["owner"].to_list(), table["owner_id"].null_count()
        (False, 0)
    """
    check_zone(tz)
    every = check_every(every, "owner_activity")
    have = column_names(df)
    name_columns = [c for c in CREATOR_NAME_COLUMNS if c in have]
    if not name_columns:
        raise ValueError(
            "owner_activity() needs the creator of each activity, data.CreatedByName (or the "
            "account-wide created_by_name); this frame has neither"
        )
    team = _users(users) if users is not None else None
    extra = (
        [c for c in (*CREATOR_ID_COLUMNS, _CREATOR_EMAIL) if c in have] if team is not None else []
    )
    base = prepared(
        df, "owner_activity", [*name_columns, *extra], leads, events, start, end, ordered=False
    )
    texts = [pl.col(c).cast(pl.Utf8).str.strip_chars() for c in name_columns]
    name = pl.coalesce([pl.when(t != "").then(t) for t in texts])
    excluded = pl.Series(
        sorted({str(x).strip().lower() for x in as_list(exclude_creators)}), dtype=pl.Utf8
    )
    rows = base.with_columns(name.alias("_name")).filter(
        pl.col("_name").is_not_null()
        & ~pl.col("_name").str.to_lowercase().is_in(excluded.implode())
    )
    keys = ["owner", "owner_id", "period"]
    counted = (
        _owner_names(rows, team, have)
        .with_columns(in_zone(pl.col("created_on"), tz).dt.truncate(every).alias("period"))
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("lead_id").n_unique().cast(pl.Int64).alias("n_leads"),
            pl.col("event_code").value_counts(name="_count").alias("_codes"),
        )
        .sort(keys, nulls_last=True)
        .collect()
    )
    return _wide(counted, event_labels(df))


def _wide(counted: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """The aggregated rows with ``_codes`` (code counts) turned into a column per event type."""
    fixed = counted.drop("_codes").with_row_index("_row")
    long = (
        counted.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"), "_codes")
        .explode("_codes")
        .unnest("_codes")
        .drop_nulls("event_code")
    )
    codes = sorted(long["event_code"].unique().to_list())
    if not codes:
        return fixed.drop("_row")
    named = dict(labels.iter_rows())
    columns = {
        code: (
            f"{named.get(code, f'Event {code}')} ({code})"
            if named.get(code, f"Event {code}") in _OWNER_COLUMNS
            else named.get(code, f"Event {code}")
        )
        for code in codes
    }
    wide = long.with_columns(
        pl.col("event_code").replace_strict(columns, return_dtype=pl.Utf8),
        pl.col("_count").cast(pl.Int64),
    ).pivot(on="event_code", index="_row", values="_count", aggregate_function="sum")
    order = [columns[code] for code in codes]
    return (
        fixed.join(wide, on="_row", how="left", maintain_order="left")
        .with_columns(pl.col(order).fill_null(0))
        .select(*_OWNER_COLUMNS, *order)
    )
