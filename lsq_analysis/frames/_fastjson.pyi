# Types of the compiled parser built from _fastjson.c (see setup.py), which mypy cannot read.
# Keep in step with parse() and INTERFACE in the C.

from typing import final

INTERFACE: int

@final
class _Buffer:  # lsq_analysis._fastjson.Buffer: memory the parser filled, for pa.py_buffer
    def __buffer__(self, flags: int, /) -> memoryview: ...

# (namespace, key, kind, validity bitmap or None, values, null count)
_Column = tuple[int, str, int, _Buffer | None, _Buffer, int]

def parse(
    buffer: bytes | bytearray | memoryview,
    pages: bool,
    int_keys: frozenset[str],
    float_keys: frozenset[str],
    bool_keys: frozenset[str],
    lead_key: str,
    /,
) -> tuple[int, _Buffer, list[_Column]] | None:
    """One chunk of JSON lines -> (rows, blob, columns), or None when it refuses the input."""
