"""Each migration, from the real release it migrates from, carries the team's content across.

The old release is rebuilt from this repository's history (git archive of its commit) and
tagged in a tmp folder, next to this working tree tagged as the new release. One test updates
the way a team does: from a real clone's 0.1.0 tag to its untagged HEAD (this working tree).
tests/test_migrate.py tests the registry's dispatcher, case by case."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from helpers import ANSWERS_FILE, ROOT, CloudSession, add_team_entries, generate, git, git_save, snapshot_template, update
from scripts.release import ReleaseError, recorded, restore_tags
from extensions.claude_json import bootstrap_hook_timeout
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


@pytest.fixture(scope="module")
def this_clone(tmp_path_factory) -> Path:
    """A real clone of this repository, its release tags included, with this working tree
    committed on top: an untagged commit after the newest tag, as a branch's HEAD is."""
    clone = tmp_path_factory.mktemp("clone") / "copier-claude-cloud"
    cloned = subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], capture_output=True, text=True)
    if cloned.returncode != 0:
        pytest.fail(f"git clone of this repository failed: {cloned.stderr.strip()}")
    try:
        restore_tags(clone)  # for a repository that came without its tags
    except ReleaseError as error:
        pytest.fail(f"{error}; the migration tests need the repository's history")
    git("-C", str(clone), "rm", "-r", "--quiet", ".")
    return snapshot_template(clone, tag=None)


def update_from_0_1_0(template: Path, project: Path, answers: dict, **options) -> dict:
    """Copy release 0.1.0 with `answers`, add a team note to CLAUDE.md, commit, update;
    the answers after the update."""
    project.mkdir()
    generate(template, project, answers, vcs_ref="0.1.0")
    claude_md = project / "CLAUDE.md"
    claude_md.write_text(claude_md.read_text().replace("Add what Claude should know",
                                                       "TEAM NOTE. Add what Claude should know"))
    git_save(project, "copy at 0.1.0, with a team note")
    update(project, **options)
    assert "TEAM NOTE." in claude_md.read_text()
    return yaml.safe_load((project / ANSWERS_FILE).read_text())


def assert_step_timeout(project: Path, answers: dict, expected: int) -> None:
    assert "bootstrap_timeout" not in answers
    assert answers["step_timeout"] == expected
    hook = json.loads((project / ".claude" / "settings.json").read_text())["hooks"]["SessionStart"][0]["hooks"][0]
    # 0.2.0's hook gave the template's steps step_timeout + 70 s, as the old total; since 0.6.0
    # the hook adds room for a second batch, the team's own steps.
    assert hook["timeout"] == bootstrap_hook_timeout(False, expected)


@pytest.mark.parametrize(("old", "expected"), [(1200, 1130), (900, None), (120, 50), (60, 30)])
def test_bootstrap_timeout_becomes_step_timeout(releases, tmp_path, old, expected):
    project = tmp_path / "project"
    answers = update_from_0_1_0(releases, project, {"project_name": "team", "stacks": ["go"], "bootstrap_timeout": old,
                                                    "background_install": False}, data={"background_install": False})
    assert answers["_commit"] == "0.2.0"
    assert_step_timeout(project, answers, expected or 600)


def test_an_update_from_the_0_1_0_tag_to_this_branchs_head_migrates(this_clone, tmp_path):
    """Copier's version of the untagged HEAD is NEWEST.postN.dev0+gHASH (0.3.0.post2.dev0+g…):
    0.2.0's migration runs, as for an update to a tag after it."""
    project = tmp_path / "project"
    answers = update_from_0_1_0(this_clone, project, {"project_name": "team", "stacks": ["go"],
                                                      "bootstrap_timeout": 1200, "background_install": False},
                                data={"background_install": False}, vcs_ref="HEAD")
    head = git("-C", str(this_clone), "describe", "--tags").strip()
    newest = max(recorded(ROOT), key=Version)
    assert re.fullmatch(rf"{re.escape(newest)}-\d+-g[0-9a-f]+", head), f"the clone's HEAD is {head}, not after {newest}"
    assert answers["_commit"] == head
    assert_step_timeout(project, answers, 1130)


def test_the_migration_leaves_other_answers_alone():
    answers = {"_commit": "0.1.0", "stacks": ["go"], "bootstrap_timeout": 1000, "env_vars": {"A": "1"}}
    assert v0_2_0.before(answers) == {"_commit": "0.1.0", "stacks": ["go"], "step_timeout": 930, "env_vars": {"A": "1"}}


def test_the_migration_leaves_answers_without_bootstrap_timeout_as_they_are():
    assert v0_2_0.before({"stacks": []}) == {"stacks": []}


def test_the_migration_keeps_a_step_timeout_already_there():
    # A build from after the change already has the new answer: it is kept.
    assert v0_2_0.before({"bootstrap_timeout": 1000, "step_timeout": 200}) == {"step_timeout": 200}


def test_team_rules_survive_the_0_2_0_reordering_of_permissions(releases, tmp_path):
    """0.2.0 moved the stable allow rules to the end; a rule a team appended is kept."""
    project = tmp_path / "project"
    project.mkdir()
    generate(releases, project, {"project_name": "team", "stacks": ["python", "node"]}, vcs_ref="0.1.0")
    settings_file = project / ".claude" / "settings.json"
    add_team_entries(project)
    git_save(project, "team rules")
    update(project)
    after = json.loads(settings_file.read_text())
    assert "Bash(make lint:*)" in after["permissions"]["allow"]
    assert after["env"]["TEAM_FLAG"] == "1"
    assert after["permissions"]["allow"][-2:] == ["Bash(.claude/scripts/cloud-init.sh:*)", "Bash(make lint:*)"]


# --- 0.6.0: the static engine; the team's edits to the old cloud-init.sh move to cloud-init.d ---

ENGINE_ANSWERS = {"project_name": "team", "stacks": ["python"], "python_tool": "uv", "background_install": False}


@pytest.fixture(scope="module")
def from_0_2_0(tmp_path_factory) -> Path:
    """The real 0.2.0 rebuilt from history, then this working tree as 99.0.0 (after 0.6.0)."""
    repo = release_from_history(recorded(ROOT)["0.2.0"], tmp_path_factory.mktemp("engine") / "template", "0.2.0")
    git("-C", str(repo), "rm", "-r", "--quiet", ".")
    return snapshot_template(repo, tag="99.0.0")


def copy_at_0_2_0(template: Path, destination: Path) -> Path:
    project = generate(template, destination, ENGINE_ANSWERS, vcs_ref="0.2.0")
    git_save(project, "copy at 0.2.0")
    return project


def edit_script(project: Path, edit) -> None:
    script = project / ".claude" / "scripts" / "cloud-init.sh"
    script.write_text(edit(script.read_text()))
    git_save(project, "the team's edits to cloud-init.sh")


def update_to_99(project: Path) -> None:
    update(project, vcs_ref="99.0.0")


def added_lines(text: str) -> str:
    """0.2.0's script with an export and a command added, each where a team would add it."""
    text = text.replace('  persist_var VIRTUAL_ENV "$project_dir/.venv"\n',
                        '  persist_var VIRTUAL_ENV "$project_dir/.venv"\n  persist_var TEAM_FLAG "on"\n'
                        '  persist_path "$project_dir/tools/bin"\n', 1)
    assert "TEAM_FLAG" in text, "0.2.0's script no longer has the line this test edits after"
    return text.replace("step_python() {\n", "step_python() {\n  uv pip install -e ./lib\n", 1)


def test_0_6_0_moves_added_lines_into_the_teams_steps_and_the_session_runs_them(from_0_2_0, tmp_path):
    project = copy_at_0_2_0(from_0_2_0, tmp_path / "project")
    edit_script(project, added_lines)
    update_to_99(project)
    fresh = generate(from_0_2_0, tmp_path / "fresh", ENGINE_ANSWERS, vcs_ref="99.0.0")
    assert (project / ".claude/scripts/cloud-init.sh").read_bytes() == (fresh / ".claude/scripts/cloud-init.sh").read_bytes()
    team = project / ".claude" / "scripts" / "cloud-init.d"
    assert sorted(path.name for path in team.iterdir()) == ["from-old-cloud-init.sh", "from-old-cloud-init.steps"]
    assert "env\tTEAM_FLAG\ton\n" in (team / "from-old-cloud-init.steps").read_text()
    assert "path\t{project}/tools/bin\n" in (team / "from-old-cloud-init.steps").read_text()
    assert "uv pip install -e ./lib" in (team / "from-old-cloud-init.sh").read_text()
    session = CloudSession(project, tmp_path / "session")
    (project / "pyproject.toml").write_text("[project]\nname = 'team'\n")
    session.start()
    assert session.calls() == ["uv venv --allow-existing .venv", "uv pip install --python .venv -r pyproject.toml",
                               "uv pip install -e ./lib"]
    exported = session.exports("TEAM_FLAG", "PATH")
    assert exported["TEAM_FLAG"] == "on"
    assert f"{project}/tools/bin:" in exported["PATH"]


def test_0_6_0_keeps_changed_lines_for_review_and_fails_the_update(from_0_2_0, tmp_path):
    project = copy_at_0_2_0(from_0_2_0, tmp_path / "project")
    edit_script(project, lambda text: added_lines(text).replace("uv sync --frozen", "uv sync --frozen --all-extras", 1))
    with pytest.raises(Exception):  # noqa: B017 - Copier raises its own error for a failing migration
        update_to_99(project)
    review = (project / ".claude/scripts/cloud-init.d/from-old-cloud-init.review").read_text()
    assert re.search(r"<<<<<<< .*\n.*uv sync --frozen\n=======\n.*uv sync --frozen --all-extras\n>>>>>>> ", review)
    assert "uv pip install -e ./lib" in (project / ".claude/scripts/cloud-init.d/from-old-cloud-init.sh").read_text()
    assert "steps_file=" in (project / ".claude/scripts/cloud-init.sh").read_text(), "the engine landed"


def test_0_6_0_leaves_an_unedited_script_to_the_merge(from_0_2_0, tmp_path):
    project = copy_at_0_2_0(from_0_2_0, tmp_path / "project")
    update_to_99(project)
    assert not (project / ".claude" / "scripts" / "cloud-init.d").exists()


def test_0_6_0_leaves_the_script_alone_when_the_old_release_cannot_be_rendered(tmp_path, capsys):
    from tasks.migrations import v0_6_0

    script = tmp_path / ".claude" / "scripts" / "cloud-init.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/usr/bin/env bash\necho edited by the team\n")

    def unrenderable():
        raise RuntimeError("no _commit")

    v0_6_0.prepare(tmp_path, unrenderable)
    assert script.read_text() == "#!/usr/bin/env bash\necho edited by the team\n"
    assert not (tmp_path / ".claude" / "scripts" / "cloud-init.d").exists()
    assert "the merge will show them as a conflict" in capsys.readouterr().out
