"""The wheel users install: built from this checkout, it ships what the package needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip, "--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("kantata_async-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_the_license_the_types_and_the_fakes_facts(
    wheel: zipfile.ZipFile,
) -> None:
    names = set(wheel.namelist())
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_file) == (ROOT / "LICENSE").read_bytes()
    assert "kantata_async/py.typed" in names
    facts = {n for n in names if n.startswith("kantata_async/testing/facts/")}
    shipped = {
        f"kantata_async/testing/facts/{p.name}"
        for p in (ROOT / "kantata_async/testing/facts").iterdir()
    }
    assert facts == shipped
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "tools/"))]


def test_the_metadata_names_the_license_the_extras_and_the_links(
    wheel: zipfile.ZipFile,
) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(wheel.read(metadata).decode())
    assert meta["License-Expression"] == "MIT"
    assert {"fast", "examples", "dlt", "dev"} <= set(meta.get_all("Provides-Extra") or [])
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("uvicorn") and "extra == 'examples'" in r for r in requires)
    assert any(r.startswith("dlt[duckdb]") and "extra == 'dlt'" in r for r in requires)
    assert meta.get_all("Project-URL")
    entry = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert b"kantata-async = kantata_async.cli:main" in wheel.read(entry[0])
