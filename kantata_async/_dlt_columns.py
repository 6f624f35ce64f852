"""That every value of a row reaches a column of its own once dlt flattens the row.

dlt names a column by normalising each key (`snake_case`: `Role Name` is `role_name`) and
joining a nested object's keys with `__` (`role: {name}` is `role__name`). A server field
named `role__name` beside an included `role`, or `Name` beside `name`, would then share one
column and dlt would keep one of the values; a field named `_dlt_id` would take the place of
dlt's own row id, which links child rows to their parent. Neither may happen silently, so a
row where it would is a `PayloadError` naming the fields, before dlt sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

from ._errors import PayloadError

__all__ = ["ColumnCheck"]

_RESERVED = "_dlt"


class ColumnCheck:
    """Checks rows of one table (and its child tables); the names it has seen are cached."""

    def __init__(self) -> None:
        self._naming = NamingConvention()
        self._names: dict[str, str] = {}

    def check(self, row: Mapping[str, Any], table: str) -> None:
        """`PayloadError` if two fields of `row` would load into one column, or one into a
        column of dlt's own."""
        self._table(row, table, f"{table} {row.get('id')}")

    def _name(self, key: str, where: str) -> str:
        found = self._names.get(key)
        if found is None:
            try:
                found = self._naming.normalize_path(key)
            except ValueError:
                found = ""
            if not found:
                raise PayloadError(f"{where}: a field named {key!r} has no column name")
            self._names[key] = found
        return found

    def _table(self, row: Mapping[str, Any], table: str, where: str) -> None:
        seen: dict[str, str] = {}
        self._fields(row, "", "", seen, table, where)

    def _fields(
        self,
        obj: Mapping[str, Any],
        prefix: str,
        shown: str,
        seen: dict[str, str],
        table: str,
        where: str,
    ) -> None:
        for key, value in obj.items():
            name = self._name(str(key), where)
            column = f"{prefix}__{name}" if prefix else name
            field = f"{shown}.{key}" if shown else str(key)
            if isinstance(value, Mapping) and value:
                self._fields(value, column, field, seen, table, where)
                continue
            if column.startswith(_RESERVED):
                raise PayloadError(
                    f"{where}: the field {field!r} would load into dlt's own column {column}"
                )
            other = seen.setdefault(column, field)
            if other != field:
                raise PayloadError(
                    f"{where}: the fields {other!r} and {field!r} would load into one column "
                    f"{column} of {table}, and one value would be lost"
                )
            if isinstance(value, list):
                child = f"{table}__{column}"
                for item in value:
                    if isinstance(item, Mapping):
                        self._table(item, child, where)
