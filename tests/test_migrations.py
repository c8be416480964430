"""Each migration, from the real release it migrates from, carries the team's content across.

The old release is rebuilt from this repository's history (git archive of its commit) and
tagged in a tmp folder, next to this working tree tagged as the new release."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from copier import run_update
from plumbum import local

from helpers import ANSWERS_FILE, ROOT, generate, git_save, snapshot_template
from scripts.release import recorded
from tasks.migrations import v0_2_0

RELEASE_0_1_0 = recorded(ROOT)["0.1.0"]


def release_from_history(commit: str, destination: Path, tag: str) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], capture_output=True)
    if archive.returncode != 0:
        pytest.fail(f"commit {commit} is not in this clone ({archive.stderr.decode().strip()}); "
                    "the migration tests need the repository's history (git clone without --depth)")
    destination.mkdir(parents=True)
    tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(destination, filter="tar")
    git_save(destination, f"release {tag}", tag=tag)
    return destination


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> Path:
    """0.1.0 from history, then this working tree as 0.2.0, in one template repository."""
    repo = release_from_history(RELEASE_0_1_0, tmp_path_factory.mktemp("releases") / "template", "0.1.0")
    for path in repo.iterdir():
        if path.name != ".git":
            subprocess.run(["rm", "-rf", str(path)], check=True)
    snapshot = snapshot_template(tmp_path_factory.mktemp("snapshot"))
    subprocess.run(["cp", "-a", f"{snapshot}/.", str(repo)], check=True)
    subprocess.run(["rm", "-rf", str(repo / ".git" / "refs" / "tags" / "99.0.0")], check=True)
    git_save(repo, "release 0.2.0", tag="0.2.0")
    return repo


@pytest.mark.parametrize(("old", "expected"), [(1200, 1130), (900, None), (120, 50), (60, 30)])
def test_bootstrap_timeout_becomes_step_timeout(releases, tmp_path, old, expected):
    project = tmp_path / "project"
    project.mkdir()
    generate(releases, project, {"project_name": "team", "stacks": ["go"], "bootstrap_timeout": old,
                                 "background_install": False}, vcs_ref="0.1.0")
    claude_md = project / "CLAUDE.md"
    claude_md.write_text(claude_md.read_text().replace("Add what Claude should know", "TEAM NOTE. Add what Claude should know"))
    git_save(project, "copy at 0.1.0, with a team note")
    with local.cwd(project):
        run_update(answers_file=ANSWERS_FILE, defaults=True, overwrite=True, unsafe=True, quiet=True,
                   data={"background_install": False})
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert answers["_commit"] == "0.2.0"
    assert "bootstrap_timeout" not in answers
    assert answers["step_timeout"] == (expected or 600)
    hook = json.loads((project / ".claude" / "settings.json").read_text())["hooks"]["SessionStart"][0]["hooks"][0]
    assert hook["timeout"] == (expected or 600) + 70
    assert "TEAM NOTE." in claude_md.read_text()


def test_the_migration_leaves_other_answers_alone():
    answers = {"_commit": "0.1.0", "stacks": ["go"], "bootstrap_timeout": 1000, "env_vars": {"A": "1"}}
    assert v0_2_0.before(answers) == {"_commit": "0.1.0", "stacks": ["go"], "step_timeout": 930, "env_vars": {"A": "1"}}
    assert v0_2_0.before({"stacks": []}) == {"stacks": []}


def test_team_rules_survive_the_0_2_0_reordering_of_permissions(releases, tmp_path):
    """0.2.0 moved the stable allow rules to the end; a rule a team appended is kept."""
    project = tmp_path / "project"
    project.mkdir()
    generate(releases, project, {"project_name": "team", "stacks": ["python", "node"]}, vcs_ref="0.1.0")
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    settings["env"]["TEAM_FLAG"] = "1"
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    git_save(project, "team rules")
    with local.cwd(project):
        run_update(answers_file=ANSWERS_FILE, defaults=True, overwrite=True, unsafe=True, quiet=True)
    after = json.loads(settings_file.read_text())
    assert "Bash(make lint:*)" in after["permissions"]["allow"]
    assert after["env"]["TEAM_FLAG"] == "1"
    assert after["permissions"]["allow"][-2:] == ["Bash(.claude/scripts/cloud-init.sh:*)", "Bash(make lint:*)"]
