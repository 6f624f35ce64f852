"""Names and types of the generated code: Python names from the API's keys and paths, and
the Python type of each kind of filter and body field in the facts."""

from __future__ import annotations

import re

import quirks
from facts import Action, Collection, Param

FILTER_TYPES = {
    "BOOL": "bool",
    "INT": "int",
    "ID": "str | int",
    "IDS": "Sequence[str | int]",
    "STR": "str",
    "STRS": "Sequence[str]",
    "DATE": "date",
    "DATETIME": "datetime",
    "JSONISH": "str | Mapping[str, Any]",
}
BODY_TYPES = {
    "ID": "str | int",
    "INT": "int",
    "FLOAT": "float",
    "BOOL": "bool",
    "STR": "str",
    "DATE": "date",
    "DATETIME": "datetime",
    "OBJECT": "Mapping[str, Any]",
    "LIST": "Sequence[Any]",
    "ANY": "Any",
}
RESERVED = frozenset({"list", "get", "create", "update", "delete", "delete_many"})


def camel(key: str) -> str:
    return "".join(p.capitalize() for p in key.split("_"))


def snake(text: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", text).lower()


def resource_name(coll: Collection) -> str:
    name = camel(coll.key)
    return name + "Resource" if name == coll.model else name


def body_kind(param: Param) -> str:
    """Integer fields naming a record are ids: `str | int` for the caller, an int sent."""
    if param.kind == "INT" and (param.wire.endswith("_id") or param.wire == "id"):
        return "ID"
    return param.kind


def action_names(coll: Collection) -> list[tuple[Action, str]]:
    """The actions with their method names: the path's words, or the operation's on a clash."""
    skip = quirks.HAND_WRITTEN.get(coll.key, frozenset())
    counts: dict[str, int] = {}
    for action in coll.actions:
        counts[action.name] = counts.get(action.name, 0) + 1
    named = []
    for action in coll.actions:
        if action.name in skip:
            continue
        clash = counts[action.name] > 1 or action.name in RESERVED
        named.append((action, snake(action.operation_id) if clash else action.name))
    return named


def type_name(coll: Collection) -> str:
    """The name the collection's declarations start with: its model's, or its key's."""
    return coll.model or camel(coll.key)
