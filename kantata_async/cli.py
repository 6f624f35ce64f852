"""The `kantata-async` command line (also `python -m kantata_async`).

    export KANTATA_TOKEN=...          # or --token-file FILE: unlike --token, not in `ps`
    kantata-async export users --out users.ndjson \\
        --include account_membership.skill_memberships --include role \\
        --filter on_my_account=true --filter updated_after=2024-01-01T00:00:00Z

Progress goes to stderr: a redrawn bar on a terminal, a plain line at most every two seconds
otherwise; a summary follows at the end. Exit status: 0 when the export is complete, 1 on an
API, connection or file error, 2 on a usage error, 130 on Ctrl-C, 143 on SIGTERM (both after
the summary), 141 when the reader of `--out -` goes away (`| head`; quietly, as Unix tools
do). The output file is replaced only by a complete export; an incomplete one leaves
it as it was and its rows, whole, in `FILE.partial`. The token is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import signal
import sys
import textwrap
from collections.abc import Sequence
from typing import NoReturn

from ._cli_args import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    FILTERS,
    TOKEN_ENV,
    UsageError,
    add_client_options,
    filters_epilog,
    parse_filters,
    parse_since,
    positive,
    read_token,
    usage_error,
)
from ._cli_display import PROG, Console, ProgressDisplay, ProgressMode, format_summary
from ._cli_load import add_load_command, run_load
from ._client import KantataClient
from ._errors import KantataError
from ._export_output import output_problem
from ._export_summary import describe
from .export import Exporter, ExportError, ExportSummary

__all__ = ["FILTERS", "ProgressDisplay", "UsageError", "format_summary", "main", "parse_filters"]


# ---------------------------------------------------------------------------
# the command line


class _Parser(argparse.ArgumentParser):
    """argparse, with errors sent through the console so that no secret is ever echoed."""

    console: Console | None = None

    def error(self, message: str) -> NoReturn:
        text = f"{self.prog}: error: {message}\n"
        if self.console is not None:
            self.console.write(self.format_usage())
            self.console.write(text)
        else:  # pragma: no cover - the console is always set by main()
            sys.stderr.write(text)
        raise SystemExit(EXIT_USAGE)


def _parser(console: Console) -> _Parser:
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
            "Stream every record of one collection (GET /<collection>), with the "
            "includes asked for embedded (NDJSON) or flattened into columns (CSV), writing "
            "each page as it arrives. FILE is replaced only when the export is complete; an "
            "interrupted or failed export leaves it unchanged and its rows, whole, in "
            "FILE.partial. Exit status: 0 complete, 1 API, connection or file error, 2 usage "
            "error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 141 the reader of "
            "stdout went away.",
            width=88,
        ),
        epilog=filters_epilog(),
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
        "--csv-formula-guard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="CSV: put a ' before text cells starting with = + - @ tab or CR, so that a "
        "spreadsheet shows them as text instead of running them as formulas (default: on)",
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
    add_client_options(export)
    export.add_argument(
        "--first-window",
        type=positive(),
        default=1,
        metavar="N",
        help="pages asked for before page 1 answers (default 1: page 1 tells how many there "
        "are); up to --concurrency saves a round trip on a list you know is long",
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
    add_load_command(commands, console)  # `load`: into a database, with dlt
    return parser


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
    console = Console(sys.stderr)
    console.secrets |= _secrets_in(args_list)
    try:
        try:
            args = _parser(console).parse_args(args_list)
        except SystemExit as exit_:  # --help, --version, or a usage error already reported
            return exit_.code if isinstance(exit_.code, int) else EXIT_OK
        return run_load(args, console) if args.command == "load" else _export(args, console)
    except KeyboardInterrupt:
        console.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `--help | head -1`, say
        return _reader_gone()


def _reader_gone() -> int:
    """The reader of stdout went away (`... --out - | head -1`): end quietly, like Unix tools.

    No summary and no error: the reader asked for no more, which is not a failure of the
    export. The status is 141 (128 + SIGPIPE), what a shell reports for a command killed by
    SIGPIPE, so that `set -o pipefail` scripts still see that the export did not finish.
    """
    # Python flushes stdout once more on the way out; with the pipe closed that flush fails
    # and prints "Exception ignored ... BrokenPipeError". Pointing stdout at /dev/null lets
    # that last flush succeed silently.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_BROKEN_PIPE


def _export(args: argparse.Namespace, console: Console) -> int:
    mode: ProgressMode
    if args.progress == "auto":
        mode = "bar" if console.stream.isatty() else "plain"
    else:
        mode = args.progress
    display = ProgressDisplay(console.stream, mode, args.resource)
    try:
        client, exporter = _prepare(args, console, display)
    except (UsageError, ValueError) as err:
        return usage_error(console, err, "export")
    return _run(client, exporter, args, console, display)


def _prepare(
    args: argparse.Namespace, console: Console, display: ProgressDisplay
) -> tuple[KantataClient, Exporter]:
    """The client and the exporter, every argument checked; nothing is sent yet.

    Raises `UsageError` or `ValueError` for what the command line got wrong.
    """
    token = read_token(args, console, sys.stdin)
    if args.out != "-" and (problem := output_problem(args.out)) is not None:
        # Before any request, and without a summary: nothing was exported.
        raise UsageError(f"--out {args.out}: {problem}")
    since = parse_since(args.since) if args.since is not None else None
    if args.watermark_out and since is None:
        raise UsageError("--watermark-out needs --since (use --since 1970-01-01T00:00:00Z)")
    if args.watermark_out and (problem := output_problem(args.watermark_out)) is not None:
        raise UsageError(f"--watermark-out {args.watermark_out}: {problem}")
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
    if args.out == "-" and isinstance(sys.stdout, io.TextIOWrapper):
        # The rows carry their own line ends (CSV's are RFC 4180 `\r\n`): no translation.
        sys.stdout.reconfigure(newline="")
    exporter = Exporter(
        client,
        args.resource,
        sys.stdout if args.out == "-" else args.out,
        include=include,
        filters=filters,
        format=args.format,  # None: export_format decides from the file name
        concurrency=args.concurrency,
        first_window=args.first_window,
        per_page=args.per_page,
        on_progress=display.update,
        since=since,
        csv_formula_guard=args.csv_formula_guard,
    )
    return client, exporter


def _run(
    client: KantataClient,
    exporter: Exporter,
    args: argparse.Namespace,
    console: Console,
    display: ProgressDisplay,
) -> int:
    """Run the export; report how it ended; return the exit status."""
    terminated = False

    async def run() -> ExportSummary:
        # SIGTERM (docker stop, systemd, Kubernetes) ends the export as Ctrl-C does: the task
        # is cancelled, so the rows in hand are written whole and the summary printed. Left to
        # its default, the signal killed the process mid-row and without a word.
        task = asyncio.current_task()
        assert task is not None

        def terminate() -> None:
            nonlocal terminated
            terminated = True
            task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows; not main thread
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
        async with client:
            return await exporter.run()

    # Closing the loop resets SIGTERM to its default; whatever handler the process had before
    # (main() run inside another program) is put back afterwards.
    previous = signal.getsignal(signal.SIGTERM)
    try:
        summary = asyncio.run(run())
    except KeyboardInterrupt:
        display.finish()
        console.write(format_summary(exporter.summary, "interrupted (Ctrl-C)"))
        return EXIT_INTERRUPTED
    except asyncio.CancelledError:
        if not terminated:
            raise
        display.finish()
        console.write(format_summary(exporter.summary, "terminated (SIGTERM)"))
        return EXIT_TERMINATED
    except ExportError as err:
        if isinstance(err.__cause__, BrokenPipeError):
            return _reader_gone()
        display.finish()
        console.write(format_summary(err.summary, "failed"))
        console.error(describe(err.__cause__ or err), "export")
        return EXIT_ERROR
    except (KantataError, OSError) as err:
        display.finish()
        console.error(str(err), "export")
        return EXIT_ERROR
    finally:
        if previous is not None:
            with contextlib.suppress(ValueError):  # only the main thread may set handlers
                signal.signal(signal.SIGTERM, previous)
    display.finish()
    console.write(format_summary(summary))
    if summary.watermark is not None and args.watermark_out:
        try:
            summary.watermark.save(args.watermark_out)
        except OSError as err:
            console.error(f"cannot write the watermark: {err}", "export")
            return EXIT_ERROR
    return EXIT_OK
