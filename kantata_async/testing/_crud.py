"""The plain writes of any collection: create, update, delete, and the status actions.

What a collection's write routes take is in the facts: the body's wrapper key, its fields with
their types, the required ones. `Crud` checks a body against them before changing anything
(400 when the wrapper is missing, as Rails answers; 422 naming each field that is missing,
blank, of the wrong type, not one of its enum, or an id of a record that does not exist),
then writes through the `Dataset`, stamping `created_at` and `updated_at` with its clock.
`approve`, `reject` and `cancel` set `status` (`approved`, `rejected`, `canceled`).
No I/O here; the handlers render the answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._collections import COLLECTIONS
from ._dataset import Dataset
from ._facts import FieldFact, Operation
from ._fill import references
from ._routes import STATUS_ACTIONS
from ._schema import Collection, Record
from ._wire import ApiError, parse_date

__all__ = ["Crud"]

_INT = re.compile(r"\s*-?\d+\s*")
# Who a record is by, when the body does not say: the requester, as Kantata takes it.
_BY_ME = ("user_id", "creator_id")


def _label(name: str) -> str:
    return name.removesuffix("_id").replace("_", " ").capitalize()


class Crud:
    """The generic writes over a dataset, for the requester `me`."""

    def __init__(self, dataset: Dataset, me: str) -> None:
        self.dataset = dataset
        self.me = me

    # -- reading a body ---------------------------------------------------------------------

    def params(
        self, op: Operation, body: Mapping[str, Any], query: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The fields a write sends: under its wrapper key, or (for a route documented with
        query parameters and no body) in the query."""
        if op.body_wrapper is None:
            return {k: query[k] for k in op.query if k in query}
        params = body.get(op.body_wrapper)
        if not isinstance(params, dict) or not params:
            raise ApiError.system(400, f"param is missing or the value is empty: {op.body_wrapper}")
        return params

    def checked(
        self, collection: Collection, op: Operation, params: Mapping[str, Any], *, create: bool
    ) -> dict[str, Any]:
        """The fields of `params` the route takes, read into stored values; 422 otherwise."""
        fields = dict(op.body_fields or op.query)
        required = set(op.body_required) | {n for n, f in op.query.items() if f.required}
        problems: list[tuple[str, str]] = []
        out: dict[str, Any] = {}
        refs = references(collection, COLLECTIONS)
        for name in sorted(required) if create else ():
            if params.get(name) in (None, "", [], {}):
                problems.append((name, f"{_label(name)} can't be blank"))
        for name, raw in params.items():
            fact = fields.get(name)
            if fact is None or raw is None or (name in required and raw in ("", [], {})):
                continue
            value = self._read(name, fact, raw, problems)
            if value is None:
                continue
            target = refs.get(name)
            if target is not None and self.dataset.get(target, str(value)) is None:
                problems.append((name, f"{_label(name)} must exist"))
                continue
            kept = collection.schema.get(name)
            out[name] = str(value) if target or (kept and kept.type == "string") else value
        if problems:
            raise ApiError.validation(*problems)
        return out

    @staticmethod
    def _read(name: str, fact: FieldFact, raw: Any, problems: list[tuple[str, str]]) -> Any:
        label = _label(name)
        # An enum may list numbers (`time_rollup_type`: 0, 1, 2); a form sends them as text.
        choices = [str(choice) for choice in fact.enum]
        if choices and (isinstance(raw, bool) or str(raw) not in choices):
            problems.append((name, f"{label} must be one of {', '.join(choices)}"))
            return None
        if fact.type == "integer":
            if isinstance(raw, bool) or not (
                isinstance(raw, int) or (isinstance(raw, str) and _INT.fullmatch(raw))
            ):
                problems.append((name, f"{label} must be a whole number"))
                return None
            return int(raw)
        if fact.type == "number":
            try:
                return float(raw)
            except (TypeError, ValueError):
                problems.append((name, f"{label} must be a number"))
                return None
        if fact.type == "boolean":
            text = str(raw).strip().lower()
            if isinstance(raw, bool) or text in ("true", "false", "1", "0"):
                return raw if isinstance(raw, bool) else text in ("true", "1")
            problems.append((name, f"{label} must be true or false"))
            return None
        if fact.format == "date":
            try:
                return parse_date(name, raw).isoformat()
            except ApiError:
                problems.append((name, f"{label} must be a date in YYYY-MM-DD format"))
                return None
        return raw

    # -- writes -----------------------------------------------------------------------------

    def create(self, collection: Collection, op: Operation, params: Mapping[str, Any]) -> str:
        """A new record from the body; its id."""
        given = self.checked(collection, op, params, create=True)
        now = self.dataset.stamp()
        record: Record = {name: fact.default for name, fact in collection.schema.items()}
        record.pop("id", None)
        for name in _BY_ME:
            if name in collection.schema and name not in given:
                record[name] = self.me
        record.update(given)
        if "created_at" in record or "updated_at" in record:
            record["created_at"] = record["updated_at"] = now
        return str(self.dataset.add(collection.key, record)["id"])

    def update(
        self, collection: Collection, op: Operation, record_id: str, params: Mapping[str, Any]
    ) -> None:
        """Set the body's fields on the record."""
        given = self.checked(collection, op, params, create=False)
        self.dataset.update(collection.key, record_id, **given)

    def delete(self, collection: Collection, record_id: str) -> None:
        """Remove the record (links to it are left dangling, as the dataset's deletes)."""
        self.dataset.delete(collection.key, record_id)

    def act(
        self, collection: Collection, record_id: str, action: str, params: Mapping[str, Any]
    ) -> None:
        """`approve`, `reject`, `cancel`: the status the name says, and the description the
        resolution gives, where the record keeps one."""
        changes: dict[str, Any] = {"status": STATUS_ACTIONS[action]}
        resolution = params.get("resolution")
        if isinstance(resolution, dict) and "description" in resolution:
            for name in ("current_resolution_description", "resolution_description"):
                if name in collection.schema:
                    changes[name] = resolution["description"]
        self.dataset.update(collection.key, record_id, **changes)

    def locate(self, collection: Collection, record_id: str, path: Mapping[str, str]) -> str:
        """The id of the record a path names: its `{id}`, or the one whose fields match the
        path's values (a rate card row by its version and role); "" when none does."""
        if "id" in path or not collection.parents:
            return record_id
        store = self.dataset.records.get(collection.key, {})
        for found, record in store.items():
            if all(str(record.get(name)) == value for name, value in path.items()):
                return found
        return ""
