"""The input shapes :func:`~lsq_analysis.frames.activities_frame` takes (API responses, lists
of them or of activity dicts, mappings lead id -> activities, JSON text or bytes, file paths,
a ``pl.Series`` of JSON strings), turned into chunks of about :data:`CHUNK_BYTES` of JSON
lines for the readers, and the forgiving rewrite of any activity-like value into the usual
shape (:func:`canonical_activity`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from .schema import BOOL_KEYS, FLOAT_KEYS, INT_KEYS, LEAD_KEY
from .text import key_text, value_bool, value_float, value_int, value_text

#: About this much JSON is parsed and expanded at a time (bounds peak memory).
CHUNK_BYTES = 48 * 1024 * 1024


def canonical_activity(activity: Any) -> dict[str, Any]:
    """Any activity-like value -> a dict the fast reader accepts (same meaning)."""
    if not isinstance(activity, Mapping):
        return {}
    out: dict[str, Any] = {}
    for raw_key, value in activity.items():
        key = key_text(raw_key)
        if key in out or key == LEAD_KEY:
            continue
        if key == "Data":
            pairs: Iterable[tuple[Any, Any]] | None = (
                value.items() if isinstance(value, Mapping) else None
            )
            if isinstance(value, list):
                pairs = [
                    (item.get("Key"), item.get("Value"))
                    for item in value
                    if isinstance(item, Mapping) and item.get("Key") is not None
                ]
            if pairs is not None:
                out["Data"] = [{"Key": key_text(k), "Value": value_text(v)} for k, v in pairs]
            continue
        if key == "ActivityFields":
            if isinstance(value, Mapping):
                fields: dict[str, str | None] = {}
                for k, v in value.items():
                    fields.setdefault(key_text(k), value_text(v))
                out["ActivityFields"] = fields
            continue
        if key in INT_KEYS:
            out[key] = value_int(value)
        elif key in FLOAT_KEYS:
            out[key] = value_float(value)
        elif key in BOOL_KEYS:
            out[key] = value_bool(value)
        else:
            out[key] = value_text(value)
    return out


def loads(text: bytes | str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # accepts lone surrogates, which orjson refuses


# --------------------------------------------------------------------------- input -> chunks

# A chunk: ("pages", lines of {"ProspectActivities": [...]}) or ("activities", activity lines)
_RawChunk = tuple[str, Sequence[bytes | bytearray]]


def _one_line(text: bytes) -> bytes:
    # In valid JSON a raw newline can only be whitespace, so this keeps the meaning.
    if b"\n" in text or b"\r" in text:
        text = text.replace(b"\r", b" ").replace(b"\n", b" ")
    return text


def page_line(activities: Any, lead_key: str | None = None) -> bytes:
    doc: dict[str, Any] = {"ProspectActivities": activities}
    if lead_key is not None:
        doc[LEAD_KEY] = lead_key
    try:
        return orjson.dumps(doc)
    except TypeError:
        canonical = (
            [canonical_activity(a) for a in activities] if isinstance(activities, list) else []
        )
        doc["ProspectActivities"] = canonical
        return orjson.dumps(doc)


def _is_response(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "ProspectActivities" in obj


def response_activities(obj: Mapping[str, Any]) -> list[Any]:
    acts = obj.get("ProspectActivities")
    return acts if isinstance(acts, list) else []


def _file_lines(path: Path) -> Iterator[tuple[str, bytes]]:
    yield from _blob_lines(path.read_bytes())


def _blob_lines(data: bytes) -> Iterator[tuple[str, bytes]]:
    if _is_response_text(data, 0, len(data)):
        yield "pages", _one_line(data)
        return
    yield from _object_lines(loads(data))


def _is_response_text(data: bytes | bytearray, start: int, end: int) -> bool:
    """Does this JSON text hold one response object (so it can go to the reader as it is)?"""
    first = start
    while first < end and data[first] in b" \t\r\n":
        first += 1
    return (
        first < end and data[first] == 0x7B and data.find(b'"ProspectActivities"', start, end) >= 0
    )


def _path_chunks(paths: Iterable[str | os.PathLike[str]]) -> Iterator[_RawChunk]:
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
        yield "pages", page_line(response_activities(obj))
    elif isinstance(obj, Mapping):
        if not obj:  # a mapping of no leads
            return
        if all(isinstance(v, list) for v in obj.values()) and not _looks_like_activity(obj):
            for lead_key, acts in obj.items():
                yield "pages", page_line(acts, str(lead_key))
        else:
            yield "pages", page_line([obj])
    elif isinstance(obj, list):
        run: list[Any] = []
        for item in obj:
            if isinstance(item, str | Path | bytes | bytearray) or _is_response(item):
                if run:
                    yield "pages", page_line(run)
                    run = []
                yield from _object_lines(item)
            else:
                run.append(item)
        if run:
            yield "pages", page_line(run)
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


def _looks_like_activity(obj: Mapping[Any, Any]) -> bool:
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


def chunks(raw: Any) -> Iterator[_RawChunk]:
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
    kind_now, size = "pages", 0
    batch: list[bytes] = []
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
