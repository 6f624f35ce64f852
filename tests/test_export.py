"""What an export writes: NDJSON rows with their include tree, CSV columns and cells, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from export_helpers import NESTED, read_ndjson, visible_users

from kantata_async import AccountMembership, KantataClient, Role, User, WorkweekMembership
from kantata_async.export import export
from kantata_async.testing import FakeKantata

DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MINUTES = [f"{day}_minutes" for day in DAYS]


def declared(cls: type[Any]) -> list[str]:
    return [f.name for f in attrs.fields(cls)]


async def test_ndjson_rows_embed_the_include_tree(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "users.ndjson"
    summary = await export(client, "users", out, include=NESTED, per_page=20)

    rows = read_ndjson(out)
    users = visible_users(fake)
    assert sorted(r["id"] for r in rows) == sorted(users)
    records = fake.dataset.records
    for row in rows:
        user = users[row["id"]]
        assert row["full_name"] == user["full_name"]
        assert row["email_address"] == user["email_address"]
        assert next(iter(row)) == "id"
        # Neither asked for (optional field) nor included (manager): absent, not null.
        assert "bio" not in row
        assert "manager_id" not in row
        assert "manager" not in row
        role = records["roles"][user["role_id"]]
        assert row["role"]["id"] == role["id"]
        assert row["role"]["name"] == role["name"]
        assert row["role"]["created_at"] == role["created_at"]
        membership = row["account_membership"]
        expected_am = records["account_memberships"][user["account_membership_id"]]
        assert membership["id"] == expected_am["id"]
        assert membership["user_id"] == row["id"]
        assert membership["permission"] == expected_am["permission"]
        skill_memberships = membership["skill_memberships"]
        assert [sm["id"] for sm in skill_memberships] == expected_am["skill_membership_ids"]
        for sm in skill_memberships:
            expected_sm = records["skill_memberships"][sm["id"]]
            assert sm["level"] == expected_sm["level"]
            assert sm["cached_skill_name"] == expected_sm["cached_skill_name"]
            assert "skill" not in sm  # one level deeper than asked

    assert summary.complete
    assert summary.records == len(rows) == len(users)
    assert summary.duplicates == 0
    assert summary.count_drift == 0
    assert summary.reported_count == len(users)
    assert summary.pages == -(-len(users) // 20)
    assert summary.requests == len(fake.requests)
    assert summary.output == out
    assert summary.format == "ndjson"


async def test_csv_header_comes_from_the_models_and_relations_flatten(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "users.csv"
    summary = await export(client, "users", out, include=NESTED, format="csv")

    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, line, strict=True)) for line in reader]
    assert header == [
        *declared(User),
        *(f"account_membership.{name}" for name in declared(AccountMembership)),
        "account_membership.skill_memberships",
        *(f"role.{name}" for name in declared(Role)),
    ]
    users = visible_users(fake)
    assert summary.records == len(rows) == len(users)
    records = fake.dataset.records
    for row in rows:
        user = users[row["id"]]
        assert row["full_name"] == user["full_name"]
        assert row["bio"] == ""  # not loaded: empty
        assert row["manager_id"] == ""
        assert row["disabled"] == "false"
        assert row["role.name"] == records["roles"][user["role_id"]]["name"]
        am = records["account_memberships"][user["account_membership_id"]]
        assert row["account_membership.id"] == am["id"]
        assert row["account_membership.bill_rate_in_cents"] == str(am["bill_rate_in_cents"])
        assert row["account_membership.is_owner"] == ("true" if am["is_owner"] else "false")
        assert row["account_membership.disabled_at"] == ""  # null: empty
        assert (
            json.loads(row["account_membership.skill_membership_ids"])
            == (am["skill_membership_ids"])
        )
        embedded = json.loads(row["account_membership.skill_memberships"])
        assert [sm["id"] for sm in embedded] == am["skill_membership_ids"]
        assert [sm["level"] for sm in embedded] == [
            records["skill_memberships"][i]["level"] for i in am["skill_membership_ids"]
        ]


async def test_csv_of_no_records_is_the_header_alone(client: KantataClient, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    summary = await export(
        client,
        "workweek_memberships",
        out,
        include=["workweek", "user"],
        filters={"user_ids": ["999999"]},
        format="csv",
    )
    header = out.read_text(encoding="utf-8").splitlines()
    assert len(header) == 1
    readable = [name for name in declared(WorkweekMembership) if name not in MINUTES]
    assert header[0].startswith(",".join(readable) + ",user.id,")
    assert "workweek.total_minutes" in header[0]
    assert summary.complete
    assert summary.records == 0


async def test_workweek_memberships_with_filters_and_includes(
    fake: FakeKantata, client: KantataClient
) -> None:
    user_ids = ["3", "4", "5"]
    out = io.StringIO()
    summary = await export(
        client,
        "workweek_memberships",
        out,
        include=["workweek", "user"],
        filters={"user_ids": user_ids, "order": "start_date:desc"},
    )
    assert fake.requests[0].query["user_ids"] == "3,4,5"
    assert fake.requests[0].query["order"] == "start_date:desc"
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = {
        wm["id"]: wm
        for wm in fake.dataset.records["workweek_memberships"].values()
        if str(wm["user_id"]) in user_ids
    }
    assert sorted(r["id"] for r in rows) == sorted(expected)
    for row in rows:
        wm = expected[row["id"]]
        assert row["user_id"] == str(wm["user_id"])  # an int on the wire, a str id here
        assert row["user"]["id"] == str(wm["user_id"])
        assert row["workweek"]["id"] == wm["workweek_id"]
        workweek = fake.dataset.records["workweeks"][wm["workweek_id"]]
        assert row["workweek"]["total_minutes"] == workweek["total_minutes"]
    assert summary.output is None
    assert not out.closed  # the caller's stream is flushed, not closed


async def test_a_relation_the_server_sent_as_null_is_written_as_null(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    out = tmp_path / "users.ndjson"
    await export(client, "users", out, include=["manager", "role"])
    rows = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    users = fake.dataset.records["users"]
    top = [i for i in rows if users[i]["manager_id"] is None]
    managed = [i for i in rows if users[i]["manager_id"] is not None]
    assert top and managed
    for i in top:
        assert "manager" in rows[i]
        assert rows[i]["manager"] is None
    for i in managed:
        assert rows[i]["manager"]["id"] == users[i]["manager_id"]
    # Many users share a role: each row still carries the whole role.
    roles = fake.dataset.records["roles"]
    assert all(r["role"]["name"] == roles[users[i]["role_id"]]["name"] for i, r in rows.items())


async def test_a_record_reached_by_two_include_paths_carries_each_paths_subtree(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    # A manager is reached as `manager` (nothing below it) and as `account_membership.manager`
    # (with its role): each place carries what its own path asked for, in the same page.
    out = tmp_path / "users.ndjson"
    await export(client, "users", out, include=["manager", "account_membership.manager.role"])
    rows = read_ndjson(out)
    records = fake.dataset.records
    nested = [r for r in rows if r["account_membership"]["manager"] is not None]
    assert nested
    assert any(r["manager"] is not None for r in rows)
    for row in nested:
        manager = row["account_membership"]["manager"]
        role_id = records["users"][manager["id"]]["role_id"]
        assert manager["role"]["id"] == role_id, row["id"]
        assert manager["role"]["name"] == records["roles"][role_id]["name"]
    for row in rows:
        assert row["manager"] is None or "role" not in row["manager"], row["id"]


async def test_the_format_follows_the_extension_unless_given(
    client: KantataClient, tmp_path: Path
) -> None:
    by_extension = await export(client, "users", tmp_path / "users.CSV", per_page=50)
    with (tmp_path / "users.CSV").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == declared(User)
    assert by_extension.format == "csv"

    given = await export(client, "users", tmp_path / "rows.csv", format="ndjson", per_page=50)
    assert given.format == "ndjson"
    assert len(read_ndjson(tmp_path / "rows.csv")) == given.records > 0

    other = await export(client, "users", tmp_path / "users.txt", per_page=50)
    assert other.format == "ndjson"
    assert len(read_ndjson(tmp_path / "users.txt")) == other.records
    stream = await export(client, "users", io.StringIO(), per_page=50)
    assert stream.format == "ndjson"


FORMULAS = {
    "full_name": '=HYPERLINK("http://evil.example","click")',
    "headline": "+1 555 0100",
    "city": "-2+3",
    "email_address": "@SUM(A1:A2)",
    "state": "\tTabbed",
    "country": "\rCarriage",
}


@pytest.mark.parametrize("guard", [True, False])
async def test_csv_cells_are_safe_in_a_spreadsheet_and_read_back_exactly(
    fake: FakeKantata, client: KantataClient, tmp_path: Path, guard: bool
) -> None:
    user_id = sorted(visible_users(fake), key=int)[0]
    fake.dataset.update("users", user_id, website="before\rafter", **FORMULAS)
    am_id = fake.dataset.records["users"][user_id]["account_membership_id"]
    # JSON numbers are numbers in a spreadsheet, never formulas: never prefixed.
    fake.dataset.update("account_memberships", am_id, bill_rate_in_cents=-500)
    fake.dataset.update("account_memberships", am_id, billability_target=-1.5)
    out = tmp_path / "users.csv"
    await export(
        client,
        "users",
        out,
        include=["account_membership"],
        filters={"optional_fields": ["city", "state", "country", "website"]},
        csv_formula_guard=guard,
    )

    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = {row[0]: dict(zip(header, row, strict=True)) for row in reader}
    assert len(rows) == len(visible_users(fake))  # the lone CR split no row
    row = rows[user_id]
    for name, value in FORMULAS.items():
        assert row[name] == ("'" + value if guard else value)
    assert row["website"] == "before\rafter"  # a CR inside a cell is quoted, not a line end
    assert row["account_membership.bill_rate_in_cents"] == "-500"
    assert row["account_membership.billability_target"] == "-1.5"
    assert out.read_bytes().count(b"\r\n") == len(rows) + 1  # RFC 4180 line ends


async def test_workweek_membership_csv_has_no_write_only_minutes_columns(
    fake: FakeKantata, client: KantataClient, tmp_path: Path
) -> None:
    # The API takes `*_minutes` on membership writes but reads them on the included workweek:
    # membership columns for them would be empty on every row.
    out = tmp_path / "wms.csv"
    await export(client, "workweek_memberships", out, include=["workweek"])
    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    assert header[: header.index("workweek.id")] == [
        name for name in declared(WorkweekMembership) if name not in MINUTES
    ]
    assert all(f"workweek.{name}" in header for name in MINUTES)
    assert rows
    for row in rows:
        workweek = fake.dataset.records["workweeks"][row["workweek_id"]]
        assert [row[f"workweek.{name}"] for name in MINUTES] == [
            str(workweek[name]) for name in MINUTES
        ]
