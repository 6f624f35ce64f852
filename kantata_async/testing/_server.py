"""`FakeKantata`: a real HTTP server on loopback that answers like Kantata OX's API v1.

This module holds its lifecycle and settings; the request pipeline is `_pipeline.py`, the
fault knobs `_knobs.py`, routing `_routing.py`, the handlers `_handlers.py`, and what each
collection serves is declared once in `_collections.py`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import date
from types import TracebackType

from aiohttp import web
from yarl import URL

from .._urls import is_loopback
from ._dataset import Dataset
from ._faults import RandomFaults, Script
from ._handlers import Handlers
from ._knobs import FaultKnobs
from ._oauth import OAuthProvider, default_client
from ._pipeline import RequestPipeline
from ._query import Selector
from ._ratelimit import RateLimitKnob
from ._recording import RecordedRequest
from ._routing import API_PREFIX
from ._writes import Writer

__all__ = ["FakeKantata"]

_MAX_BODY = 64 * 1024 * 1024


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


class FakeKantata(FaultKnobs, RateLimitKnob, RequestPipeline):
    """A fake Kantata OX API v1 server, on loopback, backed by a seeded `Dataset`.

    A real aiohttp server that answers like the real API, for testing code that talks to
    Kantata (this SDK's client or your own) and for benchmarks:

        async with FakeKantata(users=500, seed=7) as fake:
            async with aiohttp.ClientSession() as session:
                async with session.get(
                    fake.base_url + "users",
                    params={"on_my_account": "true", "include": "role"},
                    headers={"Authorization": f"Bearer {fake.token}"},
                ) as resp:
                    body = await resp.json()
            assert fake.requests[-1].query["on_my_account"] == "true"

    `users` and `seed` generate the dataset (or pass `dataset=`); `token` is the only bearer
    token accepted (default: derived from `seed`); `latency` is added to every request;
    `port=0` picks a free port; `me` is the id of the user the token belongs to (default
    "1", the owner and an administrator). `host` must be a loopback address (ValueError
    otherwise): this server has no authentication worth the name and must never be
    reachable from another machine.

    **What it serves** is declared per collection in `kantata_async/testing/_collections.py`
    and `_catalogue.py` from Kantata's API facts (shipped in `kantata_async/testing/facts/`):
    every list collection (90), with generated records whose links hold across collections;
    users (list, me, show, update, capacity, profile photo) and workweek memberships (list,
    show, create, update, standardize_to_default, delete) with behaviour of their own; for
    the others list and show, create, update, delete (one, or `?ids=`) and approve / reject
    / cancel where Kantata documents those routes, checked against the documented bodies.

    **Refusing what it does not model**: a documented filter, include or order the fake
    cannot apply answers 501 `{"errors": [{"type": "system", "message": "FakeKantata does
    not model filter 'x' ..."}]}`, and a documented route it does not serve answers 501
    `FakeKantata does not model GET /workspaces/{id}/permissions`. Set
    `ignore_unmodelled=True` to have filters, includes and orders it does not model ignored
    instead (as a stricter fake would not; routes stay 501). An undocumented route is
    Rails' 404 `No route matches`; undocumented query parameters are ignored, as Kantata
    ignores them.

    **Lists** follow Brainstem, the framework behind the API: `page` (default 1, below 1 means
    1, echoed as `meta.page_number` unclamped; more than 4,000 digits is a 400), `per_page`
    (default 20, clamped to 200, below 1 means 20); `limit` and `offset` replace them only
    when both are given; `only=1,2,3` returns every listed id that passes the filters,
    whatever the page (not paginated); `include` is split on commas only, unknown and dotted
    names dropped, included keys present even when empty; `optional_fields` comma-separated.
    Filter values are read as Brainstem does: blank is absent, `true`/`false` are booleans,
    Rails arrays (`user_ids[]=1&user_ids[]=2`) are lists. Default filters (documented
    defaults such as `show_disabled=false`, and `GET /users` showing only the people of your
    projects unless `on_my_account` or another filter chooses whom to see) apply unless
    `apply_default_filters` is given and is not `true`; the base scope (your account, your
    projects' people, your contacts) always applies. Show routes apply filters too: a
    hidden record is a 404.

    **Writes** answer 200 with the record's envelope (honouring `include` and
    `optional_fields`), stamped with the dataset's clock. Bodies are JSON
    (`application/json`), Rails form-encoded or multipart; a body of any other type (or a
    PUT without a content type) is not read, so its wrapper key is missing: 400 `param is
    missing or the value is empty: user`, as Rails answers. PATCH reaches the update routes
    as PUT does; HEAD is answered as GET without a body.

    **OAuth** (at the server root, `oauth_base_url`, no bearer token needed): `GET
    /oauth/authorize` approves at once (302 to `redirect_uri` with `code` and `state`) or,
    after `oauth_deny_next = True`, denies once; `POST /oauth/token` trades a code, once and
    within 5 minutes by `oauth_clock`, for the token. Errors follow RFC 6749.

    **Knobs**: `latency`; `rate_limit(rate, burst=...)` (a token bucket in front of the API:
    past it, 429 without `Retry-After`, as Kantata answers); `fail_next`, `drop_next`,
    `malformed_next` (scripted faults, taken in call order, before authentication);
    `random_faults` (seeded); `clear_faults`;
    `count_offset` (a `count` that lies); `today` (the date `standardize_to_default` uses
    without a `start_date`; default: the dataset's clock); `on_request` (run with each
    `RecordedRequest` before it is answered: change `dataset` from it); `requests` (every
    request, in order); `ignore_unmodelled`; `oauth_client_id`, `oauth_client_secret`,
    `oauth_redirect_uri`, `oauth_deny_next`, `oauth_clock`.

    **Performance**: rendered list pages are cached per query (the last 256) and sorted and
    filtered id lists are kept until the dataset changes. For benchmarks, run the server in
    its own process (`FakeKantataProcess`, or `python -m kantata_async.testing`).
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
        ignore_unmodelled: bool = False,
    ) -> None:
        self._bind = _loopback(host)
        self._port = port
        self.token = token if token is not None else _default_token(seed)
        """The only bearer token the server accepts."""
        self.dataset: Dataset = dataset if dataset is not None else Dataset(users=users, seed=seed)
        """The data served; writes through the API change it."""
        self._me = str(me)
        self.requests = []
        """Every request received, in arrival order."""
        self.count_offset: int = 0
        """Added to the `count` that list responses report (never below 0)."""
        self.today: date | None = None
        """The date `standardize_to_default` defaults to; None means the dataset's today."""
        self.on_request: Callable[[RecordedRequest], object] | None = None
        """Run with each recorded request before it is answered (may be async)."""
        self.ignore_unmodelled: bool = ignore_unmodelled
        """Ignore documented filters, includes and orders the fake does not model (default
        False: answer 501 naming them)."""
        self.latency = latency
        default_id, default_secret = default_client(seed)
        self.oauth_client_id = oauth_client_id or default_id
        """The `client_id` of the one registered OAuth application."""
        self.oauth_client_secret = oauth_client_secret or default_secret
        """Its `client_secret`."""
        self.oauth_redirect_uri = oauth_redirect_uri
        """The only `redirect_uri` authorize accepts; None accepts any absolute http(s) URI."""
        self.oauth_deny_next = False
        """When True, the next authorize request redirects with `error=access_denied`."""
        self.oauth_clock = time.monotonic
        """Seconds, for the 5-minute life of authorization codes."""
        self._oauth = OAuthProvider(seed)
        self._scripts: list[Script] = []
        self._random: RandomFaults | None = None
        self._selector = Selector(self.dataset, self._me, lambda: self.ignore_unmodelled)
        self._writer = Writer(self.dataset, self._today, self._me)
        self._handlers = Handlers(self, self._selector, self._writer)
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
        self._url = URL.build(scheme="http", host=host, port=port, path=API_PREFIX)

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

    @property
    def latency(self) -> float:
        """Seconds to wait before answering each request (0 for none)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"latency must be >= 0, got {seconds}")
        self._latency = float(seconds)

    def _today(self) -> date:
        return self.today if self.today is not None else self.dataset.today()
