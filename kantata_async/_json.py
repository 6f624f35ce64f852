"""JSON in and out: orjson when the `fast` extra is installed, the standard library otherwise.

Both decoders refuse the same things, so a response means the same with or without the
extra: NaN and Infinity, numbers that overflow a double (`1e400`), nesting too deep to
decode, integers too long to convert. Integers wider than 64 bits stay exact with both.
Each refusal raises one of `DECODE_ERRORS`, which the transport turns into a
`ResponseValidationError`. Call `loads` through the module (`_json.loads`), not a copy of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

__all__ = ["DECODE_ERRORS", "dumps", "loads", "stdlib_loads"]

# ValueError covers both libraries' JSONDecodeError, UnicodeDecodeError and int() refusing a
# number of more than 4,300 digits; RecursionError is the standard library's answer to deep
# nesting (orjson stops at 1,024 levels with a JSONDecodeError).
DECODE_ERRORS: tuple[type[Exception], ...] = (ValueError, RecursionError, OverflowError)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("a number is out of range for a double")
    return value


def stdlib_loads(raw: bytes | str) -> Any:
    """Decode with the standard library, refusing what orjson refuses (NaN, overflow)."""
    return json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)


try:
    import orjson
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    loads: Callable[[bytes | str], Any] = stdlib_loads

    def dumps(value: Any) -> str:
        """`value` as compact JSON text (UTF-8 characters kept as they are)."""
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

else:
    # orjson reads an integer wider than 64 bits as a float (rounded) and will not write one:
    # a body with 20 digits in a row (rarely one in a string) is decoded by the standard
    # library instead, exactly, and such an integer is written by it too.
    _DIGITS = bytes(48 if 48 <= i <= 57 else 46 for i in range(256))  # digits to "0"
    _WIDE = b"0" * 20

    def loads(raw: bytes | str) -> Any:
        """Decode JSON; integers of any width stay exact."""
        data = raw if isinstance(raw, bytes) else raw.encode()
        if data.translate(_DIGITS).find(_WIDE) != -1:
            return stdlib_loads(raw)
        return orjson.loads(data)

    def dumps(value: Any) -> str:
        """`value` as compact JSON text (UTF-8 characters kept as they are)."""
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError as err:
            if "64-bit" not in str(err):
                raise
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
