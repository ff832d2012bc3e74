"""The readers, which turn one chunk of JSON lines into Arrow columns (a :class:`ParsedChunk`):
the C parser ``_fastjson`` (``_fastjson.c`` over the vendored yyjson, built at install where a
C compiler is at hand; this is the only module that knows it) takes input of the usual shape
and refuses the rest; pyarrow's JSON reader reads the rest, declaring the keys earlier chunks
of the call taught (:class:`DateKeys`); a chunk pyarrow refuses too is rewritten in Python and
read again. ``tests/test_frames_c_parser.py`` checks that both give equal frames."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from ..errors import ResponseFormatError
from .schema import BOOL_KEYS, CORE_KEYS, FLOAT_KEYS, INT_KEYS, LEAD_KEY
from .shapes import canonical_activity, loads, page_line, response_activities

# Strings declared to the reader as views: polars takes those over as they are (plain Arrow
# strings would be converted; benchmarks/README.md has the cost)
_TEXT = pa.string_view()
_TEXTS = (pa.string(), _TEXT)
_DATA_TYPE = pa.list_(pa.struct([("Key", _TEXT), ("Value", _TEXT)]))


def _arrow_type(key: str) -> pa.DataType:
    if key in INT_KEYS:
        return pa.int64()
    if key in FLOAT_KEYS:
        return pa.float64()
    if key in BOOL_KEYS:
        return pa.bool_()
    return _TEXT


_ACTIVITY_FIELDS = [(k, _arrow_type(k)) for k in CORE_KEYS] + [("Data", _DATA_TYPE)]
_ACTIVITY_SCHEMA = pa.schema(_ACTIVITY_FIELDS)
_PAGE_SCHEMA = pa.schema(
    [("ProspectActivities", pa.list_(pa.struct(_ACTIVITY_FIELDS))), (LEAD_KEY, pa.string())]
)

# The JSON reader's buffers come from the C allocator, which hands large freed blocks back to
# the system at once (pyarrow's default pool keeps them), which lowers peak memory.
_POOL = pa.system_memory_pool()
_BLOCK_BYTES = 4 * 1024 * 1024  # pyarrow block size: the unit of its threads' work


# --------------------------------------------------------------------------- parse one chunk


class DateKeys:
    """What earlier chunks of one call taught about the keys, declared for the next chunks.

    Keys whose values looked like dates are always declared as strings (so they keep their
    spelling). Keys that an earlier chunk read as strings are declared too (pyarrow parses
    faster with the full schema than while inferring it; any other key is still inferred, so
    a key first seen late is never dropped); a chunk that does not fit those declarations is
    read again without them, so the result is the same.
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
        top = sorted(self.top - set(CORE_KEYS))
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
            [("ProspectActivities", pa.list_(pa.struct(fields))), (LEAD_KEY, pa.string())]
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
            elif f.type in _TEXTS and f.name not in CORE_KEYS and f.name != LEAD_KEY:
                self.text_top.setdefault(f.name)


def _activity_type(kind: str, schema: pa.Schema) -> Iterable[pa.Field]:
    # pyarrow ships no types: what it returns here is Any
    if kind == "pages":
        return cast("Iterable[pa.Field]", schema.field("ProspectActivities").type.value_type)
    return cast("Iterable[pa.Field]", schema)


_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _read(
    kind: str,
    lines: Sequence[bytes | bytearray],
    dates: DateKeys | None = None,
    block: int | None = None,
) -> pa.Table:
    dates = dates or DateKeys()
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


def _longest(lines: Sequence[bytes | bytearray]) -> int:
    return max(len(line) for line in lines)


def _canonical_lines(kind: str, lines: Sequence[bytes | bytearray]) -> list[bytes]:
    """The slow, forgiving way for a chunk the fast reader refused: same meaning, page lines."""
    out = []
    for line in lines:
        if kind == "pages":
            for page in bytes(line).split(b"\n"):
                if not page.strip():
                    continue
                doc = loads(page)
                lead = doc.get(LEAD_KEY) if isinstance(doc, Mapping) else None
                acts = response_activities(doc) if isinstance(doc, Mapping) else []
                out.append(page_line([canonical_activity(a) for a in acts], lead))
            continue
        acts = []
        for i, part in enumerate(bytes(line).split(b"\n")):
            try:
                acts.append(canonical_activity(loads(part)))
            except ValueError as exc:
                raise ResponseFormatError(
                    f"activity {i} of a chunk is not JSON: {part[:80]!r}"
                ) from exc
        out.append(page_line(acts))
    return out


class ParsedChunk:
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
_TYPED_KEYS = (frozenset(INT_KEYS), frozenset(FLOAT_KEYS), frozenset(BOOL_KEYS))
_KIND_TYPES = (_TEXT, pa.int64(), pa.float64(), pa.bool_())
_NS_TOP, _NS_FIELDS, _NS_DATA, _NS_LEAD = 0, 1, 2, 3


def _c_parsed(kind: str, buf: bytes | bytearray, specials: bool) -> ParsedChunk | None:
    """A chunk read by the C parser; None when it refused the input (read it with pyarrow).

    The parser takes only input of the usual shape (strings where strings belong, ``Data`` as
    Key/Value entries, no key twice, valid UTF-8, ...): anything else goes the careful way.
    """
    if _fastjson is None or not USE_C_PARSER:
        return None
    out = _fastjson.parse(buf, kind == "pages", *_TYPED_KEYS, LEAD_KEY)
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
    has_lead = LEAD_KEY in top
    if not top:  # activities with no top-level keys at all: the rows still count
        top[LEAD_KEY] = pa.nulls(n, pa.string())
    return ParsedChunk(pa.table(top), has_lead, specials, data_columns=data, field_columns=fields)


def activities_table(
    kind: str, lines: Sequence[bytes | bytearray], dates: DateKeys | None = None
) -> ParsedChunk | None:
    """Parse a chunk to one row per activity with the raw (API-named) columns."""
    if len(lines) > 1:
        lines = [b"\n".join(lines)]  # one buffer for the reader (and one scan below)
    # the whole chunk as one block of the reader, as for files: its threads would split it,
    # for more CPU in all; the parse of one chunk runs beside the expansion of the one
    # before, which keeps two cores busy anyway
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
        return ParsedChunk(table, False, specials) if table.num_rows else None
    nested = table.column("ProspectActivities")
    flat = pc.list_flatten(nested)
    if isinstance(flat, pa.ChunkedArray):
        flat = flat.combine_chunks() if flat.num_chunks != 1 else flat.chunk(0)
    if not len(flat):
        return None
    acts = pa.Table.from_struct_array(flat)
    lead = table.column(LEAD_KEY)
    has_lead = lead.null_count < len(lead)
    if has_lead:
        acts = acts.append_column(LEAD_KEY, pc.take(lead, pc.list_parent_indices(nested)))
    return ParsedChunk(acts, has_lead, specials)
