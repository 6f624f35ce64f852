"""The exception hierarchy: one root, `KantataError`, for everything the SDK raises."""

from __future__ import annotations

__all__ = [
    "DanglingReferenceError",
    "FieldNotLoadedError",
    "KantataError",
    "NotLoadedError",
    "PayloadError",
    "RelationNotLoadedError",
]


class KantataError(Exception):
    """Root of every exception kantata_async raises."""


class PayloadError(KantataError, ValueError):
    """A response body does not have the shape of a Kantata envelope.

    Raised by `Graph.merge` before it changes anything, so a bad payload never leaves
    the graph half-merged.
    """


class NotLoadedError(KantataError, AttributeError):
    """An attribute has no data yet because no response carried it.

    It is an `AttributeError`, so `getattr(user, "bio", None)` and `hasattr` work as usual.
    """


class FieldNotLoadedError(NotLoadedError):
    """A field that no response has carried so far (as opposed to an explicit `null`).

    Optional fields such as `User.bio` arrive only when asked for with `optional_fields=`.
    """

    def __init__(self, obj_label: str, field: str) -> None:
        self.field = field
        super().__init__(
            f"{obj_label}.{field} is not loaded: no response has carried this field yet "
            f"(it is absent, not null). If it is an optional field, request it with "
            f"optional_fields=[{field!r}]."
        )


class RelationNotLoadedError(NotLoadedError):
    """A relation whose ids never arrived, so the graph cannot tell what it holds."""

    def __init__(self, obj_label: str, relation: str, how: str) -> None:
        self.relation = relation
        super().__init__(f"{obj_label}.{relation} is not loaded: {how}")


class DanglingReferenceError(KantataError, LookupError):
    """A relation points at records that no response has carried.

    The server sent the id but not the record: it was not included in any response so far,
    or the server hides it from this token (for example a user on another account).
    """

    def __init__(self, obj_label: str, relation: str, key: str, ids: list[str]) -> None:
        self.relation = relation
        self.key = key
        self.ids = ids
        shown = ", ".join(f"{key}/{i}" for i in ids[:10])
        more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
        super().__init__(
            f"{obj_label}.{relation} points at {shown}{more}, which no response has carried: "
            f"the record was not included, or the server hides it from this token."
        )
