"""What the export tests share: include paths to export, the visible users, an NDJSON reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import visible

from kantata_async.testing import FakeKantata

NESTED = ["account_membership.skill_memberships", "role"]


def visible_users(fake: FakeKantata) -> dict[str, dict[str, Any]]:
    """The users `GET /users` lists by default, by id."""
    return {uid: fake.dataset.records["users"][uid] for uid in visible(fake)}


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")  # whole lines only
    return [json.loads(line) for line in text.splitlines()]
