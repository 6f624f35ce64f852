"""Generate `kantata_async/_generated/` from the facts: `make generate`.

    python tools/codegen/generate.py            # write the package
    python tools/codegen/generate.py --check    # exit 1 when the committed one differs

The output is formatted with ruff (from the project's environment), so the check compares
like with like.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import emit
import facts
import naming
import quirks

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "kantata_async" / "_generated"


def render() -> dict[str, str]:
    """File name -> text, for the whole generated package."""
    known = facts.collections(facts.load())
    files = {f"{key}.py": emit.module(coll, known) for key, coll in sorted(known.items())}
    files["__init__.py"] = _package(known)
    files["client.py"] = _client(known)
    return files


def _package(known: dict[str, facts.Collection]) -> str:
    models = sorted((coll.model, key) for key, coll in known.items() if coll.model)
    lines = [
        emit.HEADER + '"""Every Kantata record type and collection, from the API\'s facts."""',
        "",
        "from typing import Final, Literal",
        "",
        "from .._models.base import wire_inverses",
    ]
    lines += [f"from .{key} import {name}" for name, key in sorted(models, key=lambda m: m[1])]
    resources = sorted(key for key, coll in known.items() if coll.listable)
    lines += ["", "COLLECTIONS: Final = ("]
    lines += [f"    {key!r}," for key in resources]
    lines += [")", '"""The top-level keys that have a resource on the client."""', ""]
    walkable = [key for key in resources if not known[key].raw and not known[key].path_params]
    lines += ["CollectionKey = Literal["]
    lines += [f"    {key!r}," for key in walkable]
    lines += [
        "]",
        '"""The collections a list walks page by page (and an export can stream)."""',
        "",
    ]
    lines += ["__all__ = ["] + [f"    {name!r}," for name in sorted(n for n, _ in models)]
    lines += [
        "]",
        "",
        "# Every model exists now: tell each forward link which inverse it feeds.",
        "wire_inverses()",
        "",
    ]
    return "\n".join(lines)


def _client(known: dict[str, facts.Collection]) -> str:
    lines = [
        emit.HEADER + '"""The client\'s resources, one per collection, made on first use."""',
        "",
        "from functools import cached_property",
        "",
        "from ..resources._api import ClientAPI",
    ]
    imports, props = [], []
    for key, coll in sorted(known.items()):
        if not coll.listable:
            continue
        module, name = quirks.RESOURCE_OVERRIDES.get(key, (f".{key}", naming.resource_name(coll)))
        if module.startswith("kantata_async."):
            module = ".." + module.removeprefix("kantata_async.")
        imports.append(f"from {module} import {name}")
        props += [
            "",
            "    @cached_property",
            f"    def {key}(self) -> {name}:",
            f'        """`/{"/".join(coll.path)}`."""',
            f"        return {name}(self._api)",
        ]
    lines += sorted(imports)
    lines += ["", "", "class Resources:", '    """Every collection, as `client.<key>`."""', ""]
    lines += ["    _api: ClientAPI", *props, ""]
    return "\n".join(lines)


README = ROOT / "README.md"
START, END = "<!-- collections: start -->", "<!-- collections: end -->"


def collections_table() -> str:
    """The README's list of every collection (between its markers)."""
    known = facts.collections(facts.load())
    rows = ["| `client.` | path | model | operations |", "|---|---|---|---|"]
    for key, coll in sorted(known.items()):
        if not coll.listable:
            continue
        ops = ["list" if not coll.raw else "list (raw JSON)"]
        ops += [
            name
            for name, have in (
                ("get", coll.show),
                ("create", coll.create is not None),
                ("update", coll.update is not None),
                ("delete", coll.delete),
                ("delete_many", coll.delete_many),
            )
            if have
        ]
        ops += [name for _, name in naming.action_names(coll)]
        ops += sorted(quirks.HAND_EXTRAS.get(key, ()))
        model = f"`{coll.model}`" if coll.model else "-"
        rows.append(f"| `{key}` | `/{'/'.join(coll.path)}` | {model} | {', '.join(ops)} |")
    return "\n".join(rows)


def _readme(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{collections_table()}\n{END}{tail}"


def _ruff(where: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    command = str(ruff) if ruff.exists() else "ruff"
    subprocess.run([command, "format", "--quiet", str(where)], check=True, cwd=ROOT)
    # As pyproject's per-file ignores for the package say (a long path in a docstring; the
    # methods' `timeout=`), for a check run outside it.
    ignore = "E501,ASYNC109"
    fix = [command, "check", "--fix", "--quiet", "--extend-ignore", ignore, str(where)]
    subprocess.run(fix, check=True, cwd=ROOT)
    subprocess.run([command, "format", "--quiet", str(where)], check=True, cwd=ROOT)


def write(into: Path) -> None:
    """Write the package into `into` (replaced whole) and format it."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    for name, text in render().items():
        (into / name).write_text(text, "utf-8")
    _ruff(into)


def check() -> int:
    """0 when the committed package is what the facts generate; else print a diff, 1."""
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        fresh = Path(tmp) / "_generated"
        write(fresh)
        names = {p.name for p in fresh.glob("*.py")} | {p.name for p in TARGET.glob("*.py")}
        changed = []
        for name in sorted(names):
            new = (fresh / name).read_text("utf-8") if (fresh / name).exists() else ""
            old = (TARGET / name).read_text("utf-8") if (TARGET / name).exists() else ""
            if new != old:
                changed.append(name)
                sys.stdout.writelines(
                    list(difflib.unified_diff(old.splitlines(True), new.splitlines(True), name))[
                        :40
                    ]
                )
    readme = README.read_text("utf-8")
    if _readme(readme) != readme:
        changed.append("README.md")
        print("README.md: the list of collections differs from the facts")
    if changed:
        print(f"\n{len(changed)} generated file(s) differ from the facts: run `make generate`.")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if args.check:
        return check()
    write(TARGET)
    README.write_text(_readme(README.read_text("utf-8")), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
