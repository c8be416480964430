"""An update that stops halfway (a refused answer, Ctrl-C, a killed Copier) leaves the team's
repository exactly as it was: every tracked file, the index, no stash, no stray file. Copier
runs as a real process here, as a team runs it, and is stopped for real."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ANSWERS_FILE, copy_at, git, git_save

COPIER = shutil.which("copier", path=str(Path(sys.executable).parent))
STASH = ".claude/state/update-team-entries.json"
MARKER = ".claude/state/update-in-progress"


def team_project(versions: Path, destination: Path) -> Path:
    """A project at 1.0.0 with the team's own entries (which an update sets aside)."""
    project = copy_at(versions, destination, {"stacks": ["python"], "mcp_servers": ["github"]})
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    settings["env"]["TEAM_FLAG"] = "1"
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    git_save(project, "the team's entries")
    return project


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file of the project outside .git, and the index, as bytes."""
    files = {str(path.relative_to(project)): path.read_bytes() for path in project.rglob("*")
             if path.is_file() and ".git" not in path.relative_to(project).parts}
    files["<index>"] = git("-C", str(project), "ls-files", "--stage").encode()
    return files


def copier_update(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([COPIER, "update", "--trust", "--defaults", "--quiet", "-a", ANSWERS_FILE,
                             "--vcs-ref", "1.1.0", *args], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def assert_restored(project: Path, before: dict[str, bytes]) -> None:
    wait_for(lambda: not (project / MARKER).exists(), 30)  # the watchdog has run
    after = snapshot(project)
    assert sorted(set(after) ^ set(before)) == []
    assert [path for path in before if before[path] != after[path]] == []
    assert git("-C", str(project), "status", "--porcelain") == ""
    assert not (project / STASH).exists()


def test_a_refused_answer_leaves_the_repository_as_it_was(versions, tmp_path):
    project = team_project(versions, tmp_path / "project")
    before = snapshot(project)
    update = copier_update(project, "--data", "step_timeout=5")
    _, stderr = update.communicate(timeout=120)
    assert update.returncode != 0 and "step_timeout" in stderr
    assert_restored(project, before)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_update_stopped_between_its_stages_leaves_the_repository_as_it_was(versions, tmp_path, stop):
    project = team_project(versions, tmp_path / "project")
    before = snapshot(project)
    update = copier_update(project)
    wait_for(lambda: (project / STASH).exists() or update.poll() is not None)
    assert update.poll() is None, "the update ended before it could be stopped between its stages"
    update.send_signal(stop)
    update.communicate(timeout=60)
    assert_restored(project, before)


def test_an_update_that_finishes_with_conflicts_keeps_them(versions, tmp_path):
    """A conflict is an end, not a stop: the conflicted tree stays for the team to resolve."""
    project = team_project(versions, tmp_path / "project")
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["hooks"]["PostToolUse"][0]["hooks"][0]["timeout"] = 60  # 1.1.0 changes it to 45
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    git_save(project, "the team's timeout")
    update = copier_update(project)
    update.communicate(timeout=120)
    assert update.returncode != 0  # check_update fails it
    time.sleep(1)  # a watchdog that wrongly restored would have done it by now
    assert "<<<<<<<" in settings_file.read_text()
    assert not (project / MARKER).exists()


def test_a_finished_update_leaves_no_watchdog_and_no_marker(versions, tmp_path):
    project = team_project(versions, tmp_path / "project")
    update = copier_update(project)
    _, stderr = update.communicate(timeout=120)
    assert update.returncode == 0, stderr
    assert not (project / MARKER).exists()
    assert "Bash(make lint:*)" in (project / ".claude" / "settings.json").read_text()
