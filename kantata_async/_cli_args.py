"""The command line's arguments: filters read by their kind, `--since`, number types, the
options every command that talks to Kantata takes (the token, the URL, the client's limits),
and the exit statuses."""

from __future__ import annotations

import argparse
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO, get_args

from ._cli_display import Console
from ._client import BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV
from ._generated import CollectionKey
from ._query import MAX_PER_PAGE, Kind, check_id
from .resources._registry import RESOURCES
from .sync import Watermark

__all__ = [
    "BASE_URL_ENV",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "FILTERS",
    "TOKEN_ENV",
    "UsageError",
    "add_client_options",
    "filters_epilog",
    "non_negative",
    "parse_filters",
    "parse_since",
    "positive",
    "read_token",
    "read_token_file",
    "usage_error",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

FILTERS: Mapping[str, Mapping[str, Kind]] = {
    key: {**RESOURCES[key].filters, "only": Kind.IDS} for key in get_args(CollectionKey)
}
"""The `--filter` names per resource, and how each value is read: the resource's own table,
the same declaration its `list()` reads."""

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


def read_token_file(path: str, stdin: TextIO) -> str:
    """`--token-file PATH`: the token held in `PATH` (`-` for standard input).

    One trailing line break is taken off (`echo token > file` writes one). Raises
    `UsageError` for a file that cannot be read, is empty, or holds more than one line or
    any space: sent as it is, such a token would only fail later, less clearly.
    """
    try:
        text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--token-file {path}: cannot read it: {err}") from None
    token = text.removesuffix("\n").removesuffix("\r")
    if not token:
        raise UsageError(f"--token-file {path}: the file is empty")
    if any(c.isspace() for c in token):
        raise UsageError(f"--token-file {path}: the token must be one line without spaces")
    return token


def read_token(args: argparse.Namespace, console: Console, stdin: TextIO) -> str:
    """The token: `--token`, `--token-file` or `$KANTATA_TOKEN`, added to what the console
    blanks out before anything can print it. Raises `UsageError` when there is none."""
    if args.token is not None and args.token_file is not None:
        raise UsageError("--token and --token-file: give one")
    if args.token_file is not None:
        token = read_token_file(args.token_file, stdin)
    elif args.token is not None:
        token = args.token
    else:
        token = os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        raise UsageError(
            f"no token: set {TOKEN_ENV} or pass --token-file (preferred: neither shows in "
            "the process list), or --token"
        )
    console.secrets.add(token)
    return token


def usage_error(console: Console, error: Exception, command: str) -> int:
    """Say what the command line got wrong, in its own words; return `EXIT_USAGE`."""
    message = str(error).replace("allow_insecure_http=True", "--allow-insecure-http")
    console.error(message, command)
    return EXIT_USAGE


# ---------------------------------------------------------------------------
# argparse types and help


def add_client_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that talks to Kantata: where, with which token, how hard."""
    parser.add_argument(
        "--base-url",
        default=os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
        metavar="URL",
        help=f"the API root (default: ${BASE_URL_ENV}, else {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--token",
        default=None,
        metavar="TOKEN",
        help=f"the OAuth bearer token; prefer ${TOKEN_ENV} or --token-file, since "
        "arguments show in the process list (ps) and the shell's history",
    )
    parser.add_argument(
        "--token-file",
        default=None,
        metavar="PATH",
        help="read the token from PATH ('-' for standard input), one line; preferred to "
        f"--token (default: ${TOKEN_ENV})",
    )
    parser.add_argument(
        "--concurrency",
        type=positive(),
        default=None,
        metavar="N",
        help="requests in flight at once (default 8)",
    )
    parser.add_argument(
        "--per-page",
        type=positive(MAX_PER_PAGE),
        default=MAX_PER_PAGE,
        metavar="N",
        help=f"records per page, 1 to {MAX_PER_PAGE} (default {MAX_PER_PAGE})",
    )
    parser.add_argument(
        "--max-retries",
        type=non_negative,
        default=4,
        metavar="N",
        help="retries of a failed request (429, 502-504, connection errors; default 4)",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL to a non-loopback host (sends the token unencrypted)",
    )


def positive(upper: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int from 1 (to `upper`)."""

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


def non_negative(text: str) -> int:
    """An argparse type: an int >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def filters_epilog() -> str:
    """The `export --help` epilog: every filter of every resource, with its value's form."""
    parts = []
    for resource, kinds in FILTERS.items():
        names = ", ".join(f"{name} ({_KIND_HINT[kind]})" for name, kind in sorted(kinds.items()))
        parts.append(textwrap.fill(f"filters of {resource}: {names}", width=88))
    return "\n\n".join(parts)
