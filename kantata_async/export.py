"""Streaming export: every record of a list endpoint, with its includes, to NDJSON or CSV.

    from kantata_async import KantataClient
    from kantata_async.export import export

    async with KantataClient(token) as client:
        summary = await export(
            client,
            "users",
            "users.ndjson",
            include=["account_membership.skill_memberships", "role"],
            filters={"on_my_account": True},
            on_progress=lambda p: print(f"{p.records} records, {p.rate:.0f}/s"),
        )
    print(summary.records, summary.complete)

Each row is one record with the relations asked for in `include` inside it:

- **NDJSON**: one JSON object per line, the record's loaded fields (and the fields the API
  sent that the model does not declare), with each included relation embedded under its
  name and the deeper levels inside that, following the include tree:
  `{"id": "7", "full_name": "Ann", ..., "account_membership": {"id": "70", ...,
  "skill_memberships": [{"id": "50", "level": 4, ...}]}, "role": {"id": "3", ...}}`.
  A relation the server sent as empty is `null` or `[]`; fields and relations no response
  carried are left out.
- **CSV**: a header computed from the model classes before the first row, so it is the same
  for every row and every run with the same includes: the record's declared fields in model
  order, then for each included relation (by name) the target's fields as `rel.field` columns
  (`a.b.field` when nested) for a to-one relation, or one `rel` column holding a JSON array of
  embedded records for a to-many relation. Absent fields, `null` and relations that are
  `null` are empty cells; booleans are `true`/`false`; lists and objects are JSON. Fields the
  model does not declare appear in NDJSON only.

**Bounded memory.** Pages are taken in the order they arrive and each row is written and
dropped as soon as its page is in; the export keeps no record, only the ids already written
(a record that shifts between pages while offset paging runs is written once). The graph
holds records weakly, so what was written is freed, unless something alive still reaches
it. One such path today: the graph's inverse lists are strong, so with an include that
reaches a shared record having one (`skill_memberships` reach each skill, whose
`skill.skill_memberships` lists them; `workweek` reaches `workweek.workweek_memberships`),
the records written stay reachable from the pages in hand until the export ends.

**A valid file, however it stops.** Each row is written with one `write` call, the file is
flushed after every page and closed on the way out, so an error, a cancelled task or Ctrl-C
leaves whole lines only. `Exporter.summary` then says how far it got (`complete=False`); an
API or file error comes out as `ExportError` carrying that summary.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import inspect
import io
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO, cast, get_args

import attrs

from ._convert import to_dict
from ._errors import DanglingReferenceError, KantataError, RelationNotLoadedError
from ._json import dumps
from ._query import MAX_PER_PAGE
from .models import Model, User, WorkweekMembership
from .models._base import _REGISTRY
from .models._relations import Relation
from .models._state import is_placeholder
from .resources._nested import IncludeTree, parse_includes
from .resources.users import Users
from .resources.workweek_memberships import WorkweekMemberships
from .sync import DEFAULT_OVERLAP, ChangeTracker, Watermark, as_watermark

if TYPE_CHECKING:
    from ._client import KantataClient
    from ._pagination import ListRequest

__all__ = [
    "ExportError",
    "ExportFormat",
    "ExportProgress",
    "ExportResource",
    "ExportSummary",
    "Exporter",
    "export",
]

ExportResource = Literal["users", "workweek_memberships"]
ExportFormat = Literal["ndjson", "csv"]
ProgressCallback = Callable[["ExportProgress"], None]

GC_EVERY = 25
"""Pages between the export's garbage collections (about 20 ms each, per 5,000 records)."""

_MODELS: Final[dict[str, type[Model]]] = {
    "users": User,
    "workweek_memberships": WorkweekMembership,
}
_ENDPOINTS: Final[dict[str, type[Users] | type[WorkweekMemberships]]] = {
    "users": Users,
    "workweek_memberships": WorkweekMemberships,
}
# Keywords of `list()` that the export sets itself rather than taking as filters.
_NOT_FILTERS = frozenset({"self", "include", "per_page"})


@dataclasses.dataclass(frozen=True, slots=True)
class ExportProgress:
    """A snapshot of an export in progress, passed to `on_progress` after each page.

    `records` and `pages` are what has been written so far. `requests` and `retries` count
    what this export's client sent since the export began (nested include requests
    included). `reported_count` is the total the server announced on the first page (None
    before it arrives); it may be wrong.
    """

    records: int
    pages: int
    requests: int
    retries: int
    duplicates: int
    elapsed: float
    reported_count: int | None

    @property
    def rate(self) -> float:
        """Records written per second so far."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export did: how many records it wrote and what it cost.

    `complete` is True only when the walk reached the end of the list; otherwise the output
    holds the `records` rows written before it stopped, each one whole. `count_drift` is the
    records written minus the count the server reported (see `WalkStats.count_drift`): not
    zero when the count lies, when records changed during the walk, or when it stopped early.
    `pages` counts the pages written; `requests` every request the export cost (nested
    include requests and retries included). `output` is the path written, None when `out`
    was a file object.
    """

    resource: str
    format: str
    output: Path | None
    records: int
    pages: int
    requests: int
    retries: int
    duplicates: int
    reported_count: int | None
    count_drift: int
    elapsed: float
    complete: bool
    watermark: Watermark | None = None

    @property
    def rate(self) -> float:
        """Records written per second."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0


class ExportError(KantataError):
    """An export stopped on an API, connection or file error.

    `summary` says how far it got (`complete` is False); the original error is the
    `__cause__`. The rows already written are whole.
    """

    def __init__(self, summary: ExportSummary, cause: BaseException) -> None:
        where = f" to {summary.output}" if summary.output is not None else ""
        super().__init__(
            f"export of {summary.resource}{where} stopped after {summary.records} records "
            f"({summary.pages} pages): {cause}"
        )
        self.summary = summary


class Exporter:
    """One export, with its state readable while it runs and after it stops.

    `export(...)` is the one-call form. Use the class when you need the summary after a
    cancellation (or Ctrl-C), where no return value or `ExportError` can carry it:

        exporter = Exporter(client, "users", "users.csv", format="csv")
        try:
            await exporter.run()
        finally:
            print(exporter.summary.records, "records written")

    Every argument is checked here, before any request: an unknown resource, format, include
    path or filter, or a bad filter value, raises `ValueError` naming the valid choices.
    """

    def __init__(
        self,
        client: KantataClient,
        resource: ExportResource,
        out: str | os.PathLike[str] | TextIO,
        *,
        include: Sequence[str] = (),
        filters: Mapping[str, Any] | None = None,
        format: ExportFormat = "ndjson",
        concurrency: int | None = None,
        per_page: int = MAX_PER_PAGE,
        on_progress: ProgressCallback | None = None,
        since: Watermark | datetime | None = None,
        overlap: timedelta = DEFAULT_OVERLAP,
        gc_every: int | None = GC_EVERY,
    ) -> None:
        if resource not in _MODELS:
            raise ValueError(
                f"resource must be one of {', '.join(get_args(ExportResource))}, got {resource!r}"
            )
        if format not in get_args(ExportFormat):
            raise ValueError(
                f"format must be one of {', '.join(get_args(ExportFormat))}, got {format!r}"
            )
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        endpoint = getattr(client, resource)
        _, self._tree = parse_includes(resource, endpoint.includes, include)
        given = dict(filters or {})
        valid = filter_names(resource)
        unknown = sorted(set(given) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown filter(s) for {resource}: {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
        if gc_every is not None and (not isinstance(gc_every, int) or gc_every < 1):
            raise ValueError(f"gc_every must be None or an int >= 1, got {gc_every!r}")
        self._gc_every = gc_every
        self._tracker: ChangeTracker | None = None
        if since is not None:
            if "updated_after" in given:
                raise ValueError("pass since= or the updated_after filter, not both")
            self._tracker = ChangeTracker(as_watermark(since), overlap)
            given["updated_after"] = self._tracker.updated_after
        self.watermark: Watermark | None = None
        """With `since=`: the watermark for the next run, once the export is complete."""
        # Builds and checks the request; nothing is sent until the walk starts.
        self._walk: ListRequest[Model] = endpoint.list(
            include=list(include), per_page=per_page, **given
        )
        self._client = client
        self._resource = resource
        self._format: ExportFormat = format
        self._out = out
        self._output = Path(out) if isinstance(out, str | os.PathLike) else None
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._cls = _MODELS[resource]
        self._requests_at_start = 0
        self._retries_at_start = 0
        self._pages = 0
        self._written = 0
        self._started: float | None = None
        self._stopped: float | None = None
        self._complete = False

    # -- state --------------------------------------------------------------------------

    def progress(self) -> ExportProgress:
        """How far the export has got, now."""
        requests, retries = self._transport_counts()
        stats = self._walk.stats
        return ExportProgress(
            records=self._written,
            pages=self._pages,
            requests=requests,
            retries=retries,
            duplicates=stats.duplicates,
            elapsed=self._elapsed(),
            reported_count=stats.reported_count,
        )

    @property
    def summary(self) -> ExportSummary:
        """The summary so far (final once `run` has returned or raised)."""
        p = self.progress()
        return ExportSummary(
            resource=self._resource,
            format=self._format,
            output=self._output,
            records=p.records,
            pages=p.pages,
            requests=p.requests,
            retries=p.retries,
            duplicates=p.duplicates,
            reported_count=p.reported_count,
            count_drift=p.records - (p.reported_count or 0),
            elapsed=p.elapsed,
            complete=self._complete,
            watermark=self.watermark,
        )

    def _elapsed(self) -> float:
        if self._started is None:
            return 0.0
        end = self._stopped if self._stopped is not None else time.monotonic()
        return end - self._started

    def _transport_counts(self) -> tuple[int, int]:
        transport = self._client._transport
        if transport is None or self._started is None:
            return 0, 0
        return (
            transport.requests_sent - self._requests_at_start,
            transport.retries - self._retries_at_start,
        )

    # -- running ------------------------------------------------------------------------

    async def run(self) -> ExportSummary:
        """Walk every page and write every record once; return the summary.

        Raises `ExportError` (with the summary) on an API, connection or file error. A
        cancellation propagates as is; read `summary` afterwards. Runs once.
        """
        if self._started is not None:
            raise RuntimeError("this Exporter has already run")
        transport = self._client.transport
        self._requests_at_start = transport.requests_sent
        self._retries_at_start = transport.retries
        self._started = time.monotonic()
        # What existed before the export (modules, the app) is set aside for its duration, so
        # the scheduled collections walk only what the export made; `unfreeze` at the end
        # hands it all back to the collector, so nothing that died meanwhile is kept.
        frozen = self._gc_every is not None and gc.isenabled() and gc.get_freeze_count() == 0
        if frozen:
            gc.freeze()
        sink: _Sink | None = None
        try:
            sink = _Sink(self._out, self._format, self._cls, self._tree)
            # Pages as they arrive (not in page order): a slow page then holds back no
            # others, so at most a window of pages is in memory whatever the size.
            # `pages()` is an async generator; closing it at once cancels the fetches in
            # flight, so a failed or cancelled export leaves no task running.
            width = self._concurrency or self._client.max_concurrency
            # Page 1 first, alone: a short list (or a bad token) then costs one request,
            # not a window of them. The walk gives each record once.
            pages = self._walk.pages(width, ordered=False)
            async with aclosing(pages):
                async for page in pages:
                    for record in page.items:
                        if self._tracker is not None and not self._tracker.accept(record):
                            continue  # this version went out with the previous run
                        sink.write(record)
                        self._written += 1
                    self._pages += 1
                    sink.flush()
                    remaining = (self._walk.stats.reported_count or 0) - self._written
                    if (
                        self._gc_every is not None
                        and self._pages % self._gc_every == 0
                        and remaining > len(page.items)  # not worth it for a last page
                    ):
                        # The live graph is cyclic (a user and its account membership point
                        # at each other), so the pages already written are freed by the cycle
                        # collector, not at once; collecting on a schedule keeps the peak
                        # flat however long the export.
                        gc.collect()
                    if self._on_progress is not None:
                        self._on_progress(self.progress())
            self._complete = True
            if self._tracker is not None:
                self.watermark = self._tracker.finish()
        except (KantataError, OSError) as err:
            self._stopped = time.monotonic()
            raise ExportError(self.summary, err) from err
        finally:
            if frozen:
                gc.unfreeze()
            if self._stopped is None:
                self._stopped = time.monotonic()
            if sink is not None:
                sink.close()
        return self.summary


async def export(
    client: KantataClient,
    resource: ExportResource,
    out: str | os.PathLike[str] | TextIO,
    *,
    include: Sequence[str] = (),
    filters: Mapping[str, Any] | None = None,
    format: ExportFormat = "ndjson",
    concurrency: int | None = None,
    per_page: int = MAX_PER_PAGE,
    on_progress: ProgressCallback | None = None,
    since: Watermark | datetime | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    gc_every: int | None = GC_EVERY,
) -> ExportSummary:
    """Export every `resource` record the token can see to `out`, streaming.

    Args:
        client: an open `KantataClient`.
        resource: `"users"` or `"workweek_memberships"`.
        out: a path (created or overwritten, UTF-8) or a text file object (written to and
            flushed, not closed; open it with `newline=""` for CSV).
        include: include paths, dotted for nested ones (`"account_membership.skill_memberships"`),
            as `list(include=...)` takes them.
        filters: keyword arguments of `client.<resource>.list(...)`, e.g.
            `{"on_my_account": True, "updated_after": datetime(2024, 1, 1, tzinfo=UTC)}`
            (also `order` and, for users, `optional_fields`).
        format: `"ndjson"` (one JSON object per line) or `"csv"`.
        concurrency: pages fetched at once (the client's `max_concurrency` by default).
        per_page: records per page (1 to 200; the most the API allows by default).
        on_progress: called with an `ExportProgress` after each page is written.
        since: export only what changed since this `Watermark` (or aware datetime), less
            `overlap`; versions the watermark says went out before are skipped, and a
            complete export's `summary.watermark` is the one for the next run
            (see `kantata_async.sync`).
        gc_every: run a full garbage collection every this many pages (default 25), so that
            the pages written, which the cycle collector frees, do not pile up between
            Python's own collections; None leaves collection to Python.

    Returns the `ExportSummary`. Raises `ValueError` before any request for a bad argument,
    and `ExportError` (with the summary so far) when the API, the connection or the file
    fails midway. See `Exporter` for reading the summary after a cancellation.
    """
    exporter = Exporter(
        client,
        resource,
        out,
        include=include,
        filters=filters,
        format=format,
        concurrency=concurrency,
        per_page=per_page,
        on_progress=on_progress,
        since=since,
        overlap=overlap,
        gc_every=gc_every,
    )
    return await exporter.run()


def filter_names(resource: str) -> list[str]:
    """The filter names `export` takes for `resource`: the keywords of its `list()`."""
    endpoint = _ENDPOINTS[resource]
    return sorted(n for n in inspect.signature(endpoint.list).parameters if n not in _NOT_FILTERS)


# ---------------------------------------------------------------------------
# rows


class _NotLoaded:
    """A relation no response has carried: the key is left out (NDJSON) or empty (CSV)."""


_NOT_LOADED: Final = _NotLoaded()
Linked = Model | list[Model] | None | _NotLoaded


def _linked(obj: Model, rel: Relation) -> Linked:
    """What `rel` of `obj` points at; placeholders stand in for records never carried."""
    try:
        value: Model | list[Model] | None = getattr(obj, rel.name)
    except RelationNotLoadedError:
        return _NOT_LOADED
    except DanglingReferenceError:
        # The id arrived but the record did not (hidden from the token, or not included):
        # read the links themselves, so the row still says which record it was.
        targets = rel.targets(obj) or []
        if rel.many:
            return targets
        return targets[0] if targets else None
    return value


def _embed(
    obj: Model, tree: IncludeTree, memo: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """`obj` as a JSON-ready dict, with the relations of `tree` embedded in it.

    `memo` holds the dicts of related records already embedded in this page (a role is
    shared by many users); they are only read, to be serialised at once.
    """
    d = obj.__dict__
    if is_placeholder(obj):
        return {"id": d["id"]}
    if memo is not None:
        done = memo.get(id(obj))
        if done is not None:
            return done
    row = to_dict(obj)
    if next(iter(row), None) != "id":  # first, where a reader looks for it
        row = {"id": row.pop("id", d["id"]), **row}
    relations = type(obj).__kantata_relations__
    for name, subtree in tree.items():
        rel = relations[name]
        value = _linked(obj, rel)
        if isinstance(value, _NotLoaded):
            continue
        if isinstance(value, list):
            row[name] = [_embed(t, subtree, memo) for t in value]
        else:
            row[name] = None if value is None else _embed(value, subtree, memo)
    if memo is not None:
        memo[id(obj)] = row
    return row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Columns:
    """The CSV columns of one model class and include subtree, computed from the classes."""

    __slots__ = ("fields", "header", "relations")

    def __init__(self, model: type[Model], tree: IncludeTree, prefix: str = "") -> None:
        # The model's declared fields, in declaration order.
        self.fields = tuple(f.name for f in attrs.fields(cast(Any, model)))
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
                sub = _Columns(target, tree[name], f"{prefix}{name}.")
                self.relations.append((name, sub, tree[name]))
                self.header += sub.header

    def cells(self, obj: Model | None) -> list[str]:
        """One cell per header column; all empty for a missing record."""
        if obj is None:
            return [""] * len(self.header)
        values = {"id": obj.__dict__["id"]} if is_placeholder(obj) else to_dict(obj)
        out = [_cell(values.get(name)) for name in self.fields]
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


class _Sink:
    """Formats records as rows and writes each with a single `write` call."""

    def __init__(
        self,
        out: str | os.PathLike[str] | TextIO,
        format: ExportFormat,
        model: type[Model],
        tree: IncludeTree,
    ) -> None:
        self._tree = tree
        self._format = format
        # id(record) -> its embedded dict, for the records of the page being written.
        self._memo: dict[int, dict[str, Any]] = {}
        if isinstance(out, str | os.PathLike):
            # Lone surrogates (legal in JSON strings) come out as `\udXXX`, which is still
            # valid JSON, rather than failing the export.
            self._file: TextIO = open(  # noqa: SIM115 - closed by close()
                out, "w", encoding="utf-8", errors="backslashreplace", newline=""
            )
            self._owned = True
        else:
            self._file = out
            self._owned = False
        self._columns: _Columns | None = None
        if format == "csv":
            self._columns = _Columns(model, tree)
            self._buffer = io.StringIO()
            self._csv = csv.writer(self._buffer, lineterminator="\n")
            self._file.write(self._csv_line(self._columns.header))

    def _csv_line(self, cells: list[str]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerow(cells)
        return self._buffer.getvalue()

    def write(self, record: Model) -> None:
        if self._columns is not None:
            line = self._csv_line(self._columns.cells(record))
        else:
            # The record itself comes once; only what it links to can repeat in a page.
            row = _embed(record, {}, None)
            relations = type(record).__kantata_relations__
            for name, subtree in self._tree.items():
                value = _linked(record, relations[name])
                if isinstance(value, _NotLoaded):
                    continue
                if isinstance(value, list):
                    row[name] = [_embed(t, subtree, self._memo) for t in value]
                else:
                    row[name] = None if value is None else _embed(value, subtree, self._memo)
            line = dumps(row) + "\n"
        self._file.write(line)

    def flush(self) -> None:
        """Flush the file, and forget this page's embedded records (memory stays flat)."""
        self._memo.clear()
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()
