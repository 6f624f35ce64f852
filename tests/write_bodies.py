"""Write bodies for every generated resource, read from its own tables (see
tests/test_all_writes.py): the fields an operation requires, filled with values the fake
takes, and how a value sent reads back."""

from __future__ import annotations

import inspect
import re
import sys
from datetime import UTC, date, datetime
from typing import Any

from kantata_async._errors import FieldNotLoadedError
from kantata_async._models.base import Record
from kantata_async._query import BodyKind, WriteBody
from kantata_async.resources._registry import RESOURCES
from kantata_async.testing import FakeKantata, _facts

SUNDAY = date(2026, 3, 1)
LATER = date(2026, 3, 20)

# Id fields whose name does not say what they name: "<key>.<field>" -> (key, field) of the
# records whose values they take.
TARGETS: dict[str, tuple[str, str]] = {
    "timesheet_submissions.line_item_ids": ("time_entries", "id"),
    "expense_report_submissions.line_item_ids": ("expenses", "id"),
    "workspace_allocations.resource_id": ("workspace_resources", "id"),
    "client_invoice_defaults.client_account_id": ("workspaces", "account_id"),
    "resource_requests.new_approver_id": ("users", "id"),
    "workspaces.project_tracker_template_id": ("project_templates", "id"),
}

CRUD = ("create", "update", "delete", "delete_many")
_NOT_ACTIONS = {"list", "get", *CRUD}
_ROUTE = re.compile(r"`([A-Z]+) /([^`?]+)")


def operations(key: str) -> list[str]:
    """The write methods (and actions) the generated resource of `key` defines."""
    cls = RESOURCES[key]
    found = [n for n, f in vars(cls).items() if inspect.iscoroutinefunction(f)]
    return [op for op in CRUD if op in found] + [n for n in found if n not in _NOT_ACTIONS]


def spec(key: str, operation: str) -> WriteBody | None:
    """The body table the resource sends `operation` with (None: it sends no body)."""
    found = getattr(sys.modules[RESOURCES[key].__module__], operation.upper(), None)
    return found if isinstance(found, WriteBody) else None


def route(key: str, operation: str) -> tuple[str, str]:
    """(method, path template) of a generated method, as its docstring states them."""
    found = _ROUTE.search(getattr(RESOURCES[key], operation).__doc__ or "")
    assert found, f"{key}.{operation}: no route in its docstring"
    return found[1], found[2]


def field_fact(key: str, method: str, template: str, wire: str) -> _facts.FieldFact | None:
    """What the facts say of a body field of `method /<template>`."""
    for op in _facts.operations():
        if op.method == method and op.path == "/" + template:
            return op.body_fields.get(wire) or op.query.get(wire)
    return None


def named(fake: FakeKantata, key: str, wire: str) -> list[str]:
    """Values the fake holds for an id field: ids of its target, else ids records carry."""
    records = fake.dataset.records
    where = TARGETS.get(f"{key}.{wire}")
    if where is None:
        rels = RESOURCES[key].model.__kantata_relations__.values()
        found = next((r.target for r in rels if r.field == wire and r.target in records), None)
        stem = wire.removesuffix("_ids").removesuffix("_id")
        guesses = [found, stem + "s", stem + "es"] if found else [stem + "s", stem + "es"]
        where = next(((g, "id") for g in guesses if g and records.get(g)), (key, wire))
    values: list[str] = []
    for record in records[where[0]].values():
        held = record.get(where[1])
        values += (
            [str(i) for i in held] if isinstance(held, list) else [str(held)] * (held is not None)
        )
    return list(dict.fromkeys(values))


def value(fake: FakeKantata, key: str, wire: str, kind: BodyKind, fact: Any) -> Any:
    """A valid value for a body field, as the SDK takes it."""
    if fact is not None and fact.enum:
        return fact.enum[0]
    if kind in (BodyKind.ID, BodyKind.LIST):
        ids = named(fake, key, wire)
        assert ids, f"{key}.{wire}: no record to name"
        return ids[0] if kind is BodyKind.ID else ids[:1]
    if kind is BodyKind.DATE:
        return LATER if "end" in wire else SUNDAY
    if kind is BodyKind.DATETIME:
        return datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    simple = {BodyKind.INT: 60, BodyKind.FLOAT: 1.5, BodyKind.BOOL: True}
    if kind in simple:
        return simple[kind]
    copied = next((r.get(wire) for r in fake.dataset.records[key].values() if r.get(wire)), None)
    if kind is BodyKind.OBJECT:
        return copied if isinstance(copied, dict) else {"note": "written by the test"}
    return copied if isinstance(copied, str) else f"{wire} of a new {key}"


def body(
    fake: FakeKantata, key: str, operation: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The fields `operation` requires (its first field when none is; for an update, none)."""
    table = spec(key, operation)
    if table is None:
        return {}
    names = sorted(table.required)
    wires = {n: table.wire.get(n, n) for n in table.fields}
    if operation == "create" and not any(readable(key, wires[n]) for n in names):
        # Something the answer carries back, to check.
        back = [n for n in table.fields if readable(key, wires[n])]
        names += back[:1] or names[:1] or list(table.fields)[:1]
    elif not names and operation != "update":
        names = [next(iter(table.fields))]
    method, template = route(key, operation)
    out = {}
    for name in names:
        wire = table.wire.get(name, name)
        fact = field_fact(key, method, template, wire)
        out[name] = value(fake, key, wire, table.fields[name], fact)
    return {**out, **(extra or {})}


def includes(fake: FakeKantata, key: str, table: WriteBody, sent: dict[str, Any]) -> dict[str, Any]:
    """`include=` for the relations whose ids were sent (an answer carries ids only then)."""
    rels = RESOURCES[key].model.__kantata_relations__.values()
    wires = {table.wire.get(n, n) for n in sent}
    held = fake.dataset.records
    wanted = sorted(
        {r.include for r in rels if r.field in wires and r.include and r.target in held}
    )
    return {"include": wanted} if wanted else {}


def same(read: Any, kind: BodyKind, sent: Any) -> bool:
    """Whether a value read back is the one sent. The facts type a few fields one way in the
    body and another in the record (a date sent, a date-time kept; an int sent, a string
    kept): those compare by what they mean."""
    if kind is BodyKind.ID:
        return read == str(sent)
    if kind is BodyKind.LIST:
        return read == [str(i) for i in sent] or read == list(sent)
    if isinstance(read, datetime) and type(sent) is date:
        return read.date() == sent and read.time() == datetime.min.time()
    if type(read) is str and type(sent) is int:
        return read == str(sent)
    return bool(read == sent)


def read(obj: Any, wire: str) -> Any:
    return obj.get(wire) if isinstance(obj, dict) else getattr(obj, wire)


def readable(key: str, wire: str) -> bool:
    """A field the model reads from an answer without `optional_fields`."""
    model = RESOURCES[key].model
    if model is Record:
        return True
    return wire in model.__kantata_fields__ and wire not in model.__kantata_optional__


def check_holds(key: str, table: WriteBody, sent: dict[str, Any], obj: Any) -> int:
    """Assert `obj` holds each sent value its answer carried; how many it held."""
    checked = 0
    for name, given in sent.items():
        wire = table.wire.get(name, name)
        if not readable(key, wire) or (isinstance(obj, dict) and wire not in obj):
            continue
        try:
            held = read(obj, wire)
        except FieldNotLoadedError:
            continue  # a field of the write body that no answer carries
        assert same(held, table.fields[name], given), f"{key}.{wire}: {held!r} != {given!r}"
        checked += 1
    return checked


def ident(obj: Any) -> str:
    return str(obj["id"]) if isinstance(obj, dict) else str(obj.id)


def takes_include(key: str, operation: str) -> bool:
    return "include" in inspect.signature(getattr(RESOURCES[key], operation)).parameters


PREFERRED = ("name", "title", "full_name", "description", "notes", "message", "text")
_KINDS = [BodyKind.STR, BodyKind.INT, BodyKind.FLOAT, BodyKind.BOOL, BodyKind.DATE, BodyKind.ID]


def change(fake: FakeKantata, key: str, table: WriteBody, obj: Any) -> tuple[str, Any]:
    """One field to update (a name or title where there is one) and a new valid value."""
    options: list[tuple[tuple[int, int, int, str], str, Any]] = []
    for name, kind in table.fields.items():
        wire = table.wire.get(name, name)
        if kind not in _KINDS:
            continue
        try:
            current = read(obj, wire) if readable(key, wire) else None
        except FieldNotLoadedError:
            current = None
        fact = field_fact(key, *route(key, "update"), wire)
        new: Any
        if fact is not None and fact.enum:
            new = next((e for e in fact.enum if e != current), None)
        elif kind is BodyKind.ID:
            new = next((i for i in named(fake, key, wire) if i != current), None)
        elif kind is BodyKind.STR:
            new = f"{wire} updated by the test"
        elif kind is BodyKind.INT:
            new = 7 if current != 7 else 8
        elif kind is BodyKind.FLOAT:
            new = 2.25 if current != 2.25 else 3.5
        elif kind is BodyKind.BOOL:
            new = not current
        else:
            new = date(2026, 4, 5) if current != date(2026, 4, 5) else date(2026, 4, 12)
        if new is None:
            continue
        preferred = PREFERRED.index(wire) if wire in PREFERRED else len(PREFERRED)
        enum = int(bool(fact and fact.enum))
        rank = (int(not readable(key, wire)), preferred, _KINDS.index(kind) * 2 + enum, name)
        options.append((rank, name, new))
    assert options, f"{key}: no field to update"
    _, name, new = min(options)
    return name, new


def stored(value: Any) -> str:
    """A value as the fake keeps it, for comparing."""
    return value.isoformat() if isinstance(value, date) else str(value)
