"""The graph under odd or hostile records: bad sideloads, strange field names, late answers,
thousands of unknown keys. Each failed before the graph kept its own state apart from the
server's data, ordered answers by when their request was sent, and held odd classes weakly.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
from conftest import envelope, users_page, workweek_memberships_page
from hypothesis import given, settings
from hypothesis import strategies as st

from kantata_async import (
    Graph,
    RelationNotLoadedError,
    Role,
    User,
    WorkweekMembership,
    to_dict,
)
from kantata_async._models.base import _record_classes
from kantata_async.models import Record

# -- 8. one bad record under a sideload key -------------------------------------------------


@pytest.mark.parametrize("bad", [None, "oops", 7, ["a"]])
def test_a_bad_sideload_record_is_skipped_and_the_rest_merge(
    graph: Graph, bad: Any, caplog: pytest.LogCaptureFixture
) -> None:
    payload = envelope(
        "users",
        {"7": {"role_id": "3"}, "8": {"role_id": "4"}},
        roles={"3": {"name": "Designer"}, "4": bad},
    )
    with caplog.at_level("WARNING", logger="kantata_async"):
        ann, bob = graph.merge(payload)

    assert isinstance(ann, User)
    assert ann.role is not None
    assert ann.role.name == "Designer"
    assert graph.get(Role, "4") is None
    with pytest.raises(Exception, match="roles/4"):
        _ = bob.role  # dangling: the record never arrived whole
    assert any("roles" in r.getMessage() and "'4'" in r.getMessage() for r in caplog.records)


# -- 9. a field named like a relation -------------------------------------------------------


def test_a_field_named_like_a_relation_does_not_hide_it(graph: Graph) -> None:
    [membership] = graph.merge(
        envelope(
            "workweek_memberships",
            {"21": {"user_id": 7, "user": {"id": "7", "full_name": "inline"}}},
            users={"7": {"full_name": "Ann"}},
        )
    )
    assert isinstance(membership, WorkweekMembership)
    assert isinstance(membership.user, User)
    assert membership.user.full_name == "Ann"
    assert membership.extra == {"user": {"id": "7", "full_name": "inline"}}
    assert to_dict(membership)["user"] == {"id": "7", "full_name": "inline"}
    with pytest.raises(AttributeError, match="read-only"):
        membership.user = None  # type: ignore[misc]


# -- 10. any JSON key is data --------------------------------------------------------------

# The names the graph once used for its own bookkeeping, and others like them.
ODD_KEYS = ["@stub", "@older", "@converted", "%complete", "~note", "@mention", "@role", "~user"]
ODD_KEYS += ["<-workweek_memberships", "_links", "_state", "", "__dict__", "extra", "__class__"]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_a_field_with_a_strange_name_is_plain_data(graph: Graph, key: str) -> None:
    record = {"full_name": "Ann", "role_id": "3", key: {"any": "value"}}
    [user] = graph.merge(envelope("users", {"7": record}, roles={"3": {"name": "Designer"}}))

    assert graph.get(User, "7") is user  # not taken for a placeholder
    assert user.role is not None
    assert user.role.name == "Designer"
    assert to_dict(user)[key] == {"any": "value"}
    assert user.extra[key] == {"any": "value"}
    # A later, older answer still merges by the per-field rule.
    graph.merge(envelope("users", {"7": {"full_name": "Bob", key: 1}}))
    assert user.full_name == "Bob"
    assert to_dict(user)[key] == 1


def test_a_bad_older_value_does_not_half_merge(graph: Graph) -> None:
    new = {"updated_at": "2026-03-01T00:00:00Z", "start_date": "2026-01-04", "@older": "x"}
    [membership] = graph.merge(envelope("workweek_memberships", {"21": new}))
    old = {"updated_at": "2026-01-01T00:00:00Z", "start_date": "2025-01-05", "end_date": None}
    graph.merge(envelope("workweek_memberships", {"21": old}))

    assert membership.start_date.isoformat() == "2026-01-04"  # the newer value stays
    assert membership.end_date is None  # a field only the older payload carried
    assert membership.extra == {"@older": "x"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@settings(deadline=None, max_examples=150, database=None)
@given(fields=st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_any_json_keys_round_trip_and_never_break_links(fields: dict[str, Any]) -> None:
    graph = Graph()
    sent = {k: v for k, v in fields.items() if k not in User.__kantata_fields__}
    record = {**sent, "role_id": "3"}
    [user] = graph.merge(envelope("users", {"7": record}, roles={"3": {"name": "D"}}))

    assert user.role is not None
    assert user.role.name == "D"
    out = to_dict(user)
    for key, value in sent.items():
        assert out[key] == value
    assert set(out) == {*sent, "id", "role_id"}


# -- 11. answers are ordered by when their request was sent ---------------------------------


def test_an_answer_sent_before_a_write_does_not_overwrite_it(graph: Graph) -> None:
    read = graph.ticket()  # a page is requested ...
    write = graph.ticket()  # ... then an update, whose answer arrives first
    [user] = graph.merge(envelope("users", {"7": {"headline": "New"}}), sent=write, write=True)

    [same] = graph.merge(envelope("users", {"7": {"headline": "Old", "bio": "b"}}), sent=read)

    assert same is user
    assert user.headline == "New"
    with pytest.raises(AttributeError):
        _ = user.bio  # the whole stale record is set aside, not merged field by field
    later = graph.ticket()
    graph.merge(envelope("users", {"7": {"headline": "Later"}}), sent=later)
    assert user.headline == "Later"


def test_writes_apply_in_the_order_they_were_sent(graph: Graph) -> None:
    first, second = graph.ticket(), graph.ticket()
    [user] = graph.merge(envelope("users", {"7": {"headline": "2"}}), sent=second, write=True)
    graph.merge(envelope("users", {"7": {"headline": "1"}}), sent=first, write=True)
    assert user.headline == "2"


def test_an_answer_sent_before_a_delete_does_not_bring_it_back(graph: Graph) -> None:
    [first, second] = graph.merge(workweek_memberships_page())
    user = first.user
    graph.mark_loaded(user, "workweek_memberships")
    read = graph.ticket()
    graph.forget(WorkweekMembership, "21")

    again = graph.merge(workweek_memberships_page(), sent=read)

    assert again == [second]
    assert graph.get(WorkweekMembership, "21") is None
    assert user.workweek_memberships == [second]
    # A request sent after the delete may bring the id back (the server has it again).
    [back, _] = graph.merge(workweek_memberships_page(), sent=graph.ticket())
    assert back.id == "21"


def test_tombstones_are_pruned_once_no_older_request_is_open(graph: Graph) -> None:
    held = graph.merge(envelope("users", {str(i): {} for i in range(200)}))
    open_read = graph.ticket()
    for i in range(200):
        graph.forget(User, str(i))
    assert sum(map(len, graph._tombstones.values())) == 200  # an older read is still open
    del open_read
    gc.collect()
    graph.forget(User, "0")
    assert sum(map(len, graph._tombstones.values())) <= 1
    assert held


# -- 13. thousands of unknown keys ---------------------------------------------------------


def test_unknown_keys_and_subject_types_do_not_grow_the_process() -> None:
    graph = Graph()
    gc.collect()
    classes_before = len(_record_classes)
    tracemalloc.start()
    try:
        for i in range(20_000):
            payload = envelope("users", {"7": {}}, **{f"odd_key_{i}": {"1": {"x": i}}})
            graph.merge(payload)
            graph.merge(
                envelope(
                    "custom_field_values",
                    {str(i): {"subject_type": f"Kind{i}", "subject_id": i}},
                )
            )
        gc.collect()
        graph.merge(envelope("users", {"7": {}}))  # a merge now and then sweeps the maps
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(_record_classes) - classes_before < 100
    assert graph.keys() == []  # nothing is held
    # Maps of keys no record lives under are dropped after a share of new records.
    assert len(graph._maps) < 5_000
    assert size < 8 * 1024 * 1024


def test_a_record_of_an_unknown_key_keeps_its_class_while_alive(graph: Graph) -> None:
    value = {"subject_type": "Widget", "subject_id": 1}
    [held] = graph.merge(envelope("custom_field_values", {"5": value}, widgets={"1": {"a": 3}}))
    widget = held.subject
    assert isinstance(widget, Record)
    assert type(widget).__kantata_key__ == "widgets"
    del widget
    gc.collect()
    graph.merge(envelope("custom_field_values", {"6": {}}, widgets={"1": {"a": 4}}))
    assert held.subject is graph.get("widgets", "1")
    assert held.subject.extra == {"a": 4}


def test_reading_a_partial_page_of_users_is_never_a_silent_list(graph: Graph) -> None:
    held = graph.merge(users_page())
    skill = held[0].skills[0]
    with pytest.raises(RelationNotLoadedError, match="may not be all of them"):
        _ = skill.skill_memberships
