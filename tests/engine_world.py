"""A repository that holds only the static engine and a hand-written steps file: the engine
run as it is, with stub package managers (helpers.CloudSession), and no Copier."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import CloudSession

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "template" / ".claude" / "scripts" / "cloud-init.sh"

# How many fields each record has: the last one may hold | (a shell pipe or ||).
FIELDS = {"option": 3, "step": 2, "input": 3, "ready": 3, "port": 3, "run": 4, "+": 2, "env": 3, "path": 2,
          "tool": 4, "manager": 4}
FOREGROUND = "option|background|off"


def records(*lines: str) -> str:
    """A steps file from records written with | between fields, for readable tests."""
    def tabbed(line: str) -> str:
        kind = line.split("|", 1)[0]
        return "\t".join(line.split("|", FIELDS[kind] - 1) if kind in FIELDS else line.split("|"))
    return "".join(tabbed(line) + "\n" for line in lines)


def engine_repository(project: Path, scratch: Path, steps: str | None, files: dict[str, str] | None = None) -> CloudSession:
    scripts = project / ".claude" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy2(ENGINE, scripts / "cloud-init.sh")
    if steps is not None:
        (scripts / "cloud-init.steps").write_text(steps)
    for name, text in (files or {}).items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return CloudSession(project, scratch)


@pytest.fixture
def world(tmp_path):
    """make(steps, files) -> a CloudSession on a repository holding only the engine, the
    steps file and `files` (paths under the repository, and their text)."""

    def make(steps: str | None, files: dict[str, str] | None = None) -> CloudSession:
        return engine_repository(tmp_path / "repo", tmp_path / "session", steps, files)

    return make
