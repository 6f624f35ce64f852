"""`make demo` (or `python -m kantata_async.demo`): the SDK end to end, with nothing but Python.

1. Starts a fake Kantata with 3,000 users and 50 ms of latency per request, in its own
   process (`python -m kantata_async.testing`), so that its CPU does not compete with the
   client's event loop.
2. Runs the real export command line against it (`python -m kantata_async export users
   --include account_membership.skill_memberships --include role --out ...`): its progress
   and summary appear on stderr. Without `--filter on_my_account=true` it exports the users
   Kantata lists by default: the people of your projects, not the whole account.
3. Takes the first exported row and reads that user's linked graph through the client:
   `user.account_membership.skill_memberships` with each `sm.skill`, and
   `user.workweek_memberships` with each `wm.workweek`.
4. Loads the account into a DuckDB file with the load command line (`python -m
   kantata_async load --to duckdb:///...`, through dlt: the `dlt` extra), and prints the
   answer of a SQL query over the tables it made.

The server process is stopped on the way out, Ctrl-C included. The export file and the
DuckDB file stay in a temporary directory whose path is printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import KantataClient, User
from .testing import FakeKantataProcess

__all__ = ["main"]

USERS = 3000
SEED = 7
LATENCY = 0.05
INCLUDES = ("account_membership.skill_memberships", "role")
_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class DemoQuery:
    """What the demo loads into DuckDB, and the question it asks of it."""

    question: str
    resources: tuple[str, ...]
    includes: tuple[str, ...]  # RESOURCE:PATH, as `load --include` takes them
    sql: str


ROLES_AND_HOURS = DemoQuery(
    "Users per role, and their current workweek (users joined to workweek memberships)",
    ("users", "workweek_memberships"),
    ("users:role", "workweek_memberships:workweek"),
    """
    SELECT coalesce(u.role__name, '(no role)') AS role,
           count(*) AS users,
           round(avg(w.workweek__total_minutes) / 60, 1) AS hours_per_week
    FROM kantata_data.users AS u
    JOIN kantata_data.workweek_memberships AS w ON w.user_id = u.id AND w.end_date IS NULL
    GROUP BY 1 ORDER BY users DESC, role LIMIT 8
    """,
)
HOURS_PER_PROJECT = DemoQuery(
    "Hours per project (time entries joined to workspaces)",
    ("time_entries", "workspaces"),
    (),
    """
    SELECT w.title AS project, round(sum(t.time_in_minutes) / 60, 1) AS hours
    FROM kantata_data.time_entries AS t
    JOIN kantata_data.workspaces AS w ON w.id = t.workspace_id
    GROUP BY 1 ORDER BY hours DESC, project LIMIT 8
    """,
)
QUERY = HOURS_PER_PROJECT  # or ROLES_AND_HOURS: the fake serves every collection


def say(text: str = "") -> None:
    # Flushed at once: the child processes write to the same terminal.
    print(text, flush=True)


def run_export(base_url: str, token: str, out: Path) -> int:
    """Run the export command line as a child process; return its exit status."""
    args = ["export", "users", "--base-url", base_url]
    for path in INCLUDES:
        args += ["--include", path]
    args += ["--out", str(out)]
    return run_cli(args, token)


def run_cli(args: list[str], token: str) -> int:
    """Run the command line with `args` as a child process; return its exit status."""
    say("$ KANTATA_TOKEN=... python -m kantata_async " + shlex.join(args))
    # The token travels in the environment, as it should: arguments show in `ps`.
    env = {**os.environ, "KANTATA_TOKEN": token}
    child = subprocess.Popen([sys.executable, "-m", "kantata_async", *args], env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        # The child got the same Ctrl-C: give it time to write its summary.
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise


def describe_row(out: Path) -> str | None:
    """Print the export file's size and its first row, briefly; return that row's id."""
    lines = 0
    first: dict[str, object] | None = None
    with out.open(encoding="utf-8") as f:
        for line in f:
            lines += 1
            if first is None:
                first = json.loads(line)
    size = out.stat().st_size
    say(f"\n{out}: {lines:,} lines, {size / 1e6:.1f} MB, one JSON object per user.")
    if first is None:
        return None
    membership = first.get("account_membership")
    skills = membership.get("skill_memberships", []) if isinstance(membership, dict) else []
    role = first.get("role")
    say(
        f"First row: user {first['id']} {first.get('full_name')!r}, role "
        f"{role.get('name') if isinstance(role, dict) else None!r}, account_membership "
        f"embedding {len(skills) if isinstance(skills, list) else 0} skill_memberships."
    )
    return str(first["id"])


async def show_user(base_url: str, token: str, user_id: str) -> None:
    """Fetch one user's linked graph with the client and print it."""
    async with KantataClient(token, base_url=base_url) as client:
        user: User = await client.users.get(
            user_id, include=["account_membership.skill_memberships.skill", "role", "manager"]
        )
        # Every membership of the user: once the walk ends, `user.workweek_memberships` is
        # known to be complete (a list by the memberships' own `user_ids` filter says so).
        memberships = client.workweek_memberships.list(user_ids=[user_id], include=["workweek"])
        async for _ in memberships:
            pass  # each one is merged into the graph and linked to `user`

        say("\nOne user's linked graph, read through the client:")
        say(f"  user {user.id}: {user.full_name} <{user.email_address}>, {user.headline}")
        say(f"    role              {user.role.name if user.role else '-'}")
        manager = user.manager
        boss = f"{manager.full_name} (user {manager.id})" if manager else "-"
        say(f"    manager           {boss}")
        am = user.account_membership
        if am is not None:
            rate = (am.bill_rate_in_cents or 0) / 100
            say(f"    account_membership {am.id}: {am.permission}, bill rate {rate:.2f}/h")
            say("      skill_memberships (user.account_membership.skill_memberships, sm.skill):")
            for sm in sorted(am.skill_memberships, key=lambda s: -(s.level or 0)):
                name = sm.skill.name if sm.skill else sm.cached_skill_name
                say(f"        {name:<16} level {sm.level} of {sm.max_level}")
            say(f"      same object: user.account_membership.user is user -> {am.user is user}")
        say("    workweek_memberships (user.workweek_memberships, wm.workweek):")
        for wm in sorted(user.workweek_memberships, key=lambda w: w.start_date or w.id):
            ww = wm.workweek
            hours = f"{(ww.total_minutes or 0) / 60:.1f} h/week" if ww else "?"
            until = wm.end_date.isoformat() if wm.end_date else "open"
            say(
                f"        {wm.start_date} .. {until:<10}  {hours} (workweek {ww.id if ww else '-'})"
            )
        requests = client.transport.requests_sent
        say(f"  ({requests} requests for this user's graph; nested levels fetched by the SDK)")


def load_and_ask(base_url: str, token: str, out_dir: Path) -> int:
    """Load `QUERY`'s collections into a DuckDB file, then print its answer."""
    try:
        import duckdb
    except ModuleNotFoundError:
        say("\nSkipping the database step: it needs dlt: pip install 'kantata_async[dlt]'.")
        return 0
    database = out_dir / "kantata.duckdb"
    args = ["load", *QUERY.resources, "--to", f"duckdb:///{database}", "--base-url", base_url]
    for include in QUERY.includes:
        args += ["--include", include]
    args += ["--pipelines-dir", str(out_dir / "dlt")]  # dlt's state, beside the file
    say("\nThe same account into a database (dlt; merged by id, incremental on updated_at):")
    status = run_cli(args, token)
    if status != 0:
        say(f"\nThe load exited with status {status}.")
        return status
    with duckdb.connect(str(database), read_only=True) as db:
        answer = db.execute(QUERY.sql)
        columns = [d[0] for d in answer.description or ()]
        rows = answer.fetchall()
    say(f"\n{QUERY.question}, in SQL over {database.name}:")
    widths = [max(len(str(v)) for v in [c, *(r[i] for r in rows)]) for i, c in enumerate(columns)]
    for row in [columns, *rows]:
        cells = (str(v).ljust(w) for v, w in zip(row, widths, strict=True))
        say(("  " + "  ".join(cells)).rstrip())
    return 0


def main() -> int:
    """Run the demo; return the exit status."""
    started = time.monotonic()
    out_dir = Path(tempfile.mkdtemp(prefix="kantata-demo-"))
    out = out_dir / "users.ndjson"
    say(f"Starting a fake Kantata: {USERS:,} users, {LATENCY * 1000:.0f} ms per request ...")
    server = FakeKantataProcess(USERS, seed=SEED, latency=LATENCY, start_timeout=_START_TIMEOUT)
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
        say("\ndemo interrupted")
        return 130
    except RuntimeError as err:
        say(f"demo: {err}")
        return 1
    try:
        base_url, token = server.base_url, server.token
        pid = server.process.pid if server.process else "?"
        say(f"Listening at {base_url} (its own process, pid {pid}).\n")
        status = run_export(base_url, token, out)
        if status != 0:
            say(f"\nThe export exited with status {status}; what it wrote is in {_rows_of(out)}.")
            return status
        say(
            "\n(Without --filter on_my_account=true, GET /users lists the people of your projects,"
            " as Kantata does;\n the fake's account also has members in no project and people"
            " of another account.)"
        )
        user_id = describe_row(out)
        if user_id is not None:
            asyncio.run(show_user(base_url, token, user_id))
        status = load_and_ask(base_url, token, out_dir)
        if status != 0:
            return status
        say(f"\nDone in {time.monotonic() - started:.1f} s. The export and the database are in")
        say(f"{out_dir}.")
        return 0
    except KeyboardInterrupt:
        say(f"\ndemo interrupted; whatever was exported is in {_rows_of(out)}")
        return 130
    finally:
        server.stop()


def _rows_of(out: Path) -> Path:
    """Where an export to `out` that stopped keeps its rows: `out` is only ever replaced
    by a complete export, so they are in `out.partial` when that exists."""
    partial = out.with_name(out.name + ".partial")
    return partial if partial.exists() else out


if __name__ == "__main__":
    sys.exit(main())
