"""Raw LeadSquared activities -> one polars row per activity, every field expanded.

The JSON is read in chunks of about :data:`CHUNK_BYTES`, and each chunk is expanded with
vectorised polars operations. Three readers, fastest first, give the same result:

* the C parser ``lsq_analysis._fastjson`` (``_fastjson.c`` over the vendored yyjson; built at
  install where a C compiler is at hand) writes each top-level, ``ActivityFields`` and ``Data``
  key straight into an Arrow column. It takes only input of the usual shape and refuses the
  rest (a number where a string belongs, a key twice, a lone surrogate, ...);
* otherwise pyarrow's JSON reader, with a schema explicit for the core keys and for every key
  an earlier chunk of the same call read as a string; any other key is inferred, so a key first
  seen late is never dropped, and a chunk that does not fit the learned declarations is read
  again without them;
* a chunk pyarrow refuses too (junk values, mixed types, broken surrogates) is normalised in
  Python and read again.

Strings are Arrow string views, which polars takes over without converting them.
``tests/test_frames_c_parser.py`` checks that the C parser and pyarrow give equal frames.

Column naming (see ``../shared/DESIGN.md``, "The expanded frame"):

* the core columns of :data:`CORE_SCHEMA`, snake_case and typed;
* a top-level key not in the core is kept as its snake_case name (a string column);
* each ``Data`` key as ``data.<Key>``, each ``ActivityFields`` key as ``fields.<Key>``, and a
  JSON object held in a field's string also as ``fields.<Key>.<SubKey>``;
* every expanded column is a string (a key's meaning differs between event types):
  empty strings become null, HTML character references and surrogate pairs are decoded.

``created_on``/``modified_on`` are read in the API's form on the fast path; only in a column where
that left a non-empty text null are those texts read again, in the other forms (ISO 8601 with or
without a zone, converted to UTC, and ``4/4/2025 4:39:47 PM``). Texts still
unread become null with one :class:`UserWarning` per column naming an example; the
``0001-01-01`` sentinel becomes null silently.

Rows are never dropped, merged or reordered: the order is the input's (lead by lead, newest
first, as the API sends them). Chunk k+1 is parsed in a background thread (either parser
releases the GIL) while chunk k is expanded, so at most two chunks are in memory besides the
result.

Known limits: a key whose name holds a NUL character loses the rest of its name on the fast
path (the reader cuts it); ``&quot;`` inside a string that holds JSON is decoded in that
column like any other reference (its ``fields.<Key>.<SubKey>`` columns are read before
decoding and are right).
"""

from __future__ import annotations

import ctypes
import html
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from ..errors import ResponseFormatError
from ..vocabulary import catalog_from_types, event_catalog, resolve_events

__all__ = [
    "CORE_SCHEMA",
    "activities_frame",
    "activity_types_frame",
    "change_log",
    "drop_duplicate_activities",
    "event_view",
    "fields_long",
]

UTC_US = pl.Datetime("us", "UTC")

#: The core columns, in order, with their types.
CORE_SCHEMA: dict[str, pl.DataType] = {
    "lead_id": pl.String(),
    "activity_id": pl.String(),
    "event_code": pl.Int32(),
    "event_name": pl.String(),
    "activity_type": pl.Int32(),
    "type": pl.String(),
    "activity_score": pl.Int32(),
    "created_on": UTC_US,
    "modified_on": UTC_US,
    "is_email_type": pl.Boolean(),
    "email_type": pl.String(),
    "session_id": pl.String(),
    "track_location": pl.Int32(),
    "latitude": pl.Float64(),
    "longitude": pl.Float64(),
    "address": pl.String(),
    "city": pl.String(),
    "state": pl.String(),
    "country": pl.String(),
}

# API key -> core column
_CORE_KEYS: dict[str, str] = {
    "RelatedProspectId": "lead_id",
    "Id": "activity_id",
    "EventCode": "event_code",
    "EventName": "event_name",
    "ActivityType": "activity_type",
    "Type": "type",
    "ActivityScore": "activity_score",
    "CreatedOn": "created_on",
    "ModifiedOn": "modified_on",
    "IsEmailType": "is_email_type",
    "EmailType": "email_type",
    "SessionId": "session_id",
    "TrackLocation": "track_location",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Address": "address",
    "City": "city",
    "State": "state",
    "Country": "country",
}
_INT_KEYS = frozenset({"EventCode", "ActivityType", "ActivityScore", "TrackLocation"})
_FLOAT_KEYS = frozenset({"Latitude", "Longitude"})
_BOOL_KEYS = frozenset({"IsEmailType"})
_ID_COLUMNS = frozenset({"lead_id", "activity_id", "session_id"})
_LEAD_KEY = "__lsq_lead__"  # carries a mapping's lead id through the parser

# Strings declared to the reader as views: polars takes those over as they are (plain Arrow
# strings would be converted; benchmarks/README.md has the cost)
_TEXT = pa.string_view()
_TEXTS = (pa.string(), _TEXT)
_DATA_TYPE = pa.list_(pa.struct([("Key", _TEXT), ("Value", _TEXT)]))


def _arrow_type(key: str) -> pa.DataType:
    if key in _INT_KEYS:
        return pa.int64()
    if key in _FLOAT_KEYS:
        return pa.float64()
    if key in _BOOL_KEYS:
        return pa.bool_()
    return _TEXT


_ACTIVITY_FIELDS = [(k, _arrow_type(k)) for k in _CORE_KEYS] + [("Data", _DATA_TYPE)]
_ACTIVITY_SCHEMA = pa.schema(_ACTIVITY_FIELDS)
_PAGE_SCHEMA = pa.schema(
    [("ProspectActivities", pa.list_(pa.struct(_ACTIVITY_FIELDS))), (_LEAD_KEY, pa.string())]
)

#: About this much JSON is parsed and expanded at a time (bounds peak memory).
CHUNK_BYTES = 48 * 1024 * 1024
#: Parse the next chunk in a background thread while this one is expanded.
PIPELINE = True
# The JSON reader's buffers come from the C allocator, which hands large freed blocks back to
# the system at once (pyarrow's default pool keeps them), which lowers peak memory.
_POOL = pa.system_memory_pool()
_BLOCK_BYTES = 4 * 1024 * 1024  # pyarrow block size: the unit of its threads' work
_ZERO_DATE_YEAR = 1  # .NET DateTime.MinValue (0001-01-01 00:00:00) means "unknown"

# --------------------------------------------------------------------------- text cleaning

_CHAR_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SURROGATE_REF = re.compile(
    r"&#(?:[xX]([dD][89abAB][0-9a-fA-F]{2})|(5[5-6][0-9]{3}));"
    r"&#(?:[xX]([dD][c-fC-F][0-9a-fA-F]{2})|(5[6-7][0-9]{3}));"
)
_ESCAPED_PAIR = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")
_NEEDS_DECODE = r"&|\\u[dD][89abAB]"


def _join_surrogates(high: int, low: int) -> str:
    if 0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return "\ufffd"


def decode_text(text: str) -> str:
    """Decode HTML character references and surrogate pairs written out in a string.

    Only complete references (ending in ``;``) are decoded, so ``?a=1&copy=2`` in a URL stays
    as it is. ``&#xD835;&#xDC06;`` and a literal ``\\ud835\\udc06`` become the one character.

    Args:
        text: A string as the API sent it.

    Returns:
        The decoded string.

    Example:
        >>> decode_text("&#x1D406;&#xA0;Hi \\\\ud835\\\\udc1e &amp; bye")
        '𝐆\\xa0Hi 𝐞 & bye'
    """
    if "&" in text:
        if "&#" in text:
            text = _SURROGATE_REF.sub(
                lambda m: _join_surrogates(
                    int(m[1], 16) if m[1] else int(m[2]), int(m[3], 16) if m[3] else int(m[4])
                ),
                text,
            )
        text = _CHAR_REF.sub(lambda m: html.unescape(m[0]), text)
    if "\\u" in text:
        text = _ESCAPED_PAIR.sub(lambda m: _join_surrogates(int(m[1], 16), int(m[2], 16)), text)
    return text


def _nulls(name: str, n: int, dtype: pl.DataType | None = None) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype or pl.String(), eager=True).alias(name)


def _to_text(s: pl.Series) -> pl.Series:
    """Any column the JSON reader produced -> strings as the JSON had them."""
    dtype = s.dtype
    if dtype == pl.String:
        return s
    if dtype == pl.Null or dtype.is_numeric() or dtype == pl.Boolean:
        return s.cast(pl.String)
    if isinstance(dtype, pl.Datetime):  # pyarrow infers timestamps from ISO-like strings
        return s.dt.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(dtype, pl.Date):
        return s.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Struct) and not dtype.fields:
        return pl.Series(s.name, ["{}" if v is not None else None for v in s], pl.String)
    wrapped = pl.DataFrame({"v": s}).select(pl.struct("v").struct.json_encode()).to_series()
    return wrapped.str.strip_prefix('{"v":').str.strip_suffix("}").alias(s.name)


_SNAKE_1 = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SNAKE_2 = re.compile(r"[^0-9A-Za-z]+")


def snake_case(key: str) -> str:
    """``RelatedOpportunityId`` -> ``related_opportunity_id``.

    Args:
        key: An API key.

    Returns:
        The key in snake_case (``"_"`` for a key with no letters or digits).

    Example:
        >>> snake_case("ProspectActivityAutoId")
        'prospect_activity_auto_id'
    """
    out = _SNAKE_2.sub("_", _SNAKE_1.sub("_", key)).strip("_").lower()
    return out or "_"


# --------------------------------------------------------------------------- junk -> canonical


def _fix_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # join valid pairs that Python kept apart, replace lone halves
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _fix_surrogates(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return _fix_surrogates(json.dumps(value, default=str, ensure_ascii=False))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 2**62:
        return round(value)
    if isinstance(value, str):
        try:
            return _int(float(value.strip()))
        except ValueError:
            return None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, str):
        try:
            return _float(float(value.strip()))
        except ValueError:
            return None
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        return True if low == "true" else False if low == "false" else None
    return None


def _key(value: Any) -> str:
    # the Arrow reader cuts a name at a NUL character (a key with one, as absurd as that is,
    # loses the rest of its name on the fast path; the careful path keeps it, as U+FFFD)
    return (_text(value) or "").replace("\x00", "\ufffd")


def _canonical_activity(activity: Any) -> dict:
    """Any activity-like value -> a dict the fast reader accepts (same meaning)."""
    if not isinstance(activity, Mapping):
        return {}
    out: dict[str, Any] = {}
    for raw_key, value in activity.items():
        key = _key(raw_key)
        if key in out or key == _LEAD_KEY:
            continue
        if key == "Data":
            pairs = value.items() if isinstance(value, Mapping) else None
            if isinstance(value, list):
                pairs = [
                    (item.get("Key"), item.get("Value"))
                    for item in value
                    if isinstance(item, Mapping) and item.get("Key") is not None
                ]
            if pairs is not None:
                out["Data"] = [{"Key": _key(k), "Value": _text(v)} for k, v in pairs]
            continue
        if key == "ActivityFields":
            if isinstance(value, Mapping):
                fields: dict[str, str | None] = {}
                for k, v in value.items():
                    fields.setdefault(_key(k), _text(v))
                out["ActivityFields"] = fields
            continue
        if key in _INT_KEYS:
            out[key] = _int(value)
        elif key in _FLOAT_KEYS:
            out[key] = _float(value)
        elif key in _BOOL_KEYS:
            out[key] = _bool(value)
        else:
            out[key] = _text(value)
    return out


def _loads(text: bytes | str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # accepts lone surrogates, which orjson refuses


# --------------------------------------------------------------------------- input -> chunks

# A chunk: ("pages", lines of {"ProspectActivities": [...]}) or ("activities", activity lines)
_RawChunk = tuple[str, list[bytes]]


def _one_line(text: bytes) -> bytes:
    # In valid JSON a raw newline can only be whitespace, so this keeps the meaning.
    if b"\n" in text or b"\r" in text:
        text = text.replace(b"\r", b" ").replace(b"\n", b" ")
    return text


def _page_line(activities: Any, lead_key: str | None = None) -> bytes:
    doc: dict[str, Any] = {"ProspectActivities": activities}
    if lead_key is not None:
        doc[_LEAD_KEY] = lead_key
    try:
        return orjson.dumps(doc)
    except TypeError:
        canonical = (
            [_canonical_activity(a) for a in activities] if isinstance(activities, list) else []
        )
        doc["ProspectActivities"] = canonical
        return orjson.dumps(doc)


def _is_response(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "ProspectActivities" in obj


def _response_activities(obj: Mapping) -> list:
    acts = obj.get("ProspectActivities")
    return acts if isinstance(acts, list) else []


def _file_lines(path: Path) -> Iterator[tuple[str, bytes]]:
    yield from _blob_lines(path.read_bytes())


def _blob_lines(data: bytes) -> Iterator[tuple[str, bytes]]:
    if _is_response_text(data, 0, len(data)):
        yield "pages", _one_line(data)
        return
    yield from _object_lines(_loads(data))


def _is_response_text(data: bytes | bytearray, start: int, end: int) -> bool:
    """Does this JSON text hold one response object (so it can go to the reader as it is)?"""
    first = start
    while first < end and data[first] in b" \t\r\n":
        first += 1
    return (
        first < end and data[first] == 0x7B and data.find(b'"ProspectActivities"', start, end) >= 0
    )


def _path_chunks(paths: Iterable[str | os.PathLike]) -> Iterator[_RawChunk]:
    """Files of one response each, read straight into one buffer per chunk (one copy)."""
    batch: list[tuple[Path, int]] = []
    size = 0
    for p in paths:
        path = Path(p)
        n = path.stat().st_size
        if batch and size + n > CHUNK_BYTES:
            yield from _read_files(batch, size)
            batch, size = [], 0
        batch.append((path, n))
        size += n + 1
    if batch:
        yield from _read_files(batch, size)


def _read_files(batch: list[tuple[Path, int]], size: int) -> Iterator[_RawChunk]:
    buf = bytearray(size)
    view = memoryview(buf)
    off = 0
    for path, n in batch:
        with path.open("rb") as f:
            got = f.readinto(view[off : off + n])
            rest = f.read()  # the file grew since stat: keep all of it
        end = off + got
        if rest or not _is_response_text(buf, off, end):
            data = bytes(view[off:end]) + rest
            if off:  # what is before it goes first, as it is
                view.release()
                del buf[off:]
                yield "pages", [buf]
                buf = bytearray(size)
                view = memoryview(buf)
            off = 0
            for kind, line in _blob_lines(data):
                yield kind, [line]
            continue
        if buf.find(b"\n", off, end) >= 0 or buf.find(b"\r", off, end) >= 0:
            # a raw newline in valid JSON is whitespace: one response per line for the reader
            view[off:end] = bytes(view[off:end]).replace(b"\r", b" ").replace(b"\n", b" ")
        view[end : end + 1] = b"\n"
        off = end + 1
    view.release()
    if off:
        del buf[off:]
        yield "pages", [buf]


def _object_lines(obj: Any) -> Iterator[tuple[str, bytes]]:
    """Python objects (responses, activities, mappings) -> page lines."""
    if _is_response(obj):
        yield "pages", _page_line(_response_activities(obj))
    elif isinstance(obj, Mapping):
        if not obj:  # a mapping of no leads
            return
        if all(isinstance(v, list) for v in obj.values()) and not _looks_like_activity(obj):
            for lead_key, acts in obj.items():
                yield "pages", _page_line(acts, str(lead_key))
        else:
            yield "pages", _page_line([obj])
    elif isinstance(obj, list):
        run: list = []
        for item in obj:
            if isinstance(item, str | Path | bytes | bytearray) or _is_response(item):
                if run:
                    yield "pages", _page_line(run)
                    run = []
                yield from _object_lines(item)
            else:
                run.append(item)
        if run:
            yield "pages", _page_line(run)
    elif isinstance(obj, str | Path):
        yield from _file_lines(Path(obj))
    elif isinstance(obj, bytes | bytearray):
        yield from _blob_lines(bytes(obj))
    else:
        raise TypeError(
            "activities_frame takes a response dict, a list of responses or activity dicts, "
            "a mapping lead id -> activities, JSON file paths or a pl.Series of JSON strings; "
            f"got {type(obj).__name__}"
        )


def _looks_like_activity(obj: Mapping) -> bool:
    return any(k in obj for k in ("Id", "EventCode", "Data", "ActivityFields"))


def _series_chunks(series: pl.Series) -> Iterator[_RawChunk]:
    if series.dtype != pl.String:
        series = series.cast(pl.String)
    series = series.drop_nulls()
    if series.str.contains("[\r\n]").any():
        series = series.str.replace_all("[\r\n]", " ")
    lengths = series.str.len_bytes()
    start, total = 0, len(series)
    while start < total:
        # take rows until about CHUNK_BYTES of JSON
        cum = lengths.slice(start).cum_sum()
        take = max(1, int((cum <= CHUNK_BYTES).sum()))
        part = series.slice(start, take)
        yield "activities", [part.str.join("\n").item().encode()]
        start += take


def _chunks(raw: Any) -> Iterator[_RawChunk]:
    if isinstance(raw, pl.Series):
        yield from _series_chunks(raw)
        return
    if isinstance(raw, list | tuple) and raw and all(isinstance(p, str | Path) for p in raw):
        yield from _path_chunks(raw)
        return
    if isinstance(raw, bytes | bytearray):
        lines: Iterable[tuple[str, bytes]] = _blob_lines(bytes(raw))
    else:
        lines = _object_lines(raw)
    kind_now, batch, size = "pages", [], 0
    for kind, line in lines:
        if batch and (kind != kind_now or size >= CHUNK_BYTES):
            yield kind_now, _joined(batch)
            batch, size = [], 0
        kind_now = kind
        batch.append(line)
        size += len(line)
    if batch:
        yield kind_now, _joined(batch)


def _joined(lines: list[bytes]) -> list[bytes]:
    # Joined here, on the caller's thread while the reader thread parses the chunk before:
    # bytes.join holds the GIL, which would stall the expansion if the reader thread did it.
    return [lines[0]] if len(lines) == 1 else [b"\n".join(lines)]


# --------------------------------------------------------------------------- parse one chunk


class _DateKeys:
    """What earlier chunks of one call taught about the keys, declared for the next chunks.

    Keys whose values looked like dates are always declared as strings (so they keep their
    spelling). Keys that an earlier chunk read as strings are declared too (pyarrow parses
    about a fifth faster with the full schema than while inferring it); a chunk that does not
    fit those declarations is read again without them, so the result is the same.
    """

    def __init__(self) -> None:
        self.top: set[str] = set()
        self.fields: set[str] = set()
        self.text_top: dict[str, None] = {}  # keys read as strings, in order of appearance
        self.text_fields: dict[str, None] = {}
        self.declare_texts = True

    @property
    def has_texts(self) -> bool:
        return self.declare_texts and bool(self.text_top or self.text_fields)

    def schema(self, kind: str, texts: bool = False) -> pa.Schema:
        top = sorted(self.top - set(_CORE_KEYS))
        sub = sorted(self.fields)
        if texts:
            top += [k for k in self.text_top if k not in self.top]
            sub += [k for k in self.text_fields if k not in self.fields]
        if not (top or sub):
            return _PAGE_SCHEMA if kind == "pages" else _ACTIVITY_SCHEMA
        fields = list(_ACTIVITY_FIELDS)
        fields += [(k, _TEXT) for k in top]
        if sub:
            fields.append(("ActivityFields", pa.struct([(k, _TEXT) for k in sub])))
        if kind != "pages":
            return pa.schema(fields)
        return pa.schema(
            [("ProspectActivities", pa.list_(pa.struct(fields))), (_LEAD_KEY, pa.string())]
        )

    def learn(self, kind: str, schema: pa.Schema) -> None:
        for f in _activity_type(kind, schema):
            if _no_times(f.type) == f.type:
                continue
            if f.name == "ActivityFields" and pa.types.is_struct(f.type):
                self.fields.update(c.name for c in f.type if _no_times(c.type) != c.type)
            else:
                self.top.add(f.name)

    def learn_texts(self, kind: str, schema: pa.Schema) -> None:
        if not self.declare_texts:
            return
        for f in _activity_type(kind, schema):
            if f.name == "ActivityFields":
                if pa.types.is_struct(f.type):
                    for c in f.type:
                        if c.type in _TEXTS:
                            self.text_fields.setdefault(c.name)
            elif f.type in _TEXTS and f.name not in _CORE_KEYS and f.name != _LEAD_KEY:
                self.text_top.setdefault(f.name)


def _activity_type(kind: str, schema: pa.Schema) -> Iterable[pa.Field]:
    if kind == "pages":
        return schema.field("ProspectActivities").type.value_type
    return schema


_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _read(
    kind: str, lines: list[bytes], dates: _DateKeys | None = None, block: int | None = None
) -> pa.Table:
    dates = dates or _DateKeys()
    buf = lines[0] if len(lines) == 1 else b"\n".join(lines)
    block = block or max(_BLOCK_BYTES, _longest(lines) + 1)
    if dates.has_texts:
        try:
            table = _read_json(buf, dates.schema(kind, texts=True), block)
        except _ARROW_ERRORS:
            dates.declare_texts = False  # this input does not fit: stop declaring them
            table = _read_json(buf, dates.schema(kind), block)
    else:
        table = _read_json(buf, dates.schema(kind), block)
    # pyarrow makes timestamps of a key whose values all look like dates ("2025-04-04"), which
    # would lose their spelling: read such a chunk again with those keys as strings (and
    # declare them so from the next chunk on)
    texts = [pa.field(f.name, _no_times(f.type)) for f in table.schema]
    if any(t.type != f.type for t, f in zip(texts, table.schema, strict=True)):
        dates.learn(kind, table.schema)
        table = _read_json(buf, pa.schema(texts), block)
    dates.learn_texts(kind, table.schema)
    return table


def _read_json(buf: bytes | bytearray, schema: pa.Schema, block: int) -> pa.Table:
    return pa_json.read_json(
        pa.BufferReader(pa.py_buffer(buf)),  # zero-copy, unlike a Python file object
        read_options=pa_json.ReadOptions(block_size=block),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="infer"
        ),
        memory_pool=_POOL,
    )


def _no_times(dtype: pa.DataType) -> pa.DataType:
    """The same type with every date, time or timestamp inside it made a string."""
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype) or pa.types.is_time(dtype):
        return pa.string()
    if pa.types.is_struct(dtype):
        return pa.struct([pa.field(f.name, _no_times(f.type)) for f in dtype])
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return pa.list_(_no_times(dtype.value_type))
    return dtype


def _longest(lines: list[bytes]) -> int:
    return max(len(line) for line in lines)


def _canonical_lines(kind: str, lines: list[bytes]) -> list[bytes]:
    """The slow, forgiving way for a chunk the fast reader refused: same meaning, page lines."""
    out = []
    for line in lines:
        if kind == "pages":
            for page in bytes(line).split(b"\n"):
                if not page.strip():
                    continue
                doc = _loads(page)
                lead = doc.get(_LEAD_KEY) if isinstance(doc, Mapping) else None
                acts = _response_activities(doc) if isinstance(doc, Mapping) else []
                out.append(_page_line([_canonical_activity(a) for a in acts], lead))
            continue
        acts = []
        for i, part in enumerate(bytes(line).split(b"\n")):
            try:
                acts.append(_canonical_activity(_loads(part)))
            except ValueError as exc:
                raise ResponseFormatError(
                    f"activity {i} of a chunk is not JSON: {part[:80]!r}"
                ) from exc
        out.append(_page_line(acts))
    return out


class _Parsed:
    """One parsed chunk: activity columns as API names, and ``Data``/``ActivityFields`` either
    as the reader gave them (Data as (row, Key, Value) triples, fields as a struct column) or,
    from the C parser, already as ``data.<Key>``/``fields.<Key>`` columns."""

    def __init__(
        self,
        table: pa.Table,
        has_lead: bool,
        specials: bool,
        *,
        data_columns: list[pl.Series] | None = None,
        field_columns: list[pl.Series] | None = None,
    ) -> None:
        self.has_lead = has_lead
        self.specials = specials  # the JSON may hold "&" or a backslash: decode checks needed
        self.n = table.num_rows
        self.data: pl.DataFrame | None = None
        self.data_columns = data_columns  # from the C parser: "" already null, not decoded
        self.field_columns = field_columns
        if "Data" in table.column_names:
            data = table.column("Data")
            data = data.combine_chunks() if data.num_chunks != 1 else data.chunk(0)
            table = table.drop_columns(["Data"])
            if data.null_count < len(data):
                pairs = pc.list_flatten(data)
                if isinstance(pairs.type, pa.StructType) and len(pairs):
                    self.data = pl.from_arrow(  # type: ignore[assignment]
                        pa.table(
                            {
                                "row": pc.list_parent_indices(data).cast(pa.uint32()),
                                "Key": pairs.field("Key"),
                                "Value": pairs.field("Value"),
                            }
                        )
                    )
        self.frame: pl.DataFrame = pl.from_arrow(table)  # type: ignore[assignment]


# --------------------------------------------------------------------------- the C parser

#: The interface of ``_fastjson.parse`` this module is written for (``INTERFACE`` in the C).
C_PARSER_INTERFACE = 2


def _load_c_parser() -> Any:
    """The compiled parser, or None: not built, turned off, or built from older source."""
    if os.environ.get("LSQ_ANALYSIS_PARSER", "").strip().lower() == "pyarrow":
        return None
    try:  # built from lsq_analysis/frames/_fastjson.c where a C compiler was at hand
        from . import _fastjson as module
    except ImportError:  # pragma: no cover - pyarrow's reader then reads every chunk
        return None
    found = getattr(module, "INTERFACE", None)
    if found != C_PARSER_INTERFACE:
        warnings.warn(
            f"lsq_analysis: the compiled JSON parser is stale (interface {found}, this code "
            f"needs {C_PARSER_INTERFACE}); reading with pyarrow instead. Reinstall the package "
            "(pip install -e .) to rebuild it.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return module


_fastjson = _load_c_parser()

#: Read chunks with the C parser when it is built (tests turn it off to compare the paths).
USE_C_PARSER = True
_TYPED_KEYS = (frozenset(_INT_KEYS), frozenset(_FLOAT_KEYS), frozenset(_BOOL_KEYS))
_KIND_TYPES = (_TEXT, pa.int64(), pa.float64(), pa.bool_())
_NS_TOP, _NS_FIELDS, _NS_DATA, _NS_LEAD = 0, 1, 2, 3


def _c_parsed(kind: str, buf: bytes | bytearray, specials: bool) -> _Parsed | None:
    """A chunk read by the C parser; None when it refused the input (read it with pyarrow).

    The parser takes only input of the usual shape (strings where strings belong, ``Data`` as
    Key/Value entries, no key twice, valid UTF-8, ...): anything else goes the careful way.
    """
    if _fastjson is None or not USE_C_PARSER:
        return None
    out = _fastjson.parse(buf, kind == "pages", *_TYPED_KEYS, _LEAD_KEY)
    if out is None:
        return None
    n, blob, columns = out
    blob = pa.py_buffer(blob)
    top: dict[str, pa.Array] = {}
    fields: list[pl.Series] = []
    data: list[pl.Series] = []
    for space, key, kind_no, validity, values, nulls in columns:
        dtype = _KIND_TYPES[kind_no]
        buffers = [None if validity is None else pa.py_buffer(validity), pa.py_buffer(values)]
        if kind_no == 0:
            buffers.append(blob)
        array = pa.Array.from_buffers(dtype, n, buffers, null_count=nulls)
        if space in (_NS_TOP, _NS_LEAD):
            top[key] = array
        else:
            series: pl.Series = pl.from_arrow(array)  # type: ignore[assignment]
            if space == _NS_FIELDS:
                fields.append(series.alias(f"fields.{key}"))
            else:
                data.append(series.alias(f"data.{key}"))
    has_lead = _LEAD_KEY in top
    if not top:  # activities with no top-level keys at all: the rows still count
        top[_LEAD_KEY] = pa.nulls(n, pa.string())
    return _Parsed(pa.table(top), has_lead, specials, data_columns=data, field_columns=fields)


def _activities_table(
    kind: str, lines: list[bytes], dates: _DateKeys | None = None
) -> _Parsed | None:
    """Parse a chunk to one row per activity with the raw (API-named) columns."""
    if len(lines) > 1:
        lines = [b"\n".join(lines)]  # one buffer for the reader (and one scan below)
    # the whole chunk as one block of the reader, as for files: its threads would split it,
    # for about 15% more CPU at 1M activities; the parse of one chunk runs beside the
    # expansion of the one before, which keeps two cores busy anyway
    block = max(_BLOCK_BYTES, len(lines[0]) + 1)
    # an "&" or any backslash (which also covers "&" escaped as \u0026): decode checks needed
    specials = b"&" in lines[0] or b"\\" in lines[0]
    parsed = _c_parsed(kind, lines[0], specials)
    if parsed is not None:
        return parsed
    try:
        table = _read(kind, lines, dates, block)
    except _ARROW_ERRORS:
        lines = _canonical_lines(kind, lines)
        kind = "pages"
        table = _read(kind, lines, dates)
    del lines
    if kind == "activities":
        return _Parsed(table, False, specials) if table.num_rows else None
    nested = table.column("ProspectActivities")
    flat = pc.list_flatten(nested)
    if isinstance(flat, pa.ChunkedArray):
        flat = flat.combine_chunks() if flat.num_chunks != 1 else flat.chunk(0)
    if not len(flat):
        return None
    acts = pa.Table.from_struct_array(flat)
    lead = table.column(_LEAD_KEY)
    has_lead = lead.null_count < len(lead)
    if has_lead:
        acts = acts.append_column(_LEAD_KEY, pc.take(lead, pc.list_parent_indices(nested)))
    return _Parsed(acts, has_lead, specials)


# --------------------------------------------------------------------------- expand one chunk

_API_TIME = "%Y-%m-%d %H:%M:%S"
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%m/%d/%Y %I:%M:%S %p")


def _time_expr(name: str, fallback: bool) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    parsed = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    if fallback:
        parsed = pl.coalesce(
            parsed, *(text.str.strptime(pl.Datetime("us"), f, strict=False) for f in _TIME_FORMATS)
        )
    zero = parsed.dt.year() <= _ZERO_DATE_YEAR
    return pl.when(zero.not_()).then(parsed).dt.replace_time_zone("UTC").alias(name)


# column -> (how many non-empty date texts could not be read, the first of them)
_Unread = dict[str, tuple[int, str]]


def _warn_unread(unread: _Unread) -> None:
    """One :class:`UserWarning` per date column that had texts in an unknown format."""
    for name, (count, example) in unread.items():
        warnings.warn(
            f"{name}: {count} value{'s' if count != 1 else ''} in an unknown date format "
            f"became null, e.g. {example!r}",
            UserWarning,
            stacklevel=3,  # the caller of activities_frame
        )


# ISO 8601 with a zone ("Z", "+05:30", "+0530"), after "Z" -> "+00:00" and " " -> "T"
_ZONED_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")


_NAIVE_FORMATS = (*_TIME_FORMATS, "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def _naive_expr(name: str) -> pl.Expr:
    """Text in one of :data:`_NAIVE_FORMATS` -> naive datetime (null where it is in none)."""
    text = pl.col(name)
    return pl.coalesce(
        *(text.str.strptime(pl.Datetime("us"), f, strict=False) for f in _NAIVE_FORMATS)
    )


def _zoned_expr(name: str) -> pl.Expr:
    """ISO 8601 text with a zone -> naive UTC (null where the text is not of that form)."""
    text = (
        pl.col(name)
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) (\d)", "${1}T${2}")
    )
    zoned = [text.str.strptime(UTC_US, f, strict=False) for f in _ZONED_FORMATS]
    return pl.coalesce(*zoned).dt.replace_time_zone(None)


def _parse_times(s: pl.Series, unread: _Unread | None = None) -> pl.Series:
    """Date texts in any known form -> UTC datetimes, the 0001-01-01 sentinel as null.

    The slow way, for a column the API's usual form did not cover: only the texts that form
    misses are read again, in the other forms, and only those still missed as ISO 8601 with a
    zone. Non-empty texts that still cannot be read (not the sentinel, which reads as year 1)
    are counted in ``unread`` under the column's name, with the first as an example.
    """
    text = _to_text(s).str.strip_chars()
    out = text.str.strptime(pl.Datetime("us"), _API_TIME, strict=False)
    for again in (_naive_expr, _zoned_expr):
        missed = (out.is_null() & (text != "")).fill_null(False).arg_true()
        if not len(missed):
            break
        rest = pl.DataFrame({"t": text.gather(missed)})
        out = out.scatter(missed, rest.select(again("t")).to_series())
    else:
        missed = (out.is_null() & (text != "")).fill_null(False).arg_true()
        if len(missed) and unread is not None:
            count, example = unread.get(str(s.name), (0, text[missed[0]]))
            unread[str(s.name)] = (count + len(missed), example)
    out = out.set((out.dt.year() <= _ZERO_DATE_YEAR).fill_null(False), None)
    return out.dt.replace_time_zone("UTC").alias(s.name)


def _core_raw(df: pl.DataFrame, name: str, api_key: str, has_lead: bool) -> pl.Series:
    """A core column as the reader gave it (strings where the schema says string)."""
    dtype = CORE_SCHEMA[name]
    if api_key in df.columns:
        s = df.get_column(api_key)
    else:
        s = _nulls(name, df.height, pl.String() if dtype in (pl.String, UTC_US) else dtype)
    if dtype == pl.String or dtype == UTC_US:
        s = _to_text(s)
    if name == "lead_id" and has_lead:
        s = s.fill_null(df.get_column(_LEAD_KEY))
    return s.alias(name)


def _core_expr(name: str, raw_dtype: pl.DataType, time_fallback: bool) -> pl.Expr:
    dtype = CORE_SCHEMA[name]
    col = pl.col(name)
    if dtype == UTC_US:
        return _time_expr(name, time_fallback)
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
        if values.str.contains(_NEEDS_DECODE).any():
            data = data.with_columns(_decoded(values))
    out: list[pl.Series] = []
    for (key,), part in data.partition_by("Key", as_dict=True, maintain_order=True).items():
        rows = part.get_column("row")
        if not rows.is_sorted() or rows.n_unique() != len(rows):
            part = part.unique(subset="row", keep="first", maintain_order=True)
            rows = part.get_column("row")
        out.append(_nulls(f"data.{key}", n).scatter(rows, part.get_column("Value")))
    return out


def _cleaned_data(columns: list[pl.Series], specials: bool) -> list[pl.Series]:
    """``data.<Key>`` columns from the C parser (empty values already null): references
    decoded where the chunk may hold some, as :func:`_data_columns` does in long form."""
    if not specials or not columns:
        return columns
    frame = pl.DataFrame(columns)
    has = frame.select(pl.all().str.contains(_NEEDS_DECODE).any()).row(0)
    return [_decoded(c) if h else c for c, h in zip(columns, has, strict=True)]


def _subkey_values(texts: list[str]) -> list[dict | None]:
    out: list[dict | None] = []
    for text in texts:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            obj = None  # only looks like JSON ({"IsAsync" : False}): the string stays
        out.append(obj if isinstance(obj, dict) else None)
    return out


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
        subs = [(c.name, _to_text(c)) for c in decoded.struct.unnest().get_columns()]
    except pl.exceptions.PolarsError:
        objs = _subkey_values(candidates.to_list())
        keys = list(dict.fromkeys(k for o in objs if o for k in o))
        subs = [
            (str(k), pl.Series([_text(o.get(k)) if o else None for o in objs], dtype=pl.String))
            for k in keys
        ]
    n = len(s)
    return [_nulls(f"{s.name}.{key}", n).scatter(idx, vals) for key, vals in subs]


def _field_columns(fields: pl.Series | None, n: int) -> list[pl.Series]:
    if fields is None or not isinstance(fields.dtype, pl.Struct) or fields.null_count() == n:
        return []
    # unnest, not struct.field(name): a key such as "*" or "^a$" would be read as a pattern
    cols = [_to_text(c).alias(f"fields.{c.name}") for c in fields.struct.unnest().get_columns()]
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


def _expand(chunk: _Parsed, unread: _Unread) -> pl.DataFrame:
    df, n = chunk.frame, chunk.n
    columns: list[pl.Series] = [
        _core_raw(df, name, api_key, chunk.has_lead) for api_key, name in _CORE_KEYS.items()
    ]
    taken = set(CORE_SCHEMA)
    known = set(_CORE_KEYS) | {"Data", "ActivityFields", _LEAD_KEY}
    for key in df.columns:
        if key in known:
            continue
        name = snake_case(key)
        while name in taken or name.startswith(("data.", "fields.")):
            name += "_"
        taken.add(name)
        columns.append(_to_text(df.get_column(key)).alias(name))
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
            pl.col(c).str.contains(_NEEDS_DECODE).any().alias(f"d{i}")
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
    exprs += [pl.col(t).str.strptime(pl.Datetime("us"), _API_TIME, strict=False) for t in times]
    out = wide.select(exprs)
    finished = []
    for t in times:
        raw, parsed = wide.get_column(t), out.get_column(t)
        if (parsed.is_null() & (raw != "")).any():
            # dates in another form than the API's usual one: parse this column the slow way
            finished.append(_parse_times(raw, unread))
        else:  # the 0001-01-01 sentinel means "unknown"
            finished.append(
                parsed.set((parsed.dt.year() <= _ZERO_DATE_YEAR).fill_null(False), None)
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
    stored once: 36 bytes per lead instead of per activity (36 MB less at 1M activities)."""
    run = s.rle_id()
    if len(s) < 2 or int(run[-1]) * 4 > len(s):  # few repeats: keep it as it is
        return s
    starts = s.filter(run.is_first_distinct())
    own = pl.Series(s.name, starts.to_list(), dtype=pl.String)  # a fresh, compact buffer
    return own.gather(run)


def _decoded(s: pl.Series) -> pl.Series:
    mask = s.str.contains(_NEEDS_DECODE).fill_null(False)
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


def _natural(text: str) -> tuple:
    parts = _NATURAL.split(text)  # odd positions are the digit runs
    return tuple((0, int(p), "") if i % 2 else (1, 0, p.lower()) for i, p in enumerate(parts))


def _column_order(columns: Iterable[str]) -> list[str]:
    columns = list(dict.fromkeys(columns))
    core = [c for c in CORE_SCHEMA if c in columns]
    extra = [c for c in columns if c not in CORE_SCHEMA and not c.startswith(("data.", "fields."))]
    data = sorted((c for c in columns if c.startswith("data.")), key=_natural)

    def field_key(c: str) -> tuple:
        parts = c.split(".", 2)
        return (_natural(parts[1]), _natural(parts[2]) if len(parts) > 2 else ())

    fields = sorted((c for c in columns if c.startswith("fields.")), key=field_key)
    return core + extra + data + fields


def _done(value: _Parsed | None) -> Future[_Parsed | None]:
    future: Future[_Parsed | None] = Future()
    future.set_result(value)
    return future


def _expand_into(frames: list[pl.DataFrame], chunk: _Parsed | None, unread: _Unread) -> None:
    if chunk is not None and chunk.n:
        frames.append(_expand(chunk, unread))
        _release_free_memory()


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _malloc_trim()


def _release_free_memory() -> None:
    """Hand the pages glibc keeps after a chunk's buffers are freed back to the system.

    The JSON reader's buffers come from glibc (:data:`_POOL`); without this, the freed
    blocks of earlier chunks stay counted in the process's memory (tens of MB at 1M).
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
    dates = _DateKeys()
    unread: _Unread = {}  # date texts that could not be read: one warning per column, at the end
    pool: ThreadPoolExecutor | None = None
    pending: Future[_Parsed | None] | None = None
    try:
        for kind, lines in _chunks(raw):
            if pending is None or not PIPELINE:
                if pending is not None:
                    _expand_into(frames, pending.result(), unread)
                pending = _done(_activities_table(kind, lines, dates))
                continue
            pool = pool or ThreadPoolExecutor(1, thread_name_prefix="lsq-frames")
            following = pool.submit(_activities_table, kind, lines, dates)
            del lines
            _expand_into(frames, pending.result(), unread)
            pending = following
        if pending is not None:
            _expand_into(frames, pending.result(), unread)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    _warn_unread(unread)
    if not frames:
        return empty_frame()
    out = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal", rechunk=False)
    return out.select(_column_order(out.columns))


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


def activity_types_frame(raw_types: list[dict]) -> pl.DataFrame:
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
                props = _loads(props)
            except ValueError:
                props = None
        meta = props.get("FormMetaData") if isinstance(props, Mapping) else None
        fields = [
            {
                "schema_name": _text(m.get("SchemaName")),
                "display_name": _text(m.get("DisplayName")),
                "data_type": _text(m.get("DataType")),
            }
            for m in (meta if isinstance(meta, list) else [])
            if isinstance(m, Mapping) and m.get("SchemaName")
        ]
        rows.append(
            {
                "event_code": _int(item.get("ActivityEvent")),
                "event_name": _text(item.get("ActivityEventName") or item.get("DisplayName")),
                "score": _int(item.get("Score")),
                "direction": _text(item.get("Direction")),
                "custom_fields": fields,
            }
        )
    field_type = pl.Struct(
        {"schema_name": pl.String, "display_name": pl.String, "data_type": pl.String}
    )
    schema = {
        "event_code": pl.Int32,
        "event_name": pl.String,
        "score": pl.Int32,
        "direction": pl.String,
        "custom_fields": pl.List(field_type),
    }
    return pl.DataFrame(rows, schema=schema, orient="row" if not rows else None)


# --------------------------------------------------------------------------- views

_KEEP_IN_VIEW = (
    "lead_id",
    "activity_id",
    "event_code",
    "event_name",
    "activity_score",
    "created_on",
    "modified_on",
)
_INT_RE = r"^[+-]?(0|[1-9][0-9]{0,17})$"
_DEC_RE = r"^[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p")


def _typed(s: pl.Series) -> pl.Series:
    """A string column -> booleans, integers, decimals or UTC datetimes if every value parses."""
    values = s.drop_nulls()
    if s.dtype != pl.String or values.len() == 0:
        return s
    stripped = s.str.strip_chars()
    low = stripped.str.to_lowercase()
    if low.drop_nulls().is_in(["true", "false"]).all():
        return (low == "true").alias(s.name)
    if stripped.drop_nulls().str.contains(_INT_RE).all():
        return stripped.cast(pl.Int64).alias(s.name)
    if stripped.drop_nulls().str.contains(_DEC_RE).all():
        return stripped.cast(pl.Float64).alias(s.name)
    if stripped.drop_nulls().str.contains(r"^\d").all():
        parsed = _nulls(s.name, len(s), pl.Datetime("us"))
        for fmt in _DATE_FORMATS:
            parsed = parsed.fill_null(stripped.str.strptime(pl.Datetime("us"), fmt, strict=False))
        if parsed.null_count() == s.null_count():
            return parsed.dt.replace_time_zone("UTC")
        if stripped.drop_nulls().str.contains(r"^\d{4}-\d{2}-\d{2}$").all():
            return stripped.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    return s


def _event_code(df: pl.DataFrame, event: int | str, types: Any) -> int:
    if not isinstance(event, (int, str)) or isinstance(event, bool):
        raise TypeError(f"event must be an event code (int) or name (str), got {event!r}")
    catalog = _catalog(types)
    book = catalog_from_types(catalog) if catalog is not None else event_catalog(df)
    return resolve_events(event, book, single=True)[0]


def _catalog(types: Any) -> pl.DataFrame | None:
    if types is None:
        return None
    if isinstance(types, pl.DataFrame):
        return types
    return activity_types_frame(list(types))


def event_view(df: pl.DataFrame, event: int | str, types: Any = None) -> pl.DataFrame:
    """One event type's rows, only the columns it uses, each column typed where it can be.

    A string column becomes Boolean when all its values are ``True``/``False``, Int64 when all
    are integers (no leading zeros, so phone numbers and codes stay strings), Float64 when all
    are decimals, and Datetime (UTC) when all are ``YYYY-MM-DD HH:MM:SS`` or
    ``M/D/YYYY h:mm:ss AM`` dates. With a catalog, ``fields.mx_Custom_N`` columns are named by
    the type's display names (``fields.mx_Custom_1`` -> ``Course``,
    ``fields.mx_Custom_3.Status`` -> ``Documents.Status``).

    Args:
        df: An activities frame.
        event: An event code (``201``) or an event type's name (``"Course Interested"``,
            matched without regard to case; ``"Logs"`` is 3011).
        types: Optional catalog: :func:`activity_types_frame`'s frame or the raw list.

    Returns:
        The view's rows in the frame's order.

    Raises:
        ValueError: if the name matches no event type, or several codes.
        TypeError: if ``event`` is neither an int nor a str.

    Example:
        >>> from lsq_analysis import load_sample, sample_activity_types
        >>> view = event_view(load_sample(), 205, types=sample_activity_types())
        >>> view["Amount"].dtype
        Float64
    """
    code = _event_code(df, event, types)
    rows = df.filter(pl.col("event_code") == code) if "event_code" in df.columns else df.clear()
    keep = [
        c
        for c in rows.columns
        if c in _KEEP_IN_VIEW or rows.get_column(c).null_count() < rows.height
    ]
    rows = rows.select(keep)
    typed = [s if s.name in CORE_SCHEMA else _typed(s) for s in rows.get_columns()]
    out = pl.DataFrame(typed) if typed else rows
    catalog = _catalog(types)
    if catalog is not None:
        match = catalog.filter(pl.col("event_code") == code)
        if match.height:
            names = {
                f["schema_name"]: f["display_name"]
                for f in (match["custom_fields"].to_list()[0] or [])
                if f["schema_name"] and f["display_name"] and f["schema_name"].startswith("mx_")
            }
            rename: dict[str, str] = {}
            taken = set(out.columns)
            for col in out.columns:
                parts = col.split(".", 2)
                if parts[0] != "fields" or len(parts) < 2 or parts[1] not in names:
                    continue
                new = names[parts[1]] + ("." + parts[2] if len(parts) > 2 else "")
                if new in taken:
                    new = f"fields.{new}"
                if new not in taken:
                    rename[col] = new
                    taken.add(new)
            out = out.rename(rename)
    return out


def _expanded_columns(df: pl.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith(("data.", "fields."))]


def fields_long(df: pl.DataFrame) -> pl.DataFrame:
    """The expanded columns in long form: one row per activity per key that has a value.

    Args:
        df: An activities frame.

    Returns:
        Columns ``lead_id``, ``activity_id``, ``event_code``, ``source`` (``"data"`` or
        ``"fields"``), ``key`` (``"Status"``, ``"mx_Custom_1"``, ``"mx_Custom_1.Status"``) and
        ``value`` (string); activities in the frame's order, keys in column order.

    Example:
        >>> from lsq_analysis import load_sample
        >>> long = fields_long(load_sample())
        >>> long.filter(pl.col("key") == "EmailAddress")["value"].n_unique() > 10
        True
    """
    index = [c for c in ("lead_id", "activity_id", "event_code") if c in df.columns]
    expanded = _expanded_columns(df)
    schema = {
        "lead_id": pl.String,
        "activity_id": pl.String,
        "event_code": pl.Int32,
        "source": pl.String,
        "key": pl.String,
        "value": pl.String,
    }
    if not expanded or df.height == 0:
        return pl.DataFrame(schema=schema)
    # column by column, nulls dropped first: an unpivot of the whole wide frame would hold
    # rows x columns cells (tens of millions for a big frame) before dropping them
    pieces = []
    width = len(expanded)
    for i, name in enumerate(expanded):
        col = df.get_column(name)
        if col.dtype != pl.String:
            col = _to_text(col)
        rows = col.is_not_null().arg_true()
        if rows.len() == 0:
            continue
        source, key = name.split(".", 1)
        pieces.append(
            pl.DataFrame(
                {
                    "__order": rows.cast(pl.UInt64) * width + i,
                    "source": pl.repeat(source, rows.len(), dtype=pl.String, eager=True),
                    "key": pl.repeat(key, rows.len(), dtype=pl.String, eager=True),
                    "value": col.gather(rows),
                }
            )
        )
    if not pieces:
        return pl.DataFrame(schema=schema)
    long = pl.concat(pieces, rechunk=False).sort("__order")
    rows = (long.get_column("__order") // width).cast(pl.UInt32)
    heads = df.select(index).gather(rows) if index else pl.DataFrame()
    out = pl.concat([heads, long.drop("__order")], how="horizontal")
    for name, dtype in schema.items():
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype).alias(name))
    return out.select([pl.col(n).cast(t) for n, t in schema.items()])


def _json_object(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        obj = _loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def change_log(df: pl.DataFrame) -> pl.DataFrame:
    """Decode the audit-log rows (EventCode 3011) into one row per changed field.

    ``OldData``/``NewData`` hold JSON objects of the changed fields (``{"Status":"sent"}``);
    a field in only one of them gets null on the other side. ``event_name`` is the name of the
    changed activity type, ``changed_at`` the log row's ``created_on`` (its ``EventTime`` when
    that is missing).

    Args:
        df: An activities frame.

    Returns:
        Columns ``lead_id``, ``activity_id``, ``changed_at`` (Datetime UTC), ``event_name``,
        ``field``, ``old``, ``new`` (strings), in the frame's order.

    Example:
        >>> from lsq_analysis import load_sample
        >>> log = change_log(load_sample())
        >>> set(log["field"]) >= {"Status", "Owner"}
        True
    """
    schema = {
        "lead_id": pl.String,
        "activity_id": pl.String,
        "changed_at": UTC_US,
        "event_name": pl.String,
        "field": pl.String,
        "old": pl.String,
        "new": pl.String,
    }
    if "event_code" not in df.columns or df.height == 0:
        return pl.DataFrame(schema=schema)
    logs = df.filter(pl.col("event_code") == 3011)
    if logs.height == 0:
        return pl.DataFrame(schema=schema)
    cols = {}
    for name in ("lead_id", "activity_id", "event_name", "data.OldData", "data.NewData"):
        cols[name] = (
            logs.get_column(name)
            if name in logs.columns
            else pl.repeat(None, logs.height, dtype=pl.String, eager=True)
        )
    changed = logs.get_column("created_on") if "created_on" in logs.columns else None
    if "data.EventTime" in logs.columns:
        event_time = _parse_times(logs.get_column("data.EventTime"))
        changed = event_time if changed is None else changed.fill_null(event_time)
    if changed is None:
        changed = pl.repeat(None, logs.height, dtype=UTC_US, eager=True)
    out: dict[str, list] = {name: [] for name in schema}
    rows = zip(
        cols["lead_id"].to_list(),
        cols["activity_id"].to_list(),
        changed.to_list(),
        cols["event_name"].to_list(),
        cols["data.OldData"].to_list(),
        cols["data.NewData"].to_list(),
        strict=True,
    )
    for lead, act, when, name, old_text, new_text in rows:
        old = _json_object(old_text) or {}
        new = _json_object(new_text) or {}
        for field in dict.fromkeys([*new, *old]):
            out["lead_id"].append(lead)
            out["activity_id"].append(act)
            out["changed_at"].append(when)
            out["event_name"].append(name)
            out["field"].append(str(field))
            old_value, new_value = _text(old.get(field)), _text(new.get(field))
            out["old"].append(decode_text(old_value) if old_value else None)
            out["new"].append(decode_text(new_value) if new_value else None)
    return pl.DataFrame(out, schema=schema)
