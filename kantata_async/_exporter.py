"""`Exporter`: one export run, from the first request to the last row (see `export`)."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO, TypedDict

from ._export_output import Output
from ._export_rows import ExportFormat, RowWriter, export_format
from ._export_summary import ExportError, ExportProgress, ExportSummary, fewer_records_warning
from ._export_walk import WalkPlan, delivered_pages, filter_names
from ._generated import CollectionKey
from ._models.base import Model
from ._query import MAX_PER_PAGE
from .sync import DEFAULT_OVERLAP, ChangeTracker, Watermark, as_watermark

if TYPE_CHECKING:
    from ._client import KantataClient
    from ._pagination import ListRequest

__all__ = [
    "GC_EVERY",
    "ExportOptions",
    "ExportResource",
    "Exporter",
    "ProgressCallback",
    "filter_names",
]

ExportResource = CollectionKey
"""The collections an export can stream: every one whose list is walked page by page."""
ProgressCallback = Callable[["ExportProgress"], None]

GC_EVERY = 25
"""Pages between the export's garbage collections (about 20 ms each, per 5,000 records)."""


class ExportOptions(TypedDict, total=False):
    """The keyword arguments of `export()` and `Exporter`; the defaults are `Exporter`'s."""

    include: Sequence[str]
    filters: Mapping[str, Any] | None
    format: ExportFormat | None
    concurrency: int | None
    first_window: int
    per_page: int
    on_progress: ProgressCallback | None
    since: Watermark | datetime | None
    overlap: timedelta
    gc_every: int | None
    csv_formula_guard: bool


class Exporter:
    """One export, with its state readable while it runs and after it stops.

    `export(...)` is the one-call form. Use the class when you need the summary after a
    cancellation (or Ctrl-C), where no return value or `ExportError` can carry it:

        exporter = Exporter(client, "users", "users.csv")  # CSV, from the name
        try:
            await exporter.run()
        finally:
            summary = exporter.summary
            print(summary.records, "records written;", "in", summary.partial or summary.output)

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
        format: ExportFormat | None = None,
        concurrency: int | None = None,
        first_window: int = 1,
        per_page: int = MAX_PER_PAGE,
        on_progress: ProgressCallback | None = None,
        since: Watermark | datetime | None = None,
        overlap: timedelta = DEFAULT_OVERLAP,
        gc_every: int | None = GC_EVERY,
        csv_formula_guard: bool = True,
    ) -> None:
        # The collection, its includes and filters: checked first, as they always were.
        plan = WalkPlan(
            resource, include=include, filters=filters, per_page=per_page, changes=since is not None
        )
        self._format = export_format(out, format)
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        width = concurrency or client.max_concurrency
        if isinstance(first_window, bool) or not isinstance(first_window, int):
            raise ValueError(f"first_window must be an int, got {first_window!r}")
        if not 1 <= first_window <= width:
            raise ValueError(f"first_window must be from 1 to the concurrency ({width})")
        self._first_window = first_window
        self._tree = plan.tree
        if gc_every is not None and (not isinstance(gc_every, int) or gc_every < 1):
            raise ValueError(f"gc_every must be None or an int >= 1, got {gc_every!r}")
        self._gc_every = gc_every
        self._csv_formula_guard = csv_formula_guard
        self._tracker: ChangeTracker | None = None
        if since is not None:
            self._tracker = ChangeTracker(as_watermark(since), overlap)
        self.watermark: Watermark | None = None
        """With `since=`: the watermark for the next run, once the export is complete."""
        # Builds and checks the request; nothing is sent until the walk starts.
        self._walk: ListRequest[Model] = plan.list_request(
            client, self._tracker.updated_after if self._tracker is not None else None
        )
        self._client = client
        self._resource = resource
        self._output = Output(out)  # opens nothing until run()
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._cls: type[Model] = plan.model
        self._requests_at_start = 0
        self._retries_at_start = 0
        # The export's own counts, apart from the walk's `stats`: records written, records
        # skipped as delivered by the previous run (`since=`). Duplicates are the walk's.
        self._written = 0
        self._skipped = 0
        self._pages = 0
        self._started: float | None = None
        self._stopped: float | None = None
        self._complete = False

    # -- state --------------------------------------------------------------------------

    def progress(self) -> ExportProgress:
        """How far the export has got, now."""
        requests, retries = self._transport_counts()
        return ExportProgress(
            records=self._written,
            pages=self._pages,
            requests=requests,
            retries=retries,
            duplicates=self._walk.stats.duplicates,
            elapsed=self._elapsed(),
            reported_count=self._walk.stats.reported_count,
            skipped=self._skipped,
        )

    @property
    def summary(self) -> ExportSummary:
        """The summary so far (final once `run` has returned or raised)."""
        p = self.progress()
        # What the server listed is what was written or skipped (delivered before).
        drift = p.records + p.skipped - (p.reported_count or 0)
        warnings = []
        if self._complete and drift < 0 and p.reported_count is not None:
            warnings.append(
                fewer_records_warning(self._resource, p.reported_count, p.reported_count + drift)
            )
        if self._tracker is not None:
            warnings += [n for n in (self._tracker.held, self._tracker.outlier) if n is not None]
        if self._output.problem is not None:
            warnings.append(self._output.problem)
        return ExportSummary(
            resource=self._resource,
            format=self._format,
            output=self._output.target,
            records=p.records,
            pages=p.pages,
            requests=p.requests,
            retries=p.retries,
            duplicates=p.duplicates,
            reported_count=p.reported_count,
            count_drift=drift,
            elapsed=p.elapsed,
            complete=self._complete,
            watermark=self.watermark,
            partial=self._output.partial,
            skipped=p.skipped,
            warnings=tuple(warnings),
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

        Raises `ExportError` (with the summary; the original error is its `__cause__`) on an
        API, connection or file error, and on anything else that stops it, such as a record
        it cannot write. A cancellation or `KeyboardInterrupt` propagates as is; read
        `summary` afterwards. Runs once.
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
        rows = RowWriter(
            self._format, self._cls, self._tree, csv_formula_guard=self._csv_formula_guard
        )
        output = self._output
        try:
            output.open()
            output.write(rows.header())
            width = self._concurrency or self._client.max_concurrency
            pages = delivered_pages(self._walk, self._tracker, width, self._first_window)
            async with aclosing(pages):
                async for page, records in pages:
                    # The others went out with the previous run (`since=`).
                    self._skipped += len(page.items) - len(records)
                    for record in records:
                        output.write(rows.row(record))
                        self._written += 1
                    self._pages += 1
                    rows.end_page()
                    output.flush()
                    done = self._written + self._skipped
                    remaining = (self._walk.stats.reported_count or 0) - done
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
            watermark = (
                self._tracker.finish(self._walk.stats.reported_count)
                if self._tracker is not None
                else None
            )
            output.commit()  # the target is replaced only now, whole
            self.watermark = watermark
            self._complete = True
        except Exception as err:
            # Whatever it was (an API or file error, or something the server sent that the
            # SDK could not turn into a row), the caller gets a typed error with the summary
            # and the rows kept. CancelledError and KeyboardInterrupt are not `Exception`s:
            # they go on as they are, through `finally`.
            output.abandon()
            self._stopped = time.monotonic()
            raise ExportError(self.summary, err) from err
        finally:
            if frozen:
                gc.unfreeze()
            if self._stopped is None:
                self._stopped = time.monotonic()
            if not self._complete:
                output.abandon()  # a cancellation or Ctrl-C: the rows go to `.partial` too
        return self.summary
