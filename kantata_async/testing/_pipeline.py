"""The life of one request in the fake server: record it, fault it, route it, answer it.

`RequestPipeline` is the part of `FakeKantata` that handles a request: the body is read and
recorded, the latency and `on_request` run, a scripted or random fault may take over, then
the request is routed (OAuth at the root, the API under `/api/v1/`), authenticated and
handed to its handler. Any `ApiError` becomes Kantata's error answer; anything else is
logged and answered 500, which no request a client can send should reach.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from ._faults import RandomFaults, Script, normalize_path
from ._handlers import JSON_MEDIA_TYPES, Call, Handlers
from ._oauth import OAuthProvider, OAuthReply
from ._recording import FormValue, RecordedRequest
from ._responses import JSON_TYPE, error_response, failure_response, garble
from ._routing import API_PREFIX, no_route, resolve
from ._wire import ApiError, dumps, nest_params, parse_form, parse_multipart

__all__ = ["OAUTH_PATHS", "RequestPipeline"]

logger = logging.getLogger("kantata_async.testing")

_OAUTH_AUTHORIZE = "/oauth/authorize"
_OAUTH_TOKEN = "/oauth/token"
OAUTH_PATHS = frozenset({_OAUTH_AUTHORIZE, _OAUTH_TOKEN})


class RequestPipeline:
    """Request handling for `FakeKantata` (a mixin: the server holds the state it reads)."""

    token: str
    requests: list[RecordedRequest]
    on_request: Callable[[RecordedRequest], object] | None
    oauth_client_id: str
    oauth_client_secret: str
    oauth_redirect_uri: str | None
    oauth_deny_next: bool
    oauth_clock: Callable[[], float]
    _latency: float
    _random: RandomFaults | None
    _oauth: OAuthProvider
    _handlers: Handlers

    def _take_script(self, method: str, path: str) -> Script | None:
        raise NotImplementedError  # the fault knobs provide it

    def _rate_limited(self, now: float) -> Script | None:
        raise NotImplementedError  # the rate-limit knob provides it

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = asyncio.get_running_loop().time()
        raw_path = request.path
        path = normalize_path(raw_path) if raw_path.startswith(API_PREFIX) else raw_path
        # A repeated key keeps its last value, as in Rails (dict(query) would keep the first).
        query = {k: v for k, v in request.query.items()}
        headers = {k.lower(): v for k, v in request.headers.items()}
        # Scripts name paths relative to the API; the OAuth routes sit outside it.
        script_path = path.lstrip("/") if path in OAUTH_PATHS else path
        script = self._rate_limited(arrived) or self._take_script(request.method, script_path)

        if script is not None and script.action == "drop" and not script.after_request:
            self._record(request, path, query, headers, b"", None, None, arrived)
            await self._pause(None)
            return _drop(request)

        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            record = self._record(request, path, query, headers, b"", None, None, arrived)
            error = ApiError.system(413, "Request body too large")
            return self._finish(record, error_response(error))
        parsed, form = _parse_body(request, body)
        record = self._record(request, path, query, headers, body, parsed, form, arrived)
        await self._pause(record)

        if script is None and self._random is not None:
            script = self._random.draw()
        if script is not None and script.action == "drop":
            return _drop(request)
        if script is not None and script.action == "fail":
            return self._finish(record, failure_response(script))

        try:
            response = self._respond(request, path, headers, body, parsed, form)
        except ApiError as error:
            response = error_response(error)
        except Exception:
            logger.exception("FakeKantata failed on %s %s", request.method, raw_path)
            response = error_response(ApiError.system(500, "Internal server error"))
        if script is not None and script.action == "malformed":
            response = garble(script.kind, response)
        return self._finish(record, response)

    async def _pause(self, record: RecordedRequest | None) -> None:
        if self._latency > 0:
            await asyncio.sleep(self._latency)
        if record is not None and self.on_request is not None:
            result = self.on_request(record)
            if inspect.isawaitable(result):
                await result

    def _record(
        self,
        request: web.Request,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        parsed: Any,
        form: dict[str, FormValue] | None,
        arrived: float,
    ) -> RecordedRequest:
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            json=parsed,
            form=form,
            query_string=request.query_string,
            received_at=arrived,
        )
        self.requests.append(record)
        return record

    def _finish(self, record: RecordedRequest, response: web.Response) -> web.Response:
        """Give the answer its request id; note both on the recorded request (if it is still
        recorded)."""
        request_id = response.headers["X-Request-Id"] = str(uuid.uuid4())
        requests = self.requests
        for index in range(len(requests) - 1, -1, -1):
            if requests[index] is record:
                requests[index] = dataclasses.replace(
                    record, status=response.status, request_id=request_id
                )
                break
        return response

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").strip().partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.token

    def _respond(
        self,
        request: web.Request,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        parsed: Any,
        form: dict[str, FormValue] | None,
    ) -> web.Response:
        method = request.method
        if path in OAUTH_PATHS:
            return self._oauth_route(method, path, request.query, parsed, form)
        if path.startswith("/"):
            raise no_route(method, path)
        # As in Rails: routing first (an unknown route is a 404 even without a token), then
        # authentication, then the record (404), then the body (400, 422).
        resolved = resolve(method, path)
        if not self._authorized(headers):
            raise ApiError(401, [{"type": "oauth", "message": "Invalid OAuth 2 Request"}])
        declared = request.headers.get("Content-Type")
        call = Call(
            method=method,
            record_id=resolved.record_id,
            query={k: v for k, v in request.query.items()},
            params=nest_params(request.query.items()),
            body=body,
            media_type=request.content_type if declared else "",
            form=form,
        )
        return self._handlers.dispatch(resolved, call)

    def _oauth_route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        parsed: Any,
        form: dict[str, FormValue] | None,
    ) -> web.Response:
        if path == _OAUTH_AUTHORIZE and method in ("GET", "HEAD"):
            deny, self.oauth_deny_next = self.oauth_deny_next, False
            reply = self._oauth.authorize(
                query,
                client_id=self.oauth_client_id,
                registered_redirect_uri=self.oauth_redirect_uri,
                deny=deny,
                now=self.oauth_clock(),
            )
            if reply.status != 302:
                # The knob waits for a request that gets as far as the redirect.
                self.oauth_deny_next = deny
        elif path == _OAUTH_TOKEN and method == "POST":
            params: Mapping[str, Any] = (
                form if form is not None else parsed if isinstance(parsed, dict) else {}
            )
            reply = self._oauth.token(
                params,
                client_id=self.oauth_client_id,
                client_secret=self.oauth_client_secret,
                access_token=self.token,
                now=self.oauth_clock(),
            )
        else:
            raise no_route(method, path)
        return _oauth_response(reply)


def _oauth_response(reply: OAuthReply) -> web.Response:
    if reply.location is not None:
        return web.Response(status=reply.status, headers={"Location": reply.location})
    # RFC 6749 5.1: token answers must not be cached.
    headers = {"Content-Type": JSON_TYPE, "Cache-Control": "no-store", "Pragma": "no-cache"}
    return web.Response(status=reply.status, body=dumps(reply.body), headers=headers)


def _drop(request: web.Request) -> web.StreamResponse:
    if request.transport is not None:
        request.transport.close()
    # Never sent: the transport is closed.
    return web.Response(status=204)


def _parse_body(request: web.Request, body: bytes) -> tuple[Any, dict[str, FormValue] | None]:
    """`(json, form)` for the record: the parsed JSON body or the form fields."""
    declared = request.headers.get("Content-Type")
    ctype = request.content_type if declared else ""
    if not body:
        return None, None
    if ctype == "application/x-www-form-urlencoded":
        return None, dict(parse_form(body))
    if ctype == "multipart/form-data":
        boundary = _boundary(declared or "")
        return None, dict(parse_multipart(body, boundary)) if boundary else {}
    if ctype == "" or ctype in JSON_MEDIA_TYPES or ctype.endswith("+json"):
        try:
            return json.loads(body), None
        except (ValueError, UnicodeDecodeError):
            return None, None
    return None, None


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"')
    return ""
