"""Plausible values for a documented field, from its type, format, enum and name.

The generic collections (`_fill.py`) get their scalar fields here: a date-time for a
`date-time`, a date for a `date` or a `*_date`, an amount in cents for `*_in_cents`, a
currency code for `currency`, an address for `*email*`, a colour for `*color`, a sentence for
`description`, one of the enum's values where the facts give an enum, and so on. Each maker
is chosen once per field (`maker`), then called per record with the generator and the
record's id: building 100,000 records must not re-read names each time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ._calendar import Stamps
from ._facts import FieldFact

__all__ = ["Maker", "label_of", "maker"]

# A value for one record: given the generator and the record's id.
Maker = Callable[[random.Random, str], Any]

_WORDS = (
    "Apollo", "Birch", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
    "Juniper", "Kestrel", "Lumen", "Maple", "Nimbus", "Orchid", "Pioneer", "Quartz", "Raven",
)  # fmt: skip
_CURRENCIES = ("USD", "EUR", "GBP", "JPY")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
_STATUSES = ("active", "pending", "approved", "completed")
_RARE = ("deleted_at", "archived_at", "disabled_at", "canceled_at", "archived", "deleted")


def label_of(record: dict[str, Any] | None) -> str | None:
    """What a record is called: its name, title, full name or label."""
    if record is None:
        return None
    for name in ("name", "title", "full_name", "label"):
        value = record.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _words(rng: random.Random, n: int = 2) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _text(name: str, singular: str) -> Maker:
    human = name.replace("_", " ")
    if name in ("name", "title", "label", "full_name", "display_label", "business_name"):
        return lambda rng, i: f"{_words(rng)} {singular} {i}"
    if name in ("description", "notes", "message", "comment", "text", "bio", "rich_text"):
        return lambda rng, i: f"About {singular.lower()} {i}: {_words(rng, 3).lower()}."
    if "email" in name:
        return lambda rng, i: f"{singular.lower()}.{i}@example.com"
    if name.endswith(("url", "link", "website", "_path")):
        return lambda rng, i: f"https://example.com/{singular.lower()}s/{i}"
    if name.endswith("color") or name == "hex":
        return lambda rng, i: rng.choice(_COLORS)
    if name == "currency" or name.endswith("_currency") or name == "iso_code":
        return lambda rng, i: rng.choice(_CURRENCIES)
    if name in ("currency_symbol", "symbol"):
        return lambda rng, i: rng.choice(tuple(_SYMBOLS.values()))
    if name in ("status", "state", "stage"):
        return lambda rng, i: rng.choice(_STATUSES)
    if name.endswith("_formatted") or name in ("price", "budget_used", "budget_remaining"):
        return lambda rng, i: f"${rng.randrange(100, 90_000):,}.00"
    if name.endswith("_type"):
        return lambda rng, i: rng.choice(("standard", "custom"))
    if name.endswith("_id") or name == "id":
        return lambda rng, i: str(rng.randrange(1, 40))
    return lambda rng, i: f"{human.capitalize()} {i}"


def maker(name: str, fact: FieldFact, singular: str, stamps: Stamps) -> Maker:
    """How to fill `name` (documented as `fact`) on a record of `singular`."""
    today = stamps.anchor.date()
    if fact.enum:
        choices = fact.enum
        return lambda rng, i: rng.choice(choices)
    kind = fact.type
    if name.endswith(_RARE) or name in _RARE:
        # What marks a record gone or done: one record in five, so most are alive.
        usual = maker(name + "_", fact, singular, stamps)
        return lambda rng, i: (
            usual(rng, i) if int(i) % 5 == 0 else (False if kind == "boolean" else None)
        )
    if kind == "boolean":
        return lambda rng, i: rng.random() < 0.5
    if kind == "integer":
        if name.endswith(("_in_cents", "_in_subunits", "_cents")):
            return lambda rng, i: rng.randrange(1_000, 500_000, 100)
        if name.endswith("minutes"):
            return lambda rng, i: rng.randrange(15, 481, 15)
        if name.endswith("_id"):
            return lambda rng, i: rng.randrange(1, 40)
        return lambda rng, i: rng.randrange(1, 100)
    if kind == "number":
        return lambda rng, i: round(rng.uniform(1, 1000), 2)
    if kind == "array":
        if fact.items == "object":
            return lambda rng, i: [{"name": _words(rng, 1), "value": rng.randrange(1, 10)}]
        return lambda rng, i: [_words(rng, 1) for _ in range(rng.randrange(1, 3))]
    if kind == "object":
        return lambda rng, i: {"name": _words(rng, 1), "value": rng.randrange(1, 100)}
    if fact.format == "date-time" or name.endswith("_at"):
        return lambda rng, i: stamps.pair()[1]
    if fact.format == "date" or name.endswith("_date") or name == "date":
        return lambda rng, i: (today - timedelta(days=rng.randrange(-30, 365))).isoformat()
    return _text(name, singular)
