"""The static bootstrap engine, run directly: template/.claude/scripts/cloud-init.sh with a
hand-written steps file, no Copier involved. The engine must read any valid steps file,
run the team's own steps from .claude/scripts/cloud-init.d/, and keep hostile or broken
lines inert."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from engine_world import ENGINE, FOREGROUND, ROOT, records, world  # noqa: F401 (world: a fixture)
from helpers import CloudSession, shellcheck

_spec = importlib.util.spec_from_file_location("steps_under_test", ROOT / "extensions" / "steps.py")
steps_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(steps_module)


def test_the_engine_file_is_plain_bash_without_jinja():
    text = ENGINE.read_text()
    # ({# is bash too: ${#array[@]}.) Without a .jinja suffix Copier copies it as it is.
    assert "{{" not in text and "{%" not in text, "cloud-init.sh must not be a template"
    assert not ENGINE.with_name("cloud-init.sh.jinja").exists()
    assert subprocess.run(["bash", "-n", str(ENGINE)]).returncode == 0


def test_the_engine_is_shellcheck_clean():
    result = shellcheck(ENGINE)
    assert result.returncode == 0, result.stdout


def test_the_first_form_whose_file_exists_runs(world):
    session = world(records(FOREGROUND, "step|deps", "run|deps|a.lock b.lock|npm ci", "run|deps|*|npm install"),
                    {"b.lock": ""})
    session.start()
    assert session.calls() == ["npm ci"]


def test_a_form_without_its_files_falls_through_to_the_last(world):
    session = world(records(FOREGROUND, "step|deps", "run|deps|a.lock|npm ci", "run|deps|*|npm install"))
    session.start()
    assert session.calls() == ["npm install"]


def test_continuation_lines_make_one_command_with_local_and_return(world):
    steps = records(FOREGROUND, "step|deps", "run|deps|*|local first=uv",
                    "+|  $first sync || return",   # indented: the spaces belong to the command
                    "+", "+|$first pip list")
    session = world(steps)
    session.start()
    assert session.calls() == ["uv sync", "uv pip list"]
    session.stub_log.write_text("")
    session.run("--force", STUB_FAIL="uv")
    assert session.calls() == ["uv sync"], "`|| return` must stop the command at the failure"


def test_a_step_is_stamped_and_reruns_only_when_an_input_changes(world):
    steps = records(FOREGROUND, "step|deps", "input|deps|requirements*.txt", "run|deps|*|uv sync")
    session = world(steps, {"requirements-dev.txt": "pytest\n"})
    session.start()
    session.start()
    assert session.calls() == ["uv sync"]
    (session.project / "requirements-dev.txt").write_text("pytest\nhypothesis\n")
    session.start()
    assert session.calls() == ["uv sync", "uv sync"], "a changed file matched by the glob must rerun"


def test_exports_expand_placeholders_and_keep_values_inert(world, tmp_path):
    pwned = tmp_path / "pwned"
    steps = records(FOREGROUND, "env|VENV|{project}/.venv", f"env|TRAP|$(touch {pwned})`touch {pwned}`",
                    "path|{home}/tools", "env|1BAD|x", "env|CARGO|{cargo_home}")
    session = world(steps)
    session.start()
    exported = session.exports("VENV", "TRAP", "PATH", "CARGO")
    assert exported["VENV"] == f"{session.project}/.venv"
    assert exported["TRAP"] == f"$(touch {pwned})`touch {pwned}`"
    assert exported["PATH"].startswith(f"{session.home}/tools:")
    assert exported["CARGO"] == f"{session.home}/.cargo"
    assert "1BAD" not in session.env_file.read_text()
    assert not pwned.exists(), "an exported value ran as a command"


def test_an_ampersand_in_the_project_path_stays_itself(tmp_path):
    project = tmp_path / "a&b" / "repo"
    scripts = project / ".claude" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy2(ENGINE, scripts / "cloud-init.sh")
    (scripts / "cloud-init.steps").write_text(records(FOREGROUND, "env|HERE|{project}"))
    session = CloudSession(project, tmp_path / "session")
    session.start()
    assert session.exports("HERE")["HERE"] == str(project)


def test_cli_tools_use_the_managers_snippets_with_package_and_version(world):
    steps = records(FOREGROUND, "step|cli-tools", "run|cli-tools|*|cli_tools", "tool|npm|prettier|3.3.3",
                    "tool|npm|@scope/x|-", "manager|npm|present|return 1",
                    'manager|npm|install|npm install --global "$package${version:+@$version}"')
    session = world(steps)
    session.start()
    assert session.calls() == ["npm install --global prettier@3.3.3", "npm install --global @scope/x"]


def test_a_hostile_tool_record_stays_a_value(world, tmp_path):
    pwned = tmp_path / "pwned"
    steps = records(FOREGROUND, "step|cli-tools", "run|cli-tools|*|cli_tools", f"tool|npm|x;touch {pwned}|$(touch {pwned})",
                    "manager|npm|present|return 1", 'manager|npm|install|npm install --global "$package@$version"')
    session = world(steps)
    session.start()
    assert session.calls() == [f"npm install --global x;touch {pwned}@$(touch {pwned})"]
    assert not pwned.exists()


def test_team_scripts_run_after_the_templates_steps_and_rerun_when_edited(world):
    steps = records(FOREGROUND, "step|deps", "run|deps|*|STUB_SLEEP=0.5 uv sync")
    team = {".claude/scripts/cloud-init.d/build.sh": "npm run build\n"}
    session = world(steps, team)
    first = session.hook_output(session.start())
    assert session.calls() == ["uv sync", "npm run build"], "the team's step must start after the template's finished"
    assert "build ok" in first["systemMessage"]
    session.start()
    assert session.calls() == ["uv sync", "npm run build"], "unchanged: nothing runs again"
    (session.project / ".claude/scripts/cloud-init.d/build.sh").write_text("npm run build --prod\n")
    session.start()
    assert session.calls()[2:] == ["npm run build --prod"], "only the edited team step reruns"


def test_a_team_steps_file_adds_steps_inputs_and_exports(world):
    steps = records(FOREGROUND, "step|deps", "input|deps|package.json", "run|deps|*|npm ci")
    team = records("step|docs", "input|docs|docs/conf.py", "run|docs|*|uv run sphinx-build docs out",
                   "input|deps|packages/app/package.json", "env|DOCS_OUT|{project}/out")
    session = world(steps, {".claude/scripts/cloud-init.d/docs.steps": team, "packages/app/package.json": "{}",
                            "docs/conf.py": ""})
    session.start()
    assert session.calls() == ["npm ci", "uv run sphinx-build docs out"]
    assert session.exports("DOCS_OUT")["DOCS_OUT"] == f"{session.project}/out"
    (session.project / "packages/app/package.json").write_text('{"name": "app"}')
    session.start()
    assert session.calls()[2:] == ["npm ci"], "an input the team added to a template step reruns that step"


def test_broken_lines_are_ignored_named_and_the_rest_still_runs(world):
    steps = records(FOREGROUND, "step|deps", "run|deps|*|npm ci", "frobnicate|x", "option|step_limit|soon",
                    "input|ghost|x.lock", "step|bad name", "+|orphan continuation")
    session = world(steps)
    hook = session.hook_output(session.start())
    assert session.calls() == ["npm ci"]
    assert "Ignored 5 line(s)" in hook["hookSpecificOutput"]["additionalContext"]
    status = session.run("--status").stdout
    for said in ("no record kind 'frobnicate'", "step_limit must be a number", "no step line before it defines",
                 "'bad name' is not a step name", "a + line must follow"):
        assert said in status


def test_a_missing_steps_file_says_so_and_starts_the_session(world):
    session = world(None)
    result = session.run()
    assert result.returncode == 0
    assert "cloud-init.steps is missing" in session.hook_output(result)["systemMessage"]


def test_an_empty_steps_file_has_nothing_to_install(world):
    session = world(records("# nothing here"))
    result = session.run()
    assert session.hook_output(result)["systemMessage"] == "cloud-init: nothing to install."
    assert not (session.project / ".claude" / "state").exists()


def test_run_with_sh_reexecs_under_bash(world):
    session = world(records(FOREGROUND, "step|deps", "run|deps|*|npm ci"))
    result = subprocess.run(["sh", str(session.project / ".claude/scripts/cloud-init.sh")], cwd=session.project,
                            env=session.environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert session.calls() == ["npm ci"]


def test_a_steps_field_can_never_split_a_record():
    assert steps_module.record("env", "A", "b c") == "env\tA\tb c"
    for hostile in ("a\tb", "a\nstep\tx", "a\rb"):
        with pytest.raises(steps_module.StepsFieldError, match="cannot be written to cloud-init.steps"):
            steps_module.record("tool", "npm", hostile, "-")


def test_a_snippet_becomes_one_record_and_continuation_lines():
    assert steps_module.snippet("run", "deps", "*", "a\n  b\n\nc") == ["run\tdeps\t*\ta", "+\t  b", "+", "+\tc"]


@pytest.mark.parametrize(("name", "database"), [("My App!", "my_app"), ("$(rm -rf ~)", "rm_rf"), ("", "app"),
                                                 ("ÄÖ", "app")])
def test_the_database_name_is_letters_digits_and_underscores(name, database):
    assert steps_module.database_name(name) == database


def test_a_step_with_a_folder_runs_there_and_reads_its_inputs_and_ready_folder_there(world):
    steps = records(FOREGROUND, "step|node:web", "dir|node:web|apps/web", "input|node:web|package.json",
                    "ready|node:web|node_modules", "run|node:web|package-lock.json|npm ci && mkdir -p node_modules",
                    "run|node:web|*|npm install && mkdir -p node_modules")
    session = world(steps, {"apps/web/package.json": "{}", "apps/web/package-lock.json": "{}", "package.json": "{}"})
    session.start()
    assert session.calls() == ["npm ci"], "the IF files are looked for in the step's folder"
    assert (session.project / "apps/web/node_modules").is_dir()
    session.start()
    assert session.calls() == ["npm ci"], "warm: the stamp and the ready folder are the folder's"
    (session.project / "package.json").write_text('{"name": "root"}')
    session.start()
    assert session.calls() == ["npm ci"], "a file of the same name at the top is not the step's input"
    (session.project / "apps/web/package.json").write_text('{"name": "web"}')
    session.start()
    assert session.calls() == ["npm ci", "npm ci"]


@pytest.mark.parametrize("folder", ["../outside", "/etc", "a/../../b", "with space", "a//b", ".", "-rf", "a/./b"])
def test_a_folder_outside_the_project_or_oddly_spelled_is_refused(world, folder):
    steps = records(FOREGROUND, "step|deps", f"dir|deps|{folder}", "run|deps|*|uv sync")
    session = world(steps)
    session.start()
    assert session.calls() == ["uv sync"], "the step still runs, in the project folder"
    assert f"'{folder}' is not a folder of the project" in session.run("--status").stdout


def test_a_missing_folder_fails_its_step_and_says_which(world):
    steps = records(FOREGROUND, "step|go:svc", "dir|go:svc|services/api", "run|go:svc|*|go mod download")
    session = world(steps)
    session.start()
    assert session.calls() == []
    assert "no folder services/api" in (session.project / ".claude/logs/cloud-init.log").read_text()


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "{home}/go/bin"),
    ({"GOPATH": "/opt/go:/more/go"}, "/opt/go/bin"),
    ({"GOBIN": "/opt/gobin", "GOPATH": "/opt/go"}, "/opt/gobin"),
    ({"CARGO_HOME": "/opt/cargo"}, "/opt/cargo/bin"),
])
def test_go_and_cargo_folders_honour_the_sessions_own_settings(world, env, expected):
    session = world(records(FOREGROUND, "path|{gobin}" if "CARGO" not in str(env) else "path|{cargo_home}/bin"))
    session.start(**env)
    first = session.exports("PATH")["PATH"].split(":")[0]
    assert first == expected.replace("{home}", str(session.home))
