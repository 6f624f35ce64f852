"""What an export reports: progress while it runs, a summary when it ends, and its error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ._errors import KantataError
from .sync import Watermark

__all__ = ["ExportError", "ExportProgress", "ExportSummary"]


@dataclasses.dataclass(frozen=True, slots=True)
class ExportProgress:
    """A snapshot of an export in progress, passed to `on_progress` after each page.

    `records` and `pages` are what has been written so far. `skipped` counts the records an
    incremental export (`since=`) left out because the previous run delivered that version,
    `duplicates` those seen twice (records shifting between pages). `requests` and `retries`
    count what this export's client sent since the export began (nested include requests
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
    skipped: int = 0

    @property
    def rate(self) -> float:
        """Records written per second so far."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export did: how many records it wrote and what it cost.

    `complete` is True only when the walk reached the end of the list; otherwise the output
    holds the `records` rows written before it stopped, each one whole. An export to a path
    replaces it only when complete: an incomplete one leaves the path as it was and its rows
    in `partial` (`<output>.partial`); `partial` is None when complete, and when the rows
    went to a file object or to a path that is not a regular file (a FIFO, `/dev/null`),
    which hold them themselves. `skipped` counts the records an incremental export
    (`since=`) left out as delivered by the previous run: a re-run over an unchanged overlap
    window writes nothing and skips them, which is not an error. `count_drift` is the records
    written and skipped less the count the server reported: not zero when the count lies,
    when records changed during the walk, or when it stopped early. `warnings` holds a
    sentence for each thing a complete export wants you to know: fewer records arrived than
    the server reported (some may have been missed: offset paging skips a record when an
    earlier one is deleted during the walk), a future-dated record that the next watermark
    did not follow, rows that may not have reached the partial file.
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
    partial: Path | None = None
    skipped: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        """Records written per second."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0


def fewer_records_warning(resource: str, reported: int, arrived: int) -> str:
    """The warning for a complete walk that brought fewer records than the server reported."""
    return (
        f"the server reported {reported:,} {resource} but {arrived:,} arrived "
        f"({reported - arrived:,} fewer): records may have been missed, since offset paging "
        "skips a record when an earlier one is deleted while the walk runs (or the count was "
        "wrong); export again to pick up any that were missed"
    )


def describe(error: BaseException) -> str:
    """`error` for a message: as it is for the SDK's and the system's own errors, which
    read well, with its type in front for anything else (`IndexError: ...`)."""
    if isinstance(error, KantataError | OSError):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class ExportError(KantataError):
    """An export stopped: on an API, connection or file error, or on anything unexpected.

    `summary` says how far it got (`complete` is False) and where the rows written are
    (`summary.partial`); the original error is the `__cause__`. The rows are whole.
    """

    def __init__(self, summary: ExportSummary, cause: BaseException) -> None:
        where = f" to {summary.output}" if summary.output is not None else ""
        kept = (
            f"; {summary.output} is left unchanged, the rows written are in {summary.partial}"
            if summary.partial is not None
            else ""
        )
        super().__init__(
            f"export of {summary.resource}{where} stopped after {summary.records} records "
            f"({summary.pages} pages){kept}: {describe(cause)}"
        )
        self.summary = summary
