"""The handlers behind the fake server's routes: lists, shows and the write endpoints.

A routed request arrives as a `Call`; `Handlers.dispatch` runs the handler its route names
(see `_collections.py`). Reads go through the `Selector`, writes through the `Writer`; both
raise `ApiError` for the error answers. Request bodies are read as Rails reads them: JSON
when sent as JSON, form fields when form-encoded or multipart (and a POST with no content
type, which Rack reads as a form), nothing otherwise.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._crud import Crud
from ._generic_handlers import GenericHandlers, not_found
from ._query import DEFAULT_PER_PAGE, MAX_CAPACITY_DAYS, Page, Selector, scalar
from ._recording import FormValue
from ._responses import JSON_TYPE, json_response
from ._routing import Resolved
from ._wire import ApiError, dumps, nest_params, parse_date, parse_form
from ._writes import Writer

if TYPE_CHECKING:
    from ._server import FakeKantata

__all__ = ["JSON_MEDIA_TYPES", "Call", "Handlers"]

# What Rails parses as JSON params (its :json MIME type and aliases).
JSON_MEDIA_TYPES = frozenset({"application/json", "text/x-json", "application/jsonrequest"})
_LIST_CACHE_SIZE = 256


@dataclass(frozen=True)
class Call:
    """One routed request as the handlers see it."""

    method: str
    record_id: str
    query: dict[str, str]
    params: dict[str, Any]
    body: bytes
    media_type: str
    form: dict[str, FormValue] | None

    def body_params(self) -> dict[str, Any]:
        """The body's params as Rails reads them; 400 for JSON that does not parse."""
        if not self.body.strip():
            return {}
        if self.form is not None:
            return nest_params(self.form.items())
        if self.media_type in JSON_MEDIA_TYPES:
            try:
                parsed = json.loads(self.body)
            except (ValueError, UnicodeDecodeError) as err:
                raise ApiError.system(
                    400, f"There was a problem in the JSON you submitted: {err}"
                ) from None
            return parsed if isinstance(parsed, dict) else {}
        if self.media_type == "" and self.method == "POST":
            # Rack reads a POST body without a content type as a form.
            return nest_params(parse_form(self.body))
        return {}

    def all_params(self) -> dict[str, Any]:
        """Body and query params together; the query wins, as in Rails."""
        return {**self.body_params(), **self.params}


class Handlers(GenericHandlers):
    """The route handlers of one `FakeKantata`, by the names the declarations give them."""

    def __init__(self, server: FakeKantata, selector: Selector, writer: Writer) -> None:
        self.server = server
        self.selector = selector
        self.writer = writer
        self.crud = Crud(server.dataset, server.me)
        # Rendered list pages by query; any change to the dataset (a new revision) or to
        # `count_offset` makes a new key, so a cached page is never stale.
        self._list_cache: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._table: dict[str, Callable[[Resolved, Call], web.Response]] = {
            "list": self.list,
            "show": self.show,
            "create": self.create,
            "update": self.update,
            "delete": self.delete,
            "delete_many": self.delete_many,
            "status": self.status,
            "me": self.me,
            "capacity": self.capacity,
            "update_user": self._writing(
                lambda c: self.writer.update_user(c.record_id, c.body_params())
            ),
            "set_photo": self._writing(lambda c: self.writer.set_photo(c.record_id, c.form)),
            "reset_photo": self._deleting(lambda c: self.writer.reset_photo(c.record_id)),
            "create_membership": self._creating(
                lambda c: self.writer.create_membership(c.body_params())
            ),
            "standardize": self._creating(lambda c: self.writer.standardize(c.body_params())),
            "update_membership": self._writing(
                lambda c: self.writer.update_membership(c.record_id, c.body_params())
            ),
            "delete_membership": self._deleting(
                lambda c: self.writer.delete_membership(c.record_id)
            ),
        }

    def dispatch(self, resolved: Resolved, call: Call) -> web.Response:
        """Run the handler the route names."""
        return self._table[resolved.handler](resolved, call)

    # -- reads ----------------------------------------------------------------------------

    def list(self, resolved: Resolved, call: Call) -> web.Response:
        """`GET /<key>`: one page, cached until the dataset changes."""
        key = resolved.collection.key
        params = call.all_params()
        if not resolved.collection.envelope:
            return self.raw_list(resolved, params)
        within = self.within(resolved)
        server = self.server
        cache_key = (
            key,
            repr(sorted(params.items())),
            repr(sorted(within.items())),
            server.dataset.revision,
            server.count_offset,
        )
        body = self._list_cache.get(cache_key)
        if body is None:
            page = self.selector.select(key, params, within=within)
            envelope = self.selector.envelope(key, page, params, count_offset=server.count_offset)
            body = dumps(envelope)
            self._list_cache[cache_key] = body
            if len(self._list_cache) > _LIST_CACHE_SIZE:
                self._list_cache.popitem(last=False)
        else:
            self._list_cache.move_to_end(cache_key)
        return web.Response(status=200, body=body, headers={"Content-Type": JSON_TYPE})

    def show(self, resolved: Resolved, call: Call) -> web.Response:
        """`GET /<key>/{id}`: 404 when the record is missing or filtered out."""
        return self.answer(resolved, self.existing(resolved, call), call.all_params())

    def me(self, resolved: Resolved, call: Call) -> web.Response:
        """`GET /users/me`: the token's user, whatever the filters would hide."""
        params = call.all_params()
        self.selector.check_includes(resolved.collection, params)
        me = self.server.me
        if self.server.dataset.get("users", me) is None:
            raise ApiError.system(404, f"Couldn't find User with 'id'={me}")
        page = Page([me], 1, 1, DEFAULT_PER_PAGE)
        return json_response(self.selector.envelope("users", page, params))

    def require(self, key: str, record_id: str, params: Mapping[str, Any]) -> None:
        """404, as Rails words it, unless the record exists and passes the filters."""
        if not self.selector.visible(key, record_id, params):
            raise not_found(key, record_id)

    def render(self, key: str, record_id: str, params: Mapping[str, Any]) -> web.Response:
        """The envelope of one record (404 when hidden), as shows and writes answer."""
        page = self.selector.select(key, {**params, "only": record_id})
        if page.ids != [record_id]:
            raise not_found(key, record_id)
        return json_response(self.selector.envelope(key, page, params))

    def capacity(self, resolved: Resolved, call: Call) -> web.Response:
        """`GET /users/{id}/capacity?start_date=&end_date=`: hours per day, not an envelope."""
        user_id, params = call.record_id, call.all_params()
        self.require("users", user_id, params)
        problems: list[tuple[str, str]] = []
        days: dict[str, date] = {}
        for name in ("start_date", "end_date"):
            raw = (scalar(params, name) or "").strip()
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
        hours = self.selector.capacity(user_id, start, end)
        return json_response(
            {"start_date": start.isoformat(), "end_date": end.isoformat(), "hours": hours}
        )

    # -- writes ---------------------------------------------------------------------------

    def _writing(
        self, change: Callable[[Call], object]
    ) -> Callable[[Resolved, Call], web.Response]:
        """A write on an existing record, answered with its envelope."""

        def handle(resolved: Resolved, call: Call) -> web.Response:
            key = resolved.collection.key
            self.require(key, call.record_id, call.params)
            change(call)
            return self.render(key, call.record_id, call.params)

        return handle

    def _creating(self, change: Callable[[Call], str]) -> Callable[[Resolved, Call], web.Response]:
        """A write that makes (or picks) a record, answered with its envelope."""

        def handle(resolved: Resolved, call: Call) -> web.Response:
            self.selector.validate(resolved.collection.key, call.params)
            return self.render(resolved.collection.key, change(call), call.params)

        return handle

    def _deleting(
        self, change: Callable[[Call], object]
    ) -> Callable[[Resolved, Call], web.Response]:
        """A delete: 204 with no body."""

        def handle(resolved: Resolved, call: Call) -> web.Response:
            self.require(resolved.collection.key, call.record_id, call.params)
            change(call)
            return web.Response(status=204)

        return handle
