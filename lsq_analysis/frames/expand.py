"""The expanded frame: :func:`activities_frame` reads the input chunk by chunk (the next chunk
is parsed in a background thread while this one is expanded) and expands each with vectorised
polars operations into the core columns, typed, then every other key as strings (see
``../shared/DESIGN.md``, "The expanded frame"), in :func:`column_order`; also
:func:`empty_frame`, :func:`drop_duplicate_activities` and the activity-type catalog."""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson
import polars as pl

from .readers import DateKeys, ParsedChunk, activities_table
from .schema import CORE_KEYS, CORE_SCHEMA, LEAD_KEY, UTC_US
from .shapes import chunks, loads
from .text import NEEDS_DECODE, decode_text, null_series, snake_case, to_text, value_int, value_text
from .times import API_TIME, ZERO_DATE_YEAR, Unread, parse_times, time_expr, warn_unread

_ID_COLUMNS = frozenset({"lead_id", "activity_id", "session_id"})
#: Parse the next chunk in a background thread while this one is expanded.
PIPELINE = True


def _core_raw(df: pl.DataFrame, name: str, api_key: str, has_lead: bool) -> pl.Series:
    """A core column as the reader gave it (strings where the schema says string)."""
    dtype = CORE_SCHEMA[name]
    if api_key in df.columns:
        s = df.get_column(api_key)
    else:
        s = null_series(name, df.height, pl.String() if dtype in (pl.String, UTC_US) else dtype)
    if dtype == pl.String or dtype == UTC_US:
        s = to_text(s)
    if name == "lead_id" and has_lead:
        s = s.fill_null(df.get_column(LEAD_KEY))
    return s.alias(name)


def _core_expr(name: str, raw_dtype: pl.DataType, time_fallback: bool) -> pl.Expr:
    dtype = CORE_SCHEMA[name]
    col = pl.col(name)
    if dtype == UTC_US:
        return time_expr(name, time_fallback)
    if raw_dtype == pl.String and dtype != pl.String:
        text = col.str.strip_chars()
        if dtype == pl.Boolean:
            low = text.str.to_lowercase()
            return pl.when(low == "true").then(True).when(low == "false").then(False).alias(name)
        number = text.cast(pl.Float64, strict=False)
        if dtype.is_integer():
            number = number.round()
        return number.cast(dtype, strict=False).alias(name)
    return col.cast(dtype, strict=False).alias(name)


def _data_columns(data: pl.DataFrame | None, n: int, specials: bool) -> list[pl.Series]:
    """(row, Key, Value) triples -> one cleaned ``data.<Key>`` column per key."""
    if data is None or data.height == 0:
        return []
    value = pl.col("Value")
    data = data.filter(pl.col("Key").is_not_null()).with_columns(
        pl.when(value != "").then(value).alias("Value")
    )
    if specials:  # cleaned here, in long form: far fewer cells than the wide columns
        values = data.get_column("Value")
        if values.str.contains(NEEDS_DECODE).any():
            data = data.with_columns(_decoded(values))
    out: list[pl.Series] = []
    for (key,), part in data.partition_by("Key", as_dict=True, maintain_order=True).items():
        rows = part.get_column("row")
        if not rows.is_sorted() or rows.n_unique() != len(rows):
            part = part.unique(subset="row", keep="first", maintain_order=True)
            rows = part.get_column("row")
        out.append(null_series(f"data.{key}", n).scatter(rows, part.get_column("Value")))
    return out


def _cleaned_data(columns: list[pl.Series], specials: bool) -> list[pl.Series]:
    """``data.<Key>`` columns from the C parser (empty values already null): references
    decoded where the chunk may hold some, as :func:`_data_columns` does in long form."""
    if not specials or not columns:
        return columns
    frame = pl.DataFrame(columns)
    has = frame.select(pl.all().str.contains(NEEDS_DECODE).any()).row(0)
    return [_decoded(c) if h else c for c, h in zip(columns, has, strict=True)]


def _subkey_values(texts: list[str]) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for text in texts:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            obj = None  # only looks like JSON ({"IsAsync" : False}): the string stays
        out.append(obj if isinstance(obj, dict) else None)
    return out


# Known limit: ``&quot;`` inside a string that holds JSON is decoded in that column like any
# other reference (its ``fields.<Key>.<SubKey>`` columns are read before decoding and are right).
def _json_subkeys(s: pl.Series) -> list[pl.Series]:
    """``fields.<Key>`` strings holding a JSON object -> ``fields.<Key>.<SubKey>`` columns."""
    text = s.str.strip_chars()
    mask = (text.str.starts_with("{") & text.str.ends_with("}")).fill_null(False)
    idx = mask.arg_true()
    if idx.len() == 0:
        return []
    candidates = text.gather(idx)
    try:
        decoded = candidates.str.json_decode(infer_schema_length=None)
        if not isinstance(decoded.dtype, pl.Struct):
            return []
        subs = [(c.name, to_text(c)) for c in decoded.struct.unnest().get_columns()]
    except pl.exceptions.PolarsError:
        objs = _subkey_values(candidates.to_list())
        keys = list(dict.fromkeys(k for o in objs if o for k in o))
        subs = [
            (
                str(k),
                pl.Series([value_text(o.get(k)) if o else None for o in objs], dtype=pl.String),
            )
            for k in keys
        ]
    n = len(s)
    return [null_series(f"{s.name}.{key}", n).scatter(idx, vals) for key, vals in subs]


def _field_columns(fields: pl.Series | None, n: int) -> list[pl.Series]:
    if fields is None or not isinstance(fields.dtype, pl.Struct) or fields.null_count() == n:
        return []
    # unnest, not struct.field(name): a key such as "*" or "^a$" would be read as a pattern
    cols = [to_text(c).alias(f"fields.{c.name}") for c in fields.struct.unnest().get_columns()]
    return _with_subkeys(cols)


def _with_subkeys(cols: list[pl.Series]) -> list[pl.Series]:
    """``fields.<Key>`` columns, each followed by its ``fields.<Key>.<SubKey>`` columns."""
    if not cols:
        return []
    frame = pl.DataFrame(cols)
    looks = frame.select(pl.all().str.starts_with("{").any()).row(0)
    out: list[pl.Series] = []
    for col, has_json in zip(cols, looks, strict=True):
        out.append(col)
        if has_json:
            out.extend(_json_subkeys(col))
    # a key with a dot ("a.b") can meet a sub-key of "a": the sub-key column gets a "_"
    parents = {id(c) for c in cols}
    names = {c.name for c in cols}
    seen: set[str] = set()
    for i, col in enumerate(out):
        name = col.name
        if id(col) not in parents:
            while name in names or name in seen:
                name += "_"
        seen.add(name)
        if name != col.name:
            out[i] = col.alias(name)
    return out


def _expand(chunk: ParsedChunk, unread: Unread) -> pl.DataFrame:
    df, n = chunk.frame, chunk.n
    columns: list[pl.Series] = [
        _core_raw(df, name, api_key, chunk.has_lead) for api_key, name in CORE_KEYS.items()
    ]
    taken = set(CORE_SCHEMA)
    known = set(CORE_KEYS) | {"Data", "ActivityFields", LEAD_KEY}
    for key in df.columns:
        if key in known:
            continue
        name = snake_case(key)
        while name in taken or name.startswith(("data.", "fields.")):
            name += "_"
        taken.add(name)
        columns.append(to_text(df.get_column(key)).alias(name))
    if chunk.field_columns is not None:
        columns.extend(_with_subkeys(chunk.field_columns))
    else:
        fields = df.get_column("ActivityFields") if "ActivityFields" in df.columns else None
        columns.extend(_field_columns(fields, n))
    wide = pl.DataFrame(columns)
    del columns
    # one parallel pass for the facts each string column's cleaning depends on
    texts = [c for c, t in wide.schema.items() if t == pl.String and CORE_SCHEMA.get(c, t) == t]
    checks = [(pl.col(c) == "").any().alias(f"e{i}") for i, c in enumerate(texts)]
    if chunk.specials:  # ids are not text: no references to decode in them
        checks += [
            pl.col(c).str.contains(NEEDS_DECODE).any().alias(f"d{i}")
            for i, c in enumerate(texts)
            if c not in _ID_COLUMNS
        ]
    facts = wide.select(checks).row(0, named=True) if checks else {}
    if chunk.specials:
        fixes = [_decoded(wide.get_column(c)) for i, c in enumerate(texts) if facts.get(f"d{i}")]
        if fixes:
            wide = wide.with_columns(fixes)
    exprs: list[pl.Expr] = [
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) if facts[f"e{i}"] else pl.col(c)
        for i, c in enumerate(texts)
    ]
    times = ("created_on", "modified_on")
    typed = [c for c in CORE_SCHEMA if CORE_SCHEMA[c] != pl.String and c not in times]
    exprs += [_core_expr(c, wide.schema[c], False) for c in typed]
    exprs += [pl.col(t).str.strptime(pl.Datetime("us"), API_TIME, strict=False) for t in times]
    out = wide.select(exprs)
    finished = []
    for t in times:
        raw, parsed = wide.get_column(t), out.get_column(t)
        if (parsed.is_null() & (raw != "")).any():
            # dates in another form than the API's usual one: parse this column the slow way
            finished.append(parse_times(raw, unread))
        else:  # the 0001-01-01 sentinel means "unknown"
            finished.append(
                parsed.set((parsed.dt.year() <= ZERO_DATE_YEAR).fill_null(False), None)
                .dt.replace_time_zone("UTC")
                .alias(t)
            )
    out = out.with_columns(finished)
    del wide
    out = out.with_columns(_runs_stored_once(out.get_column("lead_id")))
    if chunk.data_columns is not None:
        data = _cleaned_data(chunk.data_columns, chunk.specials)
    else:
        data = _data_columns(chunk.data, n, chunk.specials)
    return out.with_columns(data) if data else out


def _runs_stored_once(s: pl.Series) -> pl.Series:
    """A column of runs (lead ids: a lead's activities come together) with each run's value
    stored once: 36 bytes per lead instead of per activity."""
    run = s.rle_id()
    if len(s) < 2 or int(run[-1]) * 4 > len(s):  # few repeats: keep it as it is
        return s
    starts = s.filter(run.is_first_distinct())
    own = pl.Series(s.name, starts.to_list(), dtype=pl.String)  # a fresh, compact buffer
    return own.gather(run)


def _decoded(s: pl.Series) -> pl.Series:
    mask = s.str.contains(NEEDS_DECODE).fill_null(False)
    idx = mask.arg_true()
    raw = s.gather(idx)
    # values repeat (templates, campaign texts): decode each distinct one once
    distinct = raw.unique()
    if len(distinct) == len(raw):
        fixed = pl.Series([decode_text(v) for v in raw.to_list()], dtype=pl.String)
    else:
        decoded = pl.Series([decode_text(v) for v in distinct.to_list()], dtype=pl.String)
        fixed = raw.replace_strict(distinct, decoded, return_dtype=pl.String)
    return s.scatter(idx, fixed)


# --------------------------------------------------------------------------- public API

_NATURAL = re.compile(r"([0-9]+)")


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    parts = _NATURAL.split(text)  # odd positions are the digit runs
    return tuple((0, int(p), "") if i % 2 else (1, 0, p.lower()) for i, p in enumerate(parts))


def column_order(columns: Iterable[str]) -> list[str]:
    columns = list(dict.fromkeys(columns))
    core = [c for c in CORE_SCHEMA if c in columns]
    extra = [c for c in columns if c not in CORE_SCHEMA and not c.startswith(("data.", "fields."))]
    data = sorted((c for c in columns if c.startswith("data.")), key=_natural)

    def field_key(c: str) -> tuple[tuple[tuple[int, int, str], ...], ...]:
        parts = c.split(".", 2)
        return (_natural(parts[1]), _natural(parts[2]) if len(parts) > 2 else ())

    fields = sorted((c for c in columns if c.startswith("fields.")), key=field_key)
    return core + extra + data + fields


def _done(value: ParsedChunk | None) -> Future[ParsedChunk | None]:
    future: Future[ParsedChunk | None] = Future()
    future.set_result(value)
    return future


def _expand_into(frames: list[pl.DataFrame], chunk: ParsedChunk | None, unread: Unread) -> None:
    if chunk is not None and chunk.n:
        frames.append(_expand(chunk, unread))
        _release_free_memory()


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _malloc_trim()


def _release_free_memory() -> None:
    """Hand the pages glibc keeps after a chunk's buffers are freed back to the system.

    The JSON reader's buffers come from glibc (the readers' memory pool); without this, the
    freed blocks of earlier chunks stay counted in the process's memory.
    """
    if _TRIM is not None:
        _TRIM(0)


def empty_frame() -> pl.DataFrame:
    """A frame with no activities and the full core schema.

    Returns:
        Zero rows, the :data:`CORE_SCHEMA` columns.

    Example:
        >>> empty_frame().columns[:3]
        ['lead_id', 'activity_id', 'event_code']
    """
    return pl.DataFrame(schema=CORE_SCHEMA)


def activities_frame(raw: Any) -> pl.DataFrame:
    """Raw activities -> one row per activity, core columns typed, every field expanded.

    Args:
        raw: One API response dict (``{"RecordCount":..., "ProspectActivities": [...]}``), a list
            of them, a list of activity dicts, a mapping lead id -> list of activities (the id
            fills ``lead_id`` where ``RelatedProspectId`` is missing), a JSON file path (str or
            Path) holding any of these or a list of paths, raw JSON bytes (or a list of them,
            one response each), or a ``pl.Series``
            of JSON strings holding one activity each (as the store keeps them).

    Returns:
        A DataFrame: the :data:`CORE_SCHEMA` columns first, then unknown top-level keys in
        snake_case, then ``data.<Key>``, then ``fields.<Key>`` (each followed by its
        ``fields.<Key>.<SubKey>`` columns); all expanded columns are strings. One row per
        activity, in input order; nothing is dropped or merged (see
        :func:`drop_duplicate_activities` for paging duplicates).

    Raises:
        TypeError: if ``raw`` is none of the accepted kinds.
        FileNotFoundError: if a path does not exist.

    Example:
        >>> from lsq_analysis import activities_frame, sample_responses
        >>> df = activities_frame(list(sample_responses().values()))
        >>> df.select("lead_id", "event_code", "created_on").head(2)  # doctest: +SKIP
    """
    frames: list[pl.DataFrame] = []
    # Chunk k+1 is parsed (pyarrow, no GIL) while chunk k is expanded (polars): a pipeline
    # of two stages, so at most two chunks are in memory besides the result.
    dates = DateKeys()
    unread: Unread = {}  # date texts that could not be read: one warning per column, at the end
    pool: ThreadPoolExecutor | None = None
    pending: Future[ParsedChunk | None] | None = None
    try:
        for kind, lines in chunks(raw):
            if pending is None or not PIPELINE:
                if pending is not None:
                    _expand_into(frames, pending.result(), unread)
                pending = _done(activities_table(kind, lines, dates))
                continue
            pool = pool or ThreadPoolExecutor(1, thread_name_prefix="lsq-frames")
            following = pool.submit(activities_table, kind, lines, dates)
            del lines
            _expand_into(frames, pending.result(), unread)
            pending = following
        if pending is not None:
            _expand_into(frames, pending.result(), unread)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    warn_unread(unread)
    if not frames:
        return empty_frame()
    out = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal", rechunk=False)
    return out.select(column_order(out.columns))


def drop_duplicate_activities(df: pl.DataFrame) -> pl.DataFrame:
    """Remove the exact duplicates that paging can produce, keeping the first of each.

    Two rows are duplicates only when they are equal in every column. Rows that merely share
    ``activity_id``, ``event_code`` and the times are all kept: the audit log holds one row
    per change with the activity's ``Id``, event 3011 and ``ModifiedOn`` 0001-01-01, so two
    changes of one activity in the same second differ only in their data. Order is kept.

    Args:
        df: An activities frame.

    Returns:
        The frame without repeated rows.

    Example:
        >>> import polars as pl
        >>> from lsq_analysis import activities_frame, load_sample
        >>> df = load_sample()
        >>> drop_duplicate_activities(pl.concat([df, df.head(5)])).height == df.height
        True
    """
    if df.height < 2:
        return df
    return df.unique(keep="first", maintain_order=True)


# --------------------------------------------------------------------------- catalog


def activity_types_frame(raw_types: list[dict[str, Any]]) -> pl.DataFrame:
    """The ``ActivityTypes.Get`` catalog as a frame, one row per activity type.

    Args:
        raw_types: The list the endpoint returns (dicts with ``ActivityEvent``,
            ``ActivityEventName``, ``Score``, ``Direction`` and ``ActivityProperties``, a JSON
            string whose ``FormMetaData`` lists the custom fields).

    Returns:
        Columns ``event_code`` (Int32), ``event_name``, ``score`` (Int32), ``direction`` and
        ``custom_fields``: a list of structs ``schema_name``, ``display_name``, ``data_type``
        (empty when the type has none or its properties are not JSON).

    Example:
        >>> from lsq_analysis import sample_activity_types
        >>> types = activity_types_frame(sample_activity_types())
        >>> types.filter(pl.col("event_code") == 201)["custom_fields"][0][0]["display_name"]
        'Course'
    """
    rows = []
    for item in raw_types or []:
        if not isinstance(item, Mapping):
            continue
        props = item.get("ActivityProperties")
        if isinstance(props, str):
            try:
                props = loads(props)
            except ValueError:
                props = None
        meta = props.get("FormMetaData") if isinstance(props, Mapping) else None
        fields = [
            {
                "schema_name": value_text(m.get("SchemaName")),
                "display_name": value_text(m.get("DisplayName")),
                "data_type": value_text(m.get("DataType")),
            }
            for m in (meta if isinstance(meta, list) else [])
            if isinstance(m, Mapping) and m.get("SchemaName")
        ]
        rows.append(
            {
                "event_code": value_int(item.get("ActivityEvent")),
                "event_name": value_text(item.get("ActivityEventName") or item.get("DisplayName")),
                "score": value_int(item.get("Score")),
                "direction": value_text(item.get("Direction")),
                "custom_fields": fields,
            }
        )
    field_type = pl.Struct(
        {"schema_name": pl.String, "display_name": pl.String, "data_type": pl.String}
    )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "event_code": pl.Int32,
        "event_name": pl.String,
        "score": pl.Int32,
        "direction": pl.String,
        "custom_fields": pl.List(field_type),
    }
    return pl.DataFrame(rows, schema=schema, orient="row" if not rows else None)
