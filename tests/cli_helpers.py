"""What the command line tests share: the arguments of an export, a check that no token leaked."""

from __future__ import annotations

from pathlib import Path

from threaded import Served


def export_args(served: Served, out: Path, *extra: str) -> list[str]:
    return ["export", "users", "--base-url", served.url, "--out", str(out), *extra]


def assert_no_token(token: str, *texts: str) -> None:
    for text in texts:
        assert token not in text
