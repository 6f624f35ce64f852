"""Malformed values never stop a merge half-way, and never make a repr raise."""

from __future__ import annotations

import logging

import pytest

from kantata_async import Graph, User, WorkweekMembership
from kantata_async.models import CustomFieldValue


def users(records: dict[str, dict[str, object]]) -> dict[str, object]:
    return {"results": [{"key": "users", "id": i} for i in records], "users": records}


@pytest.mark.parametrize("bad", [5, "1,2", {"id": "1"}, True])
def test_a_malformed_id_list_links_nothing_and_the_merge_completes(
    bad: object, caplog: pytest.LogCaptureFixture
) -> None:
    graph = Graph()
    caplog.set_level(logging.WARNING, logger="kantata_async")
    first, second = graph.merge(
        users(
            {
                "1": {"full_name": "Ann", "skill_ids": bad, "role_id": "3"},
                "2": {"full_name": "Ben"},
            }
        )
    )
    assert isinstance(first, User)
    assert first.skills == []
    assert second.full_name == "Ben"
    assert graph.get(User, "2") is second
    assert "is not an id or a list of ids" in caplog.text


@pytest.mark.parametrize("bad", [[1], {"id": 3}, 2.5])
def test_a_malformed_single_id_links_none(bad: object) -> None:
    graph = Graph()
    [user] = graph.merge(users({"1": {"role_id": bad}}))
    assert isinstance(user, User)
    assert user.role is None


def test_a_subject_ref_without_key_falls_back_to_type_and_id() -> None:
    graph = Graph()
    payload = {
        "results": [{"key": "custom_field_values", "id": "9"}],
        "custom_field_values": {
            "9": {"subject_ref": {}, "subject_type": "User", "subject_id": 7, "value": "x"}
        },
        "users": {"7": {"full_name": "Ann"}},
    }
    [cfv] = graph.merge(payload)
    assert isinstance(cfv, CustomFieldValue)
    subject = cfv.subject
    assert isinstance(subject, User)
    assert subject.full_name == "Ann"


def test_repr_shows_a_malformed_date_instead_of_raising() -> None:
    graph = Graph()
    [wm] = graph.merge(
        {
            "results": [{"key": "workweek_memberships", "id": "1"}],
            "workweek_memberships": {"1": {"start_date": "nope", "user_id": 4}},
        }
    )
    assert isinstance(wm, WorkweekMembership)
    text = repr(wm)
    assert "start_date='nope'" in text
    assert "user_id='4'" in text


def test_forget_of_a_placeholder_returns_none_like_get() -> None:
    graph = Graph()
    [user] = graph.merge(users({"1": {"role_id": "3"}}))
    assert graph.get("roles", "3") is None
    assert graph.forget("roles", "3") is None
    assert user.role_id == "3"
