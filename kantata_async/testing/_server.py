"""`FakeKantata`: a real HTTP server on loopback that answers like Kantata OX's API v1."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import inspect
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any

from aiohttp import web
from yarl import URL

from .._urls import is_loopback
from ._dataset import Dataset
from ._faults import (
    MALFORMED_KINDS,
    FaultBody,
    MalformedKind,
    RandomFaults,
    Script,
    default_error,
    encode_body,
    normalize_path,
)
from ._oauth import OAuthProvider, OAuthReply, default_client
from ._query import ACCOUNT_TZ, MAX_CAPACITY_DAYS, Selector
from ._ratelimit import RateLimitKnob
from ._recording import FormValue, RecordedRequest
from ._wire import (
    ApiError,
    dumps,
    nest_params,
    parse_date,
    parse_form,
    parse_multipart,
)
from ._writes import Writer

__all__ = ["FakeKantata"]

logger = logging.getLogger(__name__)

_JSON = "application/json; charset=utf-8"
_PREFIX = "/api/v1/"
_LIST_CACHE_SIZE = 256
# Every key `Dataset` generates can be listed and shown; these two also take writes.
_READ_KEYS = frozenset(
    {
        "users",
        "workweek_memberships",
        "account_memberships",
        "skill_memberships",
        "skills",
        "roles",
        "workweeks",
        "custom_field_values",
        "external_references",
        "work_samples",
    }
)
_SINGULAR = {
    "users": "User",
    "workweek_memberships": "WorkweekMembership",
    "account_memberships": "AccountMembership",
    "skill_memberships": "SkillMembership",
    "skills": "Skill",
    "roles": "Role",
    "workweeks": "Workweek",
    "custom_field_values": "CustomFieldValue",
    "external_references": "ExternalReference",
    "work_samples": "WorkSample",
}
_INVALID_JSON = b'{"count": 1, "results": [{"key": \'users\', "id": 1},'
_MAINTENANCE_HTML = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
    b"<title>Kantata OX - Scheduled maintenance</title></head>\n<body>\n"
    b"<h1>We'll be right back</h1>\n<p>Kantata OX is down for scheduled maintenance.</p>\n"
    b"</body>\n</html>\n"
)
_MAX_BODY = 64 * 1024 * 1024
_OAUTH_AUTHORIZE = "/oauth/authorize"
_OAUTH_TOKEN = "/oauth/token"
_OAUTH_PATHS = frozenset({_OAUTH_AUTHORIZE, _OAUTH_TOKEN})


def _default_token(seed: int) -> str:
    return "fake-" + hashlib.sha256(f"kantata-fake-token:{seed}".encode()).hexdigest()[:32]


def _loopback(host: str) -> str:
    """The address to bind for `host`, or ValueError when it is not a loopback address."""
    if host == "localhost":
        # One address only: "localhost" may bind ::1 and 127.0.0.1 on two different ports.
        return "127.0.0.1"
    if not is_loopback(host):
        raise ValueError(
            f"FakeKantata listens on loopback only; {host!r} is not a loopback address"
        )
    return host.strip("[]")


# Path segments after the key that are routes of their own rather than record ids.
_NAMED_ROUTES = frozenset({("users", "me"), ("workweek_memberships", "standardize_to_default")})


@dataclasses.dataclass(frozen=True)
class _Call:
    """One routed request, as the handlers see it."""

    key: str
    record_id: str
    query: dict[str, str]
    body: bytes
    parsed: Any
    form: dict[str, FormValue] | None

    def params(self) -> Any:
        """The write body as nested params (JSON, or Rails form fields); 400 when invalid."""
        if self.form is not None:
            return nest_params(self.form.items())
        if not self.body.strip():
            return {}
        parsed = self.parsed
        if parsed is None:
            try:
                parsed = json.loads(self.body)
            except (ValueError, UnicodeDecodeError) as err:
                raise ApiError.system(
                    400, f"There was a problem in the JSON you submitted: {err}"
                ) from None
        return parsed if isinstance(parsed, dict) else {}


class FakeKantata(RateLimitKnob):
    """A fake Kantata OX API v1 server, on loopback, backed by a seeded `Dataset`.

    A real aiohttp server that answers like the real API, for testing code that talks to
    Kantata (this SDK's client or your own) and for benchmarks:

        async with FakeKantata(users=500, seed=7) as fake:
            async with aiohttp.ClientSession() as session:
                async with session.get(
                    fake.base_url + "users",
                    params={"per_page": "200", "include": "role"},
                    headers={"Authorization": f"Bearer {fake.token}"},
                ) as resp:
                    body = await resp.json()
            assert fake.requests[-1].query["per_page"] == "200"

    `users` and `seed` generate the dataset (or pass `dataset=`); `token` is the only bearer
    token accepted (default: derived from `seed`); `latency` is added to every request;
    `port=0` picks a free port; `me` is the id of the user the token belongs to. `host` must
    be a loopback address (ValueError otherwise): this server has no authentication worth
    the name and must never be reachable from another machine.

    **Endpoints** (under `/api/v1/`; `users` and `users.json` both work):

    - `GET users`, `GET users/me`, `GET users/{id}`, `PUT users/{id}` (`{"user": {full_name,
      headline, email_address, external_reference: {service_name, service_model,
      service_model_ref, status, external_message, external_link, external_status,
      locked}}}`; an external reference with the same service name and model ref is
      updated, otherwise one is created).
    - `GET users/{id}/capacity?start_date=&end_date=`: `{"start_date", "end_date",
      "hours": {"YYYY-MM-DD": float}}` from the workweek membership in effect each day (the
      account default workweek outside every membership); not an envelope. A range of more
      than `MAX_CAPACITY_DAYS` (3,653, ten years) is a 422 on `end_date`.
    - `POST users/{id}/profile_photo` (multipart, part `user[profile_photo_attachment_file]`;
      sets a new `photo_path` derived from the file's bytes) and `DELETE
      users/{id}/profile_photo` (204; back to the default `photo_path`).
    - `GET workweek_memberships`, `GET|PUT|DELETE workweek_memberships/{id}`,
      `POST workweek_memberships` (creates a non-default workweek with the given minutes,
      missing days 0, and the membership; `start_date` required) and `PUT
      workweek_memberships/standardize_to_default` (`start_date` defaults to `today`; a
      membership already starting that day is switched rather than duplicated). Start dates
      must be Sundays, a second membership starting the same day for a user is a 422, and
      each user's memberships stay a timeline (each ends the day before the next starts).
    - `GET <key>` and `GET <key>/{id}` for account_memberships, skill_memberships, skills,
      roles, workweeks, custom_field_values, external_references and work_samples.

    **OAuth** (at the server root, `oauth_base_url`, not under `/api/v1/`; no bearer token
    needed), the authorization-code flow as Kantata documents it:

    - `GET /oauth/authorize?client_id=&response_type=code&redirect_uri=&state=`: the user
      (`me`) approves at once: a 302 to `redirect_uri` with `code` (and `state` when sent)
      added to its query. With `oauth_deny_next = True` the next one redirects with
      `error=access_denied&error_description=...` instead (the knob then resets). A wrong
      `response_type` redirects with `error=unsupported_response_type`. A missing or unknown
      `client_id` (400 `invalid_request` / 401 `invalid_client`) or a missing, non-http(s)
      or unregistered `redirect_uri` (400 `invalid_redirect_uri`) is answered with JSON
      and no redirect, as RFC 6749 requires.
    - `POST /oauth/token` (form-encoded or JSON: `client_id`, `client_secret`,
      `grant_type=authorization_code`, `code`, `redirect_uri`): 200 `{"access_token":
      token, "token_type": "bearer"}` (with `Cache-Control: no-store`). Errors are JSON
      `{"error", "error_description"}`: 400 `invalid_request` (a parameter missing), 400
      `unsupported_grant_type`, 401 `invalid_client` (wrong id or secret), 400
      `invalid_grant` (unknown code, already used, older than 5 minutes by `oauth_clock`,
      issued to another client, or a `redirect_uri` other than the authorize request's).
      Codes are single-use and deterministic (from the seed and a counter).

    Writes answer 200 with the written record's envelope (honouring `include` and
    `optional_fields` from the query) and give it a later `updated_at` (see
    `Dataset.stamp`). Users have no `updated_at` on the wire, as in the API, but keep one
    internally for the `updated_after`/`updated_before` filters. Bodies are JSON, Rails
    form-urlencoded (`user[full_name]=Ann`) or, for the photo, multipart.

    **Lists** follow Brainstem, the framework behind the API: `page` (default 1, below 1 means
    1, echoed as `meta.page_number` unclamped, past 64 bits too; a number of more than 4,000
    digits is a 400), `per_page` (default 20, above 200 clamped, below
    1 means 20); `limit` and `offset` replace them only when both are given (limit clamped to
    1..200, offset to >= 0), while `meta.page_size` still reports `per_page`. `only=1,2,3`
    returns every listed id that exists and passes the filters, unpaginated; non-numeric ids
    are dropped. `include` is split on commas only (no trimming, as Brainstem does); names the
    key does not know, and dotted names (`a.b`), are dropped silently; the included top-level
    keys exist even when empty. `optional_fields` is comma-separated (trimmed). Show routes
    apply the default filters too (a disabled user is a 404 unless `show_disabled=true`).
    Unknown query parameters are ignored.

    **Order**: users `alphabetical:asc` (default; by full name ignoring case, then id) or
    `alphabetical:desc` (the exact reverse); workweek memberships `start_date:asc` (default,
    then id) or `start_date:desc`; every other key by id. As in Brainstem, an unknown order
    name falls back to the default order (no error); a known name with any direction other
    than `desc` sorts ascending.

    **Filters** (empty values are ignored; booleans are "true"/"1" or anything else for false):

    - users: `on_my_account` (users on `me`'s account), `by_full_name` (substring, any
      case), `by_email_address` (exact), `by_email_addresses` (comma list, exact),
      `with_users` / `without_users` (comma lists of ids), `show_disabled` (default false:
      disabled users are hidden everywhere, `only` and show routes included, except from
      an `only` request with `apply_default_filters=false`, Brainstem's switch), `managers`
      (users who manage someone), `search` (substring of full name or email, any case; the
      requested order is kept rather than relevance; ignored with `only`, as the API does),
      `created_after`, `created_before`, `updated_after`, `updated_before`.
    - workweek_memberships: `user_ids` (comma list), `effective_date` (start <= date and no
      end or end >= date), `participating_with` (`me`'s own), and the four timestamp filters.
    - every other key with timestamps: the four timestamp filters. They take ISO 8601
      datetimes (naive ones are in the account's -07:00) and compare strictly.
    Unreadable filter values are a 422 validation error naming the parameter.

    **Errors**, all JSON: 401 `oauth` without `Authorization: Bearer <token>`; 404 `system`
    for unknown routes (including wrong methods, as Rails routing does) and missing or
    filtered-out records; 422 `validation` with `field`; 400 `system` for a body that is not
    valid JSON or lacks its wrapper key (`user`, `workweek_membership`); 413 beyond 64 MiB.
    DELETE success is 204 with an empty body.

    **Knobs** for tests and benchmarks, all deterministic:

    - `latency`: seconds slept before answering each request (settable at any time).
    - `rate_limit(rate, burst=...)`: a token bucket in front of the API; requests past it get
      429 without `Retry-After`, as Kantata answers them (`rate_limit(None)` turns it off).
    - `fail_next`, `drop_next`, `malformed_next`: scripted faults for the next matching
      requests. They queue in call order; each request takes the first queued fault that
      matches it. `random_faults` adds seeded random 429, 503 and drops to requests no
      scripted fault took. `clear_faults` removes both. Faults apply before
      authentication, as a proxy or rate limiter in front of the API would.
    - `count_offset`: list responses report `count` (and `meta.count`, `meta.page_count`)
      off by this much, never below 0, as the API has been seen to (a count of 3 with 2
      results).
    - `today`: the date `standardize_to_default` uses when no `start_date` is sent (default
      None: the current date at the account's -07:00 offset).
    - `on_request`: a callable (sync or async) run with each `RecordedRequest` after the
      latency and before the answer. Change `dataset` from it to insert or delete records
      while a client walks the pages (`dataset.add_user()`, `dataset.delete(key, id)`,
      `dataset.update(...)`, see `Dataset`).
    - `requests`: every request received, in arrival order (`RecordedRequest`); clear it
      freely. `pending_faults` counts the scripted faults still waiting. OAuth requests are
      recorded too, with absolute paths (`/oauth/token`); the scripted faults reach them
      with `path="oauth/token"` (or `"oauth/authorize"`).
    - `oauth_client_id`, `oauth_client_secret`: the one registered application's
      credentials (constructor arguments; default: derived from `seed`).
      `oauth_redirect_uri`: when set, the only redirect URI authorize accepts (default None:
      any absolute http(s) URI). `oauth_deny_next`: the next authorize request is denied.
      `oauth_clock`: the clock codes expire by (default `time.monotonic`; replace it with a
      callable returning seconds to age codes without waiting).

    **Performance**: rendered list pages are cached per query (the last 256) and sorted and
    filtered id lists are kept, both until the dataset changes, so a
    page costs a slice plus rendering (about 5 ms for 200 users with every include) and
    serializing (orjson when installed). For benchmarks, run the server in its own process
    (`python -m kantata_async.testing --users 100000 --latency 0.05`) so that its CPU time
    does not count against the client's, or pass one `dataset=` to several servers.
    """

    def __init__(
        self,
        users: int = 100,
        seed: int = 0,
        *,
        token: str | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        me: str = "1",
        dataset: Dataset | None = None,
        oauth_client_id: str | None = None,
        oauth_client_secret: str | None = None,
        oauth_redirect_uri: str | None = None,
    ) -> None:
        self._bind = _loopback(host)
        self._port = port
        self.token: str = token if token is not None else _default_token(seed)
        """The only bearer token the server accepts."""
        self.dataset: Dataset = dataset if dataset is not None else Dataset(users=users, seed=seed)
        """The data served; writes through the API change it."""
        self._me = str(me)
        self.requests: list[RecordedRequest] = []
        """Every request received, in arrival order."""
        self.count_offset: int = 0
        """Added to the `count` that list responses report (never below 0)."""
        self.today: date | None = None
        """The date `standardize_to_default` defaults to; None means the current date."""
        self.on_request: Callable[[RecordedRequest], object] | None = None
        """Run with each recorded request before it is answered (may be async)."""
        # Rendered list pages by query; any change to the dataset (a new revision) or to
        # `count_offset` makes a new key, so a cached page is never stale.
        self._list_cache: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self.latency = latency
        default_id, default_secret = default_client(seed)
        self.oauth_client_id: str = oauth_client_id or default_id
        """The `client_id` of the one registered OAuth application."""
        self.oauth_client_secret: str = oauth_client_secret or default_secret
        """Its `client_secret`."""
        self.oauth_redirect_uri: str | None = oauth_redirect_uri
        """The only `redirect_uri` authorize accepts; None accepts any absolute http(s) URI."""
        self.oauth_deny_next: bool = False
        """When True, the next authorize request redirects with `error=access_denied`."""
        self.oauth_clock: Callable[[], float] = time.monotonic
        """Seconds, for the 5-minute life of authorization codes."""
        self._oauth = OAuthProvider(seed)
        self._scripts: list[Script] = []
        self._random: RandomFaults | None = None
        self._selector = Selector(self.dataset, self._me)
        self._writer = Writer(self.dataset, self._today)
        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None
        self._url: URL | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening. Raises RuntimeError when already started."""
        if self._runner is not None:
            raise RuntimeError("FakeKantata is already running")
        # Sort the users once now rather than on the first request (0.5 s for 100,000).
        self._selector.select("users", {})
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._bind, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._url = URL.build(scheme="http", host=host, port=port, path=_PREFIX)

    async def close(self) -> None:
        """Stop listening and drop open connections. Safe to call twice."""
        runner, self._runner = self._runner, None
        self._url = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeKantata:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/api/v1/`, with the trailing slash. Only while running."""
        if self._url is None:
            raise RuntimeError("FakeKantata is not running: use `async with` or `await start()`")
        return str(self._url)

    @property
    def oauth_base_url(self) -> str:
        """`http://127.0.0.1:<port>/`: the server root, where `oauth/authorize` and
        `oauth/token` are served (pass it as `base_url` to `kantata_async.oauth`). Only while
        running."""
        if self._url is None:
            raise RuntimeError("FakeKantata is not running: use `async with` or `await start()`")
        return str(self._url.with_path("/"))

    @property
    def me(self) -> str:
        """The id of the user the token belongs to (`users/me`, `participating_with`)."""
        return self._me

    @property
    def port(self) -> int:
        """The port the server listens on. Only while running."""
        if self._url is None or self._url.port is None:
            raise RuntimeError("FakeKantata is not running: use `async with` or `await start()`")
        return self._url.port

    # -- knobs --------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds to wait before answering each request (0 for none)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"latency must be >= 0, got {seconds}")
        self._latency = float(seconds)

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

    def _today(self) -> date:
        return self.today if self.today is not None else datetime.now(ACCOUNT_TZ).date()

    # -- request handling ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = asyncio.get_running_loop().time()
        raw_path = request.path
        path = normalize_path(raw_path) if raw_path.startswith(_PREFIX) else raw_path
        # A repeated key keeps its last value, as in Rails (dict(query) would keep the first).
        query = {k: v for k, v in request.query.items()}
        headers = {k.lower(): v for k, v in request.headers.items()}
        # Scripts name paths relative to the API; the OAuth routes sit outside it.
        script_path = path.lstrip("/") if path in _OAUTH_PATHS else path
        script = self._rate_limited(arrived) or self._take_script(request.method, script_path)

        if script is not None and script.action == "drop" and not script.after_request:
            self._record(request, path, query, headers, b"", None, None, arrived)
            await self._pause(None)
            return self._drop(request)

        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            record = self._record(request, path, query, headers, b"", None, None, arrived)
            error = ApiError.system(413, "Request body too large")
            return self._finish(record, self._error(error))
        parsed, form = self._parse_body(request, body)
        record = self._record(request, path, query, headers, body, parsed, form, arrived)
        await self._pause(record)

        if script is None and self._random is not None:
            script = self._random.draw()
        if script is not None and script.action == "drop":
            return self._drop(request)
        if script is not None and script.action == "fail":
            return self._finish(record, self._failure(script))

        try:
            response = self._respond(request.method, path, query, headers, body, parsed, form)
        except ApiError as error:
            response = self._error(error)
        except Exception:
            logger.exception("FakeKantata failed on %s %s", request.method, raw_path)
            response = self._error(ApiError.system(500, "Internal server error"))
        if script is not None and script.action == "malformed":
            response = self._garble(script.kind, response)
        return self._finish(record, response)

    async def _pause(self, record: RecordedRequest | None) -> None:
        if self._latency > 0:
            await asyncio.sleep(self._latency)
        if record is not None and self.on_request is not None:
            result = self.on_request(record)
            if inspect.isawaitable(result):
                await result

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.close()
        # Never sent: the transport is closed.
        return web.Response(status=204)

    @staticmethod
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
        if ctype in ("", "application/json") or ctype.endswith("+json"):
            try:
                return json.loads(body), None
            except (ValueError, UnicodeDecodeError):
                return None, None
        return None, None

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
        """Note the status on the recorded request (if it is still recorded)."""
        requests = self.requests
        for index in range(len(requests) - 1, -1, -1):
            if requests[index] is record:
                requests[index] = dataclasses.replace(record, status=response.status)
                break
        return response

    # -- responses ----------------------------------------------------------------------

    @staticmethod
    def _json(payload: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=dumps(payload), headers={"Content-Type": _JSON})

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        return web.Response(
            status=error.status,
            body=error.body(),
            headers={"Content-Type": _JSON, **error.headers},
        )

    @staticmethod
    def _failure(script: Script) -> web.Response:
        status = script.status
        if script.body is not None:
            body, ctype = encode_body(script.body, script.content_type)
        else:
            body, ctype = default_error(status)
            ctype = script.content_type or ctype
        headers = {"Content-Type": ctype}
        if script.retry_after is not None:
            headers["Retry-After"] = str(script.retry_after)
        if status in (204, 304):
            return web.Response(status=status, headers=headers)
        return web.Response(status=status, body=body, headers=headers)

    @staticmethod
    def _garble(kind: str, response: web.Response) -> web.Response:
        if kind == "truncated":
            raw = response.body if isinstance(response.body, bytes) else b""
            headers = {"Content-Type": response.headers.get("Content-Type", _JSON)}
            return web.Response(status=response.status, body=raw[: len(raw) // 2], headers=headers)
        if kind == "html":
            headers = {"Content-Type": "text/html; charset=utf-8"}
            return web.Response(status=200, body=_MAINTENANCE_HTML, headers=headers)
        return web.Response(status=200, body=_INVALID_JSON, headers={"Content-Type": _JSON})

    # -- routing ------------------------------------------------------------------------

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").strip().partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.token

    def _respond(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
        parsed: Any,
        form: dict[str, FormValue] | None,
    ) -> web.Response:
        if path in _OAUTH_PATHS:
            return self._oauth_route(method, path, query, parsed, form)
        # As in Rails: routing first (an unknown route is a 404 even without a token), then
        # authentication, then the record (404), then the body (400, 422).
        key, _, rest = path.partition("/")
        record_id, _, action = rest.partition("/")
        # The shape of the path after the key: "", "{id}", "{id}/capacity", "me", ...
        if not rest or (key, record_id) in _NAMED_ROUTES:
            shape = rest
        else:
            shape = "{id}/" + action if action else "{id}"
        handler = None
        if key in _READ_KEYS:
            handler = self._routes.get((key, method, shape)) or self._routes.get(
                ("*", method, shape)
            )
        if handler is None:
            raise self._no_route(method, path)
        if not self._authorized(headers):
            raise ApiError(401, [{"type": "oauth", "message": "Invalid OAuth 2 Request"}])
        return handler(_Call(key, record_id, query, body, parsed, form))

    def _oauth_route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        parsed: Any,
        form: dict[str, FormValue] | None,
    ) -> web.Response:
        if path == _OAUTH_AUTHORIZE and method == "GET":
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
            raise self._no_route(method, path)
        return self._oauth_response(reply)

    @staticmethod
    def _oauth_response(reply: OAuthReply) -> web.Response:
        if reply.location is not None:
            return web.Response(status=reply.status, headers={"Location": reply.location})
        # RFC 6749 5.1: token answers must not be cached.
        headers = {"Content-Type": _JSON, "Cache-Control": "no-store", "Pragma": "no-cache"}
        return web.Response(status=reply.status, body=dumps(reply.body), headers=headers)

    def _build_routes(self) -> dict[tuple[str, str, str], Callable[[_Call], web.Response]]:
        """(key or "*", method, path shape after the key) -> handler."""
        return {
            ("*", "GET", ""): lambda c: self._list(c.key, c.query),
            ("*", "GET", "{id}"): lambda c: self._show(c.key, c.record_id, c.query),
            ("users", "GET", "me"): lambda c: self._show(c.key, self.me, c.query),
            ("users", "PUT", "{id}"): lambda c: self._write(
                c, lambda: self._writer.update_user(c.record_id, c.params())
            ),
            ("users", "GET", "{id}/capacity"): self._capacity,
            ("users", "POST", "{id}/profile_photo"): lambda c: self._write(
                c, lambda: self._writer.set_photo(c.record_id, c.form)
            ),
            ("users", "DELETE", "{id}/profile_photo"): lambda c: self._delete(
                c, lambda: self._writer.reset_photo(c.record_id)
            ),
            ("workweek_memberships", "POST", ""): lambda c: self._show(
                c.key, self._writer.create_membership(c.params()), c.query
            ),
            ("workweek_memberships", "PUT", "standardize_to_default"): lambda c: self._show(
                c.key, self._writer.standardize(c.params()), c.query
            ),
            ("workweek_memberships", "PUT", "{id}"): lambda c: self._write(
                c, lambda: self._writer.update_membership(c.record_id, c.params())
            ),
            ("workweek_memberships", "DELETE", "{id}"): lambda c: self._delete(
                c, lambda: self._writer.delete_membership(c.record_id)
            ),
        }

    def _write(self, call: _Call, change: Callable[[], object]) -> web.Response:
        self._require(call.key, call.record_id, call.query)
        change()
        return self._show(call.key, call.record_id, call.query)

    def _delete(self, call: _Call, change: Callable[[], object]) -> web.Response:
        self._require(call.key, call.record_id, call.query)
        change()
        return web.Response(status=204)

    @staticmethod
    def _no_route(method: str, path: str) -> ApiError:
        where = path if path.startswith("/") else _PREFIX + path
        return ApiError.system(404, f'No route matches [{method}] "{where}"')

    def _require(self, key: str, record_id: str, query: Mapping[str, str]) -> None:
        if not self._selector.visible(key, record_id, query):
            raise ApiError.system(404, f"Couldn't find {_SINGULAR[key]} with 'id'={record_id}")

    def _list(self, key: str, query: Mapping[str, str]) -> web.Response:
        cache_key = (key, tuple(sorted(query.items())), self.dataset.revision, self.count_offset)
        body = self._list_cache.get(cache_key)
        if body is None:
            page = self._selector.select(key, query)
            envelope = self._selector.envelope(key, page, query, count_offset=self.count_offset)
            body = dumps(envelope)
            self._list_cache[cache_key] = body
            if len(self._list_cache) > _LIST_CACHE_SIZE:
                self._list_cache.popitem(last=False)
        else:
            self._list_cache.move_to_end(cache_key)
        return web.Response(status=200, body=body, headers={"Content-Type": _JSON})

    def _show(self, key: str, record_id: str, query: Mapping[str, str]) -> web.Response:
        self._require(key, record_id, query)
        page = self._selector.select(key, {**query, "only": record_id})
        return self._json(self._selector.envelope(key, page, query))

    def _capacity(self, call: _Call) -> web.Response:
        user_id, query = call.record_id, call.query
        self._require("users", user_id, query)
        problems: list[tuple[str, str]] = []
        days: dict[str, date] = {}
        for name in ("start_date", "end_date"):
            raw = query.get(name, "").strip()
            if not raw:
                problems.append((name, f"{name} is required"))
                continue
            try:
                days[name] = parse_date(name, raw)
            except ApiError as error:
                problems.append((name, error.errors[0]["message"]))
        if problems:
            raise ApiError.validation(*problems)
        start, end = days["start_date"], days["end_date"]
        if end < start:
            raise ApiError.validation(("end_date", "end_date must be on or after start_date"))
        if (end - start).days + 1 > MAX_CAPACITY_DAYS:
            raise ApiError.validation(
                ("end_date", f"the range must be at most {MAX_CAPACITY_DAYS:,} days")
            )
        hours = self._selector.capacity(user_id, start, end)
        return self._json(
            {"start_date": start.isoformat(), "end_date": end.isoformat(), "hours": hours}
        )


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"')
    return ""
