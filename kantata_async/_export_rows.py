"""Export rows: one record and its include tree as an NDJSON line or a CSV line.

Pure and synchronous: what goes in is a live record, what comes out is text. Where the text
goes (a file, a temporary file, stdout) is `_export_output`'s business.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from typing import Any, Final, Literal, TextIO, cast, get_args

import attrs

from ._convert import to_dict
from ._json import dumps
from ._models.base import _REGISTRY, Model
from ._models.relations import Relation
from ._models.state import is_placeholder
from .resources._nested import IncludeTree

__all__ = ["ExportFormat", "RowWriter", "export_format", "write_only_fields"]

ExportFormat = Literal["ndjson", "csv"]


def export_format(
    out: str | os.PathLike[str] | TextIO, format: ExportFormat | None = None
) -> ExportFormat:
    """The format an export to `out` writes: `format` when given, else from `out`'s name.

    The one rule for the library and the command line: a path ending in `.csv` (any case)
    is CSV; any other path, and a file object, is NDJSON. Raises `ValueError` for an
    unknown `format`.
    """
    if format is not None:
        if format not in get_args(ExportFormat):
            raise ValueError(
                f"format must be one of {', '.join(get_args(ExportFormat))}, got {format!r}"
            )
        return format
    if isinstance(out, str | os.PathLike) and os.fspath(out).lower().endswith(".csv"):
        return "csv"
    return "ndjson"


class _NotLoaded:
    """A relation no response has carried: the key is left out (NDJSON) or empty (CSV)."""


log = logging.getLogger("kantata_async")

_NOT_LOADED: Final = _NotLoaded()
Linked = Model | list[Model] | None | _NotLoaded


def _linked(obj: Model, rel: Relation) -> Linked:
    """What `rel` of `obj` points at; placeholders stand in for records never carried.

    Read from the relation's links, not through `getattr(obj, name)`: a field the server
    sends under a relation's name (`"role": "Designer"`) sits in the record's `__dict__`,
    where it hides the relation from attribute reads. A placeholder is a record whose id
    arrived without it (hidden from the token, or not included); it is written as its id,
    so the row still says which record it was.
    """
    targets = rel.targets(obj)
    if targets is None:
        return _NOT_LOADED
    if rel.many:
        return targets
    return targets[0] if targets else None


# (id(record), id(include subtree)) -> the record embedded with that subtree.
Memo = dict[tuple[int, int], dict[str, Any]]
# (model class, relation name): a field named like an included relation, already logged.
Told = set[tuple[type[Model], str]]


def _embed(
    obj: Model, tree: IncludeTree, memo: Memo | None = None, told: Told | None = None
) -> dict[str, Any]:
    """`obj` as a JSON-ready dict, with the relations of `tree` embedded in it.

    `memo` holds the dicts of related records already embedded in this page (a role is
    shared by many users); they are only read, to be serialised at once. One record reached
    by two include paths (`manager` and `account_membership.manager.role`) is embedded once
    per path, each with its own subtree: the key is the record and the subtree together.
    The subtrees are the export's own include tree, alive as long as the export, so their
    ids cannot be reused while the memo holds them.
    """
    state = obj._state
    if state is not None and state.placeholder:
        return {"id": obj.__dict__["id"]}
    key = (id(obj), id(tree))
    if memo is not None:
        done = memo.get(key)
        if done is not None:
            return done
    row = _own_row(obj)
    if tree:
        _embed_relations(obj, row, tree, memo, told)
    if memo is not None:
        memo[key] = row
    return row


def _own_row(obj: Model) -> dict[str, Any]:
    """`obj`'s own fields as JSON-ready values, its id first (where a reader looks for it)."""
    row = to_dict(obj)
    if next(iter(row), None) != "id":
        row = {"id": row.pop("id", obj.__dict__["id"]), **row}
    return row


def _embed_relations(
    obj: Model, row: dict[str, Any], tree: IncludeTree, memo: Memo | None, told: Told | None
) -> None:
    """Put the relations of `tree` into `row`, each with its own subtree embedded.

    `told`: the (class, relation) clashes already logged by this export, if it logs them.
    """
    relations = type(obj).__kantata_relations__
    links = obj._links
    for name, subtree in tree.items():
        rel = relations[name]
        value: Any
        if rel.field and name in links:  # the common case, read as `rel.targets` does
            value = links[name]
        else:
            value = _linked(obj, rel)
            if isinstance(value, _NotLoaded):
                continue
        if name in row and told is not None and (type(obj), name) not in told:
            # The server sent a field under the relation's name: the relation asked for with
            # `include` takes the key in the row; the field stays on the record (`extra`).
            told.add((type(obj), name))
            log.warning(
                "%s records carry a field named like their relation %r: rows hold the "
                "included relation under that name, not the field",
                type(obj).__kantata_key__,
                name,
            )
        if value is None:
            row[name] = [] if rel.many else None
        elif rel.many:
            row[name] = [_embed(t, subtree, memo, told) for t in value]
        else:
            row[name] = _embed(value, subtree, memo, told)


# What a spreadsheet reads as the start of a formula (OWASP "CSV injection"): `=`, `+`, `-`,
# `@`, and tab or CR, which some spreadsheets skip before looking for those.
FORMULA_LEADS: Final = frozenset("=+-@\t\r")


def _cell(value: Any, guard: bool = False) -> str:
    """One CSV cell. With `guard`, text that a spreadsheet would run as a formula gets a `'`
    in front, which spreadsheets show as text; numbers the server sent as JSON numbers are
    numbers (`-500`), never prefixed."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        if guard and value[:1] in FORMULA_LEADS:
            return "'" + value
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_only_fields(model: type[Model]) -> frozenset[str]:
    """The fields of `model` that reads never carry, from its `__kantata_write_only__`.

    A model declares them where it is defined (`WorkweekMembership`: the `*_minutes`, which
    reads carry on the included `workweek`); a model without the attribute has none.
    """
    names: frozenset[str] = getattr(model, "__kantata_write_only__", frozenset())
    return names


class _Columns:
    """The CSV columns of one model class and include subtree, computed from the classes."""

    __slots__ = ("fields", "guard", "header", "relations")

    def __init__(
        self, model: type[Model], tree: IncludeTree, *, guard: bool, prefix: str = ""
    ) -> None:
        self.guard = guard
        # The model's declared fields, in declaration order, less those the API takes on
        # writes but never sends on reads: a column for them would be empty on every row.
        write_only = write_only_fields(model)
        self.fields = tuple(
            f.name for f in attrs.fields(cast(Any, model)) if f.name not in write_only
        )
        # In header order: (name, columns of a to-one relation flattened here, or None for a
        # relation written as one JSON column, with the subtree embedded in it).
        self.relations: list[tuple[str, _Columns | None, IncludeTree]] = []
        self.header = [prefix + name for name in self.fields]
        for name in sorted(tree):
            rel = model.__kantata_relations__[name]
            target = _REGISTRY.get(rel.target) if rel.target else None
            if rel.many or target is None:  # to-many, or polymorphic: no fixed columns
                self.relations.append((name, None, tree[name]))
                self.header.append(prefix + name)
            else:
                sub = _Columns(target, tree[name], guard=guard, prefix=f"{prefix}{name}.")
                self.relations.append((name, sub, tree[name]))
                self.header += sub.header

    def cells(self, obj: Model | None) -> list[str]:
        """One cell per header column; all empty for a missing record."""
        if obj is None:
            return [""] * len(self.header)
        values = {"id": obj.__dict__["id"]} if is_placeholder(obj) else to_dict(obj)
        out = [_cell(values.get(name), self.guard) for name in self.fields]
        relations = type(obj).__kantata_relations__
        for name, sub, subtree in self.relations:
            value = _linked(obj, relations[name])
            if sub is not None:
                out += sub.cells(value if isinstance(value, Model) else None)
            elif isinstance(value, _NotLoaded):
                out.append("")
            elif isinstance(value, list):
                out.append(_cell([_embed(t, subtree) for t in value]))
            else:
                out.append(_cell(None if value is None else _embed(value, subtree)))
        return out


class RowWriter:
    """Formats records as rows: each row one string, ready for a single `write` call."""

    def __init__(
        self,
        format: ExportFormat,
        model: type[Model],
        tree: IncludeTree,
        *,
        csv_formula_guard: bool = True,
    ) -> None:
        self._tree = tree
        # The records embedded in the page being written, per include subtree.
        self._memo: Memo = {}
        self._told: Told = set()
        self._columns: _Columns | None = None
        if format == "csv":
            self._columns = _Columns(model, tree, guard=csv_formula_guard)
            self._buffer = io.StringIO()
            # RFC 4180 line ends. Besides being what spreadsheets write, they make the writer
            # quote every cell holding a CR or an LF: with "\n" alone, a cell with a lone CR
            # went out bare, and readers split the row there. QUOTE_ALL would also do, at the
            # price of quotes around every number and empty cell.
            self._csv = csv.writer(self._buffer, lineterminator="\r\n")

    def header(self) -> str:
        """The text that opens the output: the CSV header line, nothing for NDJSON."""
        return "" if self._columns is None else self._csv_line(self._columns.header)

    def _csv_line(self, cells: list[str]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerow(cells)
        return self._buffer.getvalue()

    def row(self, record: Model) -> str:
        """`record` as one whole line, newline included."""
        if self._columns is not None:
            return self._csv_line(self._columns.cells(record))
        return dumps(self.document(record)) + "\n"

    def document(self, record: Model) -> dict[str, Any]:
        """`record` as the JSON object of its NDJSON row: its loaded fields, with the
        relations of the include tree embedded (the dlt source loads these).

        Records embedded in it may be shared with other documents of the same page (a role
        many users have): read them, or copy before changing them.
        """
        # The record itself comes once; only what it links to can repeat in a page.
        row = _embed(record, {}, None)
        _embed_relations(record, row, self._tree, self._memo, self._told)
        return row

    def end_page(self) -> None:
        """Forget this page's embedded records, so that memory stays flat."""
        self._memo.clear()
