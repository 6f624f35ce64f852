"""The `kantata-async` command line: exports that succeed, whole and incremental (`--since`).

The command runs its own event loop (`asyncio.run`), so these tests are synchronous and the
fake server runs in a thread with a loop of its own.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import assert_no_token, export_args
from conftest import my_memberships
from threaded import Served

from kantata_async.cli import main

pytestmark = pytest.mark.usefixtures("no_env_token")  # no token or base URL from the environment


# -- success ---------------------------------------------------------------------------


def test_export_ndjson_with_the_token_from_the_environment(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", served.token)
    out = tmp_path / "users.ndjson"
    code = main(
        export_args(
            served,
            out,
            "--include",
            "account_membership.skill_memberships",
            "--include",
            "role",
            "--per-page",
            "25",
        )
    )

    captured = capfd.readouterr()
    assert code == 0, captured.err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in rows} == served.visible_users()
    assert len(rows) == len(served.visible_users())
    assert all(isinstance(r["account_membership"]["skill_memberships"], list) for r in rows)
    assert all("name" in r["role"] for r in rows)
    assert captured.out == ""  # the data goes to the file, the talk to stderr
    assert f"exported {len(rows)} users to {out}" in captured.err
    assert "count drift  0 (server reported" in captured.err
    assert "pages        3" in captured.err
    # Not a terminal: plain lines, no bar redraws.
    total = len(served.visible_users())
    assert f"kantata-async: users: 25/{total} records ({25 * 100 // total}%), 1 page," in (
        captured.err
    )
    assert "\r" not in captured.err
    assert_no_token(served.token, captured.out, captured.err, out.read_text(encoding="utf-8"))
    first = served.fake.requests[0]
    assert first.headers["authorization"] == f"Bearer {served.token}"
    assert first.query["include"] == "account_membership,role"


def test_export_csv_with_token_flag_and_typed_filters(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "users.csv"  # the format follows the extension
    code = main(
        export_args(
            served,
            out,
            "--token",
            served.token,
            "--filter",
            "by_full_name=an",
            "--filter",
            "show_disabled=TRUE",
            "--filter",
            "updated_after=2024-01-01T00:00:00Z",
            "--filter",
            "without_users=1,2",
            "--include",
            "role",
            "--progress",
            "none",
        )
    )
    captured = capfd.readouterr()
    assert code == 0, captured.err
    query = served.fake.requests[0].query
    assert query["by_full_name"] == "an"
    assert query["show_disabled"] == "true"
    assert query["updated_after"] == "2024-01-01T00:00:00+00:00"
    assert query["without_users"] == "1,2"
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows
    assert all("an" in r["full_name"].lower() for r in rows)
    assert not {"1", "2"} & {r["id"] for r in rows}
    assert all(r["role.name"] for r in rows)
    assert "kantata-async: users:" not in captured.err  # --progress none
    assert_no_token(served.token, captured.out, captured.err, out.read_text(encoding="utf-8"))


def test_export_to_stdout_keeps_stdout_for_the_data(
    served: Served, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", served.token)
    code = main(
        [
            "export",
            "workweek_memberships",
            "--base-url",
            served.url,
            "--out",
            "-",
            "--include",
            "workweek",
            "--filter",
            "user_ids=3,4",
        ]
    )
    captured = capfd.readouterr()
    assert code == 0, captured.err
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert rows
    assert {r["user_id"] for r in rows} == {"3", "4"}
    assert all("total_minutes" in r["workweek"] for r in rows)
    assert "to <stdout>" in captured.err


@pytest.mark.parametrize("flag", [None, "--no-csv-formula-guard", "--csv-formula-guard"])
def test_csv_formula_guard_flag(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str], flag: str | None
) -> None:
    user_id = sorted(served.visible_users(), key=int)[0]

    async def plant() -> None:
        served.fake.dataset.update("users", user_id, full_name="=1+1")

    asyncio.run_coroutine_threadsafe(plant(), served.loop).result(10)
    out = tmp_path / "users.csv"
    extra = [flag] if flag else []
    code = main(export_args(served, out, "--token", served.token, "--progress", "none", *extra))
    assert code == 0, capfd.readouterr().err
    with out.open(newline="", encoding="utf-8") as f:
        names = {row["id"]: row["full_name"] for row in csv.DictReader(f)}
    assert names[user_id] == ("=1+1" if flag == "--no-csv-formula-guard" else "'=1+1")


def test_fewer_records_than_reported_ends_with_a_warning_and_exit_0(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    served.fake.count_offset = 5  # the server promises 5 more than it lists
    total = len(served.visible_users())
    out = tmp_path / "users.ndjson"
    code = main(export_args(served, out, "--token", served.token, "--progress", "none"))
    err = capfd.readouterr().err
    assert code == 0, err
    assert f"count drift  -5 (server reported {total + 5})" in err
    assert err.splitlines()[-1].startswith(
        f"kantata-async: warning: the server reported {total + 5} users but {total} arrived "
        "(5 fewer): records may have been missed"
    )


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_the_token_from_a_file_or_stdin_is_used_and_never_printed(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    if source == "file":
        token_file = tmp_path / "token"
        token_file.write_text(served.token + "\n", encoding="utf-8")  # as `echo` writes it
        where = str(token_file)
    else:
        monkeypatch.setattr(sys, "stdin", io.StringIO(served.token + "\r\n"))
        where = "-"
    # A server that echoes the token in its error (a proxy's debug page, say): it is blanked
    # out (by the client, and again by the console) wherever the token came from.
    served.fake.fail_next(500, body={"errors": [{"message": f"bad {served.token}"}]})
    out = tmp_path / "users.ndjson"
    code = main(export_args(served, out, "--token-file", where, "--max-retries", "0"))
    err = capfd.readouterr().err
    assert code == 1
    assert served.fake.requests[0].headers["authorization"] == f"Bearer {served.token}"
    assert "500 GET users: bad [redacted]" in err
    assert_no_token(served.token, err)


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("", [], "--token-file {path}: the file is empty"),
        ("\n", [], "--token-file {path}: the file is empty"),
        ("one two\n", [], "--token-file {path}: the token must be one line without spaces"),
        ("tok\nmore\n", [], "--token-file {path}: the token must be one line without spaces"),
        ("tok-123456\n", ["--token", "tok-123456"], "--token and --token-file: give one"),
        (None, [], "--token-file {path}: cannot read it: [Errno 2] No such file or directory"),
    ],
)
def test_a_bad_token_file_is_a_usage_error(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    content: str | None,
    extra: list[str],
    message: str,
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    out = tmp_path / "users.ndjson"
    code = main(export_args(served, out, "--token-file", str(path), *extra))
    err = capfd.readouterr().err
    assert code == 2
    assert message.format(path=path) in err
    assert served.fake.requests == []
    assert_no_token("tok-123456", err)


# -- incremental: --since and --watermark-out ---------------------------------------------


def _wm_args(served: Served, out: Path, *extra: str) -> list[str]:
    return [
        "export",
        "workweek_memberships",
        "--base-url",
        served.url,
        "--token",
        served.token,
        "--out",
        str(out),
        *extra,
    ]


def test_since_and_watermark_out_export_only_what_changed(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    first = tmp_path / "first.ndjson"
    code = main(
        _wm_args(served, first, "--since", "2000-01-01T00:00:00Z", "--watermark-out", str(state))
    )
    err = capfd.readouterr().err
    assert code == 0, err
    assert "watermark" in err
    every = my_memberships(served.fake)
    assert len(first.read_text().splitlines()) == len(every)
    assert state.is_file()

    # Nothing changed: the next run, from the saved watermark, writes nothing.
    second = tmp_path / "second.ndjson"
    assert main(_wm_args(served, second, "--since", str(state), "--watermark-out", str(state))) == 0
    assert second.read_text() == ""
    # The overlap window came again, delivered before: skipped, which is neither drift nor
    # a warning.
    err = capfd.readouterr().err
    assert "records      0 written, " in err
    assert " unchanged since the watermark (skipped)" in err
    assert "count drift  0 (" in err
    assert "warning" not in err

    # One membership changes: exactly that one comes.
    changed = next(iter(every))

    async def change() -> None:
        served.fake.dataset.update("workweek_memberships", changed, end_date="2031-01-04")

    asyncio.run_coroutine_threadsafe(change(), served.loop).result(10)
    third = tmp_path / "third.ndjson"
    assert main(_wm_args(served, third, "--since", str(state))) == 0
    rows = [json.loads(line) for line in third.read_text().splitlines()]
    assert [r["id"] for r in rows] == [changed]
    assert rows[0]["end_date"] == "2031-01-04"
    query = served.fake.requests[-1].query
    assert "updated_after" in query


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("2026-01-01T00:00:00", "needs an offset"),
        ("yesterday", "neither an ISO 8601 datetime nor a watermark file"),
    ],
)
def test_bad_since_is_a_usage_error(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str], since: str, message: str
) -> None:
    code = main(_wm_args(served, tmp_path / "x.ndjson", "--since", since))
    assert code == 2
    assert message in capfd.readouterr().err


def test_watermark_out_needs_since(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = main(_wm_args(served, tmp_path / "x.ndjson", "--watermark-out", str(tmp_path / "s")))
    assert code == 2
    assert "--watermark-out needs --since" in capfd.readouterr().err


def test_any_collection_exports_with_nested_includes_and_typed_filters(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    entries = served.fake.dataset.records["time_entries"]
    workspace = Counter(str(e["workspace_id"]) for e in entries.values()).most_common(1)[0][0]
    in_workspace = {i for i, e in entries.items() if str(e["workspace_id"]) == workspace}
    for out in (tmp_path / "entries.ndjson", tmp_path / "entries.csv"):
        args = ["export", "time_entries", "--base-url", served.url, "--out", str(out)]
        args += ["--token", served.token, "--include", "story.workspace"]
        code = main([*args, "--filter", f"workspace_id={workspace}", "--progress", "none"])
        captured = capfd.readouterr()
        assert code == 0, captured.err
        assert "count drift  0" in captured.err
        text = out.read_text(encoding="utf-8")
        if out.suffix == ".csv":
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
            assert {"story.title", "story.workspace.title"} <= set(rows[0])
            stories = [r for r in rows if r["story.id"]]
            assert all(r["story.workspace.id"] == workspace for r in stories)
        else:
            rows = [json.loads(line) for line in text.splitlines()]
            stories = [r["story"] for r in rows if r["story"] is not None]
            assert all(s["workspace"]["id"] == workspace for s in stories)
        assert stories  # the nested level arrived, linked to the entry's own workspace
        assert {r["id"] for r in rows} <= in_workspace
        assert len(rows) == len({r["id"] for r in rows}) > 0
        assert all(str(r["workspace_id"]) == workspace for r in rows)
    query = served.fake.requests[0].query
    assert query["workspace_id"] == workspace
    assert query["include"] == "story"
