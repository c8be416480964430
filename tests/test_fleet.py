"""Fleet sync: the generated GitHub workflow (schema-valid, its update step run locally)
and the Renovate config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from helpers import SHELLCHECK, copy_at, generate, git, git_save

WORKFLOW = ".github/workflows/copier-claude-cloud-update.yml"
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")


def update_step(workflow: Path) -> dict:
    document = YAML(typ="safe").load(workflow.read_text())  # YAML 1.2: `on` stays a string
    (step,) = [s for s in document["jobs"]["update"]["steps"] if s.get("name") == "Update from the template"]
    return step


def run_update_step(project: Path, tmp_path: Path, trusted: str | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    step = update_step(project / WORKFLOW)
    outputs = tmp_path / "github-output"
    outputs.write_text("")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path),
           "GITHUB_OUTPUT": str(outputs), **step["env"]}
    if trusted is not None:
        env["TRUSTED_TEMPLATE"] = trusted
    result = subprocess.run(["bash", "-c", step["run"]], cwd=project, env=env, capture_output=True, text=True,
                            timeout=300)
    return result, dict(line.split("=", 1) for line in outputs.read_text().splitlines())


@pytest.fixture(scope="module")
def workflow(template_repo, tmp_path_factory) -> Path:
    """The workflow of a project copied with update_automation: github-actions (read only)."""
    project = generate(template_repo, tmp_path_factory.mktemp("fleet") / "project",
                       {"project_name": "team", "update_automation": "github-actions"})
    return project / WORKFLOW


def test_the_workflow_matches_githubs_schema(workflow):
    checked = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", str(workflow)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_workflows_update_script_passes_shellcheck(workflow, tmp_path):
    script = tmp_path / "update-step.sh"
    script.write_text("#!/usr/bin/env bash\n" + update_step(workflow)["run"])
    linted = subprocess.run([SHELLCHECK, "--severity=style", str(script)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout


def test_the_workflow_runs_on_a_schedule_and_on_demand(workflow):
    on = YAML(typ="safe").load(workflow.read_text())["on"]
    assert "schedule" in on and "workflow_dispatch" in on


def test_the_update_step_updates_and_reports_no_conflicts(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    result, outputs = run_update_step(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"conflicts": "false", "version": "1.1.0"}, result.stdout + result.stderr
    assert "cache/" in (project / ".claude" / ".gitignore").read_text()
    assert git("-C", str(project), "diff", "--name-only", "--diff-filter=U").strip() == ""


def test_the_update_step_flags_conflicts(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    claude_md = project / "CLAUDE.md"
    claude_md.write_text(claude_md.read_text().replace("## Cloud sessions\n\n", "## Cloud sessions (ours)\n\nOurs.\n", 1))
    git_save(project, "a team edit where the template changes too")
    result, outputs = run_update_step(project, tmp_path)
    assert result.returncode == 0, "the step reports; the job's last step fails"
    assert outputs["conflicts"] == "true"
    assert "CLAUDE.md" in result.stdout
    staged = git("-C", str(project), "diff", "--cached", "--name-only").split()
    assert "CLAUDE.md" in staged, "conflicted files are staged for the pull request"


def test_the_update_step_refuses_an_untrusted_source(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    result, outputs = run_update_step(project, tmp_path, trusted="gh:someone-else/template")
    assert result.returncode == 1
    assert "not running it with --trust" in result.stdout
    assert outputs == {}


@pytest.fixture(scope="module")
def renovate_project(template_repo, tmp_path_factory) -> Path:
    """A project copied with update_automation: renovate (read only)."""
    return generate(template_repo, tmp_path_factory.mktemp("renovate") / "project", {"update_automation": "renovate"})


def test_renovate_config_matches_renovates_schema(renovate_project):
    checked = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.renovate",
                              str(renovate_project / "renovate.json")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_renovate_updates_the_copier_answers_running_the_templates_tasks(renovate_project):
    data = json.loads((renovate_project / "renovate.json").read_text())
    assert data["ignoreScripts"] is False
    assert data["packageRules"][0]["matchManagers"] == ["copier"]


def test_renovate_config_says_scripts_need_a_self_hosted_renovate(renovate_project):
    data = json.loads((renovate_project / "renovate.json").read_text())
    assert any("allowScripts" in line and "self-hosted" in line for line in data["description"])


def test_renovate_comes_without_a_github_workflow(renovate_project):
    assert not (renovate_project / ".github").exists()


@pytest.mark.parametrize("choice", ["none", "renovate"])
def test_no_workflow_unless_chosen(template_repo, tmp_path, choice):
    project = generate(template_repo, tmp_path, {"update_automation": choice})
    assert not (project / WORKFLOW).exists()


def test_an_update_that_fails_without_conflicts_fails_the_step(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    answers = project / ".copier-answers.claude.yml"
    missing = str(tmp_path / "moved-template")
    answers.write_text(answers.read_text().replace(f"_src_path: {versions}", f"_src_path: {missing}"))
    git_save(project, "the template moved")
    result, outputs = run_update_step(project, tmp_path, trusted=missing)
    assert result.returncode != 0
    assert "failed (exit" in result.stdout and "conflicts" not in outputs


def test_a_settings_conflict_is_flagged_and_the_team_entries_are_staged(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions", "stacks": ["python"]})
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["hooks"]["PostToolUse"][0]["hooks"][0]["timeout"] = 60  # 1.1.0 makes it 45
    settings["env"]["TEAM_FLAG"] = "1"
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    git_save(project, "the team's timeout and env var")
    result, outputs = run_update_step(project, tmp_path)
    assert result.returncode == 0, "the step reports even though copier update exits non-zero"
    assert outputs["conflicts"] == "true" and ".claude/settings.json" in result.stdout
    assert '"TEAM_FLAG": "1"' in git("-C", str(project), "show", ":.claude/settings.json")
    assert not (project / ".claude" / "state" / "update-team-entries.json").exists()


def test_the_pull_request_of_a_conflicted_update_is_a_labelled_draft_that_must_not_be_merged(workflow):
    document = YAML(typ="safe").load(workflow.read_text())
    (pr,) = [s for s in document["jobs"]["update"]["steps"] if "create-pull-request" in s.get("uses", "")]
    assert pr["with"]["draft"] == "${{ steps.update.outputs.conflicts == 'true' }}"
    assert "copier-conflicts" in pr["with"]["labels"] and "[conflicts] " in pr["with"]["title"]
    assert "must not be merged" in pr["with"]["body"] and "if" not in pr


def test_the_workflow_never_auto_merges(workflow):
    document = YAML(typ="safe").load(workflow.read_text())
    assert "auto-merge" not in json.dumps(document).replace("no auto-merge", "")


def test_a_leftover_stash_fails_the_step_without_a_pull_request(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    (project / ".mcp.json").write_text('{"mcpServers": {"team": {"command": "x"}}}\n')
    git_save(project, "the team's server")
    stash = project / ".claude" / "state" / "update-team-entries.json"
    step = update_step(project / WORKFLOW)
    # Stand in for an update that could not put the team's entries back.
    step["run"] = step["run"].replace("status=$?", f"status=$?; mkdir -p {stash.parent}; echo '{{}}' >{stash}")
    outputs = tmp_path / "github-output"
    outputs.write_text("")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path),
           "GITHUB_OUTPUT": str(outputs), **step["env"]}
    result = subprocess.run(["bash", "-c", step["run"]], cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "update-team-entries.json" in result.stdout
    assert "conflicts" not in outputs.read_text()
