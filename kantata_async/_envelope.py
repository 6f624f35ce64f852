"""Reading an envelope's shape before anything is merged: pure, no I/O."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._errors import PayloadError

__all__ = ["check_envelope"]

log = logging.getLogger("kantata_async")

_ENVELOPE_KEYS = frozenset({"count", "meta", "results"})

Maps = dict[str, dict[str, dict[str, Any]]]


def check_envelope(payload: Mapping[str, Any]) -> tuple[list[tuple[str, str]], Maps]:
    """`(results, maps)`: the primary records named by `results`, and every top-level map of
    records by key.

    Raises `PayloadError` when the payload is not an envelope or `results` names a record
    the payload does not carry. A record under a key that is not a JSON object is left out
    (with a warning); the other records of that key are kept.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError(f"expected a JSON object envelope, got {type(payload).__name__}")
    maps: Maps = {}
    for key, value in payload.items():
        if key in _ENVELOPE_KEYS:
            continue
        if not isinstance(value, dict):
            log.debug("skipping top-level key %r: not a map of records", key)
            continue
        if not {*map(type, value.values())} <= {dict}:
            bad = [i for i, record in value.items() if type(record) is not dict]
            log.warning(
                "skipping %d record(s) under %r that are not JSON objects (ids %s)",
                len(bad),
                key,
                ", ".join(repr(i) for i in bad[:10]),
            )
            value = {i: record for i, record in value.items() if type(record) is dict}
        maps[key] = value
    raw_results = payload.get("results", [])
    if not isinstance(raw_results, list):
        raise PayloadError(f"'results' must be a list, got {type(raw_results).__name__}")
    results: list[tuple[str, str]] = []
    for entry in raw_results:
        if not isinstance(entry, dict) or "key" not in entry or "id" not in entry:
            raise PayloadError(f"each entry of 'results' needs 'key' and 'id', got {entry!r}")
        key, id_ = str(entry["key"]), str(entry["id"])
        if id_ not in maps.get(key, {}):
            raise PayloadError(
                f"'results' names {key}/{id_}, but the payload has no such record "
                f"under its {key!r} key"
            )
        results.append((key, id_))
    return results, maps
