"""`Graph.merge` of odd envelopes: extra fields, unknown keys, bad payloads (`PayloadError`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import envelope, users_page

from kantata_async import (
    Graph,
    KantataError,
    PayloadError,
    Record,
    Role,
    Skill,
    User,
    loaded_fields,
)

# -- extras and unknown keys --------------------------------------------------------------


def test_unknown_fields_are_kept_in_extra(graph: Graph) -> None:
    [user, cy] = graph.merge(users_page())

    assert user.extra == {"generic": False, "update_whitelist": ["full_name", "headline"]}
    assert cy.extra == {}


def test_extra_follows_later_merges(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "generic": False}}))

    graph.merge(envelope("users", {"7": {"id": "7", "generic": True, "disabled_by": "ops"}}))

    assert user.extra == {"generic": True, "disabled_by": "ops"}


def test_unknown_top_level_keys_become_generic_records(graph: Graph) -> None:
    payload = users_page()
    payload["gadgets"] = {"1": {"id": "1", "title": "Rebrand", "participant_ids": ["7"]}}
    payload["results"].append({"key": "gadgets", "id": "1"})  # results may mix keys

    held = graph.merge(payload)

    gadget = graph.get("gadgets", "1")
    assert held[2] is gadget
    assert isinstance(gadget, Record)
    assert type(gadget) is not Record  # a subclass made for the key
    assert gadget.id == "1"
    assert gadget.extra == {"title": "Rebrand", "participant_ids": ["7"]}
    assert loaded_fields(gadget) == {"id": "1"}
    assert graph.count("gadgets") == 1
    assert [type(o) for o in held[:2]] == [User, User]


def test_unknown_key_as_primary_and_one_class_per_key(graph: Graph) -> None:
    [first] = graph.merge(envelope("gizmos", {"1": {"id": "1", "title": "Kickoff"}}))
    [second] = graph.merge(envelope("gizmos", {"2": {"id": "2", "title": "Wrap-up"}}))
    [other] = graph.merge(envelope("gadgets", {"1": {"id": "1", "title": "Rebrand"}}))

    assert type(first) is type(second)
    assert type(first) is not type(other)
    assert first.extra["title"] == "Kickoff"
    assert graph.get("gizmos", "1") is first
    assert graph.get("gadgets", "1") is other


def test_a_record_without_id_gets_it_from_its_map_key(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"full_name": "Ann"}}))

    assert user.id == "7"
    assert graph.get(User, "7") is user


def test_count_may_disagree_and_envelope_keys_are_not_records(graph: Graph) -> None:
    payload = users_page()
    payload["count"] = 3
    payload["meta"]["count"] = 3

    out = graph.merge(payload)

    assert [u.id for u in out] == ["7", "9"]
    keys = graph.keys()
    assert "meta" not in keys
    assert "count" not in keys
    assert "results" not in keys


@pytest.mark.parametrize(
    "junk",
    [
        ["not", "a", "map"],
        {"1": "not a record"},
        {"1": {"id": "1"}, "2": None},
        5,
        "text",
        None,
    ],
)
def test_top_level_keys_that_are_not_maps_of_records_are_skipped(graph: Graph, junk: Any) -> None:
    payload = users_page()
    payload["warnings"] = junk

    out = graph.merge(payload)

    assert [u.id for u in out] == ["7", "9"]
    assert graph.count("warnings") == 0
    assert graph.get("warnings", "1") is None


def test_an_empty_include_map_is_fine(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "skill_ids": []}}, skills={}))

    assert user.skills == []


def test_a_payload_without_results_merges_and_returns_nothing(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))

    out = graph.merge({"users": {"7": {"id": "7", "full_name": "Ann Archer"}}})

    assert out == []
    assert user.full_name == "Ann Archer"


def test_primary_and_sideload_of_the_same_type_share_the_key(graph: Graph) -> None:
    payload = envelope(
        "users",
        {"7": {"id": "7", "full_name": "Ann", "manager_id": "8"}},
        users={"8": {"id": "8", "full_name": "Bob Boss"}},
    )
    assert payload["results"] == [{"key": "users", "id": "7"}]

    out = graph.merge(payload)

    assert [u.id for u in out] == ["7"]
    [user] = out
    manager = graph.get(User, "8")
    assert manager is not None
    assert user.manager is manager
    assert manager.full_name == "Bob Boss"
    assert graph.count(User) == 2


def test_objects_and_count(graph: Graph) -> None:
    held = graph.merge(users_page())

    assert sorted(u.id for u in graph.objects(User)) == ["7", "8", "9"]
    assert sorted(u.id for u in graph.objects("users")) == ["7", "8", "9"]
    assert graph.count("users") == 3
    assert graph.count(Skill) == 2
    assert graph.count("workweeks") == 0
    assert held


def test_keys_lists_only_the_top_level_keys_seen(graph: Graph) -> None:
    held = graph.merge(envelope("users", {"7": {"full_name": "Ann"}}))
    assert sorted(graph.keys()) == ["users"]

    held += graph.merge(envelope("roles", {"3": {"name": "Designer"}}))

    assert sorted(graph.keys()) == ["roles", "users"]


def test_placeholders_are_not_visible_as_records(graph: Graph) -> None:
    # role 3 and manager 8 are named but never carried
    [user] = graph.merge(envelope("users", {"7": {"id": "7", "role_id": "3", "manager_id": "8"}}))

    assert graph.get(Role, "3") is None
    assert graph.count(Role) == 0
    assert graph.get(User, "8") is None
    assert [u.id for u in graph.objects(User)] == ["7"]
    assert user.role_id == "3"


def test_two_graphs_are_independent() -> None:
    first, second = Graph(), Graph()

    [a] = first.merge(envelope("users", {"7": {"id": "7", "full_name": "Ann"}}))
    [b] = second.merge(envelope("users", {"7": {"id": "7", "full_name": "Other Ann"}}))

    assert a is not b
    assert a.full_name == "Ann"
    assert first.get(User, "7") is a
    assert second.get(User, "7") is b


# -- PayloadError -------------------------------------------------------------------------


def _seeded() -> tuple[Graph, list[Any]]:
    graph = Graph()
    held = graph.merge(users_page())
    return graph, held


def _snapshot(graph: Graph) -> dict[str, Any]:
    keys = sorted(graph.keys())
    return {
        "keys": keys,
        "counts": {key: graph.count(key) for key in keys},
        "records": {
            key: {obj.id: copy.deepcopy(loaded_fields(obj)) for obj in graph.objects(key)}
            for key in keys
        },
    }


def _with_update(bad: dict[str, Any]) -> dict[str, Any]:
    """A payload that would change user 7, add a role and a new key, were it merged."""
    payload = {
        "users": {"7": {"full_name": "Changed", "role_id": "4"}},
        "roles": {"4": {"name": "Intruder"}},
        "workspaces": {"1": {"title": "Should not appear"}},
    }
    payload.update(bad)
    return payload


BAD_PAYLOADS = {
    "results is a dict": _with_update({"results": {"key": "users", "id": "7"}}),
    "results is a string": _with_update({"results": "users/7"}),
    "results is null": _with_update({"results": None}),
    "entry lacks key": _with_update({"results": [{"key": "users", "id": "7"}, {"id": "7"}]}),
    "entry lacks id": _with_update({"results": [{"key": "users"}]}),
    "entry is not an object": _with_update({"results": [["users", "7"]]}),
    "names a missing id": _with_update(
        {"results": [{"key": "users", "id": "7"}, {"key": "users", "id": "99"}]}
    ),
    "names a missing key": _with_update({"results": [{"key": "workweeks", "id": "7"}]}),
    "names a key that is not a map of records": _with_update(
        {"results": [{"key": "notes", "id": "1"}], "notes": {"1": "text"}}
    ),
}


@pytest.mark.parametrize("bad", list(BAD_PAYLOADS.values()), ids=list(BAD_PAYLOADS))
def test_bad_envelopes_raise_payload_error_and_change_nothing(bad: dict[str, Any]) -> None:
    graph, held = _seeded()
    before = _snapshot(graph)
    untouched = copy.deepcopy(bad)

    with pytest.raises(PayloadError):
        graph.merge(bad)

    assert _snapshot(graph) == before
    assert held[0].full_name == "Ann Archer"
    assert held[0].role.name == "Designer"
    assert graph.get(Role, "4") is None
    assert graph.get("workspaces", "1") is None
    assert bad == untouched  # nothing adopted, no id filled in


@pytest.mark.parametrize("bad", [["users"], "users", None, 7, ({"results": []},)])
def test_a_payload_that_is_not_an_object_raises_payload_error(bad: Any) -> None:
    graph, _held = _seeded()
    before = _snapshot(graph)

    with pytest.raises(PayloadError):
        graph.merge(bad)

    assert _snapshot(graph) == before


def test_payload_error_is_a_value_error_and_names_the_missing_record(graph: Graph) -> None:
    payload = envelope("users", {"7": {"id": "7"}})
    payload["results"].append({"key": "users", "id": "99"})

    with pytest.raises(ValueError, match="users/99") as info:
        graph.merge(payload)

    assert isinstance(info.value, PayloadError)
    assert isinstance(info.value, KantataError)
    assert graph.get(User, "7") is None
    assert graph.count(User) == 0
