"""Query building: typed values to wire strings, and errors that name the parameter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from kantata_async._query import (
    Kind,
    check_choice,
    check_id,
    check_names,
    check_per_page,
    encode_params,
)

SPEC = {
    "flag": Kind.BOOL,
    "n": Kind.INT,
    "one": Kind.ID,
    "many": Kind.IDS,
    "text": Kind.STR,
    "texts": Kind.STRS,
    "day": Kind.DATE,
    "at": Kind.DATETIME,
    "blob": Kind.JSONISH,
}


def test_encodes_every_kind() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-7)))
    assert encode_params(
        SPEC,
        {
            "flag": False,
            "n": 3,
            "one": 12,
            "many": ["1", 2, "3"],
            "text": "ann",
            "texts": ["a@x.com", "b@x.com"],
            "day": date(2026, 1, 4),
            "at": at,
            "blob": {"7": [1, 2], "operation": "or"},
        },
    ) == {
        "flag": "false",
        "n": "3",
        "one": "12",
        "many": "1,2,3",
        "text": "ann",
        "texts": "a@x.com,b@x.com",
        "day": "2026-01-04",
        "at": "2026-01-02T03:04:05-07:00",
        "blob": '{"7":[1,2],"operation":"or"}',
    }


def test_none_values_are_left_out() -> None:
    assert encode_params(SPEC, {"flag": None, "text": None}) == {}


def test_an_unknown_name_is_refused_and_a_python_name_goes_out_as_its_wire_name() -> None:
    with pytest.raises(ValueError, match=r"unknown filter\(s\) colour; valid: at, blob, day"):
        encode_params(SPEC, {"colour": "red"})
    assert encode_params({"except_": Kind.IDS}, {"except_": [1]}, {"except_": "except"}) == {
        "except": "1"
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("flag", "true", "flag must be a bool"),
        ("n", True, "n must be an int"),
        ("one", "12a", "one must be a Kantata id"),
        ("one", "1/../oauth", "one must be a Kantata id"),
        ("many", "1,2", "many must be a list of ids"),
        ("many", [], "many must not be empty"),
        ("texts", "a", "texts must be a list of str"),
        ("texts", ["a,b"], "cannot contain a comma"),
        ("day", datetime(2026, 1, 1, tzinfo=UTC), "day must be a datetime.date"),
        ("at", datetime(2026, 1, 1), "at must be timezone-aware"),  # noqa: DTZ001
        ("at", date(2026, 1, 1), "at must be a datetime.datetime"),
        ("blob", 5, "blob must be a str or a mapping"),
    ],
)
def test_bad_values_name_the_parameter(name: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_params(SPEC, {name: value})


def test_ids() -> None:
    assert check_id(7) == "7"
    assert check_id("0") == "0"
    # Rails reads "0012" as 12: the graph would hold one record under two ids.
    with pytest.raises(ValueError, match="leading zeros"):
        check_id("0012")
    for bad in ("", "-1", "1.5", " 1", "1/2", True, None, 1.0):
        with pytest.raises(ValueError, match="id"):
            check_id(bad)


def test_choices_and_names_list_the_valid_ones() -> None:
    assert check_choice("a:asc", "order", ["a:asc", "a:desc"]) == "a:asc"
    with pytest.raises(ValueError, match=r"order='up' is not valid; choose one of: a:asc, a:desc"):
        check_choice("up", "order", ["a:asc", "a:desc"])
    assert check_names(["role", "skills", "role"], "include", {"role", "skills"}) == [
        "role",
        "skills",
    ]
    with pytest.raises(ValueError, match=r"include: 'roles' is not valid here; choose from: role"):
        check_names(["roles"], "include", {"role"})
    with pytest.raises(ValueError, match=r"must be a list of names, not a string"):
        check_names("role", "include", {"role"})


@pytest.mark.parametrize("value", [0, 201, -5, True, 2.0])
def test_per_page_bounds(value: object) -> None:
    with pytest.raises(ValueError, match="per_page must be an int from 1 to 200"):
        check_per_page(value)  # type: ignore[arg-type]


def test_per_page_accepts_the_range() -> None:
    assert check_per_page(1) == 1
    assert check_per_page(200) == 200
