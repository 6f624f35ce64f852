"""A dlt source: load Kantata collections into DuckDB, Postgres, BigQuery, Snowflake, ...

Needs the `dlt` extra (`pip install 'kantata_async[dlt]'`, which brings dlt with DuckDB):

    import dlt
    from kantata_async.dlt import kantata_source

    source = kantata_source(
        token=os.environ["KANTATA_TOKEN"],
        resources=["users", "workweek_memberships", "time_entries"],
        include={"time_entries": ["story.workspace"], "users": ["role"]},
    )
    pipeline = dlt.pipeline("kantata", destination="duckdb", dataset_name="kantata")
    pipeline.run(source)

One dlt resource per collection, named by its key (`users`, `time_entries`, ...), each loading
into the table of that name with `write_disposition="merge"` on the primary key `id`: a record
loaded again is updated, never duplicated. Each row is what `kantata-async export` writes as an
NDJSON line (the same code builds it): the record's fields, with the relations asked for in
`include` embedded, which dlt flattens (`role__name`) or puts in child tables
(`users__skills`).

**Incremental.** A collection with an `updated_after` filter whose records carry `updated_at`
(`incremental(key)` says which) loads only what changed since the previous run, with the
watermark semantics of `kantata_async.sync`: each run asks for `updated_after = watermark -
overlap`, skips the versions the previous run delivered inside that window, and keeps the
next watermark (never later than the run's start) in dlt's resource state, committed with the
data. The first run loads everything, or what changed since `since=` when given. The other
collections (users carry no `updated_at`) load whole on every run, merged by `id`.

**Underneath.** The pages of each collection are fetched concurrently by one `KantataClient`
per run, shared by all its resources (one concurrency bound, retries, one rate learned from
429s for the whole token), in an event loop of the source's own, in a thread of its own; each page's
rows go to dlt as one batch as soon as the page arrives. The resources are plain generators to
dlt: on an error or Ctrl-C, dlt closes them and each walk stops in order (its requests
cancelled, then the client closed), and no watermark moves.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast, get_args

import attrs

try:
    import dlt
    from dlt.common.data_types.typing import TDataType
    from dlt.common.schema.typing import TTableSchemaColumns
    from dlt.sources import DltResource, DltSource
except ModuleNotFoundError as err:  # pragma: no cover - exercised in a subprocess
    if err.name is None or err.name.split(".")[0] != "dlt":
        raise
    raise ModuleNotFoundError(
        "kantata_async.dlt needs dlt: pip install 'kantata_async[dlt]'", name=err.name
    ) from err

from ._client import DEFAULT_BASE_URL, KantataClient
from ._dlt_columns import ColumnCheck
from ._export_rows import RowWriter, write_only_fields
from ._export_summary import fewer_records_warning
from ._export_walk import WalkPlan, delivered_pages
from ._generated import CollectionKey
from ._loop_thread import LoopThread, pull
from ._models.base import _REGISTRY, Model
from ._pagination import ListRequest
from ._query import MAX_PER_PAGE
from .resources._nested import IncludeTree
from .resources._registry import RESOURCES
from .sync import DEFAULT_OVERLAP, ChangeTracker, Watermark, as_watermark

__all__ = [
    "SOURCE_NAME",
    "STATE_KEY",
    "column_hints",
    "incremental",
    "kantata_source",
    "saved_watermark",
]

SOURCE_NAME = "kantata"
"""The source's default name: its dlt schema, config section and state scope."""
log = logging.getLogger("kantata_async")

STATE_KEY = "watermark"
# Where an incremental collection with no watermark yet starts: everything.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Where an incremental resource keeps its `Watermark.dumps()` in dlt's resource state."""


def incremental(resource: str) -> bool:
    """Whether `resource` loads incrementally: it has an `updated_after` filter and its
    records carry `updated_at`. Raises `KeyError` for an unknown collection."""
    entry = RESOURCES[resource]
    fields = {f.name for f in attrs.fields(entry.model)}
    return "updated_after" in entry.filters and "updated_at" in fields


def saved_watermark(state: Mapping[str, Any]) -> Watermark | None:
    """The watermark an incremental resource keeps in `state` (its dlt resource state:
    `source.resources["time_entries"].state`, or `pipeline.state` read through
    `["sources"][name]["resources"][key]`), or None before its first complete run."""
    text = state.get(STATE_KEY)
    return Watermark.loads(text) if isinstance(text, str) else None


# A declared field's type (its annotation, less `| None`) -> the column's dlt data type. Lists
# and objects are left to dlt (a list of ids becomes a child table, as any embedded list).
_DATA_TYPES: dict[str, TDataType] = {
    "str": "text",
    "int": "bigint",
    "float": "double",
    "bool": "bool",
    "date": "date",
    "datetime": "timestamp",
}


def _type_name(annotation: Any) -> str:
    """`date` for `"date | None"` as declared, and for `date | None` once resolved (cattrs
    resolves a model's annotations the first time it converts one)."""
    if isinstance(annotation, str):
        return annotation.removesuffix(" | None")
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    return str(getattr(args[0], "__name__", "")) if len(args) == 1 else ""


def column_hints(model: type[Model], tree: IncludeTree, prefix: str = "") -> TTableSchemaColumns:
    """The columns of a table of `model` rows with the relations of `tree` embedded, typed
    from the model's declarations: a date is a DATE whatever its first value looks like,
    and a column the first rows leave empty still gets its type. A to-one relation is
    flattened into `relation__field` columns, as dlt does; to-many ones go to child tables,
    which dlt types from their data."""
    write_only = write_only_fields(model)
    columns: TTableSchemaColumns = {}
    for field in attrs.fields(cast(Any, model)):
        data_type = _DATA_TYPES.get(_type_name(field.type))
        if data_type is not None and field.name not in write_only:
            columns[prefix + field.name] = {"data_type": data_type}
    relations = model.__kantata_relations__
    for name, subtree in tree.items():
        rel = relations[name]
        target = _REGISTRY.get(rel.target) if rel.target else None
        if not rel.many and target is not None:  # polymorphic ones have no fixed columns
            columns.update(column_hints(target, subtree, f"{prefix}{name}__"))
    return columns


def _rows(
    plan: WalkPlan,
    runner: LoopThread[KantataClient],
    tracked: bool,
    since: Watermark | None,
    overlap: timedelta,
    on_warning: Callable[[str], None] | None,
) -> Callable[[], Iterator[list[dict[str, Any]]]]:
    """The resource function of one collection: its rows, one list per page."""

    def rows() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state(plan.resource)
        tracker: ChangeTracker | None = None
        updated_after: datetime | None = None
        if tracked:
            mark = saved_watermark(state) or since
            # No watermark yet: every record, still tracked for the next watermark.
            tracker = ChangeTracker(mark or Watermark(_EPOCH), overlap)
            updated_after = tracker.updated_after if mark is not None else None
        writer = RowWriter("ndjson", plan.model, plan.tree)
        columns = ColumnCheck()
        walks: list[ListRequest[Model]] = []

        rows_out = 0

        async def batches(client: KantataClient) -> AsyncIterator[list[dict[str, Any]]]:
            nonlocal rows_out
            walk = plan.list_request(client, updated_after)
            walks.append(walk)
            async for _, records in delivered_pages(walk, tracker, client.max_concurrency):
                batch = [writer.document(record) for record in records]
                for row in batch:
                    columns.check(row, plan.resource)
                writer.end_page()
                rows_out += len(batch)
                if batch:
                    yield batch

        loop, client = runner.acquire()
        try:
            yield from pull(loop, batches(client))
        finally:
            runner.release()
        reported = walks[0].stats.reported_count
        notes = []
        if tracker is not None:
            # Only once the walk is complete: dlt commits it with the rows of this run. It
            # stays where it was if records may have been missed (`ChangeTracker.finish`).
            state[STATE_KEY] = tracker.finish(reported).dumps()
            notes = [n for n in (tracker.held, tracker.outlier) if n is not None]
        elif reported is not None and rows_out < reported:
            notes = [fewer_records_warning(plan.resource, reported, rows_out)]
            log.warning("%s", notes[0])
        for note in notes:
            if on_warning is not None:
                on_warning(f"{plan.resource}: {note}")

    rows.__name__ = plan.resource
    return rows


def kantata_source(
    *,
    token: str,
    resources: Sequence[CollectionKey],
    base_url: str = DEFAULT_BASE_URL,
    include: Mapping[str, Sequence[str]] | None = None,
    filters: Mapping[str, Mapping[str, Any]] | None = None,
    since: Watermark | datetime | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    per_page: int = MAX_PER_PAGE,
    max_concurrency: int = 8,
    max_retries: int = 4,
    allow_insecure_http: bool = False,
    name: str = SOURCE_NAME,
    on_warning: Callable[[str], None] | None = None,
) -> DltSource:
    """A dlt source with one resource per collection in `resources`.

    Args:
        token: the OAuth bearer token (never in a log, an error or the state).
        resources: collection keys (`"users"`, `"time_entries"`, ...), each a resource and a
            table of that name. `source.with_resources(...)` selects among them as usual.
        base_url: the API root (a loopback `http://` for `FakeKantata`).
        include: per collection, include paths as `list(include=...)` takes them, dotted for
            nested ones: `{"time_entries": ["story.workspace", "user"]}`.
        filters: per collection, `list()` filters (`{"users": {"on_my_account": True}}`);
            `updated_after` is the watermark's for an incremental collection.
        since: for the incremental collections' first run: load what changed since then
            (a `Watermark` or an aware datetime) instead of everything. A run with a
            watermark in dlt's state goes on from there. The other collections load whole.
        overlap: how far before the watermark each run asks again (records that became
            visible late are not missed; those delivered already are skipped).
        per_page: records per request (1 to 200).
        max_concurrency, max_retries, allow_insecure_http: the `KantataClient`'s, shared by
            every resource of a run.
        name: the source's name: its dlt schema and the scope of its state (two accounts
            loaded into one dataset need two names).
        on_warning: called with a sentence when a collection's walk ends with fewer records
            than the server reported (an incremental collection's watermark then stays where
            it was, so the next run asks again) or a record stamped in the future; each is
            also logged at WARNING.

    Every argument is checked here, before any request: an unknown collection, include path
    or filter, a bad filter value, a bad token or base URL raise `ValueError`.
    """
    if isinstance(resources, str):
        raise ValueError(f"resources must be a list of collection keys: use [{resources!r}]")
    keys = list(dict.fromkeys(resources))
    if not keys:
        raise ValueError("resources: name at least one collection")
    valid = get_args(CollectionKey)
    for key in keys:
        if key not in valid:
            raise ValueError(f"resources: {key!r} is not a collection; valid: {', '.join(valid)}")
    for option, given in (("include", include), ("filters", filters)):
        stray = sorted(set(given or {}) - set(keys))
        if stray:
            raise ValueError(f"{option}: {', '.join(stray)} not among the resources")
    start = as_watermark(since) if since is not None else None
    ChangeTracker(start or Watermark(_EPOCH), overlap)  # checks both, before any request

    def make_client() -> KantataClient:
        return KantataClient(
            token,
            base_url=base_url,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            allow_insecure_http=allow_insecure_http,
        )

    # Made now to check the token and the URL, and each plan's filter values; it sends
    # nothing and opens nothing (a client's session is made in the loop that first uses it).
    checker = make_client()
    runner = LoopThread(make_client, KantataClient.aclose, f"{name}-walks")
    made: list[DltResource] = []
    for key in keys:
        tracked = incremental(key)
        plan = WalkPlan(
            key,
            include=(include or {}).get(key, ()),
            filters=(filters or {}).get(key),
            per_page=per_page,
            changes=tracked,
        )
        plan.list_request(checker)
        made.append(
            dlt.resource(
                _rows(plan, runner, tracked, start, overlap, on_warning),
                name=key,
                primary_key="id",
                write_disposition="merge",
                columns=column_hints(plan.model, plan.tree),
            )
        )

    def source() -> Iterator[DltResource]:
        yield from made

    source.__name__ = name
    return dlt.source(source, name=name)()
