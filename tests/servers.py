"""Tiny local servers for what FakeKantata cannot do: malformed HTTP, redirects, echoes, bombs.

`RawServer` speaks raw bytes over `asyncio.start_server`, so it can send anything (a bad
status line, a NUL in a header, broken chunking). `AppServer` runs an aiohttp application on
loopback and records each request it gets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

Answer = bytes | Callable[[bytes], bytes]


class RawServer:
    """Answers every request with `answer` (bytes, or a function of the request head).

    Connections are kept alive until the server closes, so a client may reuse them. `heads`
    holds each request's head (request line and headers) in arrival order.
    """

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.heads: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, path: str = "/api/v1/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        """`METHOD /path` of each request received."""
        return [" ".join(h.split(b"\r\n", 1)[0].decode().split(" ")[:2]) for h in self.heads]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                self.heads.append(head)
                answer = self.answer(head) if callable(self.answer) else self.answer
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        # Closing the writers ends each handler's read with EOF; wait for them to finish.
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        with contextlib.suppress(Exception):
            await self._server.wait_closed()


def response(status: str = "200 OK", body: bytes = b"{}", headers: tuple[bytes, ...] = ()) -> bytes:
    """A well-formed HTTP/1.1 response with a JSON body (extra header lines as given)."""
    lines = [
        b"HTTP/1.1 " + status.encode(),
        b"Content-Type: application/json",
        b"Content-Length: " + str(len(body)).encode(),
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class AppServer:
    """An aiohttp application on loopback; `seen` records `(method, path, headers)`."""

    def __init__(self, app: web.Application) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []

        @web.middleware
        async def record(request: web.Request, handler: Callable[..., object]) -> object:
            self.seen.append((request.method, request.path, dict(request.headers)))
            return await handler(request)  # type: ignore[misc]

        app.middlewares.append(record)
        self._runner = web.AppRunner(app)

    @property
    def port(self) -> int:
        return int(self._runner.addresses[0][1])

    def url(self, path: str = "/api/v1/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.seen]

    async def __aenter__(self) -> AppServer:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._runner.cleanup()
