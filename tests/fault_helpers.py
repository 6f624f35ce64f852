"""What the fault tests share: recording retry policies, row readers, probes, a lossy TCP proxy."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from conftest import visible
from yarl import URL

from kantata_async import Failure, RetryPolicy
from kantata_async.export import ExportSummary
from kantata_async.testing import FakeKantata, RecordedRequest


def fast_policy(max_retries: int = 10) -> RetryPolicy:
    return RetryPolicy.instant(max_retries=max_retries)


@attrs.frozen(kw_only=True)
class RecordingPolicy(RetryPolicy):
    """A fast policy that notes what each failed attempt looked like to the retry logic."""

    seen: list[tuple[int | None, Failure | None, float | None]] = attrs.field(
        factory=list, eq=False
    )

    def delay(self, **kwargs: Any) -> float | None:
        self.seen.append((kwargs.get("status"), kwargs.get("failure"), kwargs.get("retry_after")))
        return super().delay(**kwargs)


def recording_policy(max_retries: int = 10) -> RecordingPolicy:
    return RecordingPolicy(max_retries=max_retries, backoff_base=0.001, backoff_max=0.005)


def partial_rows(out: Path, summary: ExportSummary) -> Path:
    """Where an incomplete export to `out` left its rows: beside `out`, which it never made."""
    assert not out.exists(), "an incomplete export took the target's name"
    assert summary.partial == out.with_name(out.name + ".partial")
    assert summary.partial.is_file()
    return summary.partial


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The NDJSON rows of `path`; fails on any partial or unparsable line."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    assert text == "" or text.endswith("\n"), "the file ends in a partial line"
    rows = []
    for line in text.splitlines():
        row = json.loads(line)
        assert isinstance(row, dict) and isinstance(row.get("id"), str), line[:80]
        rows.append(row)
    return rows


def alphabetical(fake: FakeKantata) -> list[str]:
    """Visible user ids in the server's default order (full name ignoring case, then id)."""
    users = [fake.dataset.records["users"][i] for i in visible(fake)]
    users.sort(key=lambda u: (u["full_name"].casefold(), int(u["id"])))
    return [u["id"] for u in users]


def page_of(request: RecordedRequest) -> int | None:
    if request.method != "GET" or request.path != "users":
        return None
    return int(request.query.get("page", "1"))


def statuses(fake: FakeKantata) -> Counter[int | None]:
    return Counter(r.status for r in fake.requests)


async def wait_for(condition: Callable[[], bool], task: asyncio.Task[Any]) -> None:
    """Let the loop run until `condition()` holds; fail if `task` ends first."""
    while not condition():
        assert not task.done(), f"the task ended first: {task}"
        await asyncio.sleep(0.002)


# -- a TCP proxy that loses or cuts answers ------------------------------------------------

Plan = Callable[[str, URL], str]  # (method, target) -> "pass" | "lose" | "cut"


def _content_length(head: bytes) -> int:
    found = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    return int(found[1]) if found else 0


class LossyProxy:
    """Forwards each request to the fake server on its own connection, waits for the whole
    answer (so the server has carried the request out), then, as `plan` says:

    - "pass": forwards the answer (with `Connection: close`) and closes;
    - "lose": closes the client's connection without a byte of the answer;
    - "cut": forwards the headers and half of the body, then closes.
    """

    def __init__(self, fake: FakeKantata, plan: Plan) -> None:
        self._upstream = ("127.0.0.1", fake.port)
        self._plan = plan
        self._server: asyncio.Server | None = None
        self.seen: list[tuple[str, str, str]] = []  # (method, target, what was done)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v1/"

    async def __aenter__(self) -> LossyProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.readexactly(_content_length(head))
            method, target, _ = head.split(b"\r\n", 1)[0].decode("ascii").split(" ")
            action = self._plan(method, URL(target))
            self.seen.append((method, target, action))
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            try:
                up_writer.write(head + body)
                await up_writer.drain()
                answer_head = await up_reader.readuntil(b"\r\n\r\n")
                answer_body = await up_reader.readexactly(_content_length(answer_head))
            finally:
                up_writer.close()
                with contextlib.suppress(ConnectionError):
                    await up_writer.wait_closed()
            if action == "pass":
                lines = [
                    line
                    for line in answer_head[:-4].split(b"\r\n")
                    if not line.lower().startswith(b"connection:")
                ]
                writer.write(b"\r\n".join([*lines, b"Connection: close", b"", b""]) + answer_body)
            elif action == "cut":
                writer.write(answer_head + answer_body[: len(answer_body) // 2])
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
