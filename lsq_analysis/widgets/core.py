"""Interactive pickers and the explorer, for JupyterLab.

Each widget is a thin layer over :mod:`lsq_analysis.analysis` and :mod:`lsq_analysis.charts`
and each has a headless twin, a plain function returning the data behind it, so its logic is
tested without a browser (STYLE.md point 5):

| widget | headless twin |
| --- | --- |
| :class:`LeadPicker` | :func:`lead_index`, :func:`find_leads` |
| :class:`EventPicker` | :func:`event_type_counts` |
| :class:`DateRangePicker` | :func:`date_bounds` |
| :class:`Explorer` (:func:`explore`) | :func:`select_activities`, :func:`activity_table`; its
  ``.frames`` and ``.figures`` hold what it shows |

Every widget carries a CSS class of its own (``lsq-lead-picker``, ``lsq-event-picker``,
``lsq-date-range``, ``lsq-explorer``, ``lsq-timeline``, ``lsq-score-chart``, ``lsq-table``).

Example:
    >>> import lsq_analysis as lsq
    >>> explorer = lsq.explore(lsq.load_sample())  # doctest: +SKIP
    >>> explorer  # in a notebook cell: pickers, timeline, score chart, table  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go
import polars as pl
import traitlets

from ..vocabulary import Events, Leads, TimeBound, filter_activities

__all__ = [
    "DateRangePicker",
    "EventPicker",
    "Explorer",
    "LeadPicker",
    "activity_table",
    "date_bounds",
    "event_type_counts",
    "explore",
    "find_leads",
    "lead_index",
    "score_points",
    "select_activities",
    "timeline_points",
]

# Expanded keys that hold a person's name or e-mail address, best first (matched
# case-insensitively on the part after "data." / "fields.").
_NAME_KEYS = ("fullname", "name", "leadname", "firstname")
_EMAIL_KEYS = ("emailaddress", "email", "emailid")
_EXPANDED_PREFIXES = ("data.", "fields.")


# --------------------------------------------------------------------------- headless twins


def _expanded_key(column: str) -> str | None:
    for prefix in _EXPANDED_PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix) :].lower()
    return None


def _columns_for(df: pl.DataFrame, keys: Sequence[str]) -> list[str]:
    """Expanded string columns whose key is one of ``keys``, in the order of ``keys``."""
    found: list[tuple[int, str]] = []
    for column, dtype in df.schema.items():
        key = _expanded_key(column)
        if key in keys and dtype == pl.String:
            found.append((keys.index(key), column))
    return [column for _, column in sorted(found)]


def lead_index(df: pl.DataFrame) -> pl.DataFrame:
    """One row per lead: what :class:`LeadPicker` searches and shows (its headless twin).

    The name and e-mail come from whatever the data holds (``data.FullName``,
    ``data.EmailAddress``, ``fields.Email``, ...), taking each lead's most recent non-empty value.

    Args:
        df: The expanded activity frame (needs ``lead_id`` and ``created_on``).

    Returns:
        Columns ``lead_id``, ``name``, ``email``, ``activities``, ``last_activity``,
        ``search`` (lower-case id, name and e-mail joined), most active leads first.

    Example:
        >>> import lsq_analysis as lsq
        >>> index = lead_index(lsq.load_sample())
        >>> index.columns[:5]
        ['lead_id', 'name', 'email', 'activities', 'last_activity']
    """

    def first_of(columns: list[str]) -> pl.Expr:
        if not columns:
            return pl.lit(None, dtype=pl.String)
        return pl.coalesce(
            [pl.col(c).sort_by("created_on", descending=True).drop_nulls().first() for c in columns]
        )

    names = _columns_for(df, _NAME_KEYS)
    emails = _columns_for(df, _EMAIL_KEYS)
    # an "Email" field may hold something else in some event types: keep real addresses only
    addresses = [
        pl.when(pl.col(c).str.contains("@", literal=True)).then(pl.col(c)).alias(c) for c in emails
    ]
    index = (
        df.select(["lead_id", "created_on", *names, *addresses])
        .group_by("lead_id")
        .agg(
            first_of(names).alias("name"),
            first_of(emails).alias("email"),
            pl.len().cast(pl.Int64).alias("activities"),
            pl.col("created_on").max().alias("last_activity"),
        )
        .with_columns(
            pl.concat_str(
                [pl.col("lead_id"), pl.col("name"), pl.col("email")],
                separator=" ",
                ignore_nulls=True,
            )
            .str.to_lowercase()
            .alias("search")
        )
        .sort(["activities", "last_activity", "lead_id"], descending=[True, True, False])
    )
    return index


def find_leads(index: pl.DataFrame, query: str = "", *, limit: int = 50) -> pl.DataFrame:
    """The leads whose id, name or e-mail contains ``query`` (any case), most active first.

    Args:
        index: A frame from :func:`lead_index`.
        query: Part of a lead id, a name or an e-mail address; blank matches every lead.
        limit: At most this many rows.

    Returns:
        The matching rows of ``index``.

    Example:
        >>> import lsq_analysis as lsq
        >>> index = lead_index(lsq.load_sample())
        >>> find_leads(index, index["lead_id"][0][:8]).height >= 1
        True
    """
    words = query.strip().lower().split()
    matches = index
    for word in words:
        matches = matches.filter(pl.col("search").str.contains(word, literal=True))
    return matches.head(limit)


def event_type_counts(df: pl.DataFrame) -> pl.DataFrame:
    """Event types with their number of activities: what :class:`EventPicker` lists.

    Each code is named by :func:`lsq_analysis.analysis.event_labels` (audit-log rows, code
    3011, carry the *changed* activity's name, so they are listed as one "Audit log" type).

    Args:
        df: The expanded activity frame.

    Returns:
        Columns ``event_code`` (Int32), ``event_name``, ``activities``; most frequent first.

    Example:
        >>> import lsq_analysis as lsq
        >>> counts = event_type_counts(lsq.load_sample())
        >>> counts.columns
        ['event_code', 'event_name', 'activities']
    """
    from ..analysis.core import event_labels

    counts = df.group_by("event_code").agg(pl.len().cast(pl.Int64).alias("activities"))
    return (
        event_labels(df)
        .rename({"event": "event_name"})
        .join(counts, on="event_code", how="inner")
        .sort(["activities", "event_code"], descending=[True, False])
    )


def date_bounds(df: pl.DataFrame) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day (UTC) holding an activity: the :class:`DateRangePicker` bounds.

    Example:
        >>> import lsq_analysis as lsq
        >>> first, last = date_bounds(lsq.load_sample())
        >>> first <= last
        True
    """
    if df.is_empty():
        return None, None
    created = df["created_on"].drop_nulls()
    if created.is_empty():
        return None, None
    return created.min().date(), created.max().date()  # type: ignore[union-attr]


def _as_tuple(values: object) -> tuple:
    if values is None:
        return ()
    if isinstance(values, (str, int)):
        return (values,)
    return tuple(values)  # type: ignore[arg-type]


def select_activities(
    df: pl.DataFrame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """The activities the explorer shows: the shared filter, oldest first.

    ``events`` takes codes and names alike; ``end`` is exclusive, as everywhere (the explorer
    passes the midnight after its "to" day, so that day is included).

    Args:
        df: The expanded activity frame.
        leads: A lead id or ids; ``None`` keeps every lead.
        events: Event codes or names; ``None`` keeps every event type.
        start: Kept from this time or date (UTC), or ``None``.
        end: Kept before this time or date (UTC), or ``None``.

    Returns:
        The matching rows, oldest first.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> one = select_activities(df, leads=df["lead_id"][0], events=["Email Opened"])
        >>> set(one["event_code"]) <= {0}
        True
    """
    return filter_activities(df, leads=leads, events=events, start=start, end=end).sort(
        ["created_on", "lead_id"], nulls_last=True
    )


def activity_table(df: pl.DataFrame, *, max_rows: int | None = 200) -> pl.DataFrame:
    """The selected activities with only their non-empty expanded fields, newest first.

    Args:
        df: Activities, e.g. from :func:`select_activities`.
        max_rows: Keep at most this many (the newest); ``None`` keeps all.

    Returns:
        ``created_on``, ``lead_id``, ``event_code``, ``event_name``, ``activity_score`` and each
        ``data.*`` / ``fields.*`` column holding at least one value in ``df``.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> table = activity_table(select_activities(df, leads=df["lead_id"][0]))
        >>> table.columns[:3]
        ['created_on', 'lead_id', 'event_code']
    """
    core = [
        c
        for c in ("created_on", "lead_id", "event_code", "event_name", "activity_score")
        if c in df.columns
    ]
    expanded = [c for c in df.columns if _expanded_key(c) is not None]
    if expanded and df.height:
        null_counts = df.select(expanded).null_count().row(0)
        expanded = [c for c, nulls in zip(expanded, null_counts, strict=True) if nulls < df.height]
    else:
        expanded = []
    table = df.select(core + expanded).sort("created_on", descending=True, nulls_last=True)
    return table if max_rows is None else table.head(max_rows)


def _table_html(table: pl.DataFrame, *, total: int, max_chars: int = 160) -> str:
    """An HTML table of ``table`` (values escaped and shortened), with a line saying how many."""
    if table.is_empty():
        return "<div class='lsq-table-note'>No activities match the pickers.</div>"
    shown = table.height
    note = f"{total:,} activities" + (f" (newest {shown:,} shown)" if shown < total else "")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for row in table.iter_rows():
        cells = []
        for value in row:
            if value is None:
                text = ""
            elif isinstance(value, dt.datetime):
                text = value.strftime("%Y-%m-%d %H:%M:%S")
            else:
                text = str(value)
            short = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
            cells.append(f"<td title='{html.escape(text[:1000])}'>{html.escape(short)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<div class='lsq-table-note'>{note}</div>"
        "<div style='max-height:320px;overflow:auto'>"
        "<table class='lsq-activity-table' "
        "style='font-size:12px;border-collapse:collapse;white-space:nowrap'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


class _LeadPartition:
    """Each lead's rows, ordered by time, found without scanning or copying the whole frame.

    Only the row order is sorted (lead, then time: two columns), not the wide frame, so opening
    costs a fraction of a second and no second copy of a million rows; a lead's activities are
    then a gather of its few row numbers.
    """

    def __init__(self, df: pl.DataFrame) -> None:
        self.frame = df
        keys = df.select("lead_id", "created_on").with_row_index("_row")
        keys = keys.sort(["lead_id", "created_on"], nulls_last=True)
        self.order = keys["_row"]
        runs = keys.group_by("lead_id", maintain_order=True).len()
        offsets = runs["len"].cum_sum() - runs["len"]
        self.slices: dict[str, tuple[int, int]] = dict(
            zip(
                runs["lead_id"].to_list(),
                zip(offsets.to_list(), runs["len"].to_list(), strict=True),
                strict=True,
            )
        )

    def leads(self, lead_ids: Iterable[str]) -> pl.DataFrame:
        rows = [self.order.slice(*self.slices[lead]) for lead in lead_ids if lead in self.slices]
        if not rows:
            return self.frame.clear()
        return self.frame[rows[0] if len(rows) == 1 else pl.concat(rows)]

    def first_lead(self) -> pl.DataFrame:
        return self.frame[self.order.slice(0, 1)]


# --------------------------------------------------------------------------- widgets


def _source_frame(source: object) -> pl.DataFrame | None:
    """A frame from a DataFrame or an ActivityStore-like object (``.frame()``); else None."""
    if source is None:
        return None
    if isinstance(source, pl.DataFrame):
        return source
    if isinstance(source, pl.LazyFrame):
        return source.collect()
    frame = getattr(source, "frame", None)
    if callable(frame) and not hasattr(source, "get_lead_activities"):
        return frame()
    return None


def _empty_frame() -> pl.DataFrame:
    from ..frames.core import CORE_SCHEMA

    return pl.DataFrame(schema=CORE_SCHEMA)


def _lead_label(row: dict[str, Any]) -> str:
    last = row["last_activity"]
    when = last.strftime("%Y-%m-%d") if isinstance(last, dt.datetime) else "never"
    who = " · ".join(x for x in (row["name"], row["email"]) if x) or "(no name)"
    return f"{row['activities']:,} activities · last {when} · {who} · {row['lead_id'][:8]}…"


_NAMED_ROWS = 200  # the timeline names its lead rows up to this many leads (else: lead ids)


def _lead_names(index: pl.DataFrame, leads: Sequence[str]) -> dict[str, str]:
    """Lead id -> "name · 1a2b3c4d" (or the e-mail) for the leads the data names."""
    return {
        lead: f"{name or email} · {lead[:8]}"
        for lead, name, email in index.filter(pl.col("lead_id").is_in(list(leads)))
        .select("lead_id", "name", "email")
        .iter_rows()
        if name or email
    }


def _row_names(index: pl.DataFrame, leads: list[str]) -> dict[str, Any]:
    """Tick labels for the timeline's lead rows: "name · 1a2b3c4d" (the id stays the value)."""
    if not leads or len(leads) > _NAMED_ROWS:
        return {"tickmode": "auto", "tickvals": None, "ticktext": None}
    names = _lead_names(index, leads)
    return {"tickmode": "array", "tickvals": leads, "ticktext": [names.get(x, x) for x in leads]}


class _Syncing:
    """A re-entrancy flag: while set, observers ignore the changes the widget makes itself."""

    def __init__(self) -> None:
        self.active = False

    def __enter__(self) -> None:
        self.active = True

    def __exit__(self, *exc: object) -> None:
        self.active = False


def _fetching_text(lead_ids: Sequence[str]) -> str:
    return (
        f"fetching lead {lead_ids[0]}…"
        if len(lead_ids) == 1
        else f"fetching {len(lead_ids)} leads…"
    )


class LeadPicker(W.VBox):
    """Find a lead among thousands by typing part of its id, name or e-mail, and pick it.

    Each candidate shows its activity count and last activity. Given a client (and optionally
    a store), typing a full lead id that is not loaded yet fetches that lead and adds it: in a
    background thread, so the notebook stays usable while the call waits on the rate limit
    (the status line says what is happening; :meth:`wait` blocks until it is done). The
    headless twin is :func:`lead_index` + :func:`find_leads`.

    Args:
        source: An expanded frame, an :class:`~lsq_analysis.ActivityStore`, or a
            :class:`~lsq_analysis.LeadSquaredClient` (then the picker starts empty and fetches
            the leads typed in).
        client: A client used to fetch leads typed by id that are not loaded yet.
        store: Passed to ``fetch_activities`` when fetching (a path or ActivityStore).
        multiple: Pick several leads (``.value`` is a tuple) instead of one (a str or None).
        value: The lead(s) picked at the start.
        limit: How many candidates to list at most.
        progress: Show a progress bar while :meth:`fetch` runs (typed ids fetched in the
            background report in the status line instead).
        background: Fetch typed lead ids in a background thread (False: the typing waits).

    Attributes:
        value: The picked lead id (``multiple=False``) or tuple of ids.
        frame: The activities the picker knows (grows when leads are fetched).
        candidates: The frame of leads listed right now (from :func:`find_leads`).

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> picker = LeadPicker(df)
        >>> picker.search.value = df["lead_id"][0][:8]
        >>> picker.value = df["lead_id"][0]
        >>> picker.value == df["lead_id"][0]
        True
    """

    value = traitlets.Any(None)
    frame_version = traitlets.Int(0)

    def __init__(
        self,
        source: object = None,
        *,
        client: object = None,
        store: object = None,
        multiple: bool = False,
        value: str | Sequence[str] | None = None,
        limit: int = 50,
        progress: bool = True,
        background: bool = True,
    ) -> None:
        frame = _source_frame(source)
        if frame is None and source is not None and hasattr(source, "get_lead_activities"):
            client = client or source
        self.frame: pl.DataFrame = frame if frame is not None else _empty_frame()
        self.client = client
        self.store = store
        self.multiple = multiple
        self.limit = limit
        self.progress = progress
        self.background = background
        self._fetcher: ThreadPoolExecutor | None = None
        self._fetching: Future | None = None
        self.index = lead_index(self.frame)
        self.candidates = self.index.head(0)
        self._syncing = _Syncing()
        placeholder = "type part of a lead id, name or e-mail"
        if client is not None:
            placeholder += " (or a full lead id to fetch it)"
        self.search = W.Text(placeholder=placeholder, continuous_update=True)
        self.search.layout.width = "100%"
        select_type = W.SelectMultiple if multiple else W.Select
        self.options = select_type(options=[], rows=8)
        self.options.layout.width = "100%"
        self.status = W.HTML()
        self.output = W.Output()
        self.search.add_class("lsq-lead-search")
        self.options.add_class("lsq-lead-options")
        self.status.add_class("lsq-lead-status")
        super().__init__(children=[self.search, self.options, self.status, self.output])
        self.add_class("lsq-lead-picker")
        self.layout.width = "100%"
        self.search.observe(self._on_search, "value")
        self.options.observe(self._on_options, "value")
        if value is not None:
            self.value = tuple(_as_tuple(value)) if multiple else value
        elif multiple:
            self.value = ()
        self._show_candidates()

    # what the user does ------------------------------------------------------------------
    def _on_search(self, change: dict) -> None:
        query = change["new"].strip()
        if self.client is not None and query and query.lower() not in self._known_ids():
            from ..api.client import validate_lead_id

            try:
                lead_id = validate_lead_id(query)
            except ValueError:
                lead_id = None  # not a whole lead id (yet): just search
            if lead_id is not None and lead_id.lower() not in self._known_ids():
                self._fetch_typed(lead_id)
                return
        self._show_candidates()

    def _fetch_typed(self, lead_id: str) -> None:
        if not self.background:
            self.fetch([lead_id])
            return
        if self._fetcher is None:  # one at a time, in the order typed
            self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="lsq-lead-picker")
        self.status.value = f"<small>{html.escape(_fetching_text([lead_id]))}</small>"
        self._fetching = self._fetcher.submit(self._fetch_reporting, [lead_id])

    def _fetch_reporting(self, lead_ids: list[str]) -> None:
        try:
            self.fetch(lead_ids, progress=False)
        except Exception as error:  # nobody waits on this thread: the status line tells
            message = f"{type(error).__name__}: {error}"
            self.status.value = f"<small>could not fetch: {html.escape(message)}</small>"

    def wait(self, timeout: float | None = None) -> None:
        """Block until the lead ids typed so far have been fetched (for scripts and tests).

        Example:
            >>> picker.search.value = "6f1c1d2e-0b5c-4c3e-9d1a-2f0e7c9b8a71"  # doctest: +SKIP
            >>> picker.wait(); picker.value  # doctest: +SKIP
        """
        if self._fetching is not None:
            self._fetching.result(timeout)

    def _on_options(self, change: dict) -> None:
        if self._syncing.active:
            return
        new = change["new"]
        if self.multiple:
            # keep picked leads that the current search hides; the list shows them all anyway
            self.value = tuple(new)
        elif new is not None:
            self.value = new

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict) -> object:
        value = proposal["value"]
        if self.multiple:
            return tuple(dict.fromkeys(_as_tuple(value)))
        if isinstance(value, (list, tuple)):
            if len(value) > 1:
                raise traitlets.TraitError("this LeadPicker picks one lead: pass multiple=True")
            value = value[0] if value else None
        return value

    @traitlets.observe("value")
    def _on_value(self, change: dict) -> None:
        self._show_candidates()

    # what it shows ---------------------------------------------------------------------------
    def _picked(self) -> tuple[str, ...]:
        return _as_tuple(self.value)

    def _known_ids(self) -> set[str]:
        return {lead.lower() for lead in self.index["lead_id"].to_list()}

    def _show_candidates(self) -> None:
        self.candidates = find_leads(self.index, self.search.value, limit=self.limit)
        rows = {row["lead_id"]: row for row in self.candidates.iter_rows(named=True)}
        picked = [p for p in self._picked() if p not in rows]
        if picked:  # picked leads stay listed (and selected) whatever the search
            extra = self.index.filter(pl.col("lead_id").is_in(picked))
            rows = {row["lead_id"]: row for row in extra.iter_rows(named=True)} | rows
        options = [(_lead_label(row), lead) for lead, row in rows.items()]
        with self._syncing:
            self.options.options = options
            listed = {lead for _, lead in options}
            if self.multiple:
                self.options.value = tuple(p for p in self._picked() if p in listed)
            else:
                self.options.value = self.value if self.value in listed else None
        matched = self.candidates.height
        total = self.index.height
        text = f"{total:,} leads" if not self.search.value.strip() else f"{matched:,} of {total:,}"
        if matched >= self.limit:
            text += f" (first {self.limit} listed: type more to narrow)"
        self.status.value = f"<small>{html.escape(text)}</small>"

    # fetching -------------------------------------------------------------------------------
    def fetch(self, lead_ids: Sequence[str], *, progress: bool | None = None) -> pl.DataFrame:
        """Fetch leads through the client, add them to the picker and pick them.

        Args:
            lead_ids: Lead ids (GUIDs).
            progress: Show a progress bar (default: the picker's ``progress``).

        Returns:
            The fetched activities (possibly empty). Errors are shown in the picker's status
            line, never raised, and never include a key.

        Example:
            >>> picker = LeadPicker(client=client)  # doctest: +SKIP
            >>> picker.fetch(["6f1c1d2e-..."]).height  # doctest: +SKIP
        """
        from ..errors import LeadSquaredError
        from ..fetch import fetch_activities

        if self.client is None:
            raise ValueError("this LeadPicker has no client to fetch with: pass client=")
        self.status.value = f"<small>{html.escape(_fetching_text(lead_ids))}</small>"
        try:
            with self.output:
                fetched = fetch_activities(
                    list(lead_ids),
                    client=self.client,
                    store=self.store,
                    progress=self.progress if progress is None else progress,
                    errors="raise",
                )
        except LeadSquaredError as error:
            self.status.value = f"<small>could not fetch: {html.escape(str(error))}</small>"
            return _empty_frame()
        self.add(fetched)
        known = {lead.lower(): lead for lead in self.index["lead_id"].to_list()}
        found = [known[lead.lower()] for lead in lead_ids if lead.lower() in known]
        if found:
            self.value = (
                tuple(dict.fromkeys([*self._picked(), *found])) if self.multiple else found[0]
            )
        if self.search.value.strip().lower() in {lead.lower() for lead in lead_ids}:
            self.search.value = ""  # the id typed is done; anything typed since stays
        else:
            self._show_candidates()
        missing = [lead for lead in lead_ids if lead.lower() not in known]
        if missing:
            self.status.value = (
                f"<small>no activities for {html.escape(', '.join(missing))}</small>"
            )
        return fetched

    def add(self, df: pl.DataFrame) -> None:
        """Add activities (e.g. newly fetched leads) to what the picker knows.

        Example:
            >>> picker.add(more_activities)  # doctest: +SKIP
        """
        if df.is_empty():
            return
        known = self.frame.filter(~pl.col("lead_id").is_in(df["lead_id"].unique().to_list()))
        self.frame = pl.concat([known, df], how="diagonal_relaxed")
        self.index = lead_index(self.frame)
        self.frame_version += 1
        self._show_candidates()


class EventPicker(W.VBox):
    """Pick event types (several at once), each listed with its number of activities.

    The headless twin is :func:`event_type_counts`.

    Args:
        df: The expanded activity frame.
        value: Event codes picked at the start; every type when left out.

    Attributes:
        value: The picked event codes, a tuple of ints.
        counts: The frame listed (from :func:`event_type_counts`).

    Example:
        >>> import lsq_analysis as lsq
        >>> picker = EventPicker(lsq.load_sample())
        >>> picker.select_none(); picker.value
        ()
        >>> picker.value = (0,); picker.value
        (0,)
    """

    value = traitlets.Tuple()

    def __init__(self, df: pl.DataFrame, *, value: Iterable[int] | None = None) -> None:
        self.counts = event_type_counts(df)
        self.codes: tuple[int, ...] = tuple(int(c) for c in self.counts["event_code"])
        self._names = dict(zip(self.codes, self.counts["event_name"].to_list(), strict=True))
        self._syncing = _Syncing()
        self.options = W.SelectMultiple(options=[], rows=min(12, max(3, len(self.codes))))
        self.options.layout.width = "100%"
        self.all_button = W.Button(description="All", layout=W.Layout(width="60px"))
        self.none_button = W.Button(description="None", layout=W.Layout(width="60px"))
        self.status = W.HTML()
        self.options.add_class("lsq-event-options")
        self.all_button.add_class("lsq-event-all")
        self.none_button.add_class("lsq-event-none")
        super().__init__(
            children=[W.HBox([self.all_button, self.none_button, self.status]), self.options]
        )
        self.add_class("lsq-event-picker")
        self.layout.width = "100%"
        self.all_button.on_click(lambda _: self.select_all())
        self.none_button.on_click(lambda _: self.select_none())
        self.options.observe(self._on_options, "value")
        self.set_counts(self.counts)
        self.value = self.codes if value is None else tuple(int(v) for v in value)

    def set_frame(self, df: pl.DataFrame) -> None:
        """List the event types of another frame (e.g. after leads were added), keeping picks.

        If every type was picked, the new types are picked too.

        Example:
            >>> picker.set_frame(bigger_frame)  # doctest: +SKIP
        """
        had_all = set(self.value) == set(self.codes)
        self.counts = event_type_counts(df)
        self.codes = tuple(int(c) for c in self.counts["event_code"])
        self._names = dict(zip(self.codes, self.counts["event_name"].to_list(), strict=True))
        self.options.rows = min(12, max(3, len(self.codes)))
        picked = self.codes if had_all else tuple(v for v in self.value if v in self.codes)
        self.set_counts(self.counts)
        self.value = picked

    def select_all(self) -> None:
        """Pick every event type."""
        self.value = self.codes

    def select_none(self) -> None:
        """Pick no event type."""
        self.value = ()

    def set_counts(self, counts: pl.DataFrame) -> None:
        """Relabel the list with other counts (e.g. those of the picked leads), keeping the picks.

        Every event type of the original frame stays listed; types missing from ``counts`` show 0.

        Example:
            >>> picker.set_counts(event_type_counts(one_lead))  # doctest: +SKIP
        """
        by_code = dict(
            zip(counts["event_code"].to_list(), counts["activities"].to_list(), strict=True)
        )
        options = [
            (f"{self._names[code]} ({code}) — {by_code.get(code, 0):,}", code)
            for code in self.codes
        ]
        with self._syncing:
            self.options.options = options
            self.options.value = tuple(v for v in self.value if v in self.codes)

    def _on_options(self, change: dict) -> None:
        if not self._syncing.active:
            self.value = tuple(change["new"])

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict) -> tuple[int, ...]:
        return tuple(dict.fromkeys(int(v) for v in proposal["value"]))

    @traitlets.observe("value")
    def _on_value(self, change: dict) -> None:
        with self._syncing:
            self.options.value = tuple(v for v in change["new"] if v in self.codes)
        self.status.value = f"<small>{len(change['new'])} of {len(self.codes)} event types</small>"


class DateRangePicker(W.HBox):
    """Pick a range of days (UTC, both ends included); "All dates" clears it.

    The headless twin is :func:`date_bounds`.

    Args:
        df: The expanded activity frame (sets the bounds shown).
        value: ``(start, end)`` dates; ``None`` at either end means open.

    Attributes:
        value: ``(start, end)``, each a ``datetime.date`` or ``None``.

    Example:
        >>> import datetime as dt, lsq_analysis as lsq
        >>> picker = DateRangePicker(lsq.load_sample())
        >>> picker.value = (dt.date(2025, 3, 1), None)
        >>> picker.start.value
        datetime.date(2025, 3, 1)
    """

    value = traitlets.Tuple((None, None))

    def __init__(
        self, df: pl.DataFrame, *, value: tuple[dt.date | None, dt.date | None] = (None, None)
    ) -> None:
        self._syncing = _Syncing()
        self.start = W.DatePicker(description="from", layout=W.Layout(width="220px"))
        self.end = W.DatePicker(description="to", layout=W.Layout(width="220px"))
        self.clear_button = W.Button(description="All dates", layout=W.Layout(width="90px"))
        self.status = W.HTML()
        self.set_frame(df)
        self.start.add_class("lsq-date-start")
        self.end.add_class("lsq-date-end")
        self.clear_button.add_class("lsq-date-all")
        super().__init__(children=[self.start, self.end, self.clear_button, self.status])
        self.add_class("lsq-date-range")
        self.start.observe(self._on_dates, "value")
        self.end.observe(self._on_dates, "value")
        self.clear_button.on_click(lambda _: setattr(self, "value", (None, None)))
        self.value = tuple(value)

    def set_frame(self, df: pl.DataFrame) -> None:
        """Show the span of another frame (e.g. after leads were added); the range stays.

        Example:
            >>> picker.set_frame(bigger_frame)  # doctest: +SKIP
        """
        self.bounds = date_bounds(df)
        first, last = self.bounds
        span = f"activities from {first} to {last} (UTC)" if first else "no activities"
        self.status.value = f"<small>{span}</small>"

    def _on_dates(self, change: dict) -> None:
        if not self._syncing.active:
            self.value = (self.start.value, self.end.value)

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict) -> tuple:
        start, end = proposal["value"]
        start = start.date() if isinstance(start, dt.datetime) else start
        end = end.date() if isinstance(end, dt.datetime) else end
        if start is not None and end is not None and start > end:
            raise traitlets.TraitError(f"the range starts ({start}) after it ends ({end})")
        return (start, end)

    @traitlets.observe("value")
    def _on_value(self, change: dict) -> None:
        with self._syncing:
            self.start.value, self.end.value = change["new"]


# --------------------------------------------------------------------------- the explorer


def _apply_figure(
    widget: go.FigureWidget, figure: go.Figure, *, with_template: bool = False
) -> None:
    """Make ``widget`` show ``figure`` by updating its traces and layout in place.

    Traces are matched by position; a widget with too few traces gets more (one message), extra
    ones are hidden and emptied, so a redraw sends only the changed properties in one batch.
    """
    new_traces = [trace.to_plotly_json() for trace in figure.data]
    missing = len(new_traces) - len(widget.data)
    if missing > 0:
        widget.add_traces([type(trace)() for trace in figure.data[len(widget.data) :]])
    layout = figure.layout.to_plotly_json()
    layout.pop("template", None)  # validating it as a dict takes seconds: assigned as an object
    if with_template and figure.layout.template is not None:
        widget.layout.template = figure.layout.template  # once, when the widget is shaped
    with widget.batch_update():
        for trace, props in zip(widget.data, new_traces, strict=False):
            old = trace.to_plotly_json()
            props = {k: v for k, v in props.items() if k != "type" and k != "uid"}
            stale = {k: None for k in old if k not in props and k not in ("type", "uid")}
            trace.update({**stale, **props, "visible": props.get("visible", True)})
        for trace in widget.data[len(new_traces) :]:
            trace.update(x=[], y=[], visible=False, showlegend=False)
        widget.layout.update(layout)
        widget.layout.title = layout.get("title", {})


def _event_colors(df: pl.DataFrame) -> dict[str, str]:
    from ..charts.core import event_colors

    return event_colors(df)


# Selections up to this many activities are drawn by updating the data arrays of existing
# traces (fast); bigger ones take the charts' own figures (WebGL, aggregated), applied in place.
FAST_POINTS = 5_000
_HOVER_CHARS = 120
_TIMELINE_HOVER = (
    "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d %H:%M:%S}<br>lead %{y}"
    "<br>score %{customdata[0]} · activity %{customdata[1]}<br>%{customdata[2]}<extra></extra>"
)
_TIMELINE_HOVER_ONE_LEAD = _TIMELINE_HOVER.replace("<br>lead %{y}", "")  # rows are events
_SCORE_HOVER = (
    "<b>%{customdata[0]}</b><br>%{x|%Y-%m-%d %H:%M:%S}<br>score %{customdata[1]:+d}"
    "<br>cumulative %{y}<extra>%{fullData.name}</extra>"
)
_PALETTE = (
    "#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A",
    "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52",
)  # fmt: skip


def _hover_fields(df: pl.DataFrame) -> pl.Expr:
    """``key: value`` lines (HTML-escaped, shortened) of each row's non-empty expanded fields."""
    schema = df.schema
    columns = [c for c, t in schema.items() if _expanded_key(c) is not None and t == pl.String]
    if columns and df.height:
        nulls = df.select(columns).null_count().row(0)
        columns = [c for c, n in zip(columns, nulls, strict=True) if n < df.height]
    if not columns:
        return pl.lit("")
    parts = []
    for column in columns:
        value = pl.col(column).str.slice(0, _HOVER_CHARS)
        value = (
            value.str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True)
            .str.replace_all("\n", " ", literal=True)
        )
        parts.append(pl.lit(f"{html.escape(column)}: ") + value)
    return pl.concat_str(parts, separator="<br>", ignore_nulls=True).fill_null("")


def timeline_points(activities: pl.DataFrame, tz: str = "UTC") -> pl.DataFrame:
    """One row per activity as the explorer's timeline draws it (its headless twin).

    Args:
        activities: Selected activities (e.g. from :func:`select_activities`).
        tz: Time zone of the ``time`` strings.

    Returns:
        ``lead_id``, ``event_code``, ``time`` (ISO in ``tz``), ``score``, ``activity_id``,
        ``fields`` (the hover text of the non-empty expanded fields), oldest first.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> timeline_points(df.head(3)).columns[:3]
        ['lead_id', 'event_code', 'time']
    """
    from ..charts.core import _iso

    return activities.sort("created_on", nulls_last=True).select(
        "lead_id",
        "event_code",
        _iso(pl.col("created_on"), tz).alias("time"),
        pl.col("activity_score").cast(pl.Int64).fill_null(0).alias("score"),
        pl.col("activity_id").fill_null(""),
        _hover_fields(activities).alias("fields"),
    )


def score_points(activities: pl.DataFrame, tz: str = "UTC") -> pl.DataFrame:
    """Each lead's cumulative score after each selected activity (the score chart's twin).

    A thin layer over :func:`lsq_analysis.analysis.score_over_time`.

    Returns:
        ``lead_id``, ``time`` (ISO in ``tz``), ``event``, ``activity_score``,
        ``cumulative_score``, by lead and time.

    Example:
        >>> import lsq_analysis as lsq
        >>> score_points(lsq.load_sample().head(5))["cumulative_score"].is_sorted()
        True
    """
    from ..analysis.core import score_over_time
    from ..charts.core import _iso

    if activities.is_empty():
        return pl.DataFrame(
            schema={
                "lead_id": pl.String,
                "time": pl.String,
                "event": pl.String,
                "activity_score": pl.Int64,
                "cumulative_score": pl.Int64,
            }
        )
    scores = score_over_time(activities)
    return scores.select(
        "lead_id",
        _iso(pl.col("created_on"), tz).alias("time"),
        "event",
        pl.col("activity_score").cast(pl.Int64).fill_null(0),
        pl.col("cumulative_score").cast(pl.Int64),
    )


def _lead_order(activities: pl.DataFrame) -> list[str]:
    """Leads by first activity, as the charts order the timeline's rows."""
    return (
        activities.group_by("lead_id")
        .agg(pl.col("created_on").min().alias("first"))
        .sort(["first", "lead_id"], nulls_last=True)["lead_id"]
        .to_list()
    )


class Explorer(W.VBox):
    """Lead, event-type and date pickers wired to a timeline, a score chart and a table.

    Built by :func:`explore`. The row order by lead and time is computed once, so a lead's
    activities are a gather of its own rows, whatever the size of the frame. The two charts
    are ``go.FigureWidget`` s built once by
    :func:`lsq_analysis.charts.timeline` and :func:`lsq_analysis.charts.score_chart` (one
    trace per event type, one per lead); a pick then only replaces their data arrays in one
    ``batch_update`` each, so a redraw stays small whatever the size of the frame. Selections
    of more than :data:`FAST_POINTS` activities are drawn by the charts' own (aggregating)
    figures instead.

    Attributes:
        lead_picker, event_picker, date_picker: The pickers.
        figures: ``{"timeline": FigureWidget, "score": FigureWidget}``.
        frames: ``{"activities": what is shown, "timeline": timeline_points(...),
            "score": score_points(...), "table": the table's frame}``.
        last_redraw_seconds: How long the last redraw took.

    Example:
        >>> import lsq_analysis as lsq
        >>> explorer = lsq.explore(lsq.load_sample())
        >>> explorer.event_picker.value = (0,)
        >>> set(explorer.frames["activities"]["event_code"]) <= {0}
        True
    """

    def __init__(
        self,
        df: object,
        *,
        leads: str | Sequence[str] | None = None,
        events: Iterable[int] | None = None,
        multiple: bool = True,
        client: object = None,
        tz: str = "UTC",
        max_table_rows: int = 200,
    ) -> None:
        frame = _source_frame(df)
        if frame is None:
            raise TypeError(
                f"explore() takes an activity frame or an ActivityStore, not {type(df).__name__}"
            )
        self.tz = tz
        self.max_table_rows = max_table_rows
        # leads typed in and fetched go into the store the explorer was opened on, if any
        store = None if isinstance(df, (pl.DataFrame, pl.LazyFrame)) else df
        self.lead_picker = LeadPicker(frame, client=client, store=store, multiple=multiple)
        if leads is None:
            leads = self.lead_picker.index["lead_id"].head(1).to_list()
        self.lead_picker.value = tuple(_as_tuple(leads)) if multiple else _as_tuple(leads)[0]
        self.event_picker = EventPicker(frame, value=events)
        self.date_picker = DateRangePicker(frame)
        self.frames: dict[str, pl.DataFrame] = {}
        self.last_redraw_seconds = 0.0
        self.status = W.HTML()
        self.table = W.HTML()
        self.status.add_class("lsq-explorer-status")
        self.table.add_class("lsq-table")
        self.figures: dict[str, go.FigureWidget] = {
            "timeline": go.FigureWidget(),
            "score": go.FigureWidget(),
        }
        self.figures["timeline"].add_class("lsq-timeline")
        self.figures["score"].add_class("lsq-score-chart")
        self._use_frame(frame)
        left = W.VBox(
            [
                W.HTML("<b>Leads</b>"),
                self.lead_picker,
                W.HTML("<b>Event types</b>"),
                self.event_picker,
            ],
            layout=W.Layout(width="36%", min_width="300px"),
        )
        right = W.VBox(
            [self.figures["timeline"], self.figures["score"]], layout=W.Layout(width="64%")
        )
        super().__init__(
            children=[self.date_picker, W.HBox([left, right]), self.status, self.table]
        )
        self.add_class("lsq-explorer")
        self._redrawing = threading.RLock()
        self.lead_picker.observe(self._on_pick, "value")
        self.lead_picker.observe(self._on_frame, "frame_version")
        self.event_picker.observe(self._on_pick, "value")
        self.date_picker.observe(self._on_pick, "value")

    # set-up ----------------------------------------------------------------------------------
    def _use_frame(self, frame: pl.DataFrame) -> None:
        """Partition the frame and give the charts their look: one trace per event type."""
        self._partition = _LeadPartition(frame)
        self._colors = _event_colors(frame)  # fixed, so a type keeps its colour across picks
        self._build_pools()
        self.refresh()

    def _build_pools(self) -> None:
        """Shape both figures for fast redraws (styles and layout from the charts module)."""
        from ..charts.core import score_chart, timeline

        frame = self._partition.frame
        one_per_type = frame.filter(pl.col("created_on").is_not_null()).unique(
            "event_code", keep="first", maintain_order=True
        )
        pool = timeline(one_per_type, tz=self.tz, color_map=self._colors)
        _apply_figure(self.figures["timeline"], pool, with_template=True)
        self._slots = {
            (trace.meta or {}).get("event_code"): index for index, trace in enumerate(pool.data)
        }
        first_lead = self._partition.first_lead()
        score = score_chart(first_lead, tz=self.tz)
        _apply_figure(self.figures["score"], score, with_template=True)
        self._score_style: dict[str, Any] = {"mode": "lines+markers", "line": {"shape": "hv"}}
        if score.data:
            style = score.data[0].to_plotly_json()
            for key in ("x", "y", "customdata", "name", "legendgroup", "meta", "uid", "type"):
                style.pop(key, None)
            self._score_style = style
        self._pools_ready = True

    # picking ----------------------------------------------------------------------------------
    def _selection(self) -> pl.DataFrame:
        leads = _as_tuple(self.lead_picker.value)
        start, last_day = self.date_picker.value
        # the picker's "to" day is included: the window ends at the next midnight
        end = None if last_day is None else last_day + dt.timedelta(days=1)
        picked = self._partition.leads(leads)
        return select_activities(picked, events=self.event_picker.value, start=start, end=end)

    def _on_frame(self, change: dict) -> None:
        # a lead typed in arrives on the picker's fetch thread: one redraw at a time
        with self._redrawing:
            frame = self.lead_picker.frame
            self._partition = _LeadPartition(frame)
            self._colors = _event_colors(frame)
            self._build_pools()
            self.date_picker.set_frame(frame)
            self.event_picker.set_frame(frame)  # new leads may bring new event types
            self.refresh()

    def _on_pick(self, change: dict) -> None:
        with self._redrawing:
            self.refresh()

    def refresh(self) -> None:
        """Redraw the charts and the table for the current picks.

        Example:
            >>> explorer.refresh()  # doctest: +SKIP
        """
        started = time.perf_counter()
        activities = self._selection()
        picked_leads = self._partition.leads(_as_tuple(self.lead_picker.value))
        self.event_picker.set_counts(event_type_counts(picked_leads))
        points = timeline_points(activities, self.tz)
        scores = score_points(activities, self.tz)
        fast = activities.height <= FAST_POINTS and set(points["event_code"].unique()) <= set(
            self._slots
        )
        if fast:
            if not self._pools_ready:
                self._build_pools()
            self._draw_timeline(activities, points)
            self._draw_scores(scores)
        else:
            from ..charts.core import score_chart, timeline

            one_lead = activities["lead_id"].n_unique() == 1
            figure = timeline(
                activities,
                tz=self.tz,
                color_map=self._colors,
                rows="event" if one_lead else "lead",
            )
            rows = figure.layout.yaxis.categoryarray
            leads = list(rows) if rows and figure.layout.yaxis.title.text == "Lead" else []
            # always set: "auto" (no lead rows) also retires the names of an in-place draw
            figure.layout.yaxis.update(**_row_names(self.lead_picker.index, leads))
            _apply_figure(self.figures["timeline"], figure)
            scores_figure = score_chart(activities, tz=self.tz)
            by_id = {(t.meta or {}).get("lead_id"): t for t in scores_figure.data}
            for lead, name in _lead_names(self.lead_picker.index, list(by_id)).items():
                by_id[lead].name = name
            _apply_figure(self.figures["score"], scores_figure)
            self._pools_ready = False
        self.frames = {"activities": activities, "timeline": points, "score": scores}
        self._show(activities, time.perf_counter() - started)

    def _draw_timeline(self, activities: pl.DataFrame, points: pl.DataFrame) -> None:
        from ..charts.core import _timeline_height

        widget = self.figures["timeline"]
        parts = points.partition_by("event_code", as_dict=True) if points.height else {}
        leads = _lead_order(activities)
        # one lead: a row per event type (its journey reads top to bottom), as
        # charts.timeline(rows="event") draws it; several leads: a row per lead
        by_event = len(leads) == 1
        shown = [widget.data[i].name for code, i in self._slots.items() if (code,) in parts]
        rows = shown[::-1] if by_event else leads
        with widget.batch_update():
            for code, index in self._slots.items():
                trace = widget.data[index]
                part = parts.get((code,))
                if part is None:
                    if trace.visible is not False:
                        trace.update(x=[], y=[], customdata=[], visible=False)
                    continue
                trace.update(
                    x=part["time"].to_list(),
                    y=[trace.name] * part.height if by_event else part["lead_id"].to_list(),
                    customdata=part.select("score", "activity_id", "fields").rows(),
                    visible=True,
                    hovertemplate=_TIMELINE_HOVER_ONE_LEAD if by_event else _TIMELINE_HOVER,
                )
            widget.layout.update(
                title={"text": f"Activity timeline ({activities.height:,} activities)"},
                height=_timeline_height(len(rows), len(parts)),
                annotations=[],
            )
            widget.layout.yaxis.update(
                type="category",
                categoryorder="array",
                categoryarray=rows,
                title={"text": "Event type" if by_event else "Lead"},
                **_row_names(self.lead_picker.index, [] if by_event else leads),
            )

    def _draw_scores(self, scores: pl.DataFrame) -> None:
        widget = self.figures["score"]
        parts = scores.partition_by("lead_id", as_dict=True, maintain_order=True)
        leads = [key[0] for key in parts]
        names = _lead_names(self.lead_picker.index, leads)
        missing = len(leads) - len(widget.data)
        if missing > 0:
            widget.add_traces([go.Scatter(**self._score_style) for _ in range(missing)])
        with widget.batch_update():
            for index, trace in enumerate(widget.data):
                if index >= len(leads):
                    if trace.visible is not False:
                        trace.update(x=[], y=[], customdata=[], visible=False)
                    continue
                lead = leads[index]
                part = parts[(lead,)]
                color = _PALETTE[index % len(_PALETTE)]
                trace.update(
                    x=part["time"].to_list(),
                    y=part["cumulative_score"].to_list(),
                    customdata=part.select("event", "activity_score").rows(),
                    name=names.get(lead, lead),
                    legendgroup=lead,
                    meta={"lead_id": lead},
                    visible=True,
                    hovertemplate=_SCORE_HOVER,
                    line={"color": color},
                    marker={"color": color},
                )
            widget.layout.update(annotations=[])

    def _show(self, activities: pl.DataFrame, seconds: float) -> None:
        table = activity_table(activities, max_rows=self.max_table_rows)
        self.frames["table"] = table
        self.table.value = _table_html(table, total=activities.height)
        self.last_redraw_seconds = seconds
        leads = len(_as_tuple(self.lead_picker.value))
        self.status.value = (
            f"<small>{activities.height:,} activities of {leads} lead(s), "
            f"{len(self.event_picker.value)} event type(s); redrawn in {seconds * 1000:.0f} ms"
            "</small>"
        )


def explore(
    df: object,
    *,
    leads: str | Sequence[str] | None = None,
    events: Iterable[int] | None = None,
    multiple: bool = True,
    client: object = None,
    tz: str = "UTC",
) -> Explorer:
    """Explore activities: pick leads, event types and days; see a timeline, scores and fields.

    Args:
        df: The expanded activity frame (or an ActivityStore).
        leads: The lead(s) shown first; the most active lead when left out.
        events: The event codes shown first; every type when left out.
        multiple: Let the lead picker pick several leads.
        client: A client, so that typing a lead id not loaded yet fetches it (into the
            store, when ``df`` is one).
        tz: Time zone of the charts' time axes.

    Returns:
        An :class:`Explorer` widget (display it as a cell's last expression).

    Example:
        >>> import lsq_analysis as lsq
        >>> explorer = lsq.explore(lsq.load_sample())
        >>> sorted(explorer.figures)
        ['score', 'timeline']
    """
    return Explorer(df, leads=leads, events=events, multiple=multiple, client=client, tz=tz)
