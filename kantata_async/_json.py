"""JSON in and out: orjson when the `fast` extra is installed, the standard library otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["DECODE_ERRORS", "dumps", "loads"]

try:
    import orjson
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    loads: Callable[[bytes], Any] = json.loads
    DECODE_ERRORS: tuple[type[Exception], ...] = (json.JSONDecodeError, UnicodeDecodeError)

    def dumps(value: Any) -> str:
        """`value` as compact JSON text (UTF-8 characters kept as they are)."""
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

else:
    loads = orjson.loads
    DECODE_ERRORS = (orjson.JSONDecodeError, UnicodeDecodeError)

    def dumps(value: Any) -> str:
        """`value` as compact JSON text (UTF-8 characters kept as they are)."""
        return orjson.dumps(value).decode()
