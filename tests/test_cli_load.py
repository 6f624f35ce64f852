"""`kantata-async load`: in process, and as a real process for the signals.

The command runs dlt's pipeline, which runs its own event loop in a thread of its own: the
fake server runs in a thread with a loop of its own, as for `export`.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import my_memberships, on_my_account
from threaded import Served, cli_held_after_page_one

from kantata_async.cli import main

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    monkeypatch.delenv("KANTATA_BASE_URL", raising=False)
    # The command turns dlt's usage reports off unless told otherwise; keep the process's
    # environment as it was after each test.
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


def load_args(served: Served, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "load",
        "--base-url",
        served.url,
        "--to",
        f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
        *extra,
    ]


def count(tmp_path: Path, sql: str) -> Any:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as db:
        return db.execute(sql).fetchall()


def summary_line(err: str, table: str) -> str:
    [line] = [line for line in err.splitlines() if line.split()[:1] == [table]]
    return line


def test_load_users_and_memberships_then_again(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", served.token)
    args = load_args(
        served,
        tmp_path,
        "users",
        "workweek_memberships",
        "--include",
        "users:role,account_membership.skill_memberships",
        "--include",
        "workweek_memberships:workweek",
        "--filter",
        "users:on_my_account=true",
    )
    memberships = len(my_memberships(served.fake))
    users = len(on_my_account(served.fake, disabled=False))

    assert main(args) == 0
    first = capfd.readouterr()

    assert first.out == ""
    assert "into duckdb:///" in first.err
    assert "(dataset kantata_data)" in first.err
    assert f"{users} rows loaded  ({users} in the table; full load" in summary_line(
        first.err, "users"
    )
    assert f"{memberships} rows loaded" in summary_line(first.err, "workweek_memberships")
    assert "incremental, watermark 20" in summary_line(first.err, "workweek_memberships")
    assert summary_line(first.err, "users__account_membership__skill_memberships")
    assert count(tmp_path, "SELECT count(*) FROM kantata_data.users") == [(users,)]
    assert count(
        tmp_path, "SELECT count(*), count(DISTINCT id) FROM kantata_data.workweek_memberships"
    ) == [(memberships, memberships)]
    roles = count(tmp_path, "SELECT count(role__name) FROM kantata_data.users")
    assert roles[0][0] > 0
    assert [r.query.get("on_my_account") for r in served.fake.requests if r.path == "users"] == [
        "true"
    ]
    assert served.token not in first.err

    assert main(args) == 0
    again = capfd.readouterr()
    line = summary_line(again.err, "workweek_memberships")
    assert f"        0 rows loaded  ({memberships} in the table" in line
    assert count(tmp_path, "SELECT count(*) FROM kantata_data.workweek_memberships") == [
        (memberships,)
    ]
    assert count(tmp_path, "SELECT count(*) FROM kantata_data.users") == [(users,)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["nope"], "invalid choice: 'nope'"),
        (["users", "roles", "--include", "role"], "say which resource, as RESOURCE:role"),
        (["users", "--include", "roles:users"], "'roles' is not among the resources loaded"),
        (["users", "--include", "users:nope"], "include: 'nope' is not valid here"),
        (["users", "--filter", "users:nope=1"], "--filter 'nope' is not a filter of users"),
        (["users", "--since", "yesterday"], "neither an ISO 8601 datetime"),
        (["users", "--to", "nosuch"], "'nosuch' is not a dlt destination"),
        (["users", "--to", "duckdb:///no/such/dir/x.duckdb"], "is not a directory"),
        (["users", "--dataset", "warehouse"], "must differ from the DuckDB file's name"),
        (["users", "--per-page", "500"], "from 1 to 200"),
    ],
)
def test_usage_errors_exit_2_before_any_request(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    assert main([*load_args(served, tmp_path), "--token", served.token, *extra]) == 2
    err = capfd.readouterr().err
    assert message in err
    assert served.token not in err
    assert served.fake.requests == []
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_no_token_exits_2(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main([*load_args(served, tmp_path), "users"]) == 2
    assert "no token: set KANTATA_TOKEN" in capfd.readouterr().err


def test_a_rejected_token_exits_1_and_is_not_printed(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    token = "tok-" + "7" * 20
    code = main([*load_args(served, tmp_path), "--token", token, "--max-retries", "0", "users"])
    err = capfd.readouterr().err
    assert code == 1
    assert "load: error: extract failed: 401 GET users" in err
    assert token not in err
    assert "Traceback" not in err


def test_a_password_in_the_destination_is_never_printed(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "pa55-w0rd-xyz"
    args = load_args(served, tmp_path, "users", "--token", served.token)
    args[args.index("--to") + 1] = f"postgresql://loader:{secret}@127.0.0.1:9/warehouse"
    code = main(args)
    err = capfd.readouterr().err
    assert code in (1, 2)  # no Postgres driver, or no Postgres there: either way, an error
    assert "postgresql://loader:***@127.0.0.1:9/warehouse" in err
    assert secret not in err


@pytest.mark.parametrize(
    ("sig", "status", "how"),
    [
        (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
        (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    ],
)
def test_a_signal_mid_load_commits_nothing_and_the_next_run_loads_all(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    sig: signal.Signals,
    status: int,
    how: str,
) -> None:
    env = {**os.environ, "KANTATA_TOKEN": served.token}
    args = load_args(served, tmp_path, "workweek_memberships", "--per-page", "5")
    with cli_held_after_page_one(served, args, env) as (proc, let_go):
        # Page 1 was answered, and page 2 is held by the server: the load is mid-way.
        deadline = time.monotonic() + 60
        while not any(r.query.get("page") == "2" for r in served.fake.requests):
            assert time.monotonic() < deadline, "the load never asked for page 2"
            time.sleep(0.05)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
        let_go()

    assert proc.returncode == status, stderr
    assert f"load {how}: nothing of this run was loaded" in stderr
    assert "Traceback" not in stderr
    assert served.token not in stdout + stderr
    served.fake.on_request = None

    assert main([*args, "--token", served.token]) == 0
    memberships = len(my_memberships(served.fake))
    assert f"{memberships} rows loaded" in summary_line(
        capfd.readouterr().err, "workweek_memberships"
    )
    assert count(tmp_path, "SELECT count(*) FROM kantata_data.workweek_memberships") == [
        (memberships,)
    ]
