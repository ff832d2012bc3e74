"""Text and value helpers shared by the frames modules: decoding HTML character references
and written-out surrogate pairs (:func:`decode_text`), API keys in snake_case
(:func:`snake_case`), any column a reader produced as the strings the JSON had, and any JSON
value as the text, integer, decimal or boolean the frame keeps of it."""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

import orjson
import polars as pl

# --------------------------------------------------------------------------- text cleaning

_CHAR_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SURROGATE_REF = re.compile(
    r"&#(?:[xX]([dD][89abAB][0-9a-fA-F]{2})|(5[5-6][0-9]{3}));"
    r"&#(?:[xX]([dD][c-fC-F][0-9a-fA-F]{2})|(5[6-7][0-9]{3}));"
)
_ESCAPED_PAIR = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")
NEEDS_DECODE = r"&|\\u[dD][89abAB]"


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


def null_series(name: str, n: int, dtype: pl.DataType | None = None) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype or pl.String(), eager=True).alias(name)


def to_text(s: pl.Series) -> pl.Series:
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


# --------------------------------------------------------------------------- any value -> typed


def _fix_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # join valid pairs that Python kept apart, replace lone halves
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def value_text(value: Any) -> str | None:
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


def value_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 2**62:
        return round(value)
    if isinstance(value, str):
        try:
            return value_int(float(value.strip()))
        except ValueError:
            return None
    return None


def value_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, str):
        try:
            return value_float(float(value.strip()))
        except ValueError:
            return None
    return None


def value_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        return True if low == "true" else False if low == "false" else None
    return None


def key_text(value: Any) -> str:
    # the Arrow reader cuts a name at a NUL character (a key with one, as absurd as that is,
    # loses the rest of its name on the fast path; the careful path keeps it, as U+FFFD)
    return (value_text(value) or "").replace("\x00", "\ufffd")
