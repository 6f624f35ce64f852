"""The command line's usage errors (exit 2) and API errors (exit 1); neither echoes the token."""

from __future__ import annotations

import json
import socket
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_no_token, export_args
from threaded import Served

from kantata_async import _json
from kantata_async.cli import UsageError, main, parse_filters
from kantata_async.testing import RecordedRequest

pytestmark = pytest.mark.usefixtures("no_env_token")  # no token or base URL from the environment


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


def test_a_watermark_file_that_cannot_be_written_exits_2_before_any_request(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    mark = tmp_path / "missing" / "mark.json"
    args = export_args(served, tmp_path / "out.ndjson", "--token", served.token)
    code = main([*args, "--since", "2026-01-01T00:00:00Z", "--watermark-out", str(mark)])
    err = capfd.readouterr().err
    assert code == 2
    assert f"--watermark-out {mark}: the directory {mark.parent} does not exist" in err
    assert served.fake.requests == []
    assert not (tmp_path / "out.ndjson").exists()


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
    # The one thing an export cannot write: JSON nested past what orjson encodes (255
    # levels; it decodes 1,024). The server answers page 1 with such a record.
    deep: Any = "bottom"
    for _ in range(600):
        deep = [deep]
    meta = {"count": 1, "page_count": 1, "page_number": 1, "page_size": 200}
    page = {
        "count": 1,
        "meta": meta,
        "results": [{"key": "users", "id": "1"}],
        "users": {"1": {"id": "1", "full_name": "Ann", "bio": deep}},
    }
    body = json.dumps(page).encode()
    json_type = "application/json; charset=utf-8"
    served.call(lambda: served.fake.fail_next(200, path="users", body=body, content_type=json_type))
    out = tmp_path / "users.ndjson"
    code = main(export_args(served, out, "--token", served.token, "--progress", "none"))
    err = capfd.readouterr().err
    assert "Traceback" not in err
    if not hasattr(_json, "orjson"):  # the standard library writes it: then it is there
        assert code == 0
        assert json.loads(out.read_text())["bio"] == deep
        return
    assert code == 1
    assert "kantata-async: export failed after 0 of 1 users (incomplete)" in err
    assert "users.ndjson.partial (0 rows)" in err  # where the rows written so far are
    last = err.splitlines()[-1]
    assert last == "kantata-async export: error: TypeError: Recursion limit reached", last
    assert not out.exists()


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
