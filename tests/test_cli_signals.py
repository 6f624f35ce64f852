"""The command line as a real process: Ctrl-C (130), SIGTERM (143), a reader that goes away."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from cli_helpers import assert_no_token, export_args
from threaded import Served, cli_held_after_page_one

from kantata_async.cli import main

pytestmark = pytest.mark.usefixtures("no_env_token")  # no token or base URL from the environment


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
