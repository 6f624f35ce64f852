"""Loads and exports under odd server data and odd destinations, against a real `FakeKantata`.

- A record whose fields dlt would flatten into one column, or into a column of dlt's own
  (`_dlt_*`), fails the load with a `PayloadError` naming the fields; nothing of the table
  is loaded.
- The values of a destination URL's query (where a password may travel) are never printed.
- A DuckDB file named like the dataset, in any case, is a usage error before any request.
- `kantata-async load` exits 0 when the server ends a list early, and prints a warning
  naming the collection and saying its watermark stayed; the next run loads the rest.
- An integer wider than 64 bits is exported exactly.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import my_memberships
from dlt_helpers import new_pipeline, query, source
from threaded import Served

from kantata_async import KantataClient, PayloadError
from kantata_async.cli import main
from kantata_async.export import export
from kantata_async.testing import FakeKantata, RecordedRequest

KEY = "workweek_memberships"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    monkeypatch.delenv("KANTATA_BASE_URL", raising=False)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture
def pipeline(tmp_path: Path) -> Any:
    pytest.importorskip("dlt")
    return new_pipeline(tmp_path)


def load_args(served: Served, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "load",
        "--base-url",
        served.url,
        "--token",
        served.token,
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
        *extra,
    ]


def envelope(key: str, records: dict[str, dict[str, Any]], **sideloads: Any) -> dict[str, Any]:
    """A one-page list envelope, as `fake.fail_next(200, body=...)` serves it."""
    ids = list(records)
    return {
        "count": len(ids),
        "meta": {"count": len(ids), "page_count": 1, "page_number": 1, "page_size": 200},
        "results": [{"key": key, "id": i} for i in ids],
        key: records,
        **sideloads,
    }


def root_cause(err: BaseException) -> BaseException:
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return err


def tables(pipeline: Any) -> set[str]:
    try:
        found = query(pipeline, "SELECT table_name FROM information_schema.tables")
    except Exception:  # no dataset yet
        return set()
    return {name for (name,) in found}


def failed_load(served: Served, pipeline: Any, **options: Any) -> BaseException:
    """The root cause of the users load that fails, dlt's `PipelineStepFailed` unwrapped."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    with pytest.raises(PipelineStepFailed) as caught:
        pipeline.run(source(served, ["users"], **options))
    return root_cause(caught.value)


# -- fields dlt would load into one column ----------------------------------------------------


def test_a_field_named_like_a_dlt_column_fails_the_load(served: Served, pipeline: Any) -> None:
    """A server field named `_dlt_id` (dlt's link from child rows to their parent) fails the
    load with a `PayloadError` naming it, and nothing of the table is loaded."""
    users = {
        "8": {"id": "8", "full_name": "Bea", "_dlt_id": "same", "skill_ids": ["1", "2"]},
        "9": {"id": "9", "full_name": "Cy", "_dlt_id": "same", "skill_ids": ["3"]},
    }
    served.call(lambda: served.fake.fail_next(200, body=envelope("users", users), path="users"))
    cause = failed_load(served, pipeline)
    assert isinstance(cause, PayloadError)
    assert "'_dlt_id' would load into dlt's own column" in str(cause)
    assert "users" not in tables(pipeline)


@pytest.mark.parametrize(
    ("fields", "clash"),
    [
        ({"a": {"b": "nested"}, "a__b": "flat-value"}, "'a.b' and 'a__b'"),
        ({"role__name": "field-value"}, "'role__name' and 'role.name'"),
        ({"Name": "x", "name": "y"}, "'Name' and 'name'"),
    ],
)
def test_two_fields_dlt_flattens_to_one_column_fail_the_load(
    served: Served, pipeline: Any, fields: dict[str, Any], clash: str
) -> None:
    """A record whose fields dlt would flatten or fold into one column (`a.b` and `a__b`,
    `Name` and `name`) fails the load with a `PayloadError` naming both fields."""
    users = {"7": {"id": "7", "full_name": "Ann", "role_id": "3", **fields}}
    body = envelope("users", users, roles={"3": {"id": "3", "name": "Designer"}})
    served.call(lambda: served.fake.fail_next(200, body=body, path="users"))
    cause = failed_load(served, pipeline, include={"users": ["role"]})
    assert isinstance(cause, PayloadError)
    assert clash in str(cause)
    assert "one value would be lost" in str(cause)
    assert "users" not in tables(pipeline)


@pytest.mark.parametrize("name", ["", "__", "   "])
def test_a_field_with_no_column_name_fails_the_load(
    served: Served, pipeline: Any, name: str
) -> None:
    """A field whose name normalises to nothing (empty, only separators or blanks) has no
    column to load into: the load fails with a `PayloadError` naming it."""
    users = {"7": {"id": "7", "full_name": "Ann", name: "lost?"}}
    served.call(lambda: served.fake.fail_next(200, body=envelope("users", users), path="users"))
    cause = failed_load(served, pipeline)
    assert isinstance(cause, PayloadError)
    assert f"a field named {name!r} has no column name" in str(cause)
    assert "users" not in tables(pipeline)


# -- the destination ---------------------------------------------------------------------------


def test_a_password_in_the_destination_query_string_is_never_printed(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A destination URL is shown with every query value masked (`?password=***`, where
    libpq takes a password too); the password appears nowhere in the output."""
    pytest.importorskip("dlt")
    secret = "pa55-w0rd-in-query"
    to = f"postgresql://loader@127.0.0.1:9/warehouse?password={secret}&sslmode=require"
    code = main(load_args(served, tmp_path, "users", "--to", to))
    captured = capfd.readouterr()
    assert code == 1, captured.err  # no Postgres to load into: an error
    assert "postgresql://loader@127.0.0.1:9/warehouse?password=***&sslmode=***" in captured.err
    assert secret not in captured.err
    assert secret not in captured.out


def test_a_duckdb_file_named_like_the_dataset_in_another_case_is_a_usage_error(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`--to duckdb:///.../Kantata_Data.duckdb` with the dataset `kantata_data` exits 2
    before any request: DuckDB names ignore case, so the two would clash."""
    pytest.importorskip("dlt")
    to = f"duckdb:///{tmp_path / 'Kantata_Data.duckdb'}"
    code = main(load_args(served, tmp_path, "users", "--to", to))
    err = capfd.readouterr().err
    assert code == 2, err
    assert "--dataset kantata_data: must differ from the DuckDB file's name" in err
    assert served.fake.requests == []
    assert not (tmp_path / "Kantata_Data.duckdb").exists()


# -- a list the server ends early --------------------------------------------------------------


def test_load_warns_when_the_server_ends_the_list_early(
    served: Served, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Page 2 comes back empty while page 1 announced more: `load` exits 0, loads page 1,
    and prints a `kantata-async: warning:` line naming the collection and saying the
    watermark stays; the next run loads the rest."""
    duckdb = pytest.importorskip("duckdb")
    total = len(my_memberships(served.fake))
    assert total > 10
    empty = {
        "count": total,
        "meta": {"count": total, "page_count": -(-total // 10), "page_number": 2, "page_size": 10},
        "results": [],
        KEY: {},
    }

    def cut_after_page_one(request: RecordedRequest) -> None:
        if request.path == KEY and request.query.get("page") == "1":
            served.fake.fail_next(200, body=empty, path=KEY)

    warehouse = tmp_path / "warehouse.duckdb"
    args = load_args(served, tmp_path, KEY, "--to", f"duckdb:///{warehouse}", "--per-page", "10")

    def rows() -> int:
        with duckdb.connect(str(warehouse), read_only=True) as db:
            [(n,)] = db.execute(f"SELECT count(*) FROM kantata_data.{KEY}").fetchall()
        return int(n)

    served.fake.on_request = cut_after_page_one
    code = main([*args, "--concurrency", "1"])
    served.fake.on_request = None
    err = capfd.readouterr().err
    assert code == 0, err
    assert rows() == 10
    [warning] = [line for line in err.splitlines() if "warning" in line]
    assert warning.startswith(f"kantata-async: warning: {KEY}: the server reported {total} ")
    assert "10 arrived; the watermark stays at " in warning
    assert "Traceback" not in err

    assert main(args) == 0
    assert "warning" not in capfd.readouterr().err
    assert rows() == total


# -- numbers -----------------------------------------------------------------------------------


async def test_an_integer_beyond_64_bits_is_exported_exactly(
    fake: FakeKantata, client: KantataClient
) -> None:
    """A field holding an integer wider than 64 bits is written to the NDJSON row as that
    exact integer (not a rounded float), and the export is complete without warnings."""
    wide = 123456789012345678901234567890
    raw = (
        b'{"count":1,"meta":{"count":1,"page_count":1,"page_number":1,"page_size":200},'
        b'"results":[{"key":"users","id":"7"}],'
        b'"users":{"7":{"id":"7","full_name":"Ann","big":%d}}}' % wide
    )
    fake.fail_next(200, body=raw, path="users", content_type="application/json")
    out = io.StringIO()
    summary = await export(client, "users", out)
    assert summary.complete
    assert summary.warnings == ()
    [line] = out.getvalue().splitlines()
    assert f'"big":{wide}' in line
    assert json.loads(line)["big"] == wide
