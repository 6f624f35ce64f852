"""What the dlt tests of incremental gaps and load edges share: a pipeline into a temporary
DuckDB, a source for the served fake, SQL against the pipeline's dataset, and a hook that
deletes a record mid-walk (offset paging then skips another one)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from threaded import Served

from kantata_async.testing import FakeKantata, RecordedRequest


def new_pipeline(tmp_path: Path) -> Any:
    """A dlt pipeline of its own into `tmp_path/load.duckdb`, dataset `kantata`."""
    import dlt

    return dlt.pipeline(
        pipeline_name=f"kantata_{uuid.uuid4().hex[:8]}",
        destination=dlt.destinations.duckdb(str(tmp_path / "load.duckdb")),
        dataset_name="kantata",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def source(served: Served, resources: list[str], **options: Any) -> Any:
    from kantata_async.dlt import kantata_source

    return kantata_source(token=served.token, base_url=served.url, resources=resources, **options)


def query(pipeline: Any, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as sql_client:
        return list(sql_client.execute_sql(sql))


def delete_when_page_two_is_asked(fake: FakeKantata, key: str, victim: str) -> None:
    """Delete `victim` (on page 1 of `key`) as page 2 is asked for: offset paging then
    shifts the first record of page 2 onto page 1, which the walk has already read."""
    done: list[bool] = []

    def hook(request: RecordedRequest) -> None:
        if request.path == key and request.query.get("page") == "2" and not done:
            done.append(True)
            fake.dataset.delete(key, victim)

    fake.on_request = hook
