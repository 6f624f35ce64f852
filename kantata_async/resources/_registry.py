"""The resource class of each top-level key, filled as resource classes are defined."""

from __future__ import annotations

from typing import Any

__all__ = ["RESOURCES"]

RESOURCES: dict[str, type[Any]] = {}
"""Top-level key -> the generated resource class serving it (`GET /<path>?only=...`)."""
