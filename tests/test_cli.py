"""The `kantata-async` command line, in process and as `python -m kantata_async`.

The command runs its own event loop (`asyncio.run`), so these tests are synchronous and the
fake server runs in a thread with a loop of its own.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import signal
import socket
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import my_memberships
from threaded import Served, cli_held_after_page_one

from kantata_async.cli import ProgressDisplay, UsageError, format_summary, main, parse_filters
from kantata_async.export import ExportProgress, ExportSummary
from kantata_async.testing import RecordedRequest


@pytest.fixture(autouse=True)
def no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    monkeypatch.delenv("KANTATA_BASE_URL", raising=False)


def export_args(served: Served, out: Path, *extra: str) -> list[str]:
    return ["export", "users", "--base-url", served.url, "--out", str(out), *extra]


def assert_no_token(token: str, *texts: str) -> None:
    for text in texts:
        assert token not in text


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


# -- usage errors (2) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("colour=red", "--filter 'colour' is not a filter of users; valid filters: account_id,"),
        ("show_disabled=yes", "--filter show_disabled: expected true or false, got 'yes'"),
        ("with_users=1,x", "--filter with_users: each value must be a Kantata id"),
        ("with_users=1,,2", "--filter with_users: expected comma-separated values"),
        ("updated_after=2024-01-01T09:00", "--filter updated_after: '2024-01-01T09:00' has no "),
        ("created_before=yesterday", "--filter created_before: expected an ISO 8601 datetime"),
        ("account_id=", "--filter account_id: needs a value (id)"),
        ("on_my_account", "--filter 'on_my_account': expected KEY=VALUE"),
    ],
)
def test_bad_filters_exit_2_before_any_request(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    spec: str,
    message: str,
) -> None:
    code = main(
        export_args(served, tmp_path / "x.ndjson", "--token", served.token, "--filter", spec)
    )
    captured = capfd.readouterr()
    assert code == 2
    assert message in captured.err
    assert served.fake.requests == []
    assert not (tmp_path / "x.ndjson").exists()
    assert_no_token(served.token, captured.err)


def test_filters_are_read_by_their_kind() -> None:
    filters = parse_filters(
        "workweek_memberships",
        ["effective_date=2024-03-03", "participating_with=false", "user_ids= 7, 8"],
    )
    assert filters == {
        "effective_date": date(2024, 3, 3),
        "participating_with": False,
        "user_ids": ["7", "8"],
    }
    with pytest.raises(UsageError, match="given twice"):
        parse_filters("users", ["search=a", "search=b"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["--concurrency", "0"], "argument --concurrency: must be >= 1, got 0"),
        (["--first-window", "9"], "first_window must be from 1 to the concurrency (8)"),
        (["--per-page", "500"], "argument --per-page: must be from 1 to 200, got 500"),
        (["--include", "role.nope"], "include: 'role.nope' is not valid here; choose from:"),
        (
            ["--filter", "account_id=1", "--filter", "on_my_account=true"],
            "account_id cannot be combined with on_my_account",
        ),
    ],
)
def test_usage_errors_exit_2(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code = main(export_args(served, tmp_path / "x.ndjson", "--token", served.token, *args))
    captured = capfd.readouterr()
    assert code == 2
    assert message in captured.err
    assert served.fake.requests == []
    assert_no_token(served.token, captured.err)


def test_a_token_argparse_would_echo_is_blanked(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cret-token-value"
    code = main(["export", "users", "--out", str(tmp_path / "x"), "--token", secret, secret])
    captured = capfd.readouterr()
    assert code == 2
    assert "unrecognized arguments: ***" in captured.err
    assert_no_token(secret, captured.out, captured.err)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/users.ndjson", "the directory {parent} does not exist"),
        ("a-file/users.ndjson", "{parent} is not a directory"),
        ("a-dir", "{out} is a directory"),
    ],
)
def test_an_output_that_cannot_be_written_exits_2_before_any_request(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str], where: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory\n", encoding="utf-8")
    (tmp_path / "a-dir").mkdir()
    out = tmp_path / where
    code = main(export_args(served, out, "--token", served.token))
    err = capfd.readouterr().err
    assert code == 2
    expected = message.format(parent=out.parent, out=out)
    assert err == f"kantata-async export: error: --out {out}: {expected}\n"
    assert served.fake.requests == []


def test_no_token_exits_2(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "users", "--out", str(tmp_path / "x.ndjson")])
    assert code == 2
    assert "no token: set KANTATA_TOKEN" in capfd.readouterr().err


def test_plain_http_to_another_host_needs_the_flag(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", "tok-123456")
    args = ["export", "users", "--base-url", "http://kantata.example/api/v1/"]
    code = main([*args, "--out", str(tmp_path / "x.ndjson")])
    captured = capfd.readouterr()
    assert code == 2
    assert "plain http to a non-loopback host" in captured.err
    assert "pass --allow-insecure-http" in captured.err
    assert_no_token("tok-123456", captured.err)


def test_help_exits_0(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--help"]) == 0
    out = " ".join(capfd.readouterr().out.split())
    assert "--allow-insecure-http" in out
    assert "--token-file PATH" in out
    assert "prefer $KANTATA_TOKEN or --token-file" in out
    assert "filters of users: account_id (id)" in out
    assert "updated_after (ISO 8601 with offset or Z)" in out


# -- API errors (1) ----------------------------------------------------------------------


def test_a_server_error_exits_1_and_says_how_far_it_got(
    served: Served,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", served.token)
    fake = served.fake

    def fail_later(request: RecordedRequest) -> None:
        if request.query.get("page") == "2":
            fake.fail_next(500, path="users")

    fake.on_request = fail_later
    out = tmp_path / "users.ndjson"
    out.write_text('{"id": "the previous export"}\n', encoding="utf-8")
    code = main(export_args(served, out, "--per-page", "10", "--concurrency", "1"))
    captured = capfd.readouterr()
    assert code == 1
    assert out.read_text(encoding="utf-8") == '{"id": "the previous export"}\n'
    partial = tmp_path / "users.ndjson.partial"
    lines = partial.read_text(encoding="utf-8").splitlines()
    assert lines and len(lines) % 10 == 0
    assert all(json.loads(line)["id"] for line in lines)
    assert (
        f"export failed after {len(lines)} of {len(served.visible_users())} users (incomplete): "
        f"{out} is left unchanged; "
        f"the {len(lines)} rows written (each whole) are in {partial}"
    ) in captured.err
    assert f"  partial      {partial} ({len(lines)} rows)" in captured.err
    assert "kantata-async export: error: 500 GET users: Internal Server Error" in captured.err
    assert_no_token(served.token, captured.out, captured.err)


def test_a_record_the_sdk_cannot_write_exits_1_with_a_summary(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    user_id = sorted(served.visible_users(), key=int)[0]

    async def plant() -> None:
        served.fake.dataset.update("users", user_id, **{"": "a field without a name"})

    asyncio.run_coroutine_threadsafe(plant(), served.loop).result(10)
    out = tmp_path / "users.ndjson"
    code = main(export_args(served, out, "--token", served.token, "--progress", "none"))
    err = capfd.readouterr().err
    assert "Traceback" not in err
    if code == 0:  # the SDK learnt to write it: then it must be there, whole
        assert user_id in {json.loads(line)["id"] for line in out.read_text().splitlines()}
        return
    assert code == 1
    assert "kantata-async: export failed after " in err
    assert "records      " in err
    last = err.splitlines()[-1]
    assert last.startswith("kantata-async export: error: IndexError: "), last


def test_a_rejected_token_exits_1_without_echoing_it(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    wrong = "wrong-token-0123456789"
    code = main(export_args(served, tmp_path / "x.ndjson", "--token", wrong))
    captured = capfd.readouterr()
    assert code == 1
    assert "401 GET users: Invalid OAuth 2 Request" in captured.err
    assert "export failed after 0 users (incomplete)" in captured.err
    assert_no_token(wrong, captured.out, captured.err)


def test_an_unreachable_server_exits_1(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", "tok-abcdef")
    # A port nothing listens on: bind one, then close it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1/"
    code = main(
        ["export", "users", "--base-url", url, "--max-retries", "0", "--out", str(tmp_path / "x")]
    )
    captured = capfd.readouterr()
    assert code == 1
    assert "GET users: cannot connect" in captured.err
    assert_no_token("tok-abcdef", captured.err)


# -- Ctrl-C (130) and SIGTERM (143), as a real process ----------------------------------------


@pytest.mark.parametrize(
    ("sig", "status", "how"),
    [
        (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
        (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    ],
)
def test_a_signal_mid_export_ends_with_whole_lines_and_a_summary(
    served: Served, tmp_path: Path, sig: signal.Signals, status: int, how: str
) -> None:
    out = tmp_path / "users.ndjson"
    out.write_text("the previous export\n", encoding="utf-8")
    env = {**os.environ, "KANTATA_TOKEN": served.token}
    args = export_args(served, out, "--per-page", "5", "--progress", "plain")
    with cli_held_after_page_one(served, args, env) as (proc, _):
        assert proc.stderr is not None
        # The progress line comes once the first page is written and flushed.
        first = proc.stderr.readline()
        assert f"users: 5/{len(served.visible_users())} records" in first, first
        proc.send_signal(sig)
        stdout, rest = proc.communicate(timeout=20)
    stderr = first + rest

    assert proc.returncode == status, stderr
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    partial = tmp_path / "users.ndjson.partial"
    text = partial.read_text(encoding="utf-8")
    assert text.endswith("\n")
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 5
    total = len(served.visible_users())
    assert f"export {how} after 5 of {total} users (incomplete): {out} is left unchanged" in stderr
    assert "records      5 written" in stderr
    assert "Traceback" not in stderr
    assert_no_token(served.token, stdout, stderr, text)


@pytest.mark.parametrize("buffered", [True, False])
def test_a_reader_that_goes_away_ends_the_export_quietly(served: Served, buffered: bool) -> None:
    """`kantata-async export users --out - | head -1`: no summary, no traceback, exit 141.

    Buffered, stdout still holds rows when the export stops, which Python flushes (and
    fails to) on its way out; unbuffered, the pipe breaks on the row after the first."""
    env = {**os.environ, "KANTATA_TOKEN": served.token}
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    args = ["export", "users", "--base-url", served.url, "--out", "-", "--per-page", "5"]
    with cli_held_after_page_one(served, args, env) as (proc, release):
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # what `head -1` does once it has its line
        release()  # the next pages meet a closed pipe
        stderr = proc.stderr.read()
        proc.wait(timeout=20)

    assert json.loads(first)["id"]
    assert proc.returncode == 141, stderr
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    assert "Broken pipe" not in stderr
    assert "export failed" not in stderr and "error" not in stderr
    assert_no_token(served.token, stderr)


def test_main_puts_back_the_sigterm_handler_it_found(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    before = signal.signal(signal.SIGTERM, mine)
    try:
        code = main(export_args(served, tmp_path / "users.ndjson", "--token", served.token))
        assert code == 0, capfd.readouterr().err
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)


# -- rendering ---------------------------------------------------------------------------


def progress(records: int, pages: int, reported: int | None = 300) -> ExportProgress:
    return ExportProgress(
        records=records,
        pages=pages,
        requests=pages * 2,
        retries=1,
        duplicates=0,
        elapsed=2.0,
        reported_count=reported,
    )


def test_the_bar_redraws_one_line() -> None:
    stream = io.StringIO()
    bar = ProgressDisplay(stream, "bar", "users", columns=lambda: 100)
    bar.update(progress(60, 3))
    bar.update(progress(150, 5))
    bar.finish()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 2
    assert frames[0].startswith("users [######........................]  20%  60/300 records")
    assert frames[1].startswith("users [###############...............]  50%  150/300 records")
    assert "5 pages  75/s  1 retry" in frames[1]
    assert all(len(f.removesuffix("\n").removesuffix("\x1b[K")) < 100 for f in frames)
    assert stream.getvalue().endswith("\x1b[K\n")


def test_the_bar_fits_a_narrow_terminal_and_an_unknown_count() -> None:
    stream = io.StringIO()
    bar = ProgressDisplay(stream, "bar", "users", columns=lambda: 40)
    bar.update(progress(60, 3, reported=None))
    frame = stream.getvalue().removeprefix("\r").removesuffix("\x1b[K")
    assert len(frame) == 39
    assert "60/? records" in frame


def test_plain_lines_come_at_most_every_interval() -> None:
    stream = io.StringIO()
    now = [0.0]
    plain = ProgressDisplay(stream, "plain", "users", interval=2.0, clock=lambda: now[0])
    for step in range(10):
        now[0] = step * 0.5  # a page every half second
        plain.update(progress(30 * (step + 1), step + 1))
    plain.finish()
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 2)[2].split(" records")[0] for line in lines] == [
        "30/300",
        "150/300",
        "270/300",
    ]
    assert lines[0] == ("kantata-async: users: 30/300 records (10%), 1 page, 15/s, 1 retry, 2.0 s")


def test_records_skipped_as_delivered_before_count_as_done() -> None:
    skipping = dataclasses.replace(progress(0, 1), skipped=30)
    plain = ProgressDisplay(io.StringIO(), "plain", "users")
    assert plain.line(skipping).startswith("30/300 records (10%; 30 unchanged, skipped), 1 page")
    stream = io.StringIO()
    ProgressDisplay(stream, "bar", "users", columns=lambda: 100).update(skipping)
    assert "[###...........................]  10%  30/300 records" in stream.getvalue()


def test_the_summary_says_what_happened() -> None:
    summary = ExportSummary(
        resource="users",
        format="csv",
        output=Path("/data/users.csv"),
        records=1200,
        pages=6,
        requests=12,
        retries=2,
        duplicates=1,
        reported_count=1250,
        count_drift=-50,
        elapsed=3.0,
        complete=False,
    )
    text = format_summary(summary, "interrupted (Ctrl-C)")
    assert text.splitlines() == [
        "kantata-async: export interrupted (Ctrl-C) after 1,200 of 1,250 users (incomplete): "
        "/data/users.csv holds the 1,200 rows written, each whole",
        "  records      1,200 written, 1 duplicates skipped",
        "  pages        6",
        "  requests     12 (2 retries)",
        "  count drift  -50 (server reported 1,250)",
        "  elapsed      3.0 s (400 records/s)",
        "  output       /data/users.csv (csv)",
    ]


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
