"""A string that keeps its value out of reprs, for the token and the header built from it."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret(str):
    """A `str` whose `repr` is redacted.

    It is still the real value everywhere a string is used (aiohttp sends it as is); only
    `repr` changes, so a dict, an object's `vars()` or a traceback's locals never show it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<redacted>'"
