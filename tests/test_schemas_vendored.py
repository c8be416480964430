"""tests/schemas: the vendored JSON schemas match SOURCES.json, and refresh.py keeps them so."""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import subprocess
import sys

import pytest
from jsonschema.validators import validator_for

from helpers import SCHEMAS, load_schema

SOURCES = json.loads((SCHEMAS / "SOURCES.json").read_text(encoding="utf-8"))


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendored() -> list[str]:
    return sorted(path.name for path in SCHEMAS.glob("*.json") if path.name != "SOURCES.json")


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_listed_schema_is_there_unedited(name):
    entry = SOURCES[name]
    assert {"url", "refreshed", "via", "sha256"} <= set(entry), entry
    assert entry["url"].startswith("https://")
    datetime.date.fromisoformat(entry["refreshed"])
    assert (SCHEMAS / name).is_file(), f"{name} is listed in SOURCES.json but not vendored"
    assert sha256(SCHEMAS / name) == entry["sha256"], (
        f"{name} differs from SOURCES.json: change it only with tests/schemas/refresh.py"
    )


def test_every_vendored_schema_is_listed():
    assert vendored() == sorted(SOURCES)


@pytest.mark.parametrize("name", vendored())
def test_vendored_schema_is_a_valid_schema(name):
    schema = load_schema(name)
    validator_for(schema).check_schema(schema)


def test_refresh_from_a_folder_updates_the_file_and_sources(tmp_path):
    """On a copy of tests/schemas: the real folder is never touched."""
    dest = shutil.copytree(SCHEMAS, tmp_path / "schemas", ignore=shutil.ignore_patterns("__pycache__"))
    source = tmp_path / "new"
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(SCHEMAS / name, source / name)
    changed = sorted(SOURCES)[0]
    schema = json.loads((source / changed).read_text(encoding="utf-8"))
    schema["description"] = "a newer upstream version"
    (source / changed).write_text(json.dumps(schema), encoding="utf-8")
    sources = json.loads((dest / "SOURCES.json").read_text())
    for entry in sources.values():
        entry["refreshed"] = "2000-01-01"
    (dest / "SOURCES.json").write_text(json.dumps(sources))

    before = datetime.date.today().isoformat()
    result = subprocess.run([sys.executable, str(dest / "refresh.py"), "--from", str(source), "--dest", str(dest)],
                            capture_output=True, text=True, check=True)
    today = {before, datetime.date.today().isoformat()}

    assert f"{changed}: updated" in result.stdout
    assert (dest / changed).read_bytes() == (source / changed).read_bytes()
    refreshed = json.loads((dest / "SOURCES.json").read_text())
    assert refreshed[changed]["sha256"] == sha256(source / changed) != SOURCES[changed]["sha256"]
    for name, entry in refreshed.items():
        assert entry["refreshed"] in today
        assert entry["url"] == SOURCES[name]["url"]
        assert entry["sha256"] == sha256(dest / name)
        if name != changed:
            assert f"{name}: unchanged" in result.stdout
            assert entry["sha256"] == SOURCES[name]["sha256"]
    assert not list(dest.glob(".*.tmp")), "a temp file was left behind"


def test_refresh_rejects_a_file_that_is_not_a_schema(tmp_path):
    dest = shutil.copytree(SCHEMAS, tmp_path / "schemas", ignore=shutil.ignore_patterns("__pycache__"))
    source = tmp_path / "new"
    source.mkdir()
    for name in SOURCES:
        (source / name).write_text('["not", "a", "schema"]')
    result = subprocess.run([sys.executable, str(dest / "refresh.py"), "--from", str(source), "--dest", str(dest)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "is not a JSON schema" in result.stderr
    for name in SOURCES:
        assert sha256(dest / name) == SOURCES[name]["sha256"], "nothing is written when a download is bad"
