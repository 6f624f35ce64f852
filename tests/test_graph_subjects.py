"""Polymorphic subjects: from `subject_ref` or from type and id, unmodelled types, dangling."""

from __future__ import annotations

import pytest
from conftest import envelope, users_page

from kantata_async import (
    CustomFieldValue,
    DanglingReferenceError,
    ExternalReference,
    Graph,
    Record,
    RelationNotLoadedError,
    Role,
    Skill,
)

# -- polymorphic subjects -----------------------------------------------------------------


def test_subject_from_subject_ref(graph: Graph) -> None:
    [ann, _] = graph.merge(users_page())
    value = graph.get(CustomFieldValue, "300")
    reference = graph.get(ExternalReference, "400")
    assert value is not None
    assert reference is not None

    assert value.subject is ann
    assert reference.subject is ann


def test_subject_from_type_and_int_id_when_no_ref(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))

    [value, reference] = [
        *graph.merge(
            envelope("custom_field_values", {"300": {"subject_type": "User", "subject_id": 7}})
        ),
        *graph.merge(
            envelope("external_references", {"400": {"subject_type": "User", "subject_id": 7}})
        ),
    ]

    assert value.subject is user
    assert reference.subject is user
    graph.mark_loaded(user, "custom_field_values")
    graph.mark_loaded(user, "external_references")
    assert user.custom_field_values == [value]
    assert user.external_references == [reference]


def test_subject_ref_null_falls_back_to_type_and_id(graph: Graph) -> None:
    [user] = graph.merge(envelope("users", {"7": {"id": "7"}}))

    [value] = graph.merge(
        envelope(
            "custom_field_values",
            {"300": {"subject_type": "User", "subject_id": 7, "subject_ref": None}},
        )
    )

    assert value.subject is user


def test_subject_of_an_unmodelled_type_is_a_generic_record(graph: Graph) -> None:
    [by_type, by_ref] = graph.merge(
        envelope(
            "custom_field_values",
            {
                "300": {"subject_type": "Gadget", "subject_id": 10},
                "301": {"subject_ref": {"key": "gadgets", "id": "11"}},
            },
            gadgets={"10": {"title": "Rebrand"}, "11": {"title": "Launch"}},
        )
    )

    assert isinstance(by_type.subject, Record)
    assert by_type.subject is graph.get("gadgets", "10")
    assert by_type.subject.extra == {"title": "Rebrand"}
    assert by_ref.subject.extra == {"title": "Launch"}


@pytest.mark.parametrize(
    ("subject_type", "key", "cls"), [("Role", "roles", Role), ("Skill", "skills", Skill)]
)
def test_external_references_of_roles_and_skills(
    graph: Graph, subject_type: str, key: str, cls: type[Role | Skill]
) -> None:
    [reference] = graph.merge(
        envelope(
            "external_references",
            {"400": {"subject_type": subject_type, "subject_id": 3, "service_name": "hr"}},
            **{key: {"3": {"id": "3", "name": "Designer"}}},
        )
    )

    subject = reference.subject
    assert type(subject) is cls
    assert subject is graph.get(cls, "3")
    graph.mark_loaded(subject, "external_references")
    assert subject.external_references == [reference]


def test_a_subject_that_never_arrived_dangles(graph: Graph) -> None:
    [by_type, by_ref] = graph.merge(
        envelope(
            "external_references",
            {
                "400": {"subject_type": "Workspace", "subject_id": 10},
                "401": {"subject_ref": {"key": "users", "id": "8"}},
            },
        )
    )

    with pytest.raises(DanglingReferenceError, match="workspaces/10"):
        _ = by_type.subject
    with pytest.raises(DanglingReferenceError, match="users/8"):
        _ = by_ref.subject


def test_subject_null_reads_none_and_absent_is_not_loaded(graph: Graph) -> None:
    [value, bare] = graph.merge(
        envelope(
            "custom_field_values",
            {"300": {"subject_type": None, "subject_id": None}, "301": {"value": "M"}},
        )
    )

    assert value.subject is None
    with pytest.raises(RelationNotLoadedError, match="include=\\['subject'\\]"):
        _ = bare.subject  # neither the ref nor the type and id arrived
