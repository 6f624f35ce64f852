"""`kantata-async load`: collections into a database, through dlt (the `dlt` extra).

    export KANTATA_TOKEN=...
    kantata-async load --to duckdb:///kantata.duckdb users time_entries \\
        --include time_entries:story.workspace --include users:role

One table per collection (and child tables for embedded lists) in the dataset
`kantata_data`, merged by `id`; collections whose records carry `updated_at` load
incrementally, their watermark kept in the dlt pipeline's state (see `kantata_async.dlt`).
DuckDB is the default destination; any other dlt destination goes by name (`postgres`,
`bigquery`, `snowflake`, ...; credentials from dlt's configuration: `.dlt/secrets.toml` or
`DESTINATION__POSTGRES__CREDENTIALS`) or as a URL (`postgresql://user:password@host/db`). A
password in the URL is never printed, nor the token. dlt's anonymous usage reports are off
unless `RUNTIME__DLTHUB_TELEMETRY` says otherwise.

Exit status: 0 loaded, 1 an API, connection or destination error, 2 a usage error (before any
request), 130 interrupted by Ctrl-C, 143 terminated by SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import textwrap
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from yarl import URL

from ._cli_args import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    FILTERS,
    UsageError,
    add_client_options,
    parse_filters,
    parse_since,
    read_token,
    usage_error,
)
from ._cli_display import PROG, Console
from ._errors import KantataError
from ._export_summary import describe

if TYPE_CHECKING:
    from dlt import Pipeline
    from dlt.sources import DltSource

__all__ = ["DEFAULT_DATASET", "DEFAULT_TO", "add_load_command", "format_load_summary", "run_load"]

DEFAULT_TO = "duckdb:///kantata.duckdb"
DEFAULT_DATASET = "kantata_data"
DEFAULT_PIPELINE = "kantata"
TELEMETRY_ENV = "RUNTIME__DLTHUB_TELEMETRY"
# URL schemes whose dlt destination has another name.
_DESTINATION_NAMES = {"postgresql": "postgres"}


def add_load_command(commands: argparse._SubParsersAction[Any], console: Console) -> None:
    """Add `load` to the command line's subcommands."""
    load = commands.add_parser(
        "load",
        help="load collections into a database (DuckDB, Postgres, ...) with dlt",
        description=textwrap.fill(
            "Load every record of each RESOURCE into a table of that name (merged by id), "
            "with the includes asked for embedded (one-relations as relation__field columns, "
            "lists as child tables). Collections whose records carry updated_at load only "
            "what changed since the previous run. Needs the dlt extra: pip install "
            "'kantata_async[dlt]'. Exit status: 0 loaded, 1 API, connection or destination "
            "error, 2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).",
            width=88,
        ),
        allow_abbrev=False,
    )
    load.console = console
    load.add_argument(
        "resources", nargs="+", choices=sorted(FILTERS), metavar="RESOURCE", help="collections"
    )
    load.add_argument(
        "--to",
        default=DEFAULT_TO,
        metavar="DESTINATION",
        help=f"duckdb:///FILE (default {DEFAULT_TO}), a dlt destination name (postgres, "
        "bigquery, snowflake, motherduck, ...; credentials from dlt's config), or a URL "
        "with credentials (postgresql://user:password@host/db)",
    )
    load.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        metavar="NAME",
        help=f"the dataset (schema) the tables go in (default {DEFAULT_DATASET})",
    )
    load.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="RESOURCE:PATH",
        help="an association to embed in RESOURCE's rows, dotted for nested ones "
        "(time_entries:story.workspace); repeatable, paths comma-separated; RESOURCE: may "
        "be left out when one resource is loaded",
    )
    load.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="RESOURCE:KEY=VALUE",
        help="a list filter of RESOURCE (users:on_my_account=true), read as export reads it",
    )
    load.add_argument(
        "--since",
        metavar="WHEN",
        help="the first run of an incremental collection loads only what changed since WHEN "
        "(ISO 8601 with an offset); later runs go on from their watermark",
    )
    load.add_argument(
        "--pipeline-name",
        default=DEFAULT_PIPELINE,
        metavar="NAME",
        help=f"the dlt pipeline, whose state holds the watermarks (default {DEFAULT_PIPELINE})",
    )
    load.add_argument(
        "--pipelines-dir",
        default=None,
        metavar="DIR",
        help="where dlt keeps its pipelines' working files (default: dlt's, ~/.dlt/pipelines)",
    )
    add_client_options(load)


def per_resource(
    option: str, specs: Sequence[str], resources: Sequence[str]
) -> dict[str, list[str]]:
    """`RESOURCE:VALUE` entries, by resource. A bare `VALUE` goes to the one resource loaded.

    Raises `UsageError` for a bare value with several resources, or a resource not loaded.
    """
    out: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, value = spec.partition(":")
        if not sep or "=" in name:  # a bare filter may hold a ':' in its value (a time)
            if len(resources) != 1:
                raise UsageError(f"{option} {spec!r}: say which resource, as RESOURCE:{spec}")
            name, value = resources[0], spec
        name = name.strip()
        if name not in resources:
            raise UsageError(
                f"{option} {spec!r}: {name!r} is not among the resources loaded "
                f"({', '.join(resources)})"
            )
        out.setdefault(name, []).append(value.strip())
    return out


_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key", re.IGNORECASE)


def _destination(spec: str, dataset: str, console: Console) -> tuple[Any, str]:
    """The dlt destination `--to` names, and how to show it (no password). Raises
    `UsageError` for an unknown destination or a DuckDB file that cannot be made."""
    from dlt.common.destination import Destination
    from dlt.common.destination.exceptions import DestinationException

    shown, credentials = spec, None
    name = spec.strip()
    if "://" in spec:
        url = URL(spec)
        for secret in (url.password, url.raw_password):
            if secret:
                console.secrets.add(secret)
        if url.password:
            shown = str(url.with_password("***"))
        if url.query:
            # A password may travel in the query (`?password=...`): no value is shown.
            for key, value in url.query.items():
                if value and _SECRET_KEY.search(key):
                    console.secrets.add(value)
            shown = str(URL(shown).with_query({key: "***" for key in url.query}))
        scheme = spec.partition("://")[0].lower()
        name, credentials = _DESTINATION_NAMES.get(scheme, scheme), spec
        if name == "duckdb":
            # duckdb:///kantata.duckdb is relative, duckdb:////tmp/k.duckdb absolute.
            database = Path(spec.partition("://")[2].removeprefix("/"))
            if not database.parent.is_dir():
                raise UsageError(f"--to {shown}: {database.parent} is not a directory")
            if database.stem.casefold() == dataset.casefold():  # DuckDB ignores case
                # DuckDB names the database after its file and cannot tell the two apart.
                raise UsageError(f"--dataset {dataset}: must differ from the DuckDB file's name")
    try:
        if credentials is None:
            return Destination.from_reference(name), shown
        return Destination.from_reference(name, credentials=credentials), shown
    except DestinationException:
        raise UsageError(
            f"--to {shown}: {name!r} is not a dlt destination (duckdb, postgres, bigquery, "
            "snowflake, motherduck, ...: see dlt's documentation)"
        ) from None


class _Load:
    """What a `load` runs: the pipeline, the source, and how to name the destination."""

    def __init__(
        self, pipeline: Pipeline, source: DltSource, resources: list[str], where: str
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.resources = resources
        self.where = where
        self.warnings: list[str] = []  # what the source's walks warned of (`on_warning`)
        # A destination that prefers SQL INSERT statements (DuckDB, MotherDuck) but reads
        # JSON lines takes these rows about ten times faster as JSON lines.
        capabilities = pipeline.destination.capabilities()
        formats = capabilities.supported_loader_file_formats
        self.file_format: Any = None
        if capabilities.preferred_loader_file_format == "insert_values" and "jsonl" in formats:
            self.file_format = "jsonl"


def _prepare(args: argparse.Namespace, console: Console) -> _Load:
    """The pipeline and the source, every argument checked; nothing is sent yet.

    Raises `UsageError` or `ValueError` for what the command line got wrong.
    """
    token = read_token(args, console, sys.stdin)
    resources = list(dict.fromkeys(args.resources))
    includes = {
        key: [p.strip() for entry in entries for p in entry.split(",") if p.strip()]
        for key, entries in per_resource("--include", args.include, resources).items()
    }
    filters = {
        key: parse_filters(key, specs)
        for key, specs in per_resource("--filter", args.filter, resources).items()
    }
    since = parse_since(args.since) if args.since is not None else None
    # Before dlt reads its configuration: a load sends nothing but to Kantata and the
    # destination unless the user turned dlt's reports on.
    os.environ.setdefault(TELEMETRY_ENV, "false")
    try:
        import dlt

        from .dlt import kantata_source
    except ModuleNotFoundError as err:
        raise UsageError(str(err)) from None
    destination, where = _destination(args.to, args.dataset, console)
    warnings: list[str] = []
    source = kantata_source(
        on_warning=warnings.append,
        token=token,
        resources=resources,
        base_url=args.base_url,
        include=includes,
        filters=filters,
        since=since,
        per_page=args.per_page,
        max_retries=args.max_retries,
        allow_insecure_http=args.allow_insecure_http,
        **({"max_concurrency": args.concurrency} if args.concurrency else {}),
    )
    pipeline = dlt.pipeline(
        pipeline_name=args.pipeline_name,
        destination=destination,
        dataset_name=args.dataset,
        pipelines_dir=args.pipelines_dir,
    )
    job = _Load(pipeline, source, resources, where)
    job.warnings = warnings
    return job


def run_load(args: argparse.Namespace, console: Console) -> int:
    """`kantata-async load`: check the arguments, run the pipeline, report; the exit status."""
    try:
        job = _prepare(args, console)
    except (UsageError, ValueError) as err:
        return usage_error(console, err, "load")
    return _run(job, console)


def _root(error: BaseException) -> BaseException:
    """What stopped a dlt step: the first SDK error in the chain, else its deepest cause
    (dlt wraps a resource's error in its own, and those in `PipelineStepFailed`)."""
    seen = set()
    while id(error) not in seen and not isinstance(error, KantataError):
        seen.add(id(error))
        inner = getattr(error, "exception", None) or error.__cause__
        if not isinstance(inner, BaseException):
            break
        error = inner
    return error


def _run(job: _Load, console: Console) -> int:
    stopped: set[int] = set()

    def stop(signum: int, frame: FrameType | None) -> None:
        # SIGTERM (docker stop, systemd) stops the load as Ctrl-C does: dlt commits
        # nothing of an extract it did not finish, and closes the resources' walks. The
        # signal is noted too: dlt may replace the KeyboardInterrupt, raised wherever it
        # lands, with an error of its own while it unwinds.
        stopped.add(signum)
        raise KeyboardInterrupt

    previous: dict[int, Any] = {}
    with suppress(ValueError):  # only the main thread may set handlers
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, stop)
    pipeline = job.pipeline
    console.write(
        f"{PROG}: loading {', '.join(job.resources)} into {job.where} "
        f"(dataset {pipeline.dataset_name})\n"
    )
    started = time.monotonic()
    try:
        if pipeline.has_pending_data:
            console.write(f"{PROG}: first loading what an earlier run left pending\n")
            pipeline.run()
        pipeline.run(job.source, loader_file_format=job.file_format)
    except (Exception, KeyboardInterrupt) as err:
        cause = _root(err)
        if isinstance(cause, KeyboardInterrupt) or stopped:
            terminated = signal.SIGTERM in stopped
            how = "terminated (SIGTERM)" if terminated else "interrupted (Ctrl-C)"
            kept = (
                "what was extracted waits in the pipeline and loads with the next run"
                if pipeline.has_pending_data
                else "nothing of this run was loaded; the next run starts from the last watermark"
            )
            console.write(f"{PROG}: load {how}: {kept}\n")
            return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
        step = getattr(err, "step", None)
        console.error(f"{step + ' ' if step else ''}failed: {describe(cause)}", "load")
        return EXIT_ERROR
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    console.write(
        format_load_summary(pipeline, job.resources, job.where, time.monotonic() - started)
        + "".join(f"{PROG}: warning: {text}\n" for text in job.warnings)
    )
    return EXIT_OK


def _table_rows(pipeline: Pipeline, tables: Sequence[str]) -> dict[str, int]:
    """The rows each table holds now, where the destination answers SQL (not a bucket)."""
    found: dict[str, int] = {}
    try:
        with pipeline.sql_client() as client:
            for table in tables:
                name = client.make_qualified_table_name(table)
                answer = client.execute_sql(f"SELECT count(*) FROM {name}") or [(0,)]
                found[table] = int(answer[0][0])
    except Exception:  # no SQL client for this destination, or no table yet: no totals
        return found
    return found


def format_load_summary(
    pipeline: Pipeline, resources: Sequence[str], where: str, elapsed: float
) -> str:
    """The end-of-load report: rows loaded per table, and how each collection loads."""
    from .dlt import SOURCE_NAME, incremental, saved_watermark

    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    counts: dict[str, int] = dict(info.row_counts) if info is not None else {}
    states = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    totals = _table_rows(pipeline, resources)
    rows: list[tuple[str, int, str]] = []
    for key in resources:
        mark = saved_watermark(states.get(key, {}))
        if mark is not None:
            how = f"incremental, watermark {mark.at.isoformat()}"
        else:
            how = "incremental" if incremental(key) else "full load, merged by id"
        if key in totals:
            how = f"{totals[key]:,} in the table; {how}"
        rows.append((key, counts.get(key, 0), how))
        rows += [(t, n, "") for t, n in sorted(counts.items()) if t.startswith(key + "__")]
    width = max(len(table) for table, _, _ in rows)
    lines = [f"{PROG}: loaded into {where} (dataset {pipeline.dataset_name})"]
    for table, n, how in rows:
        lines.append(f"  {table:<{width}}  {n:>9,} rows loaded" + (f"  ({how})" if how else ""))
    lines.append(f"  {'elapsed':<{width}}  {elapsed:>9.1f} s")
    return "\n".join(lines) + "\n"
