"""Raw LeadSquared leads and users -> typed polars frames; leads joined onto activities.

Lead records come in two layouts, and both give the same frame:

* flat objects (``Leads.Get``, quick search, ``Leads/Retrieve/ByIds``, ``Leads.GetById``):
  ``{"ProspectID": "…", "FirstName": "…", "Score": "-10", …}``;
* ``LeadPropertyList`` pairs (``Leads.RecentlyModified``):
  ``{"LeadPropertyList": [{"Attribute": "ProspectID", "Value": "…", "Fields": null}, …]}``.

Either may come bare (a JSON array) or in an envelope (``{"RecordCount": n, "Leads": […]}``).
The API sends every value as a string (``"Score": "-10"``); numbers become numbers, dates UTC
datetimes (``"2017-11-30 07:38:00.000"``), empty strings null, and every field not named in
:data:`LEAD_COLUMNS` is kept under its schema name (``mx_City``), as a string.

Example:
    >>> leads = leads_frame([{"ProspectID": "3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF",
    ...                       "FirstName": "Asha", "Score": "12", "mx_City": "Pune"}])
    >>> leads.select("lead_id", "first_name", "score", "mx_City").row(0)
    ('3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf', 'Asha', 12.0, 'Pune')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import polars as pl

from .schema import UTC_US
from .text import value_text
from .times import parse_times, warn_unread

__all__ = [
    "LEAD_COLUMNS",
    "LEAD_FIELD_NAMES",
    "USER_COLUMNS",
    "leads_frame",
    "users_frame",
    "with_leads",
]

LEAD_COLUMNS: dict[str, pl.DataType] = {
    "lead_id": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "email": pl.String(),
    "phone": pl.String(),
    "source": pl.String(),
    "source_medium": pl.String(),
    "source_campaign": pl.String(),
    "stage": pl.String(),
    "owner_id": pl.String(),
    "owner_email": pl.String(),
    "owner_name": pl.String(),
    "score": pl.Float64(),
    "engagement_score": pl.Float64(),
    "created_on": UTC_US,
    "modified_on": UTC_US,
}
"""The typed columns every leads frame starts with, whatever the response held."""

_LEAD_KEYS = {  # schema name (any case) -> column
    "prospectid": "lead_id",
    "firstname": "first_name",
    "lastname": "last_name",
    "emailaddress": "email",
    "phone": "phone",
    "source": "source",
    "sourcemedium": "source_medium",
    "sourcecampaign": "source_campaign",
    "prospectstage": "stage",
    "ownerid": "owner_id",
    "owneridemailaddress": "owner_email",
    "owneridname": "owner_name",
    "score": "score",
    "engagementscore": "engagement_score",
    "createdon": "created_on",
    "modifiedon": "modified_on",
}

LEAD_FIELD_NAMES: dict[str, str] = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "EmailAddress",
    "phone": "Phone",
    "source": "Source",
    "source_medium": "SourceMedium",
    "source_campaign": "SourceCampaign",
    "stage": "ProspectStage",
    "owner_id": "OwnerId",
    "owner_email": "OwnerIdEmailAddress",
    "score": "Score",
    "engagement_score": "EngagementScore",
    "created_on": "CreatedOn",
    "modified_on": "ModifiedOn",
}
"""Leads-frame column -> the API's schema name: ``columns=["source", "stage"]`` and
``find_leads(stage="Customer")`` take either."""

USER_COLUMNS: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "name": pl.String(),
    "email": pl.String(),
    "role": pl.String(),
    "status_code": pl.Int64(),
    "is_active": pl.Boolean(),
    "groups": pl.List(pl.String()),
    "tag": pl.String(),
    "is_phone_call_agent": pl.Boolean(),
    "manager_user_id": pl.String(),
    "time_zone": pl.String(),
}
"""The typed columns of a users frame (``Users.Get`` and the user-by-id calls)."""

_USER_KEYS = {
    "id": "user_id",
    "userid": "user_id",
    "firstname": "first_name",
    "lastname": "last_name",
    "emailaddress": "email",
    "role": "role",
    "statuscode": "status_code",
    "memberofgroups": "groups",
    "groups": "groups",
    "tag": "tag",
    "isphonecallagent": "is_phone_call_agent",
    "manageruserid": "manager_user_id",
    "timezone": "time_zone",
}


def _records(raw: object, what: str) -> list[Mapping[str, Any]]:
    """The records of a bare array, an envelope (``Leads``/``Users``/``List``) or one record."""
    if isinstance(raw, pl.DataFrame):
        return list(raw.iter_rows(named=True))
    if isinstance(raw, Mapping):
        for key in ("Leads", "Users", "List", "Records"):
            if key in raw:
                return _records(raw[key] or [], what)
        return [raw]
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raise TypeError(
            f"{what} takes the API's records: a list of dicts, or the reply holding them, "
            f"not {type(raw).__name__}"
        )
    out = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise TypeError(f"{what}: every record must be a dict, not {type(item).__name__}")
        out.append(item)
    return out


def _flat(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A ``LeadPropertyList`` record as a flat dict (a flat record as it is)."""
    pairs = record.get("LeadPropertyList")
    if not isinstance(pairs, list):
        return record
    flat: dict[str, Any] = {k: v for k, v in record.items() if k != "LeadPropertyList"}
    for pair in pairs:
        if isinstance(pair, Mapping) and pair.get("Attribute") is not None:
            flat[str(pair["Attribute"])] = pair.get("Value")
    return flat


def _text_columns(
    records: Sequence[Mapping[str, Any]], known: Mapping[str, str]
) -> dict[str, list[str | None]]:
    """Every key as a column of texts (known keys under their column name), "" as null."""
    names: dict[str, str] = {}
    for record in records:
        for key in record:
            if key not in names:
                names[key] = known.get(key.lower().replace("_", ""), key)
    columns: dict[str, list[str | None]] = {}
    for key, name in names.items():
        values = [
            v if v.__class__ is str else value_text(v)
            for v in (record.get(key) for record in records)
        ]
        values = [None if v is None or v.strip() == "" else v for v in values]
        if name in columns:  # two spellings of one field (ProspectID, ProspectId): first wins
            columns[name] = [
                a if a is not None else b for a, b in zip(columns[name], values, strict=True)
            ]
        else:
            columns[name] = values
    return columns


def leads_frame(raw: object, *, users: object = None) -> pl.DataFrame:
    """One typed row per lead, from either response layout.

    Args:
        raw: lead records as the API sent them: a list of flat or ``LeadPropertyList``
            records, or a reply holding them (``{"Leads": […]}``); or a leads frame (to fill
            its owners from ``users``).
        users: a users frame (:func:`users_frame`) or raw users: fills ``owner_name`` (and
            ``owner_email``) from ``owner_id`` where the records did not send them.

    Returns:
        :data:`LEAD_COLUMNS` first (``lead_id`` lower case), then every other field as text
        under its schema name. A lead sent twice (overlapping windows) appears once: the
        record with the latest ``modified_on``.

    Example:
        >>> leads_frame({"RecordCount": 1, "Leads": [{"LeadPropertyList": [
        ...     {"Attribute": "ProspectID", "Value": "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"},
        ...     {"Attribute": "ProspectStage", "Value": "Prospect"}]}]})["stage"].to_list()
        ['Prospect']
    """
    if isinstance(raw, pl.DataFrame) and "lead_id" in raw.columns:  # a leads frame already
        return raw if users is None else _with_owners(raw, _users(users))
    records = [_flat(r) for r in _records(raw, "leads_frame")]
    columns = _text_columns(records, _LEAD_KEYS)
    n = len(records)
    frame = pl.DataFrame(
        {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()},
        height=n,
    )
    unread: dict[str, tuple[int, str]] = {}
    typed = []
    for name, dtype in LEAD_COLUMNS.items():
        text = frame[name] if name in frame.columns else pl.Series(name, [None] * n, pl.String)
        if dtype == UTC_US:
            typed.append(parse_times(text, unread))
        elif dtype == pl.Float64():
            typed.append(text.str.strip_chars().cast(pl.Float64, strict=False))
        elif name in ("lead_id", "owner_id"):
            typed.append(text.str.strip_chars().str.to_lowercase())
        else:
            typed.append(text)
    warn_unread(unread)
    rest = [frame[c] for c in frame.columns if c not in LEAD_COLUMNS]
    out = pl.DataFrame([*typed, *rest], height=n)
    if out.height and out["lead_id"].n_unique() < out.height:  # latest record, first place
        indexed = out.with_row_index("_i").with_columns(
            pl.col("_i").min().over("lead_id").alias("_first")
        )
        out = (
            indexed.sort("modified_on", "_i", nulls_last=False, maintain_order=True)
            .unique("lead_id", keep="last", maintain_order=True)
            .sort("_first")
            .drop("_i", "_first")
        )
    if users is not None:
        out = _with_owners(out, _users(users))
    return out


def _users(users: object) -> pl.DataFrame:
    return users if isinstance(users, pl.DataFrame) else users_frame(users)


def _with_owners(leads: pl.DataFrame, users: pl.DataFrame) -> pl.DataFrame:
    if not users.height or "user_id" not in users.columns:
        return leads
    owners = users.select(
        pl.col("user_id").alias("owner_id"),
        pl.col("name").alias("_owner_name"),
        pl.col("email").alias("_owner_email"),
    ).unique("owner_id", keep="first")
    return (
        leads.join(owners, on="owner_id", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("owner_name", "_owner_name").alias("owner_name"),
            pl.coalesce("owner_email", "_owner_email").alias("owner_email"),
        )
        .drop("_owner_name", "_owner_email")
    )


def users_frame(raw: object) -> pl.DataFrame:
    """One typed row per user (``Users.Get``, or the user-by-id call's ``UserId`` layout).

    Returns:
        :data:`USER_COLUMNS` first (``name`` is first and last name; ``is_active`` is
        ``StatusCode`` 0), then every other field as text.

    Example:
        >>> users_frame([{"ID": "ABC", "FirstName": "Bob", "LastName": "Doe", "StatusCode": 0}])
        ...     .select("user_id", "name", "is_active").row(0)
        ('abc', 'Bob Doe', True)
    """
    records = _records(raw, "users_frame")
    n = len(records)
    groups_key = next(
        (k for r in records for k in r if k.lower() in ("memberofgroups", "groups")), None
    )
    groups = [
        [str(g) for g in r[groups_key]] if groups_key and isinstance(r.get(groups_key), list)
        else None
        for r in records
    ]  # fmt: skip
    plain = [{k: v for k, v in r.items() if k != groups_key} for r in records]
    columns = _text_columns(plain, _USER_KEYS)
    frame = pl.DataFrame(
        {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()},
        height=n,
    )

    def text(name: str) -> pl.Series:
        return frame[name] if name in frame.columns else pl.Series(name, [None] * n, pl.String)

    status = text("status_code").str.strip_chars().cast(pl.Float64, strict=False).cast(pl.Int64)
    agent = text("is_phone_call_agent").str.to_lowercase()
    first, last = text("first_name"), text("last_name")
    name = pl.DataFrame([first, last]).select(
        pl.concat_str([pl.col("first_name"), pl.col("last_name")], separator=" ", ignore_nulls=True)
        .str.strip_chars()
        .replace("", None)
        .alias("name")
    )["name"]
    typed = [
        text("user_id").str.strip_chars().str.to_lowercase(),
        first,
        last,
        name,
        text("email"),
        text("role"),
        status,
        (status == 0).alias("is_active"),
        pl.Series("groups", groups, dtype=pl.List(pl.String)),
        text("tag"),
        agent.replace_strict({"true": True, "false": False, "1": True, "0": False},
                             default=None, return_dtype=pl.Boolean).alias("is_phone_call_agent"),
        text("manager_user_id").str.strip_chars().str.to_lowercase(),
        text("time_zone"),
    ]  # fmt: skip
    rest = [frame[c] for c in frame.columns if c not in USER_COLUMNS]
    return pl.DataFrame([*typed, *rest], height=n)


FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def with_leads(
    df: FrameT, leads: pl.DataFrame | pl.LazyFrame, *, columns: Sequence[str] | None = None
) -> FrameT:
    """The activity frame with the leads' attributes as ``lead.<attribute>`` columns.

    Args:
        df: an activity frame (or a LazyFrame such as ``store.scan()``).
        leads: a leads frame (:func:`leads_frame`).
        columns: only these attributes (default: every column of ``leads``).

    Returns:
        ``df``'s rows in their order, with ``lead.source``, ``lead.stage``, … (null for a lead
        the leads frame does not hold); ``lead.`` columns ``df`` had already are replaced.

    Raises:
        ValueError: ``leads`` has no ``lead_id``, or ``columns`` names one it lacks.

    Example:
        >>> with_leads(activities, leads, columns=["source", "stage"]).columns[-2:]
        ['lead.source', 'lead.stage']
    """
    lazy_leads = leads.lazy()
    names = lazy_leads.collect_schema().names()
    if "lead_id" not in names:
        raise ValueError("with_leads: the leads frame has no lead_id column (use leads_frame)")
    wanted = [c for c in names if c != "lead_id"] if columns is None else list(columns)
    missing = [c for c in wanted if c not in names]
    if missing:
        raise ValueError(
            f"with_leads: the leads frame has no column {missing[0]!r}; it has "
            f"{', '.join(c for c in names if c != 'lead_id')}"
        )
    joined = lazy_leads.select("lead_id", *(pl.col(c).alias(f"lead.{c}") for c in wanted)).unique(
        "lead_id", keep="first"
    )
    base = df.lazy()
    stale = [c for c in base.collect_schema().names() if c in {f"lead.{w}" for w in wanted}]
    out = base.drop(stale).join(joined, on="lead_id", how="left", maintain_order="left")
    return out.collect() if isinstance(df, pl.DataFrame) else out
