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
  model does not declare appear in NDJSON only, and so do fields a model lists in its
  `__kantata_write_only__` (taken on writes, never sent on reads: the `*_minutes` of a
  workweek membership, which reads carry on its `workweek`). Lines end in `\r\n` (RFC 4180), and a
  cell holding a line break is quoted. Text cells that a spreadsheet would run as a formula
  (starting with `=`, `+`, `-`, `@`, tab or CR) get a `'` in front unless
  `csv_formula_guard=False`; numbers the server sent as JSON numbers never do.

**Bounded memory.** Pages are taken in the order they arrive and each row is written and
dropped as soon as its page is in; the export keeps no record, only the ids already written
(a record that shifts between pages while offset paging runs is written once). The graph
holds records weakly, so what was written is freed, unless something alive still reaches
it. One such path today: the graph's inverse lists are strong, so with an include that
reaches a shared record having one (`skill_memberships` reach each skill, whose
`skill.skill_memberships` lists them; `workweek` reaches `workweek.workweek_memberships`),
the records written stay reachable from the pages in hand until the export ends.

**Nothing lost, however it stops.** An export to a path writes a temporary file beside it
and replaces the path (`os.replace`) only once the export is complete, so the previous
export stays whole until a new one is. An error, a cancelled task or Ctrl-C leaves the path
as it was and the rows written in `<path>.partial` (`summary.partial`): whole lines only,
since each row is written with one `write` call, the file is flushed after every page and
closed on the way out. `Exporter.summary` then says how far it got (`complete=False`); any
error (from the API, the file, or a record the SDK could not write) comes out as
`ExportError` carrying that summary. A file object (stdout), or a path that is not a
regular file (a FIFO, `/dev/null`), is written in place. A complete export whose walk
brought fewer records than the server reported says so in `summary.warnings`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO, Unpack

from ._export_rows import ExportFormat, export_format
from ._export_summary import ExportError, ExportProgress, ExportSummary
from ._exporter import GC_EVERY, Exporter, ExportOptions, ExportResource, filter_names

if TYPE_CHECKING:
    from ._client import KantataClient

__all__ = [
    "GC_EVERY",
    "ExportError",
    "ExportFormat",
    "ExportOptions",
    "ExportProgress",
    "ExportResource",
    "ExportSummary",
    "Exporter",
    "export",
    "export_format",
    "filter_names",
]


async def export(
    client: KantataClient,
    resource: ExportResource,
    out: str | os.PathLike[str] | TextIO,
    **options: Unpack[ExportOptions],
) -> ExportSummary:
    """Export every `resource` record the token can see to `out`, streaming.

    The keyword arguments are `Exporter`'s (`ExportOptions` lists them with their types):

        client: an open `KantataClient`.
        resource: a collection key (`"users"`, `"time_entries"`, ...).
        out: a path (UTF-8; replaced only once the export is complete, an incomplete one
            leaving it as it was and its rows in `<out>.partial`) or a text file object
            (written to and flushed, not closed; open it with `newline=""` for CSV).
        include: include paths, dotted for nested ones (`"account_membership.skill_memberships"`),
            as `list(include=...)` takes them.
        filters: keyword arguments of `client.<resource>.list(...)`, e.g.
            `{"on_my_account": True, "updated_after": datetime(2024, 1, 1, tzinfo=UTC)}`
            (also `order` and, for users, `optional_fields`).
        format: `"ndjson"` (one JSON object per line) or `"csv"`; by default CSV when `out`
            is a path ending in `.csv`, NDJSON otherwise.
        concurrency: pages fetched at once (the client's `max_concurrency` by default).
        first_window: pages asked for before page 1 answers (1 to `concurrency`; default 1).
            Page 1 alone tells how many pages there are; a bulk export that knows its list
            is long saves that round trip with a window, at the cost of requests for empty
            pages (or a window of 401s with a bad token) when it is wrong.
        per_page: records per page (1 to 200; the most the API allows by default).
        on_progress: called with an `ExportProgress` after each page is written.
        since: export only what changed since this `Watermark` (or aware datetime), less
            `overlap`; versions the watermark says went out before are skipped, and a
            complete export's `summary.watermark` is the one for the next run
            (see `kantata_async.sync`).
        gc_every: run a full garbage collection every this many pages (default 25), so that
            the pages written, which the cycle collector frees, do not pile up between
            Python's own collections; None leaves collection to Python.
        csv_formula_guard: CSV only: put a `'` before text cells that start with `=`, `+`,
            `-`, `@`, a tab or a CR, so that a spreadsheet shows them as text instead of
            running them as formulas (OWASP "CSV injection"). On by default; numbers the
            server sent as JSON numbers are never touched. Turn it off when the file feeds a
            program, not a spreadsheet, and the exact text matters.

    Returns the `ExportSummary` (read its `warnings`). Raises `ValueError` before any
    request for a bad argument, and `ExportError` (with the summary so far, the original
    error as its `__cause__`) when the API, the connection or the file fails midway, or
    anything else stops the export. See `Exporter` for reading the summary after a
    cancellation.
    """
    return await Exporter(client, resource, out, **options).run()
