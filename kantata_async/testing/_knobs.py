"""The fault knobs of `FakeKantata`: scripted failures, dropped connections, garbled bodies.

`FaultKnobs` is the part of `FakeKantata` that queues faults (`fail_next`, `drop_next`,
`malformed_next`), draws random ones (`random_faults`) and hands the request pipeline the
fault a request meets (`_take_script`).
"""

from __future__ import annotations

import random

from ._faults import MALFORMED_KINDS, FaultBody, MalformedKind, RandomFaults, Script, normalize_path

__all__ = ["FaultKnobs"]


class FaultKnobs:
    """Fault scripting for `FakeKantata` (a mixin: the server holds the queues)."""

    _scripts: list[Script]
    _random: RandomFaults | None

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: int | str | None = None,
        path: str | None = None,
        method: str | None = None,
        body: FaultBody | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` instead of serving them.

        `path` limits it to requests under that path, matched on whole segments ("users"
        matches "users", "users/7" and "users/7/capacity"; a leading "/api/v1/" and a
        ".json" are ignored); `method` to one method. `retry_after` (seconds as an int, or an
        HTTP-date string) is sent as the `Retry-After` header. The default body is the API's
        error JSON for the status (type `oauth` for 401, `validation` for 422, `system`
        otherwise), except 502 and 504, which get the HTML page a proxy would send. `body`
        replaces it: a dict or list is sent as JSON, a str as text/html (when it starts with
        "<") or text/plain, bytes as given; `content_type` overrides the type. The request
        is not served: a failed write changes nothing.

            fake.fail_next(429, retry_after=2)             # one 429, then normal service
            fake.fail_next(503, times=3, path="users")     # three 503s for user routes
        """
        if not 200 <= status <= 599:
            raise ValueError(f"status must be a final HTTP status (200-599), got {status}")
        self._queue(
            Script(
                "fail",
                times,
                path=self._script_path(path),
                method=method.upper() if method else None,
                status=status,
                retry_after=retry_after,
                body=body,
                content_type=content_type,
            )
        )

    def drop_next(
        self,
        times: int = 1,
        *,
        path: str | None = None,
        method: str | None = None,
        after_request: bool = True,
    ) -> None:
        """Close the connection of the next `times` matching requests without an answer.

        With `after_request=True` (the default) the body is read first, so a write's body
        is recorded, and then the connection closes: the client sees the server disconnect
        (aiohttp raises `ServerDisconnectedError`) and cannot know whether the request was
        processed (it was not). With `after_request=False` the connection closes as soon as
        the request line and headers arrive. `path` and `method` match as in `fail_next`.

        Note that aiohttp's client retries an idempotent request (GET, PUT, DELETE, ...) once
        by itself when the server disconnects: to make such a request fail in an aiohttp
        client, drop it twice (`times=2`). POST is not retried.
        """
        self._queue(
            Script(
                "drop",
                times,
                path=self._script_path(path),
                method=method.upper() if method else None,
                after_request=after_request,
            )
        )

    def malformed_next(
        self,
        kind: MalformedKind,
        times: int = 1,
        *,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Serve the next `times` matching requests, then garble the answer.

        The request is handled normally (a write is applied); only the response changes:

        - "json": status 200, `application/json`, a body that is not valid JSON.
        - "truncated": the real status and body cut to its first half, with a
          `Content-Length` that matches the bytes sent (the JSON is incomplete, the HTTP
          message is not).
        - "html": status 200, `text/html`, a maintenance page.
        """
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {sorted(MALFORMED_KINDS)}, got {kind!r}")
        self._queue(
            Script(
                "malformed",
                times,
                path=self._script_path(path),
                method=method.upper() if method else None,
                kind=kind,
            )
        )

    def random_faults(
        self,
        rate_429: float = 0.0,
        rate_503: float = 0.0,
        rate_drop: float = 0.0,
        retry_after: int | str | None = None,
        seed: int = 0,
    ) -> None:
        """Fault each request independently: 429, 503 or a dropped connection.

        One draw per request from `random.Random(seed)` decides, so the same sequence of
        requests meets the same faults. `retry_after` goes on the 429s and 503s as in
        `fail_next`. Scripted faults take precedence. `random_faults()` turns them off.
        """
        rates = (rate_429, rate_503, rate_drop)
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0:
            raise ValueError(f"rates must be within 0..1 and sum to at most 1, got {rates}")
        if sum(rates) == 0:
            self._random = None
            return
        self._random = RandomFaults(rate_429, rate_503, rate_drop, retry_after, random.Random(seed))

    def clear_faults(self) -> None:
        """Forget every scripted fault still queued and turn random faults off."""
        self._scripts.clear()
        self._random = None

    @property
    def pending_faults(self) -> int:
        """How many scripted faults (counting `times`) have not met their request yet."""
        return sum(s.remaining for s in self._scripts)

    @staticmethod
    def _script_path(path: str | None) -> str | None:
        return None if path is None else normalize_path(path)

    def _queue(self, script: Script) -> None:
        if script.remaining < 1:
            raise ValueError(f"times must be >= 1, got {script.remaining}")
        self._scripts.append(script)

    def _take_script(self, method: str, path: str) -> Script | None:
        for index, script in enumerate(self._scripts):
            if script.matches(method, path):
                script.remaining -= 1
                if script.remaining == 0:
                    del self._scripts[index]
                return script
        return None
