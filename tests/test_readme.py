"""The README's Python examples type-check with mypy --strict, as written.

Each ```python block becomes the body of an async function whose parameters stand for the
names a block takes from its surroundings (`client`, an OAuth `state`, your own `upsert`);
mypy checks them all in one run.
"""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

README = Path(__file__).resolve().parents[1] / "README.md"

PREAMBLE = """\
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kantata_async import *  # noqa: F403
from kantata_async.models import *  # noqa: F403
from kantata_async.testing import FakeKantata

"""
# The names a block may use without defining them, with their types.
GIVEN = (
    "client: KantataClient, graph: Graph, user: User, state: str, callback_url: str, "
    "CLIENT_ID: str, CLIENT_SECRET: str, exists: bool, upsert: Callable[[Any], None], "
    "my_sync_job: Callable[[KantataClient], Any]"
)


def blocks() -> list[tuple[int, str]]:
    """(line number in the README, code) of every ```python block."""
    text = README.read_text("utf-8")
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        found.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return found


def test_every_readme_python_block_type_checks(tmp_path: Path) -> None:
    source = [PREAMBLE]
    origin: dict[int, tuple[int, int]] = {}  # line in the module -> (README line, block)
    for number, (start, code) in enumerate(blocks()):
        source.append(f"async def _block_{number}({GIVEN}) -> None:\n")
        for offset, line in enumerate(code.splitlines()):
            origin[sum(part.count("\n") for part in source) + 1] = (start + offset, number)
            source.append(f"    {line}\n" if line.strip() else "\n")
        source.append("    pass\n\n\n")
    module = tmp_path / "readme_blocks.py"
    module.write_text("".join(source), encoding="utf-8")
    out, _, status = api.run(["--strict", "--no-error-summary", str(module)])
    problems = []
    for line in out.splitlines():
        found = re.match(r".*readme_blocks\.py:(\d+): error: (.*)", line)
        if found:
            where = origin.get(int(found.group(1)))
            at = f"README.md:{where[0]}" if where else f"module line {found.group(1)}"
            problems.append(f"{at}: {found.group(2)}")
    assert not problems, "\n".join(problems)
    assert status == 0, out
    assert len(blocks()) >= 8
