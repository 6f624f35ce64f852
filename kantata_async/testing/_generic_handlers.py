"""The handlers every collection gets from its facts: writes, and lists that are no envelope.

`create`, `update`, `delete`, `delete_many` (`DELETE /<key>?ids=1,2`) and `status` (approve,
reject, cancel) write through `Crud` and answer as Kantata does: the record's envelope (with
the request's `include` and `optional_fields`), or its plain JSON for the collections whose
answers are no envelope (currencies, story follows, insights reports and report exports);
a delete answers with no body. A nested route (`rate_card_set_versions/{id}/...`) first
checks that the record its path names exists: 404 otherwise, as Rails finds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._collections import COLLECTIONS
from ._crud import Crud
from ._query import Page, Selector
from ._responses import json_response
from ._routing import Resolved
from ._wire import ApiError

if TYPE_CHECKING:
    from ._handlers import Call

__all__ = ["GenericHandlers", "not_found"]


def not_found(key: str, record_id: str) -> ApiError:
    """Rails' 404 for a record that is not there (or hidden from the requester)."""
    return ApiError.system(404, f"Couldn't find {COLLECTIONS[key].singular} with 'id'={record_id}")


def _parent_key(name: str) -> str | None:
    """The collection a path parameter names (`rate_card_set_version_id`)."""
    stem = name.removesuffix("_id")
    return next((k for k in (stem + "s", stem + "es") if k in COLLECTIONS), None)


class GenericHandlers:
    """The generic handlers of `Handlers` (a mixin: it holds the selector and the dataset)."""

    selector: Selector
    crud: Crud

    def render(self, key: str, record_id: str, params: Mapping[str, Any]) -> web.Response:
        raise NotImplementedError  # `Handlers` provides it

    def within(self, resolved: Resolved) -> dict[str, str]:
        """The path's parameters after checking that what they name exists (404 if not)."""
        values = {n: v for n, v in resolved.path_values.items() if n in resolved.collection.parents}
        for name, value in values.items():
            parent = _parent_key(name)
            if parent is not None and self.crud.dataset.get(parent, value) is None:
                raise not_found(parent, value)
        return values

    def raw_list(self, resolved: Resolved, params: Mapping[str, Any]) -> web.Response:
        """A list that is no envelope: every matching record, as plain JSON."""
        key = resolved.collection.key
        page = self.selector.select(key, params, within=self.within(resolved), unpaged=True)
        return json_response(self.plain(key, page.ids, params))

    def plain(self, key: str, ids: list[str], params: Mapping[str, Any]) -> list[dict[str, Any]]:
        body = self.selector.envelope(key, Page(ids, len(ids), 1, max(len(ids), 1)), params)
        return [body[key][i] for i in ids]

    def answer(self, resolved: Resolved, record_id: str, params: Mapping[str, Any]) -> web.Response:
        """One record as the route answers it: its envelope, or its plain JSON."""
        key = resolved.collection.key
        if resolved.collection.envelope:
            return self.render(key, record_id, params)
        if not self.selector.visible(key, record_id, params):
            raise not_found(key, record_id)
        return json_response(self.plain(key, [record_id], params)[0])

    def existing(self, resolved: Resolved, call: Call) -> str:
        """The id of the record the path names, visible to the requester; 404 otherwise."""
        self.within(resolved)
        key = resolved.collection.key
        found = self.crud.locate(resolved.collection, call.record_id, resolved.path_values)
        if not found or not self.selector.visible(key, found, call.params):
            raise not_found(key, call.record_id)
        return found

    def create(self, resolved: Resolved, call: Call) -> web.Response:
        """`POST /<key>`: a new record."""
        collection, op = resolved.collection, resolved.operation
        self.selector.validate(collection.key, call.params)
        params = self.crud.params(op, call.body_params(), call.params)
        return self.answer(resolved, self.crud.create(collection, op, params), call.params)

    def update(self, resolved: Resolved, call: Call) -> web.Response:
        """`PUT /<key>/{id}`: the body's fields set on the record."""
        record_id = self.existing(resolved, call)
        params = self.crud.params(resolved.operation, call.body_params(), call.params)
        self.crud.update(resolved.collection, resolved.operation, record_id, params)
        return self.answer(resolved, record_id, call.params)

    def status(self, resolved: Resolved, call: Call) -> web.Response:
        """`PUT /<key>/{id}/approve` (reject, cancel): the status the name says."""
        record_id = self.existing(resolved, call)
        action = resolved.operation.path.rpartition("/")[2]
        self.crud.act(resolved.collection, record_id, action, call.body_params())
        return self.answer(resolved, record_id, call.params)

    def delete(self, resolved: Resolved, call: Call) -> web.Response:
        """`DELETE /<key>/{id}`: gone; no body."""
        record_id = self.existing(resolved, call)
        self.crud.delete(resolved.collection, record_id)
        return web.Response(status=resolved.operation.success_status)

    def delete_many(self, resolved: Resolved, call: Call) -> web.Response:
        """`DELETE /<key>?ids=1,2`: each listed record that exists is gone; no body."""
        raw = call.params.get("ids")
        listed = raw if isinstance(raw, list) else str(raw or "").split(",")
        ids = [str(i).strip() for i in listed if str(i).strip()]
        if not ids:
            raise ApiError.validation(("ids", "ids can't be blank"))
        key = resolved.collection.key
        for record_id in ids:
            if self.selector.visible(key, record_id, {}):
                self.crud.delete(resolved.collection, record_id)
        return web.Response(status=resolved.operation.success_status)
