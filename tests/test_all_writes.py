"""Every write of the SDK's generated registry, through a real client against FakeKantata:
`create` with the fields its body table requires, `update` of one field, `delete`,
`delete_many`, and every other action (approve, cancel, split, ...).

Parametrised over `kantata_async._generated.COLLECTIONS`, so a write the SDK gains is sent
here at once. What a body needs is read from the resource's own table (its module's
`CREATE`, `UPDATE`, `<ACTION>` `WriteBody`): ids of records the fake holds, dates, numbers,
the facts' enums. A write the fake cannot take goes in `EXCEPTIONS`, with the reason; an
action it does not model (a 501) in `UNMODELLED`, where the test checks it was routed.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from write_bodies import (
    CRUD,
    SUNDAY,
    body,
    change,
    check_holds,
    ident,
    includes,
    operations,
    read,
    readable,
    route,
    same,
    spec,
    stored,
    takes_include,
)

from kantata_async import KantataClient, NotFoundError, RetryPolicy
from kantata_async._errors import APIStatusError
from kantata_async._generated import COLLECTIONS
from kantata_async._models.base import Record
from kantata_async.resources._registry import RESOURCES
from kantata_async.testing import FakeKantata

# Writes ("<key>.<operation>") the fake cannot take through the SDK, each with why.
EXCEPTIONS: dict[str, str] = {}

# Fields a write needs that its facts do not mark required, each with why.
EXTRA: dict[str, dict[str, Any]] = {
    # The fake models Kantata's timeline of workweek memberships: one starts on a Sunday
    # (tests/test_client_workweek_memberships.py), and no date is documented as the default.
    "workweek_memberships.create": {"start_date": SUNDAY},
}

_UNMODELLED = "documented, not modelled by the fake (it answers 501 naming the route)"
UNMODELLED: dict[str, str] = {
    case: _UNMODELLED
    for case in (
        "account_invitations.resend",
        "account_memberships.disable",
        "account_memberships.enable",
        "exchange_tables.import_exchange_tables",
        "exchange_tables.get_exchange_rates",
        "exports.download_url",
        "external_references.create_or_update",
        "invoices.next_invoice_number",
        "project_accounting_records.soft_delete_project_accounting_record",
        "project_accounting_records.export_to_csv",
        "project_accounting_records.import_csv",
        "rate_card_set_versions.publish",
        "resource_requests.update_approver",
        "task_status_sets.update_account_default",
        "workspace_allocations.split",
        "workspace_resources.create_workspace_resource_allocations_from_scheduled_hours",
        "workspace_resources.create_workspace_resource_allocations_from_scheduled_hours_by_id",
        "workspaces.apply_template",
        "workspaces.invite",
        "workspaces.permissions",
        "workspaces.toggle_expense_approvals",
        "workspaces.toggle_time_approvals",
        "workspaces.unarchive_with_approvals",
        "insights_report_exports.results_latest",
    )
}
STATUS = {"approve": "approved", "reject": "rejected", "cancel": "canceled"}


def cases(*wanted: str) -> list[str]:
    every = [f"{k}.{op}" for k in COLLECTIONS for op in operations(k) if op in wanted]
    return [case for case in every if case not in EXCEPTIONS]


EVERY = {f"{k}.{op}" for k in COLLECTIONS for op in operations(k)}


def test_the_exceptions_are_few_and_named() -> None:
    assert set(EXCEPTIONS) | set(EXTRA) | set(UNMODELLED) <= EVERY
    assert len(EXCEPTIONS) <= 3 and len(EXTRA) <= 3
    assert all(reason.strip() for reason in [*EXCEPTIONS.values(), *UNMODELLED.values()])
    # The registry is read right: most collections write.
    assert len(cases("create")) >= 60 and len(cases("update")) >= 60


@pytest.fixture
async def pair() -> AsyncIterator[tuple[FakeKantata, KantataClient]]:
    async with FakeKantata(users=40, seed=5) as fake:
        policy = RetryPolicy.instant(max_retries=0)
        async with KantataClient(fake.token, base_url=fake.base_url, retry=policy) as client:
            yield fake, client


def writes(fake: FakeKantata, key: str, operation: str) -> dict[str, Any]:
    """The body `operation` requires, with what the fake demands besides (`EXTRA`)."""
    return body(fake, key, operation, EXTRA.get(f"{key}.{operation}"))


async def subject(fake: FakeKantata, client: KantataClient, key: str) -> Any:
    """A record of `key` to write to: a new one where the SDK creates, else one listed."""
    resource: Any = getattr(client, key)
    if "create" in operations(key) and f"{key}.create" not in EXCEPTIONS:
        return await resource.create(**writes(fake, key, "create"))
    if RESOURCES[key].model is Record:
        return (await resource.list())[0]
    async for obj in resource.list(per_page=5):
        return obj
    raise AssertionError(f"{key}: no record to write to")


def sent_to(fake: FakeKantata, method: str) -> list[str]:
    """The paths of the requests of `method` the fake received."""
    return [r.path for r in fake.requests if r.method == method]


async def assert_gone(fake: FakeKantata, client: KantataClient, key: str, rid: str) -> None:
    """The record is deleted at the server, forgotten by the graph, and not found again."""
    resource: Any = getattr(client, key)
    assert rid not in fake.dataset.records[key]
    assert client.graph.get(key, rid) is None
    if hasattr(resource, "get"):
        with pytest.raises(NotFoundError):
            await resource.get(rid)
    else:
        assert [obj.id async for obj in resource.list(only=[rid])] == []


@pytest.mark.parametrize("case", cases("create"))
async def test_create_answers_the_new_record_held_in_the_graph(
    pair: tuple[FakeKantata, KantataClient], case: str
) -> None:
    fake, client = pair
    key = case.partition(".")[0]
    resource: Any = getattr(client, key)
    table = spec(key, "create")
    assert table is not None
    sent = writes(fake, key, "create")
    extra = includes(fake, key, table, sent) if takes_include(key, "create") else {}
    before = set(fake.dataset.records[key])
    obj = await resource.create(**sent, **extra)
    assert sent_to(fake, "POST") == ["/".join(RESOURCES[key].path)]
    posted = next(r.json for r in fake.requests if r.method == "POST")
    assert isinstance(posted, dict) and list(posted) == [table.wrapper]
    (rid,) = set(fake.dataset.records[key]) - before
    assert ident(obj) == rid
    assert check_holds(key, table, sent, obj) >= 1, f"{key}: no value sent reads back"
    if RESOURCES[key].model is Record:
        assert isinstance(obj, dict)  # an answer that is no envelope is not merged
        if hasattr(resource, "get"):
            assert ident(await resource.get(rid)) == rid
        return
    assert type(obj) is RESOURCES[key].model
    assert client.graph.get(key, rid) is obj
    if hasattr(resource, "get"):
        assert await resource.get(rid) is obj


@pytest.mark.parametrize("case", cases("update"))
async def test_update_changes_the_record_held(
    pair: tuple[FakeKantata, KantataClient], case: str
) -> None:
    fake, client = pair
    key = case.partition(".")[0]
    resource: Any = getattr(client, key)
    table = spec(key, "update")
    assert table is not None
    obj = await subject(fake, client, key)
    rid = ident(obj)
    name, new = change(fake, key, table, obj)
    sent = {**writes(fake, key, "update"), name: new}
    extra = includes(fake, key, table, {name: new}) if takes_include(key, "update") else {}
    updated = await resource.update(rid, **sent, **extra)
    assert sent_to(fake, "PUT") == ["/".join((*RESOURCES[key].path, rid))]
    wire = table.wire.get(name, name)
    assert stored(fake.dataset.records[key][rid][wire]) == stored(new)
    if readable(key, wire):
        assert same(read(updated, wire), table.fields[name], new), f"{key}.{wire}"
    if RESOURCES[key].model is not Record:
        assert updated is obj and client.graph.get(key, rid) is obj
        if hasattr(resource, "get"):
            assert await resource.get(rid) is obj


@pytest.mark.parametrize("case", cases("delete"))
async def test_delete_forgets_the_record(
    pair: tuple[FakeKantata, KantataClient], case: str
) -> None:
    fake, client = pair
    key = case.partition(".")[0]
    obj = await subject(fake, client, key)
    rid = ident(obj)
    await getattr(client, key).delete(rid)
    assert sent_to(fake, "DELETE") == ["/".join((*RESOURCES[key].path, rid))]
    await assert_gone(fake, client, key, rid)


@pytest.mark.parametrize("case", cases("delete_many"))
async def test_delete_many_forgets_every_record(
    pair: tuple[FakeKantata, KantataClient], case: str
) -> None:
    fake, client = pair
    key = case.partition(".")[0]
    held = [await subject(fake, client, key) for _ in range(3)]
    rids = [ident(obj) for obj in held[:2]]
    await getattr(client, key).delete_many(rids)
    (request,) = [r for r in fake.requests if r.method == "DELETE"]
    assert (request.path, request.query["ids"]) == ("/".join(RESOURCES[key].path), ",".join(rids))
    for rid in rids:
        await assert_gone(fake, client, key, rid)
    kept = ident(held[2])
    assert kept in fake.dataset.records[key] and client.graph.get(key, kept) is held[2]


ACTIONS = sorted(case for case in EVERY if case.partition(".")[2] not in CRUD)


@pytest.mark.parametrize("case", ACTIONS)
async def test_every_action_reaches_its_route(
    pair: tuple[FakeKantata, KantataClient], case: str
) -> None:
    fake, client = pair
    key, _, operation = case.partition(".")
    method, template = route(key, operation)
    call = getattr(getattr(client, key), operation)
    takes_id = any(
        p.kind is p.POSITIONAL_OR_KEYWORD for p in inspect.signature(call).parameters.values()
    )
    obj = await subject(fake, client, key) if takes_id else None
    args = [ident(obj)] if obj is not None else []
    fields = writes(fake, key, operation)
    first = len(fake.requests)
    if case in UNMODELLED:
        with pytest.raises(APIStatusError) as raised:
            await call(*args, **fields)
        assert raised.value.status == 501, str(raised.value)
        assert f"does not model {method} /{template}" in str(raised.value)
    else:
        answer = await call(*args, **fields)
        if operation in STATUS:
            assert answer is obj and answer.status == STATUS[operation]
        else:
            assert answer is client.graph.get(key, ident(answer))
    path = re.sub(r"\{[a-z_]+\}", args[0] if args else "", template)
    assert (method, path) in [(r.method, r.path) for r in fake.requests[first:]]


@pytest.mark.parametrize(
    "case", ["timesheet_submissions.approve", "timesheet_submissions.reject", "invoices.cancel"]
)
async def test_an_action_whose_fields_are_all_optional_needs_none(
    pair: tuple[FakeKantata, KantataClient], case: str
) -> None:
    """`approve("17")` as the README shows it: sent without a body, answered with the record."""
    fake, client = pair
    key, _, operation = case.partition(".")
    obj = await subject(fake, client, key)
    answer = await getattr(getattr(client, key), operation)(ident(obj))
    assert answer is obj and answer.status == STATUS[operation]
    [request] = [r for r in fake.requests if r.path.endswith(f"/{operation}")]
    assert request.body == b""
