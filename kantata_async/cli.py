"""The `kantata-async` command line (also `python -m kantata_async`).

    export KANTATA_TOKEN=...          # preferred to --token: it stays out of `ps` and history
    kantata-async export users --out users.ndjson \\
        --include account_membership.skill_memberships --include role \\
        --filter on_my_account=true --filter updated_after=2024-01-01T00:00:00Z

Progress goes to stderr: a redrawn bar on a terminal, a plain line at most every two seconds
otherwise; a summary follows at the end. Exit status: 0 when the export is complete, 1 on an
API, connection or file error, 2 on a usage error, 130 on Ctrl-C. Whatever the exit, the
output file holds whole rows only. The token is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, NoReturn, TextIO

from ._client import DEFAULT_BASE_URL, KantataClient
from ._errors import KantataError
from ._query import MAX_PER_PAGE, Kind, check_id
from .export import Exporter, ExportError, ExportFormat, ExportProgress, ExportSummary
from .resources.users import LIST_FILTERS as USER_FILTERS
from .resources.workweek_memberships import LIST_FILTERS as WORKWEEK_MEMBERSHIP_FILTERS
from .sync import Watermark

__all__ = ["FILTERS", "ProgressDisplay", "UsageError", "format_summary", "main", "parse_filters"]

PROG = "kantata-async"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
TOKEN_ENV = "KANTATA_TOKEN"
BASE_URL_ENV = "KANTATA_BASE_URL"

FILTERS: Mapping[str, Mapping[str, Kind]] = {
    "users": USER_FILTERS,
    "workweek_memberships": WORKWEEK_MEMBERSHIP_FILTERS,
}
"""The `--filter` names per resource, and how each value is read."""

_KIND_HINT = {
    Kind.BOOL: "true|false",
    Kind.INT: "integer",
    Kind.ID: "id",
    Kind.IDS: "id,id,...",
    Kind.STR: "text",
    Kind.STRS: "text,text,...",
    Kind.DATE: "YYYY-MM-DD",
    Kind.DATETIME: "ISO 8601 with offset or Z",
    Kind.JSONISH: "text",
}
ProgressMode = Literal["bar", "plain", "none"]


class UsageError(Exception):
    """A command line mistake: reported with exit status 2."""


# ---------------------------------------------------------------------------
# filters


def _parse_value(kind: Kind, raw: str) -> Any:
    """`raw` read as `kind`; ValueError says what was expected."""
    if kind is Kind.BOOL:
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError(f"expected true or false, got {raw!r}")
        return lowered == "true"
    if kind is Kind.INT:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
    if kind is Kind.ID:
        return check_id(raw.strip(), "the value")
    if kind in (Kind.IDS, Kind.STRS):
        parts = [p.strip() for p in raw.split(",")]
        if any(not p for p in parts):
            raise ValueError(f"expected comma-separated values without empty ones, got {raw!r}")
        return [check_id(p, "each value") for p in parts] if kind is Kind.IDS else parts
    if kind is Kind.DATE:
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(f"expected a date like 2024-01-31, got {raw!r}") from None
    if kind is Kind.DATETIME:
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(
                f"expected an ISO 8601 datetime like 2024-01-31T09:00:00Z, got {raw!r}"
            ) from None
        if value.tzinfo is None:
            raise ValueError(
                f"{raw!r} has no offset; add Z or one like +02:00 (Kantata compares instants)"
            )
        return value
    return raw  # Kind.STR, Kind.JSONISH: as given


def parse_filters(resource: str, specs: Sequence[str]) -> dict[str, Any]:
    """`["key=value", ...]` as `list()` keyword arguments, each value read by its `Kind`.

    Raises `UsageError` for a malformed spec, an unknown name (listing the valid ones), a
    repeated name or a value its kind cannot read.
    """
    kinds = FILTERS[resource]
    out: dict[str, Any] = {}
    for spec in specs:
        name, sep, raw = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--filter {spec!r}: expected KEY=VALUE, e.g. show_disabled=true")
        if name not in kinds:
            raise UsageError(
                f"--filter {name!r} is not a filter of {resource}; valid filters: "
                + ", ".join(sorted(kinds))
            )
        if name in out:
            raise UsageError(f"--filter {name!r} is given twice")
        if not raw.strip():
            raise UsageError(f"--filter {name}: needs a value ({_KIND_HINT[kinds[name]]})")
        try:
            out[name] = _parse_value(kinds[name], raw)
        except ValueError as err:
            raise UsageError(f"--filter {name}: {err}") from None
    return out


# ---------------------------------------------------------------------------
# output


class _Console:
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
        pct = f" ({min(p.records / total, 1.0):.0%})" if total else ""
        return (
            f"{p.records:,}/{_count(total)} records{pct}, {_plural(p.pages, 'page', 'pages')}, "
            f"{p.rate:,.0f}/s, {_plural(p.retries, 'retry', 'retries')}, {p.elapsed:.1f} s"
        )

    def _draw(self, p: ExportProgress) -> None:
        total = p.reported_count
        fraction = min(p.records / total, 1.0) if total else (1.0 if total == 0 else 0.0)
        pages = _plural(p.pages, "page", "pages")
        retries = _plural(p.retries, "retry", "retries")
        text = (
            f"{fraction:4.0%}  {p.records:,}/{_count(total)} records  {pages}  "
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

    `stopped` says why an incomplete export ended ("interrupted", "failed").
    """
    where = str(summary.output) if summary.output is not None else "<stdout>"
    total = summary.reported_count
    if summary.complete:
        head = f"exported {summary.records:,} {summary.resource} to {where}"
    else:
        how = stopped or "stopped"
        of = f" of {total:,}" if total is not None else ""
        held = f"the {summary.records:,} rows written, each whole" if summary.records else "no rows"
        head = (
            f"export {how} after {summary.records:,}{of} {summary.resource} (incomplete): "
            f"{where} holds {held}"
        )
    drift = summary.count_drift
    reported = f"server reported {total:,}" if total is not None else "no count received"
    rows = [
        ("records", f"{summary.records:,} written, {summary.duplicates:,} duplicates skipped"),
        ("pages", f"{summary.pages:,}"),
        ("requests", f"{summary.requests:,} ({summary.retries:,} retries)"),
        ("count drift", f"{drift:+,} ({reported})" if drift else f"0 ({reported})"),
        ("elapsed", f"{summary.elapsed:.1f} s ({summary.rate:,.0f} records/s)"),
        ("output", f"{where} ({summary.format})"),
    ]
    if summary.watermark is not None:
        rows.append(("watermark", summary.watermark.at.isoformat()))
    body = "".join(f"  {name:<12} {value}\n" for name, value in rows)
    return f"{PROG}: {head}\n{body}"


# ---------------------------------------------------------------------------
# the command line


class _Parser(argparse.ArgumentParser):
    """argparse, with errors sent through the console so that no secret is ever echoed."""

    console: _Console | None = None

    def error(self, message: str) -> NoReturn:
        text = f"{self.prog}: error: {message}\n"
        if self.console is not None:
            self.console.write(self.format_usage())
            self.console.write(text)
        else:  # pragma: no cover - the console is always set by main()
            sys.stderr.write(text)
        raise SystemExit(EXIT_USAGE)


def _positive(upper: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < 1 or (upper is not None and value > upper):
            bound = f"from 1 to {upper}" if upper is not None else ">= 1"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _filters_epilog() -> str:
    parts = []
    for resource, kinds in FILTERS.items():
        names = ", ".join(f"{name} ({_KIND_HINT[kind]})" for name, kind in sorted(kinds.items()))
        parts.append(textwrap.fill(f"filters of {resource}: {names}", width=88))
    return "\n\n".join(parts)


def _parser(console: _Console) -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Command line tools for the Kantata OX (Mavenlink) API.",
        allow_abbrev=False,
    )
    parser.console = console
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    export = commands.add_parser(
        "export",
        help="stream every record of a list endpoint to NDJSON or CSV",
        description=textwrap.fill(
            "Stream every record of GET /users or GET /workweek_memberships, with the "
            "includes asked for embedded (NDJSON) or flattened into columns (CSV), writing "
            "each page as it arrives. An interrupted or failed export leaves whole rows only. "
            "Exit status: 0 complete, 1 API, connection or file error, 2 usage error, "
            "130 interrupted.",
            width=88,
        ),
        epilog=_filters_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    assert isinstance(export, _Parser)
    export.console = console
    export.add_argument("resource", choices=sorted(FILTERS), help="what to export")
    export.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the file to write (overwritten); '-' for stdout",
    )
    export.add_argument(
        "--format",
        choices=("ndjson", "csv"),
        default=None,
        help="output format (default: csv when FILE ends in .csv, else ndjson)",
    )
    export.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATH",
        help="an association to embed, dotted for nested ones "
        "(account_membership.skill_memberships); repeatable, or comma-separated",
    )
    export.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a list filter (repeatable): booleans true/false, ids comma-separated, dates "
        "YYYY-MM-DD, datetimes ISO 8601 with an offset or Z; the names are listed below",
    )
    export.add_argument(
        "--base-url",
        default=os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
        metavar="URL",
        help=f"the API root (default: ${BASE_URL_ENV}, else {DEFAULT_BASE_URL})",
    )
    export.add_argument(
        "--token",
        default=None,
        metavar="TOKEN",
        help=f"the OAuth bearer token (default: ${TOKEN_ENV}, which is safer: "
        "arguments show in the process list)",
    )
    export.add_argument(
        "--concurrency",
        type=_positive(),
        default=None,
        metavar="N",
        help="requests in flight at once (default 8)",
    )
    export.add_argument(
        "--per-page",
        type=_positive(MAX_PER_PAGE),
        default=MAX_PER_PAGE,
        metavar="N",
        help=f"records per page, 1 to {MAX_PER_PAGE} (default {MAX_PER_PAGE})",
    )
    export.add_argument(
        "--max-retries",
        type=_non_negative,
        default=4,
        metavar="N",
        help="retries of a failed request (429, 502-504, connection errors; default 4)",
    )
    export.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL to a non-loopback host (sends the token unencrypted)",
    )
    export.add_argument(
        "--since",
        metavar="WHEN",
        help="only what changed since WHEN: an ISO 8601 datetime with an offset "
        "(2026-11-01T00:00:00Z) or a watermark file written by --watermark-out",
    )
    export.add_argument(
        "--watermark-out",
        metavar="FILE",
        help="after a complete export, write the watermark for the next --since to FILE",
    )
    export.add_argument(
        "--progress",
        choices=("auto", "bar", "plain", "none"),
        default="auto",
        help="progress on stderr: a bar on a terminal, plain lines otherwise (default auto)",
    )
    return parser


def parse_since(value: str) -> Watermark:
    """`--since`: an aware ISO 8601 datetime, or the path of a saved watermark."""
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        path = Path(text)
        if not path.is_file():
            raise UsageError(
                f"--since {value!r} is neither an ISO 8601 datetime nor a watermark file"
            ) from None
        try:
            return Watermark.load(path)
        except (OSError, ValueError) as err:
            raise UsageError(f"--since {value!r}: {err}") from err
    if when.tzinfo is None:
        raise UsageError(f"--since {value!r} needs an offset (Z or +HH:MM)")
    return Watermark(when)


def _secrets_in(argv: Sequence[str]) -> set[str]:
    """Tokens given on the command line, found before argparse sees (and may echo) them."""
    found = set()
    for i, arg in enumerate(argv):
        if arg == "--token" and i + 1 < len(argv):
            found.add(argv[i + 1])
        elif arg.startswith("--token="):
            found.add(arg.partition("=")[2])
    env = os.environ.get(TOKEN_ENV)
    if env:
        found.add(env)
    return {s for s in found if s.strip()}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: `sys.argv[1:]`); return the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    console = _Console(sys.stderr)
    console.secrets |= _secrets_in(args_list)
    try:
        try:
            args = _parser(console).parse_args(args_list)
        except SystemExit as exit_:  # --help, --version, or a usage error already reported
            return exit_.code if isinstance(exit_.code, int) else EXIT_OK
        return _export(args, console)
    except KeyboardInterrupt:
        console.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED


def _export(args: argparse.Namespace, console: _Console) -> int:
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        console.error(
            f"no token: set {TOKEN_ENV} (preferred: it stays out of the process list) "
            "or pass --token",
            "export",
        )
        return EXIT_USAGE
    console.secrets.add(token)
    fmt: ExportFormat = args.format or ("csv" if args.out.lower().endswith(".csv") else "ndjson")
    mode: ProgressMode
    if args.progress == "auto":
        mode = "bar" if console.stream.isatty() else "plain"
    else:
        mode = args.progress
    display = ProgressDisplay(console.stream, mode, args.resource)
    try:
        since = parse_since(args.since) if args.since is not None else None
        if args.watermark_out and since is None:
            raise UsageError("--watermark-out needs --since (use --since 1970-01-01T00:00:00Z)")
        filters = parse_filters(args.resource, args.filter)
        include = [p.strip() for entry in args.include for p in entry.split(",") if p.strip()]
        # --concurrency bounds the client's requests too (pages and nested include lookups).
        limit = {"max_concurrency": args.concurrency} if args.concurrency else {}
        client = KantataClient(
            token,
            base_url=args.base_url,
            max_retries=args.max_retries,
            allow_insecure_http=args.allow_insecure_http,
            **limit,
        )
        exporter = Exporter(
            client,
            args.resource,
            sys.stdout if args.out == "-" else args.out,
            include=include,
            filters=filters,
            format=fmt,
            concurrency=args.concurrency,
            per_page=args.per_page,
            on_progress=display.update,
            since=since,
        )
    except (UsageError, ValueError) as err:
        message = str(err).replace("allow_insecure_http=True", "--allow-insecure-http")
        console.error(message, "export")
        return EXIT_USAGE

    async def run() -> ExportSummary:
        async with client:
            return await exporter.run()

    try:
        summary = asyncio.run(run())
    except KeyboardInterrupt:
        display.finish()
        console.write(format_summary(exporter.summary, "interrupted (Ctrl-C)"))
        return EXIT_INTERRUPTED
    except ExportError as err:
        display.finish()
        console.write(format_summary(err.summary, "failed"))
        console.error(str(err.__cause__ or err), "export")
        return EXIT_ERROR
    except (KantataError, OSError) as err:
        display.finish()
        console.error(str(err), "export")
        return EXIT_ERROR
    display.finish()
    console.write(format_summary(summary))
    if summary.watermark is not None and args.watermark_out:
        try:
            summary.watermark.save(args.watermark_out)
        except OSError as err:
            console.error(f"cannot write the watermark: {err}", "export")
            return EXIT_ERROR
    return EXIT_OK
