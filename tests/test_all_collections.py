"""Every collection of the SDK's generated registry, walked through a real client against
FakeKantata: a full list (every record once), a get by id where the resource has one, and a
nested include (`<include>.<its include>`) whose records must arrive linked in the graph.

Parametrised over `kantata_async._generated.COLLECTIONS`, so a collection the SDK gains is
walked here at once; a collection the fake refuses (a 501) fails its case. A collection
that truly cannot be served goes in `EXCEPTIONS`, with the reason, for review.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from kantata_async import KantataClient, RetryPolicy
from kantata_async._generated import COLLECTIONS
from kantata_async._models.base import Model, Record
from kantata_async._models.relations import Relation
from kantata_async.resources._registry import RESOURCES
from kantata_async.testing import Dataset, FakeKantata

# Collections the fake cannot serve, each with why. Reviewed; keep it empty if you can.
EXCEPTIONS: dict[str, str] = {}

WALKED = [key for key in COLLECTIONS if key not in EXCEPTIONS]


def test_the_exceptions_are_few_and_named() -> None:
    assert set(EXCEPTIONS) <= set(COLLECTIONS)
    assert len(EXCEPTIONS) <= 3
    assert all(reason.strip() for reason in EXCEPTIONS.values())


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(users=60, seed=5)


@pytest.fixture
async def pair(dataset: Dataset) -> AsyncIterator[tuple[FakeKantata, KantataClient]]:
    async with FakeKantata(dataset=dataset) as fake:
        policy = RetryPolicy.instant(max_retries=0)
        async with KantataClient(fake.token, base_url=fake.base_url, retry=policy) as client:
            yield fake, client


def relations(model: type[Model]) -> dict[str, Relation]:
    """The relations a model offers through an include, by include name."""
    rels: dict[str, Relation] = model.__kantata_relations__
    return {r.include: r for r in rels.values() if r.include and r.target in RESOURCES}


def nested_path(key: str) -> tuple[Relation, Relation] | None:
    """The first `<include>.<its include>` of `key` (by name) whose targets have resources."""
    for _, first in sorted(relations(RESOURCES[key].model).items()):
        inner = relations(RESOURCES[first.target or ""].model)
        for _, second in sorted(inner.items()):
            return first, second
    return None


def linked(obj: Model, relation: Relation) -> list[Model]:
    """The records `relation` links `obj` to (raises when the relation is not loaded)."""
    value = getattr(obj, relation.name)
    if value is None:
        return []
    return list(value) if relation.many else [value]


def parent_values(fake: FakeKantata, key: str) -> list[dict[str, str]]:
    """The path parameters a nested list needs: each parent that has records under it."""
    path = RESOURCES[key].path
    names = [s.strip("{}") for s in path if s.startswith("{")]
    if not names:
        return [{}]
    records = fake.dataset.records[key].values()
    return [dict(v) for v in {tuple((n, str(r[n])) for n in names) for r in records}]


@pytest.mark.parametrize("key", WALKED)
async def test_every_collection_walks_gets_and_links(
    pair: tuple[FakeKantata, KantataClient], key: str
) -> None:
    fake, client = pair
    resource: Any = getattr(client, key)
    stored = fake.dataset.records[key]
    if RESOURCES[key].model is Record:
        # Answers that are no envelope: plain JSON, every record at once.
        listed = await resource.list()
        assert isinstance(listed, list) and listed
        ids = [str(item["id"]) for item in listed]
        assert sorted(ids) == sorted(stored), key
        if hasattr(resource, "get"):
            one = await resource.get(ids[0])
            assert str(one["id"]) == ids[0]
        return
    walked: list[str] = []
    for values in parent_values(fake, key):
        request = resource.list(*values.values(), per_page=7)
        walked += [obj.id async for obj in request]
        assert request.stats.duplicates == 0
        assert request.stats.records == request.stats.reported_count
    assert walked and len(walked) == len(set(walked)), key
    assert set(walked) <= set(stored)
    if hasattr(resource, "get"):
        got = await resource.get(walked[0])
        assert got.id == walked[0] and type(got) is RESOURCES[key].model
    path = nested_path(key)
    if path is None:
        return
    first, second = path
    include = f"{first.include}.{second.include}"
    values = parent_values(fake, key)[0]
    middles = 0
    async for obj in resource.list(*values.values(), include=[include], per_page=200):
        for middle in linked(obj, first):
            # Linked as the fake's records say: the middle record is the one named.
            named = fake.dataset.records[key][obj.id].get(first.field or "")
            assert named is None or middle.id in (
                [str(i) for i in named] if isinstance(named, list) else [str(named)]
            )
            middles += 1
            # The second level arrived too: reading it raises when it did not.
            for last in linked(middle, second):
                assert last.id in fake.dataset.records[last.__kantata_key__]
    assert middles, f"{key}: nothing linked through {first.include}"
