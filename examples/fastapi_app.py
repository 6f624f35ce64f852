"""A FastAPI app that shares one `KantataClient` across every request.

The client is created in the app's lifespan (so its aiohttp session lives in the server's
event loop), kept on `app.state`, handed to routes by a dependency, and closed at shutdown.
Kantata errors become HTTP answers: `NotFoundError` a 404, any other `KantataError` a 502.

Routes:

- `GET /me`: the token's user (`to_dict`) and the name of their role.
- `GET /users/{user_id}/workweeks`: the user's workweek memberships with the minutes of
  each workweek.

Run it against the fake server that ships with the SDK (or a real account: leave
`KANTATA_BASE_URL` unset for https://api.mavenlink.com/api/v1/):

    python -m kantata_async.testing --users 50      # prints KANTATA_BASE_URL and KANTATA_TOKEN
    export KANTATA_BASE_URL=http://127.0.0.1:8765/api/v1/ KANTATA_TOKEN=<the printed token>
    pip install 'kantata_async[examples]'          # FastAPI and uvicorn
    uvicorn --factory --app-dir examples fastapi_app:create_app
    curl http://127.0.0.1:8000/me
    curl http://127.0.0.1:8000/users/1/workweeks

In tests, build the app with `create_app(token=..., base_url=...)` and run its lifespan
yourself (`async with app.router.lifespan_context(app): ...`) around an
`httpx.AsyncClient(transport=httpx.ASGITransport(app=app))`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from views import me_json, settings, workweeks_json

from kantata_async import (
    KantataClient,
    KantataError,
    NotFoundError,
)

log = logging.getLogger(__name__)

# -- the shared client --------------------------------------------------------------------


def get_kantata(request: Request) -> KantataClient:
    """The app's one `KantataClient`, made in `lifespan`."""
    client: KantataClient = request.app.state.kantata
    return client


Kantata = Annotated[KantataClient, Depends(get_kantata)]

# -- routes -------------------------------------------------------------------------------

router = APIRouter()


@router.get("/me")
async def me(client: Kantata) -> dict[str, Any]:
    """The token's user, with the name of their role."""
    return await me_json(client)


@router.get("/users/{user_id}/workweeks")
async def user_workweeks(
    client: Kantata, user_id: Annotated[str, Path(pattern=r"^\d+$")]
) -> dict[str, Any]:
    """The user's workweek memberships, oldest first, each with its workweek's minutes."""
    return await workweeks_json(client, user_id)  # NotFoundError -> 404, below


# -- errors -------------------------------------------------------------------------------


async def not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def upstream_error(request: Request, exc: Exception) -> JSONResponse:
    # The SDK's messages never carry the token, so they are safe to log and to return.
    log.warning("Kantata failed for %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": f"Kantata error: {exc}"}, status_code=502)


# -- the app ------------------------------------------------------------------------------


def create_app(token: str | None = None, base_url: str | None = None) -> FastAPI:
    """The app, talking to `base_url` with `token` (default: from the environment)."""
    token, base_url = settings(token, base_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with KantataClient(token, base_url=base_url) as client:
            app.state.kantata = client
            yield
        # Leaving the `async with` closed the client's session.

    app = FastAPI(title="Kantata example", lifespan=lifespan)
    app.include_router(router)
    # Handlers are looked up along the exception's MRO: the 404 wins for NotFoundError.
    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(KantataError, upstream_error)
    return app
