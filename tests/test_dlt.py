"""`kantata_async.dlt`: real dlt pipelines into a temporary DuckDB, against the fake server.

dlt runs a source's async resources in an event loop of its own, in a thread of its own, and
`pipeline.run` blocks: these tests are synchronous, with the fake served from another thread.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import attrs
import pytest
from conftest import my_memberships
from dlt_helpers import new_pipeline, query, source
from threaded import Served

from kantata_async import AuthenticationError, KantataClient
from kantata_async._generated import CollectionKey
from kantata_async.export import export
from kantata_async.resources._registry import RESOURCES
from kantata_async.sync import DEFAULT_OVERLAP
from kantata_async.testing import RecordedRequest
from kantata_async.testing._collections import COLLECTIONS as FAKE_COLLECTIONS

dlt = pytest.importorskip("dlt")

from kantata_async.dlt import (  # noqa: E402 - after the skip
    column_hints,
    incremental,
    kantata_source,
    saved_watermark,
)

Pipeline = Any  # dlt.Pipeline


@pytest.fixture(autouse=True)
def no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    # dlt reports pipeline runs to its makers unless told not to; tests send nothing out.
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return new_pipeline(tmp_path)


def ids(pipeline: Pipeline, table: str) -> list[str]:
    return sorted(row[0] for row in query(pipeline, f"SELECT id FROM {table}"))


def loaded(pipeline: Pipeline) -> dict[str, int]:
    """Rows per table in the last run's load package (dlt's own count)."""
    counts: dict[str, int] = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def watermark_of(pipeline: Pipeline, resource: str) -> Any:
    state = pipeline.state["sources"]["kantata"]["resources"].get(resource, {})
    return saved_watermark(state)


def memberships(served: Served) -> dict[str, dict[str, Any]]:
    """The workweek memberships the fake lists (its account's)."""
    return my_memberships(served.fake)


# -- a whole load ---------------------------------------------------------------------------


def served_collections(served: Served) -> list[str]:
    """The collections the fake serves today (it grows): those it declares."""
    return sorted(set(FAKE_COLLECTIONS) & set(get_args(CollectionKey)))


async def reported_counts(served: Served, keys: list[str]) -> dict[str, int]:
    """What the server says each list holds (page 1's count), apart from any walk."""
    async with KantataClient(served.token, base_url=served.url) as client:
        return {key: (await getattr(client, key).list(per_page=1)).count for key in keys}


def test_every_collection_the_fake_serves_loads_one_row_per_record(
    served: Served, pipeline: Pipeline
) -> None:
    keys = served_collections(served)
    assert {"users", "workweek_memberships", "roles", "skills"} <= set(keys)

    pipeline.run(source(served, keys))

    expected = asyncio.run(reported_counts(served, keys))
    for key in keys:
        [(rows, distinct)] = query(pipeline, f"SELECT count(*), count(DISTINCT id) FROM {key}")
        assert (key, rows) == (key, expected[key])
        assert distinct == rows
    assert ids(pipeline, "users") == sorted(served.visible_users())
    assert ids(pipeline, "workweek_memberships") == sorted(memberships(served))
    assert loaded(pipeline)["users"] == len(served.visible_users())


def test_rows_are_the_export_rows_flattened_and_typed(
    served: Served, pipeline: Pipeline, tmp_path: Path
) -> None:
    include = ["account_membership.skill_memberships", "role"]

    async def exported() -> list[dict[str, Any]]:
        out = tmp_path / "users.ndjson"
        async with KantataClient(served.token, base_url=served.url) as client:
            await export(client, "users", out, include=include)
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    rows = {row["id"]: row for row in asyncio.run(exported())}
    pipeline.run(source(served, ["users"], include={"users": include}))

    table = query(
        pipeline,
        "SELECT id, full_name, email_address, role__name, account_membership__id, "
        "account_membership__bill_rate_in_cents FROM users",
    )
    assert len(table) == len(rows)
    for uid, name, email, role, membership, rate in table:
        row = rows[uid]
        assert (name, email) == (row["full_name"], row["email_address"])
        assert role == (row["role"] or {}).get("name")
        assert membership == row["account_membership"]["id"]
        assert rate == row["account_membership"].get("bill_rate_in_cents")
    # A to-many relation is a child table: the same skill memberships, once per user.
    children = query(
        pipeline,
        "SELECT u.id, s.id, s.level FROM users u JOIN users__account_membership__"
        "skill_memberships s ON s._dlt_parent_id = u._dlt_id",
    )
    embedded = [
        (uid, sm["id"], sm["level"])
        for uid, row in rows.items()
        for sm in row["account_membership"]["skill_memberships"]
    ]
    assert embedded
    assert Counter(children) == Counter(embedded)


def test_columns_are_typed_from_the_models(served: Served, pipeline: Pipeline) -> None:
    include = {"workweek_memberships": ["workweek", "user"]}
    pipeline.run(source(served, ["workweek_memberships"], include=include))

    types = dict(
        query(
            pipeline,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'workweek_memberships'",
        )
    )
    # Dates are DATEs (dlt alone would keep the text), ids text even where the API sends ints.
    assert types["start_date"] == "DATE"
    assert types["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["user_id"] == "VARCHAR"
    assert types["workweek__total_minutes"] == "BIGINT"
    assert types["workweek__default"] == "BOOLEAN"
    assert types["user__full_name"] == "VARCHAR"
    # Typed even when every value loaded is null (dlt alone leaves such a column out).
    assert "workweek__end_date" in types
    hints = column_hints(RESOURCES["workweek_memberships"].model, {"workweek": {}})
    assert hints["workweek__end_date"] == {"data_type": "date"}
    assert "workweek__monday_minutes" in hints
    assert "monday_minutes" not in hints  # write-only: reads never carry it


# -- incremental runs -------------------------------------------------------------------------


def test_which_collections_load_incrementally() -> None:
    assert incremental("workweek_memberships")
    assert incremental("time_entries")
    assert not incremental("users")  # an updated_after filter, but no updated_at on records
    assert not incremental("account_colors")  # no updated_after filter


def test_a_second_run_without_changes_loads_nothing_new(served: Served, pipeline: Pipeline) -> None:
    keys = ["users", "workweek_memberships"]
    pipeline.run(source(served, keys))
    first = loaded(pipeline)
    mark = watermark_of(pipeline, "workweek_memberships")
    newest = max(datetime.fromisoformat(m["updated_at"]) for m in memberships(served).values())
    assert first["workweek_memberships"] == len(memberships(served))
    assert mark.at == newest
    served.fake.requests.clear()

    pipeline.run(source(served, keys))

    again = loaded(pipeline)
    assert "workweek_memberships" not in again  # nothing new: no row in the load package
    assert again["users"] == len(served.visible_users())  # full load, merged by id
    assert ids(pipeline, "workweek_memberships") == sorted(memberships(served))
    assert ids(pipeline, "users") == sorted(served.visible_users())
    # It asked only for what changed since the watermark, less the overlap.
    [asked] = [r for r in served.fake.requests if r.path == "workweek_memberships"]
    assert datetime.fromisoformat(asked.query["updated_after"]) == newest - DEFAULT_OVERLAP
    assert "updated_after" not in next(r for r in served.fake.requests if r.path == "users").query


def test_a_changed_record_is_merged_not_duplicated(served: Served, pipeline: Pipeline) -> None:
    keys = ["users", "workweek_memberships"]
    pipeline.run(source(served, keys, include={"workweek_memberships": ["user"]}))
    wm_id = sorted(memberships(served), key=int)[3]
    user_id = sorted(served.visible_users(), key=int)[5]
    served.call(lambda: served.fake.dataset.update("workweek_memberships", wm_id, end_date=None))
    served.call(lambda: served.fake.dataset.update("users", user_id, full_name="Zed Zulu"))

    pipeline.run(source(served, keys, include={"workweek_memberships": ["user"]}))

    assert loaded(pipeline)["workweek_memberships"] == 1  # only the changed one
    assert ids(pipeline, "workweek_memberships") == sorted(memberships(served))
    [(end_date, stamp)] = query(
        pipeline, f"SELECT end_date, updated_at FROM workweek_memberships WHERE id = '{wm_id}'"
    )
    assert end_date is None
    assert stamp == datetime.fromisoformat(memberships(served)[wm_id]["updated_at"])
    assert ids(pipeline, "users") == sorted(served.visible_users())
    assert query(pipeline, f"SELECT full_name FROM users WHERE id = '{user_id}'") == [("Zed Zulu",)]


def test_a_stamp_in_the_future_does_not_hold_back_the_next_run(
    served: Served, pipeline: Pipeline
) -> None:
    first_id, later_id = sorted(memberships(served), key=int)[:2]
    served.call(
        lambda: served.fake.dataset.update(
            "workweek_memberships", first_id, updated_at="2099-01-01T00:00:00+00:00"
        )
    )
    before = datetime.now(UTC)
    pipeline.run(source(served, ["workweek_memberships"]))
    after = datetime.now(UTC)

    mark = watermark_of(pipeline, "workweek_memberships")
    assert before <= mark.at <= after  # capped at the run's start, not 2099
    served.call(lambda: served.fake.dataset.update("workweek_memberships", later_id))
    # The fake stamps writes in its own past: bring this one after the watermark, as a
    # change made after the run would be on a real server.
    changed_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    served.call(
        lambda: served.fake.dataset.update("workweek_memberships", later_id, updated_at=changed_at)
    )

    pipeline.run(source(served, ["workweek_memberships"]))

    # The change; the 2099 one comes again (it is after the watermark) but went out already.
    assert loaded(pipeline)["workweek_memberships"] == 1
    future = "SELECT id FROM workweek_memberships WHERE updated_at > '2098-01-01T00:00:00Z'"
    assert query(pipeline, future) == [(first_id,)]
    [(stamp,)] = query(
        pipeline, f"SELECT updated_at FROM workweek_memberships WHERE id = '{later_id}'"
    )
    assert stamp == datetime.fromisoformat(changed_at)
    assert ids(pipeline, "workweek_memberships") == sorted(memberships(served))


def test_since_starts_the_first_run_there(served: Served, pipeline: Pipeline) -> None:
    stamps = sorted(datetime.fromisoformat(m["updated_at"]) for m in memberships(served).values())
    since = stamps[len(stamps) // 2]
    expected = {
        mid
        for mid, m in memberships(served).items()
        if datetime.fromisoformat(m["updated_at"]) > since - DEFAULT_OVERLAP
    }
    assert 0 < len(expected) < len(stamps)

    pipeline.run(source(served, ["workweek_memberships", "users"], since=since))

    assert ids(pipeline, "workweek_memberships") == sorted(expected)
    assert ids(pipeline, "users") == sorted(served.visible_users())  # since is not theirs


def test_a_failed_walk_keeps_the_previous_watermark(served: Served, pipeline: Pipeline) -> None:
    pipeline.run(source(served, ["workweek_memberships"]))
    mark = watermark_of(pipeline, "workweek_memberships")
    changed = sorted(memberships(served), key=int)[:15]  # two pages of 10 on the next run
    for mid in changed:
        served.call(lambda mid=mid: served.fake.dataset.update("workweek_memberships", mid))

    def fail_after_page_one(request: RecordedRequest) -> None:
        if request.path == "workweek_memberships" and request.query.get("page") == "1":
            served.fake.fail_next(401)  # page 1 is answered; page 2 is not

    served.fake.on_request = fail_after_page_one
    with pytest.raises(Exception) as failed:
        pipeline.run(source(served, ["workweek_memberships"], per_page=10, max_concurrency=1))
    served.fake.on_request = None

    chain = []
    error: BaseException | None = failed.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or getattr(error, "exception", None)
    assert any(isinstance(e, AuthenticationError) for e in chain)
    assert served.token not in str(failed.value)
    pages = [r.query.get("page") for r in served.fake.requests if r.path == "workweek_memberships"]
    assert pages[-2:] == ["1", "2"]  # page 1's rows were read before the walk failed
    # Nothing of the failed run is committed: the watermark did not move past page 1.
    assert watermark_of(pipeline, "workweek_memberships") == mark
    pipeline.run(source(served, ["workweek_memberships"]))
    assert loaded(pipeline)["workweek_memberships"] == len(changed)


# -- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"resources": ["nope"]}, "'nope' is not a collection"),
        ({"resources": "users"}, "a list of collection keys"),
        ({"resources": []}, "at least one"),
        ({"include": {"users": ["nope"]}}, "is not valid here"),
        ({"include": {"roles": ["users"]}}, "roles not among the resources"),
        ({"filters": {"users": {"nope": 1}}}, "unknown filter"),
        ({"filters": {"users": {"on_my_account": "maybe"}}}, "on_my_account"),
        ({"filters": {"workweek_memberships": {"updated_after": datetime.now(UTC)}}}, "water"),
        ({"since": datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001 - on purpose
        ({"base_url": "http://example.com/api/v1/"}, "http"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    served: Served, options: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "token": served.token,
        "base_url": served.url,
        "resources": ["users", "workweek_memberships"],
        **options,
    }
    with pytest.raises(ValueError, match=message):
        kantata_source(**arguments)
    assert served.fake.requests == []


def test_the_package_does_not_need_dlt() -> None:
    probe = (
        "import sys\n"
        "import kantata_async, kantata_async.cli, kantata_async.export, kantata_async.sync\n"
        "assert 'dlt' not in sys.modules, 'dlt was imported'\n"
        "sys.modules['dlt'] = None  # as if it were not installed\n"
        "try:\n"
        "    import kantata_async.dlt\n"
        "except ModuleNotFoundError as err:\n"
        "    print(err)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'kantata_async[dlt]'" in done.stdout


def test_column_types_hold_once_the_models_annotations_are_resolved() -> None:
    """cattrs resolves a model's annotations the first time it converts one (`validate`,
    `from_dict`): the columns must be typed the same before and after."""
    from kantata_async import WorkweekMembership

    before = column_hints(WorkweekMembership, {})
    attrs.resolve_types(WorkweekMembership)
    after = column_hints(WorkweekMembership, {})
    assert after == before
    assert after["start_date"] == {"data_type": "date"}
    assert after["updated_at"] == {"data_type": "timestamp"}
