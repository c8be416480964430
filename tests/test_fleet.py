"""Fleet sync: the generated GitHub workflow (schema-valid, its update step run locally)
and the Renovate config."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from helpers import ROOT, SHELLCHECK, copy_at, generate, git, git_save, load_schema
from tools import actionlint

WORKFLOW = ".github/workflows/copier-claude-cloud-update.yml"
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")
COPIER_YML = yaml.safe_load((ROOT / "copier.yml").read_text())


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


@pytest.fixture(scope="module")
def linter() -> None:
    if not actionlint.entry_point().is_file():
        pytest.skip(f"actionlint is not fetched: python {actionlint.__file__}")


def test_the_workflow_passes_actionlint(linter, workflow):
    assert actionlint.lint(workflow) == []


def test_actionlint_reports_an_untrusted_expression_in_a_script(linter, workflow, tmp_path):
    """The check above can fail: the same workflow with an issue title spliced into a step's
    script, the injection actionlint exists to catch, is reported."""
    document = YAML(typ="safe").load(workflow.read_text())
    update_step(workflow)  # the step exists under this name
    for step in document["jobs"]["update"]["steps"]:
        if step.get("name") == "Update from the template":
            step["run"] = "echo ${{ github.event.issue.title }}\n" + step["run"]
    spliced = tmp_path / "workflow.yml"
    YAML().dump(document, spliced)
    findings = actionlint.lint(spliced)
    assert any("github.event.issue.title" in finding and "[expression]" in finding for finding in findings), findings


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
    (rule,) = data["packageRules"]
    assert rule["matchManagers"] == ["copier"] and rule["matchFileNames"] == [".copier-answers.claude.yml"]
    # Renovate's copier manager passes --trust when the global allowScripts is on and the
    # upgrade's config (the repository config with its matching packageRules applied) has
    # ignoreScripts false: in this rule it reaches this answers file and no other manager.
    assert rule["ignoreScripts"] is False
    assert "ignoreScripts" not in data, "top-level ignoreScripts: false would turn on npm, Composer and Bun scripts too"


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
    (pr,) = [s for s in document["jobs"]["pull-request"]["steps"] if "create-pull-request" in s.get("uses", "")]
    assert pr["with"]["draft"] == "${{ needs.update.outputs.conflicts == 'true' }}"
    assert "copier-conflicts" in pr["with"]["labels"] and "[conflicts] " in pr["with"]["title"]
    assert "must not be merged" in pr["with"]["body"] and "if" not in pr
    (fail,) = [s for s in document["jobs"]["pull-request"]["steps"] if s.get("name") == "Fail on conflicts"]
    assert fail["if"] == "needs.update.outputs.conflicts == 'true'"
    assert document["jobs"]["update"]["outputs"]["conflicts"] == "${{ steps.update.outputs.conflicts }}"


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


# --- The workflow's supply chain and tokens -------------------------------------------------

USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)@(?P<sha>[0-9a-f]{40})")
REQUIREMENTS = ROOT / "includes" / "fleet-copier-requirements.txt"


def jobs(workflow: Path) -> dict:
    return YAML(typ="safe").load(workflow.read_text())["jobs"]


def all_steps(workflow: Path) -> list[tuple[str, dict]]:
    return [(name, step) for name, job in jobs(workflow).items() for step in job["steps"]]


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(workflow):
    lines = [line for line in workflow.read_text().splitlines() if USES_LINE.match(line)]
    uses = [step["uses"] for _, step in all_steps(workflow) if "uses" in step]
    assert len(lines) == len(uses) >= 5, "every `uses:` is on a line of its own"
    pins: dict[str, set[str]] = {}
    for line in lines:
        match = USES_LINE.match(line)
        pinned = PINNED.fullmatch(match["ref"])
        assert pinned, f"not pinned to a full commit SHA: {line.strip()}"
        assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", match["rest"]), f"no exact version comment: {line.strip()}"
        pins.setdefault(pinned["action"], set()).add(match["ref"] + match["rest"])
    assert all(len(refs) == 1 for refs in pins.values()), f"one action, one pin: {pins}"


def test_the_workflow_grants_nothing_by_default_and_each_job_only_what_it_needs(workflow):
    document = YAML(typ="safe").load(workflow.read_text())
    assert document["permissions"] == {}
    assert document["jobs"]["update"]["permissions"] == {"contents": "read"}
    assert document["jobs"]["pull-request"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert set(document["jobs"]) == {"update", "pull-request"}


def test_every_checkout_leaves_no_credentials_behind(workflow):
    checkouts = [step for _, step in all_steps(workflow) if step.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 2
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_the_job_that_runs_the_template_holds_no_write_token(workflow):
    document = jobs(workflow)
    runs_copier = [name for name, job in document.items()
                   if any("copier update" in step.get("run", "") for step in job["steps"])]
    assert runs_copier == ["update"]
    assert all(access == "read" for access in document["update"]["permissions"].values())
    text = json.dumps(document["update"])
    assert "COPIER_UPDATE_TOKEN" not in text and "github.token" not in text
    # The job that can write installs and runs nothing of the template: git and the PR action.
    writer = document["pull-request"]
    assert writer["needs"] == "update" and "if" not in writer, "no pull request unless the update job succeeded"
    assert not any("copier" in step.get("run", "").replace("copier-claude-cloud", "") for step in writer["steps"])
    assert not any(re.search(r"\bpip\b|\bpython\b", step.get("run", "")) or "setup-python" in step.get("uses", "") for step in writer["steps"])


def test_the_update_travels_as_an_artifact_between_the_jobs(workflow):
    document = jobs(workflow)
    (upload,) = [s for s in document["update"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    (download,) = [s for s in document["pull-request"]["steps"]
                   if s.get("uses", "").startswith("actions/download-artifact@")]
    assert upload["with"]["name"] == download["with"]["name"] == "copier-claude-cloud-update"
    assert upload["with"]["if-no-files-found"] == "error"
    steps = document["pull-request"]["steps"]
    (apply,) = [i for i, s in enumerate(steps) if s.get("name") == "Apply the update"]
    (pr,) = [i for i, s in enumerate(steps) if "create-pull-request" in s.get("uses", "")]
    assert steps.index(download) < apply < pr


def run_step(workflow: Path, job: str, name: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    (step,) = [s for s in jobs(workflow)[job]["steps"] if s.get("name") == name]
    return subprocess.run(["bash", "-c", step["run"]], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", **env,
                               **{k: v for k, v in step.get("env", {}).items() if "${{" not in v}})


@pytest.mark.parametrize("conflicted", [False, True], ids=["clean", "conflicts"])
def test_the_pull_request_job_applies_exactly_what_the_update_job_made(versions, tmp_path, conflicted):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    if conflicted:
        claude_md = project / "CLAUDE.md"
        claude_md.write_text(claude_md.read_text().replace("## Cloud sessions\n\n", "## Cloud sessions (ours)\n\nOurs.\n", 1))
        git_save(project, "a team edit where the template changes too")
    fresh = tmp_path / "fresh"
    git("clone", "--quiet", str(project), str(fresh))  # the second job's own checkout of github.sha
    result, outputs = run_update_step(project, tmp_path)
    assert result.returncode == 0 and outputs["conflicts"] == str(conflicted).lower(), result.stdout + result.stderr
    runner_temp = tmp_path / "runner-temp"
    saved = run_step(project / WORKFLOW, "update", "Save the update as a patch", project,
                     {"RUNNER_TEMP": str(runner_temp), "HOME": str(tmp_path)})
    assert saved.returncode == 0, saved.stderr
    assert (runner_temp / "update" / "update.patch").stat().st_size > 0
    applied = run_step(project / WORKFLOW, "pull-request", "Apply the update", fresh,
                       {"RUNNER_TEMP": str(runner_temp), "HOME": str(tmp_path)})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    made = git("-C", str(project), "write-tree").strip()
    assert git("-C", str(fresh), "write-tree").strip() == made, "the pull request carries the update's exact tree"
    if conflicted:
        assert "<<<<<<< " in git("-C", str(fresh), "show", ":CLAUDE.md")


def test_the_pull_request_job_refuses_a_patch_made_on_another_commit(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    runner_temp = tmp_path / "runner-temp"
    (runner_temp / "update").mkdir(parents=True)
    (runner_temp / "update" / "update.patch").write_text("")
    (runner_temp / "update" / "base").write_text("0" * 40 + "\n")
    applied = run_step(project / WORKFLOW, "pull-request", "Apply the update", project,
                       {"RUNNER_TEMP": str(runner_temp), "HOME": str(tmp_path)})
    assert applied.returncode == 1 and "another commit" in applied.stdout


def test_an_update_that_changed_nothing_applies_nothing(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"update_automation": "github-actions"})
    before = git("-C", str(project), "write-tree").strip()
    runner_temp = tmp_path / "runner-temp"
    saved = run_step(project / WORKFLOW, "update", "Save the update as a patch", project,
                     {"RUNNER_TEMP": str(runner_temp), "HOME": str(tmp_path)})
    assert saved.returncode == 0 and (runner_temp / "update" / "update.patch").read_bytes() == b""
    applied = run_step(project / WORKFLOW, "pull-request", "Apply the update", project,
                       {"RUNNER_TEMP": str(runner_temp), "HOME": str(tmp_path)})
    assert applied.returncode == 0 and "changed nothing" in applied.stdout
    assert git("-C", str(project), "write-tree").strip() == before


@pytest.mark.parametrize("token", ["", "github_pat_0123456789abcdef"], ids=["public", "private"])
def test_a_private_template_is_read_with_its_own_read_only_secret(workflow, tmp_path, token):
    (step,) = [s for s in jobs(workflow)["update"]["steps"] if s.get("name") == "Read access to a private template"]
    assert step["env"] == {"TEMPLATE_TOKEN": "${{ secrets.COPIER_TEMPLATE_TOKEN }}"}
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path), "TEMPLATE_TOKEN": token}
    result = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    gitconfig = tmp_path / ".gitconfig"
    if not token:
        assert not gitconfig.exists() and "without credentials" in result.stdout
    else:
        assert f"x-access-token:{token}@github.com" in (tmp_path / "git-credentials").read_text()
        assert "store --file=" in gitconfig.read_text()
    text = workflow.read_text()
    assert "COPIER_TEMPLATE_TOKEN" in text and "Contents: Read-only" in text


def test_every_run_script_passes_shellcheck(workflow, tmp_path):
    for job, step in all_steps(workflow):
        if "run" not in step:
            continue
        assert "${{" not in step["run"], f"{job}: expressions reach scripts only through env: {step.get('name')}"
        script = tmp_path / "step.sh"
        script.write_text("#!/usr/bin/env bash\n" + step["run"])
        linted = subprocess.run([SHELLCHECK, "--severity=style", str(script)], capture_output=True, text=True)
        assert linted.returncode == 0, f"{job} / {step.get('name')}: {linted.stdout}"


def requirement_pins() -> dict[str, tuple[str, str]]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = re.fullmatch(r"([a-z0-9-]+)==([0-9][0-9A-Za-z.]*) --hash=sha256:([0-9a-f]{64})", line)
        assert match, f"not an exact, hashed pin: {line}"
        pins[match[1]] = (match[2], match[3])
    return pins


def test_copier_is_installed_from_exact_versions_checked_by_hash(workflow):
    (install,) = [s for s in jobs(workflow)["update"]["steps"] if s.get("name") == "Install Copier"]
    assert "--require-hashes" in install["run"] and "--no-deps" in install["run"]
    assert "--only-binary=:all:" in install["run"]
    listed = [line.split()[0] for line in install["run"].splitlines() if "--hash=sha256:" in line]
    assert listed == [f"{name}=={version}" for name, (version, _) in requirement_pins().items()]
    (python,) = [s for s in jobs(workflow)["update"]["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.12", "the hashed wheels are CPython 3.12 ones"


def test_the_pinned_copier_set_is_the_tested_one_and_complete():
    """--no-deps installs only what is listed: the list must hold every dependency (for
    CPython 3.12 on Linux) of Copier and copier-template-extensions, at the versions the
    test suite runs with."""
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = requirement_pins()
    marker_env = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
                  "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
                  "platform_python_implementation": "CPython", "platform_machine": "x86_64", "extra": ""}
    needed, queue = set(), ["copier", "copier-template-extensions"]
    while queue:
        name = canonicalize_name(queue.pop())
        if name in needed:
            continue
        needed.add(name)
        for spec in requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate(marker_env):
                assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)][0]), (name, spec)
                queue.append(requirement.name)
    assert needed == set(pins), f"missing: {needed - set(pins)}, unused: {set(pins) - needed}"
    for name, (pinned, _) in pins.items():
        assert version(name) == pinned, f"{name}: the workflow pins {pinned}, the tests ran {version(name)}"
    min_copier = COPIER_YML["_min_copier_version"]
    assert tuple(map(int, pins["copier"][0].split("."))) >= tuple(map(int, min_copier.split(".")))


def test_renovate_config_matches_the_vendored_renovate_schema(renovate_project):
    """Renovate's own schema, as its npm package ships it (tests/schemas/SOURCES.json)."""
    schema = load_schema("renovate.schema.json")
    data = json.loads((renovate_project / "renovate.json").read_text())
    Draft7Validator(schema).validate(data)
    # `$schema` is for editors; Renovate's config validation skips it.
    assert set(data) - {"$schema"} <= set(schema["properties"]), "every top-level key is a Renovate option"
    (rule,) = data["packageRules"]
    (rule_schema,) = schema["definitions"]["packageRules"]["items"]["allOf"]
    # A rule takes its match* selectors and any repository option (ignoreScripts, labels, ...).
    assert set(rule) <= set(rule_schema["properties"]) | set(schema["properties"]), "every rule key is a Renovate option"
    assert {"matchManagers", "matchFileNames"} <= set(rule_schema["properties"])


@pytest.mark.parametrize("broken", [{"ignoreScripts": "false"}, {"packageRules": {"matchManagers": ["copier"]}},
                                    {"description": 3}])
def test_the_vendored_renovate_schema_rejects_a_broken_config(broken):
    schema = load_schema("renovate.schema.json")
    assert list(Draft7Validator(schema).iter_errors(broken))
