"""The command line's rendering: the progress bar, plain progress lines, the closing summary."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from kantata_async.cli import ProgressDisplay, format_summary
from kantata_async.export import ExportProgress, ExportSummary

pytestmark = pytest.mark.usefixtures("no_env_token")  # no token or base URL from the environment


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
