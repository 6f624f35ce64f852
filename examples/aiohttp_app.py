"""An aiohttp.web app that shares one `KantataClient` across every request.

The client is created and closed by a `cleanup_ctx` generator (so its session lives in the
server's event loop and closes at shutdown) and stored under a typed `web.AppKey`. A
middleware turns Kantata errors into HTTP answers: `NotFoundError` a 404, any other
`KantataError` a 502.

Routes:

- `GET /me`: the token's user (`to_dict`) and the name of their role.
- `GET /users/{user_id}/workweeks`: the user's workweek memberships with the minutes of
  each workweek.

Run it against the fake server that ships with the SDK (or a real account: leave
`KANTATA_BASE_URL` unset for https://api.mavenlink.com/api/v1/):

    python -m kantata_async.testing --users 50      # prints KANTATA_BASE_URL and KANTATA_TOKEN
    export KANTATA_BASE_URL=http://127.0.0.1:8765/api/v1/ KANTATA_TOKEN=<the printed token>
    python examples/aiohttp_app.py [--port 8080]    # web.run_app on 127.0.0.1
    # or: python -m aiohttp.web -H 127.0.0.1 -P 8080 aiohttp_app:init   (from examples/)
    curl http://127.0.0.1:8080/me
    curl http://127.0.0.1:8080/users/1/workweeks

In tests, serve `create_app(token=..., base_url=...)` with `aiohttp.test_utils.TestServer`
and `TestClient`: closing the client runs the cleanup context.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler
from views import me_json, settings, workweeks_json

from kantata_async import (
    KantataClient,
    KantataError,
    NotFoundError,
)

log = logging.getLogger(__name__)

KANTATA = web.AppKey("kantata", KantataClient)
"""Where the app keeps its one `KantataClient` (`request.app[KANTATA]`)."""

# -- routes -------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    """The token's user, with the name of their role."""
    return web.json_response(await me_json(request.app[KANTATA]))


# Digits only: anything else is not a Kantata id, so the route does not match (404).
@routes.get(r"/users/{user_id:\d+}/workweeks")
async def user_workweeks(request: web.Request) -> web.Response:
    """The user's workweek memberships, oldest first, each with its workweek's minutes."""
    # NotFoundError for an unknown user becomes a 404 in the middleware.
    user_id = request.match_info["user_id"]
    return web.json_response(await workweeks_json(request.app[KANTATA], user_id))


@web.middleware
async def kantata_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`NotFoundError` -> 404, any other `KantataError` -> 502, as JSON."""
    try:
        return await handler(request)
    except NotFoundError as err:
        return web.json_response({"detail": str(err)}, status=404)
    except KantataError as err:
        # The SDK's messages never carry the token, so they are safe to log and to return.
        log.warning("Kantata failed for %s %s: %s", request.method, request.path, err)
        return web.json_response({"detail": f"Kantata error: {err}"}, status=502)


# -- the app ------------------------------------------------------------------------------


def create_app(token: str | None = None, base_url: str | None = None) -> web.Application:
    """The app, talking to `base_url` with `token` (default: from the environment)."""
    token, base_url = settings(token, base_url)

    async def kantata_client(app: web.Application) -> AsyncIterator[None]:
        # Runs up to `yield` at startup and the rest at cleanup, in the server's loop.
        async with KantataClient(token, base_url=base_url) as client:
            app[KANTATA] = client
            yield

    app = web.Application(middlewares=[kantata_errors])
    app.cleanup_ctx.append(kantata_client)
    app.add_routes(routes)
    return app


def init(argv: list[str] | None) -> web.Application:
    """The entry point for `python -m aiohttp.web aiohttp_app:init`."""
    return create_app()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="the example app on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="the port (default 8080)")
    logging.basicConfig(level=logging.INFO)
    web.run_app(create_app(), host="127.0.0.1", port=parser.parse_args().port)
