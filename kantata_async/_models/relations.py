"""Relations: `One` and `Many`, read-only data descriptors over what the graph linked.

The graph resolves links when it merges a record and stores them in the record's `_links`
slot, apart from the server's fields: under the relation's name the target (or a tuple of
them, or None), and under an inverse relation's `inverse_key` the records whose own link
points here. Relations are data descriptors, so a server field that happens to share a
relation's name (`"user": {...}` beside `user_id`) stays plain data, in `extra`, and never
hides the relation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from .._errors import DanglingReferenceError, RelationNotLoadedError
from .fields import label
from .state import is_placeholder

if TYPE_CHECKING:
    from .base import Model

__all__ = ["Many", "One", "Relation"]

T = TypeVar("T")


class Relation:
    """What `One` and `Many` share: where the references live and how to explain a gap."""

    __slots__ = (
        "feeds",
        "field",
        "include",
        "inverse_key",
        "inverse_of",
        "name",
        "poly",
        "target",
        "weak",
    )

    many: ClassVar[bool]

    def __init__(
        self,
        target: str | None,
        *,
        field: str | None = None,
        include: str | None = None,
        inverse_of: str | None = None,
        weak: bool = False,
    ) -> None:
        self.target = target  # top-level key of the records it points at; None: polymorphic
        self.field = field  # the JSON field holding the ids, if this side holds them
        self.include = include  # the include= value that makes the server send the ids
        self.inverse_of = inverse_of  # the relation on the target that points back here
        # A hub (a skill, a workweek) holds the records pointing at it weakly: it does not
        # own them, and holding them strongly would keep the whole graph alive through it.
        self.weak = weak
        self.name = ""
        self.inverse_key = ""
        # Polymorphic (`subject_ref`): the `(subject_type, subject_id)` pair that names the
        # target when the `_ref` itself was not sent.
        self.poly: tuple[str, str] | None = None
        if target is None and field is not None:
            stem = field.removesuffix("_refs").removesuffix("_ref")
            self.poly = (stem + "_type", stem + "_id")
        # Filled by `wire_inverses`: target key -> the inverse relation this link feeds there.
        self.feeds: dict[str, Relation] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        # Relation names are identifiers, so "<-name" never meets a forward link's key.
        self.inverse_key = "<-" + name if self.inverse_of else ""

    def __set__(self, obj: Model, value: Any) -> None:
        raise AttributeError(
            f"{type(obj).__name__}.{self.name} is a relation, read-only: it follows "
            f"{self.field or 'the records linking here'} as merged by the graph"
        )

    def is_complete(self, obj: Model) -> bool:
        """Whether this inverse relation of `obj` is known to hold every linking record."""
        state = obj._state
        return state is not None and state.complete is not None and self.name in state.complete

    def linking(self, obj: Model) -> list[Model]:
        """The live records whose own link points at `obj` through this inverse relation."""
        found = obj._links.get(self.inverse_key) if self.inverse_key else None
        if not found:
            return []
        if self.weak:
            return [t for t in (ref() for ref in found) if t is not None]
        return list(found)

    def targets(self, obj: Model) -> list[Model] | None:
        """What this relation of `obj` links to, placeholders included; None if not loaded.

        A forward relation answers from the ids its record carried. Without them, a
        one-relation derived from the other side answers with the record that linked here
        most recently (None once that record was unlinked); a many-relation derived from
        the other side answers only once it is known to be complete (`Graph.mark_loaded`,
        or a list of every linking record): the graph never hands out a partial list.
        """
        links = obj._links
        if self.field and self.name in links:
            value = links[self.name]
            if value is None:
                return []
            return list(value) if self.many else [value]
        if not self.inverse_key:
            return None
        linking = self.linking(obj)
        if self.is_complete(obj):
            return linking if self.many else linking[-1:]
        if not self.many and self.inverse_key in links:
            # Some record linked here, so the one it is (or None: it was unlinked since).
            return linking[-1:]
        return None

    def _not_loaded(self, obj: Model) -> RelationNotLoadedError:
        if self.field:
            how = f"no response has carried its ids ({self.field})."
            if self.include:
                how += f" Request it with include=[{self.include!r}]."
        else:
            how = f"it is derived from {self.target}.{self.inverse_of}, "
            seen = len(self.linking(obj))
            if seen:
                how += (
                    f"and the {seen} {self.target} record(s) linking here that the graph "
                    "holds may not be all of them"
                )
            else:
                how += f"and no {self.target} record linking here has been merged"
            how += " (list them all, or call Graph.mark_loaded once you have)."
        return RelationNotLoadedError(label(obj), self.name, how)

    def _dangling(self, obj: Model, placeholders: list[Model]) -> DanglingReferenceError:
        key = type(placeholders[0]).__kantata_key__
        ids = [p.__dict__["id"] for p in placeholders]
        return DanglingReferenceError(label(obj), self.name, key, ids)


class One(Relation, Generic[T]):
    """A relation to at most one record: `user.role`, `workweek_membership.user`.

    Reading it returns the live object, `None` when the server said there is none, raises
    `RelationNotLoadedError` when no response carried the id, and `DanglingReferenceError`
    when the id arrived but the record never did.
    """

    __slots__ = ()
    many = False

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> One[T]: ...
    @overload
    def __get__(self, obj: Model, owner: type | None = None) -> T | None: ...

    def __get__(self, obj: Model | None, owner: type | None = None) -> One[T] | T | None:
        if obj is None:
            return self
        found = self.targets(obj)
        if found is None:
            raise self._not_loaded(obj)
        if not found:
            return None
        target = found[0]
        if is_placeholder(target):
            raise self._dangling(obj, [target])
        return target  # type: ignore[return-value]


class Many(Relation, Generic[T]):
    """A relation to a list of records: `user.skills`, `workweek.workweek_memberships`.

    Returns a new list on every read (changing it does not change the graph); `[]` when the
    server sent no ids. Errors as for `One`.
    """

    __slots__ = ()
    many = True

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Many[T]: ...
    @overload
    def __get__(self, obj: Model, owner: type | None = None) -> list[T]: ...

    def __get__(self, obj: Model | None, owner: type | None = None) -> Many[T] | list[T]:
        if obj is None:
            return self
        targets = self.targets(obj)
        if targets is None:
            raise self._not_loaded(obj)
        placeholders = [t for t in targets if is_placeholder(t)]
        if placeholders:
            raise self._dangling(obj, placeholders)
        return targets  # type: ignore[return-value]
