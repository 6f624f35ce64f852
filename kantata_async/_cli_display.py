"""What the command line shows on stderr: progress, the summary, errors, secrets blanked."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Literal, TextIO

from ._export_summary import ExportProgress, ExportSummary

__all__ = ["PROG", "Console", "ProgressDisplay", "ProgressMode", "format_summary"]

PROG = "kantata-async"
ProgressMode = Literal["bar", "plain", "none"]


# ---------------------------------------------------------------------------
# output


class Console:
    """stderr, with every known secret blanked out of what goes through it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text

    def write(self, text: str) -> None:
        self.stream.write(self.redact(text))
        self.stream.flush()

    def error(self, message: str, command: str = "") -> None:
        where = f"{PROG} {command}".strip()
        self.write(f"{where}: error: {message}\n")


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _listed(p: ExportProgress) -> int:
    """The records of the list done with: written, or skipped as delivered before."""
    return p.records + p.skipped


class ProgressDisplay:
    """Renders `ExportProgress` on a stream: a redrawn bar, plain lines, or nothing.

    `bar` redraws one line (for a terminal); its fill is the records written against the
    count the server reported. `plain` prints a line for the first page and then at most one
    every `interval` seconds (for logs and pipes).
    """

    def __init__(
        self,
        stream: TextIO,
        mode: ProgressMode,
        label: str,
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream
        self.mode = mode
        self.label = label
        self.interval = interval
        self._clock = clock
        self._columns = columns or (lambda: shutil.get_terminal_size((80, 24)).columns)
        self._last: float | None = None
        self._drawn = False

    def update(self, p: ExportProgress) -> None:
        """Show `p` (the export calls this after each page)."""
        if self.mode == "bar":
            self._draw(p)
        elif self.mode == "plain":
            now = self._clock()
            if self._last is None or now - self._last >= self.interval:
                self._last = now
                self.stream.write(f"{PROG}: {self.label}: {self.line(p)}\n")
                self.stream.flush()

    def line(self, p: ExportProgress) -> str:
        """The text of a progress report, without the bar."""
        total = p.reported_count
        done = _listed(p)
        notes = [f"{min(done / total, 1.0):.0%}"] if total else []
        if p.skipped:
            notes.append(f"{p.skipped:,} unchanged, skipped")
        pct = f" ({'; '.join(notes)})" if notes else ""
        return (
            f"{done:,}/{_count(total)} records{pct}, {_plural(p.pages, 'page', 'pages')}, "
            f"{p.rate:,.0f}/s, {_plural(p.retries, 'retry', 'retries')}, {p.elapsed:.1f} s"
        )

    def _draw(self, p: ExportProgress) -> None:
        total = p.reported_count
        fraction = min(_listed(p) / total, 1.0) if total else (1.0 if total == 0 else 0.0)
        pages = _plural(p.pages, "page", "pages")
        retries = _plural(p.retries, "retry", "retries")
        text = (
            f"{fraction:4.0%}  {_listed(p):,}/{_count(total)} records  {pages}  "
            f"{p.rate:,.0f}/s  {retries}"
        )
        columns = max(self._columns(), 20)
        # From the terminal's width only, so the bar keeps its size while the numbers grow.
        width = max(10, min(30, columns - len(self.label) - 64))
        filled = int(fraction * width)
        line = f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {text}"
        # Never wider than the terminal: a wrapped line cannot be redrawn in place.
        self.stream.write("\r" + line[: columns - 1] + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line, so what follows starts on a fresh one."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def format_summary(summary: ExportSummary, stopped: str | None = None) -> str:
    """The end-of-export report: what was written where, and what it cost.

    `stopped` says why an incomplete export ended ("interrupted", "failed"). The summary's
    warnings follow, one `kantata-async: warning: ...` line each.
    """
    where = str(summary.output) if summary.output is not None else "<stdout>"
    total = summary.reported_count
    if summary.complete:
        head = f"exported {summary.records:,} {summary.resource} to {where}"
    else:
        how = stopped or "stopped"
        of = f" of {total:,}" if total is not None else ""
        n = summary.records
        if summary.partial is not None:
            # The target was never touched: say so, and where the rows went instead.
            held = (
                f"the {n:,} rows written (each whole) are in {summary.partial}"
                if n
                else f"no rows were written ({summary.partial} is empty)"
            )
            where_now = f"{where} is left unchanged; {held}"
        else:
            held = f"the {n:,} rows written, each whole" if n else "no rows"
            where_now = f"{where} holds {held}"
        head = f"export {how} after {n:,}{of} {summary.resource} (incomplete): {where_now}"
    drift = summary.count_drift
    reported = f"server reported {total:,}" if total is not None else "no count received"
    unchanged = (
        f"{summary.skipped:,} unchanged since the watermark (skipped), " if summary.skipped else ""
    )
    records = f"{summary.records:,} written, {unchanged}{summary.duplicates:,} duplicates skipped"
    rows = [
        ("records", records),
        ("pages", f"{summary.pages:,}"),
        ("requests", f"{summary.requests:,} ({summary.retries:,} retries)"),
        ("count drift", f"{drift:+,} ({reported})" if drift else f"0 ({reported})"),
        ("elapsed", f"{summary.elapsed:.1f} s ({summary.rate:,.0f} records/s)"),
        ("output", f"{where} ({summary.format})"),
    ]
    if summary.partial is not None:
        rows.append(("partial", f"{summary.partial} ({_plural(summary.records, 'row', 'rows')})"))
    if summary.watermark is not None:
        rows.append(("watermark", summary.watermark.at.isoformat()))
    body = "".join(f"  {name:<12} {value}\n" for name, value in rows)
    # Last, where a reader (or `tail -1` in a cron mail) sees them.
    warnings = "".join(f"{PROG}: warning: {text}\n" for text in summary.warnings)
    return f"{PROG}: {head}\n{body}{warnings}"
