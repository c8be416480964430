"""cloud-init.sh in simulated sessions: stub package managers on PATH log what they are asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from answer_sets import ANSWER_SETS
from helpers import CloudSession, build_file_tree, generate, git_save


def session_for(project_dir: Path, tmp_path: Path) -> CloudSession:
    return CloudSession(project_dir, tmp_path / "session")


def test_outside_the_cloud_it_does_nothing(project, tmp_path):
    project_dir = project({"stacks": ["python", "node"], "services": ["redis"], "cli_tools": ["apt:jq"]})
    session = session_for(project_dir, tmp_path)
    for remote_value in (None, "false", ""):
        extra = {} if remote_value is None else {"CLAUDE_CODE_REMOTE": remote_value}
        result = session.run(remote=False, **extra)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "" and result.stderr == ""
    assert session.calls() == []
    assert not session.env_file.exists() or session.env_file.read_text() == ""
    assert not (project_dir / ".claude" / "logs").exists()
    assert not (project_dir / ".claude" / "state").exists()


STACK_CASES = [
    # (answers, files in the repository, the installer call expected in the stub log)
    ({"stacks": ["python"], "python_tool": "uv"}, {"pyproject.toml": "", "uv.lock": ""}, "uv sync --frozen"),
    ({"stacks": ["python"], "python_tool": "uv"}, {"pyproject.toml": ""}, "uv pip install --python .venv -r pyproject.toml"),
    ({"stacks": ["python"], "python_tool": "uv"}, {"requirements.txt": "httpx\n"},
     "uv pip install --python .venv/bin/python -r requirements.txt"),
    ({"stacks": ["python"], "python_tool": "poetry"}, {"pyproject.toml": "", "poetry.lock": ""},
     "poetry install --no-interaction"),
    ({"stacks": ["python"], "python_tool": "poetry"}, {"pyproject.toml": ""}, "poetry install --no-interaction"),
    ({"stacks": ["python"], "python_tool": "pipenv"}, {"Pipfile": "", "Pipfile.lock": ""}, "pipenv sync --dev"),
    ({"stacks": ["python"], "python_tool": "pipenv"}, {"Pipfile": ""}, "pipenv install --dev"),
    ({"stacks": ["node"], "node_tool": "npm"}, {"package.json": "{}", "package-lock.json": "{}"},
     "npm ci --prefer-offline --no-audit --no-fund"),
    ({"stacks": ["node"], "node_tool": "npm"}, {"package.json": "{}"},
     "npm install --no-package-lock --prefer-offline --no-audit --no-fund"),
    ({"stacks": ["node"], "node_tool": "pnpm"}, {"package.json": "{}"}, "pnpm install --no-lockfile --prefer-offline"),
    ({"stacks": ["node"], "node_tool": "yarn"}, {"package.json": "{}", ".yarnrc.yml": ""}, "yarn install --no-immutable"),
    ({"stacks": ["node"], "node_tool": "yarn"}, {"package.json": "{}"}, "yarn install --no-lockfile --prefer-offline"),
    ({"stacks": ["node"], "node_tool": "bun"}, {"package.json": "{}"}, "bun install --no-save"),
    ({"stacks": ["node"], "node_tool": "pnpm"}, {"package.json": "{}", "pnpm-lock.yaml": ""},
     "pnpm install --frozen-lockfile --prefer-offline"),
    ({"stacks": ["node"], "node_tool": "yarn"}, {"package.json": "{}", "yarn.lock": "", ".yarnrc.yml": ""},
     "yarn install --immutable"),
    ({"stacks": ["node"], "node_tool": "yarn"}, {"package.json": "{}", "yarn.lock": ""},
     "yarn install --frozen-lockfile --prefer-offline"),
    ({"stacks": ["node"], "node_tool": "bun"}, {"package.json": "{}", "bun.lock": ""}, "bun install --frozen-lockfile"),
    ({"stacks": ["ruby"]}, {"Gemfile": "", "Gemfile.lock": ""}, "bundle install --jobs=4 --retry=2"),
    ({"stacks": ["go"]}, {"go.mod": "module x\n"}, "go mod download"),
    ({"stacks": ["rust"]}, {"Cargo.toml": "", "Cargo.lock": ""}, "cargo fetch --locked"),
    ({"stacks": ["rust"]}, {"Cargo.toml": ""}, "cargo fetch"),
    ({"stacks": ["java"], "java_tool": "maven"}, {"pom.xml": ""}, "mvn --batch-mode --quiet dependency:go-offline"),
    ({"stacks": ["java"], "java_tool": "gradle"}, {"build.gradle": ""}, "gradle --no-daemon --quiet dependencies"),
    ({"stacks": ["php"]}, {"composer.json": "{}", "composer.lock": "{}"},
     "composer install --no-interaction --no-progress --prefer-dist"),
    ({"stacks": ["dotnet"]}, {"App.sln": "", "src/App/App.csproj": ""}, "dotnet restore"),
    ({"stacks": ["dotnet"]}, {"App.csproj": "", "packages.lock.json": "{}"}, "dotnet restore --locked-mode"),
]


def test_dotnet_is_detected_exports_its_tools_folder_and_goes_warm(template_repo, tmp_path):
    project_dir = tmp_path / "project"
    build_file_tree(project_dir, {"App.csproj": "<Project />", "packages.lock.json": "{}"})
    generate(template_repo, project_dir, {"project_name": "demo"})  # stacks from detection
    session = session_for(project_dir, tmp_path)
    session.start()
    assert "dotnet restore --locked-mode" in session.calls()
    assert session.exports("PATH")["PATH"].startswith(f"{session.home}/.dotnet/tools:")
    session.stub_log.write_text("")
    warm = session.run()
    assert session.calls() == [] and "ready" in session.hook_output(warm)["systemMessage"]
    (project_dir / "App.csproj").write_text("<Project><ItemGroup /></Project>")
    session.start()
    assert "dotnet restore --locked-mode" in session.calls(), "a changed project file must restore again"


def test_setup_script_installs_the_dotnet_sdk_from_apt_when_missing(template_repo, tmp_path):
    project_dir = generate(template_repo, tmp_path / "project", {"project_name": "demo", "stacks": ["dotnet"]})
    session = session_for(project_dir, tmp_path)
    setup = project_dir / ".claude" / "scripts" / "cloud-setup.sh"
    extra = {"CLAUDE_CLOUD_SETUP_RECORD": str(tmp_path / "provided"), "CLAUDE_CLOUD_SETUP_LOG": str(tmp_path / "setup.log")}
    (session.bin / "dotnet").unlink()  # the image has no SDK
    ran = subprocess.run([str(setup)], env=session.environment(**extra), capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0
    assert "apt-get install -y -qq --no-install-recommends dotnet-sdk-8.0" in session.calls()
    assert "ok: dotnet" in (tmp_path / "setup.log").read_text()


@pytest.mark.parametrize(("answers", "files", "expected"), STACK_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_each_stack_installs_with_its_tool(project, tmp_path, answers, files, expected):
    project_dir = project(answers, files)
    session = session_for(project_dir, tmp_path)
    result = session.start()
    assert result.returncode == 0, result.stderr
    assert expected in session.calls(), session.calls()
    (stack,) = answers["stacks"]
    assert f"{stack} ok" in session.result()


def test_pip_tool_installs_requirements_into_the_project_venv(project, tmp_path):
    project_dir = project({"stacks": ["python"], "python_tool": "pip"}, {"requirements.txt": "", "requirements-dev.txt": ""})
    session = session_for(project_dir, tmp_path)
    # A venv python that logs like the other stubs: the script must use it, not the system pip.
    venv_python = project_dir / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text((session.bin / "uv").read_text())
    venv_python.chmod(0o755)
    result = session.start()
    assert result.returncode == 0, result.stderr
    calls = session.calls()
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        assert f"python -m pip install --quiet --disable-pip-version-check -r {requirements}" in calls


@pytest.mark.parametrize("mode", [0o755, 0o644], ids=["executable", "without-x-bit"])
def test_maven_wrapper_wins_over_global_maven(project, tmp_path, mode):
    project_dir = project({"stacks": ["java"], "java_tool": "maven"}, {"pom.xml": ""})
    session = session_for(project_dir, tmp_path)
    wrapper = project_dir / "mvnw"
    wrapper.write_text((session.bin / "mvn").read_text())
    wrapper.chmod(mode)
    session.start()
    assert "mvnw --batch-mode --quiet dependency:go-offline" in session.calls()
    assert not any(call.startswith("mvn ") for call in session.calls())


def test_exports_reach_bash_commands_once(project, tmp_path):
    project_dir = project(
        {"stacks": ["python", "node", "go", "rust", "php"], "services": ["postgresql", "redis"]},
        {"pyproject.toml": "", "package.json": "{}", "go.mod": "", "Cargo.toml": "", "composer.json": "{}"},
    )
    session = session_for(project_dir, tmp_path)
    assert session.start().returncode == 0
    first = session.env_file.read_text()
    assert session.start().returncode == 0
    assert session.env_file.read_text() == first, "a second run duplicated exports"
    assert len(first.splitlines()) == len(set(first.splitlines()))
    values = session.exports("PATH", "VIRTUAL_ENV", "DATABASE_URL", "REDIS_URL")
    path = values["PATH"].split(":")
    for folder in (".venv/bin", "node_modules/.bin", "vendor/bin"):
        assert str(project_dir / folder) in path
    assert str(session.home / "go" / "bin") in path and str(session.home / ".cargo" / "bin") in path
    assert path[-2:] == ["/usr/bin", "/bin"], "PATH additions must keep the existing PATH"
    assert values["VIRTUAL_ENV"] == str(project_dir / ".venv")
    assert values["DATABASE_URL"] == "postgresql://postgres:postgres@127.0.0.1:5432/demo"
    assert values["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_services_are_started(project, tmp_path):
    project_dir = project({"services": ["postgresql", "redis"]})
    session = session_for(project_dir, tmp_path)
    result = session.start()
    assert result.returncode == 0
    calls = session.calls()
    assert "service postgresql start" in calls
    assert "pg_isready --quiet --timeout=30 --host=127.0.0.1" in calls
    assert any(call.startswith("runuser -u postgres -- psql") and "ALTER USER postgres" in call for call in calls)
    assert "service redis-server start" in calls
    assert "postgresql ok" in session.result() and "redis ok" in session.result()


CLI_TOOLS = [
    ("npm:@biomejs/biome@1.9.4", "npm install --global --no-audit --no-fund --prefer-offline @biomejs/biome@1.9.4"),
    ("npm:prettier", "npm install --global --no-audit --no-fund --prefer-offline prettier"),
    ("uv:ruff@0.6.9", "uv tool install ruff==0.6.9"),
    ("pip:httpie", "python3 -m pip install --quiet --disable-pip-version-check httpie"),
    ("cargo:ripgrep@14.1.0", "cargo install --locked ripgrep --version 14.1.0"),
    ("go:golang.org/x/tools/gopls@v0.16.2", "go install golang.org/x/tools/gopls@v0.16.2"),
    ("go:github.com/a/b/cmd/tool", "go install github.com/a/b/cmd/tool@latest"),
    ("gem:rubocop@1.66.1", "gem install --no-document rubocop --version 1.66.1"),
    ("apt:jq", "apt-get install -y -qq --no-install-recommends jq"),
    ("apt:ripgrep@13.0.0-4", "apt-get install -y -qq --no-install-recommends ripgrep=13.0.0-4"),
]


def test_cli_tools_install_pinned_with_their_manager(project, tmp_path):
    project_dir = project({"cli_tools": [spec for spec, _ in CLI_TOOLS]})
    session = session_for(project_dir, tmp_path)
    result = session.start()
    assert result.returncode == 0, result.stderr
    calls = session.calls()
    for spec, expected in CLI_TOOLS:
        assert expected in calls, f"{spec}: {expected!r} not in {calls}"
    assert calls.count("apt-get update -qq") == 1
    assert "cli-tools ok" in session.result()


def test_cli_tools_already_present_are_skipped(project, tmp_path):
    project_dir = project({"cli_tools": ["npm:prettier@3.3.3", "npm:eslint@9.0.0"]})
    session = session_for(project_dir, tmp_path)
    for package, version in (("prettier", "3.3.3"), ("eslint", "8.57.0")):
        manifest = session.scratch / "npm-global" / package / "package.json"
        manifest.parent.mkdir(parents=True)
        manifest.write_text(json.dumps({"name": package, "version": version}, indent=2))
    session.start()
    installs = [call for call in session.calls() if call.startswith("npm install")]
    assert installs == ["npm install --global --no-audit --no-fund --prefer-offline eslint@9.0.0"], "only the wrong version installs"
    log = (project_dir / ".claude" / "logs" / "cloud-init.log").read_text()
    assert "present: npm:prettier@3.3.3" in log


def test_a_failed_install_never_blocks_the_session(project, tmp_path):
    project_dir = project({"stacks": ["python", "node"]}, {"package.json": "{}", "pyproject.toml": ""})
    session = session_for(project_dir, tmp_path)
    hook = session.run(STUB_FAIL="npm")
    assert hook.returncode == 0
    waited = session.run("--wait", STUB_FAIL="npm")
    assert waited.returncode == 1, "--wait reports the failure"
    assert "node FAILED" in waited.stderr and "python ok" in waited.stderr and "--force" in waited.stderr
    log = (project_dir / ".claude" / "logs" / "cloud-init.log").read_text()
    assert "npm: simulated failure" in log and "failed node" in log
    # Exports are written even when the install failed, so a retry by hand finds them.
    assert str(project_dir / "node_modules" / ".bin") in session.exports("PATH")["PATH"]


def test_empty_project_dir_falls_back_to_the_scripts_location(project, tmp_path):
    project_dir = project({"stacks": ["node"]}, {"package.json": "{}", "package-lock.json": "{}"})
    session = session_for(project_dir, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = session.start(cwd=elsewhere, CLAUDE_PROJECT_DIR="")
    assert result.returncode == 0, result.stderr
    assert "npm ci --prefer-offline --no-audit --no-fund" in session.calls()
    assert (project_dir / ".claude" / "logs" / "cloud-init.log").is_file()
    assert str(project_dir / "node_modules" / ".bin") in session.exports("PATH")["PATH"]


def test_hook_output_is_one_line_each_and_status_repeats_the_result(project, tmp_path):
    project_dir = project({"stacks": ["go"]}, {"go.mod": ""})
    session = session_for(project_dir, tmp_path)
    output = session.hook_output(session.start())
    message = output["systemMessage"]
    context = output["hookSpecificOutput"]["additionalContext"]
    assert output["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "\n" not in message and "\n" not in context
    assert message.startswith("cloud-init: installing go in the background")
    assert ".claude/logs/cloud-init.log" in context and "Bash commands wait" in context
    status = session.run("--status", remote=False)
    assert status.returncode == 0
    assert status.stdout.splitlines()[0].startswith("ready: cloud-init: go ok")
    assert "  go: done" in status.stdout and "done go" in status.stdout


def test_without_env_file_it_still_installs_and_says_so(project, tmp_path):
    project_dir = project({"stacks": ["go"]}, {"go.mod": ""})
    session = session_for(project_dir, tmp_path)
    env = session.environment()
    del env["CLAUDE_ENV_FILE"]
    script = str(project_dir / ".claude/scripts/cloud-init.sh")
    result = subprocess.run([script], env=env, capture_output=True, text=True)
    subprocess.run([script, "--wait"], env=env, capture_output=True, text=True)
    assert result.returncode == 0
    assert "go mod download" in session.calls()
    assert "CLAUDE_ENV_FILE was not set" in session.hook_output(result)["hookSpecificOutput"]["additionalContext"]


def test_hostile_project_name_cannot_reach_the_shell(template_repo, tmp_path):
    canary = Path("/tmp/pwned")
    canary.unlink(missing_ok=True)
    project_dir = generate(template_repo, tmp_path / "hostile", ANSWER_SETS["hostile-values"])
    session = session_for(project_dir, tmp_path)
    result = session.start()
    assert result.returncode == 0, result.stderr
    assert not canary.exists()
    database_url = session.exports("DATABASE_URL")["DATABASE_URL"]
    assert database_url.startswith("postgresql://postgres:postgres@127.0.0.1:5432/")
    assert all(c.isalnum() or c == "_" for c in database_url.rsplit("/", 1)[1])


def test_cli_tool_folders_reach_path_without_their_stack(project, tmp_path):
    project_dir = project({"cli_tools": ["uv:ruff@0.6.9", "cargo:ripgrep@14.1.0", "go:golang.org/x/tools/gopls@v0.16.2"]})
    session = session_for(project_dir, tmp_path)
    assert session.start().returncode == 0
    path = session.exports("PATH")["PATH"].split(":")
    for folder in (session.home / ".local" / "bin", session.home / ".cargo" / "bin", session.home / "go" / "bin"):
        assert str(folder) in path


def test_project_dir_pointing_elsewhere_falls_back_to_the_scripts_repository(project, tmp_path):
    project_dir = project({"stacks": ["go"]}, {"go.mod": ""})
    session = session_for(project_dir, tmp_path)
    parent_of_checkouts = tmp_path  # a multi-repo session's root holds no .claude/scripts
    result = session.start(CLAUDE_PROJECT_DIR=str(parent_of_checkouts))
    assert result.returncode == 0
    assert (project_dir / ".claude" / "logs" / "cloud-init.log").is_file()


@pytest.mark.parametrize("background", [True, False])
def test_hook_timeout_exceeds_what_can_block_it(template_repo, tmp_path, background):
    project_dir = generate(template_repo, tmp_path, {"stacks": ["python", "node"], "cli_tools": ["apt:jq"],
                                                     "services": ["redis"], "step_timeout": 300,
                                                     "background_install": background})
    steps = (project_dir / ".claude" / "scripts" / "cloud-init.steps").read_text()
    assert "option\tstep_limit\t300\n" in steps
    script = (project_dir / ".claude" / "scripts" / "cloud-init.sh").read_text()
    assert 'timeout --kill-after=10 "$step_limit"' in script
    settings = json.loads((project_dir / ".claude" / "settings.json").read_text())
    (hook,) = settings["hooks"]["SessionStart"][0]["hooks"]
    # Foreground: two batches (the template's steps, then the team's), each in parallel,
    # so the longest is two steps plus their kill grace.
    assert hook["timeout"] == (60 if background else 2 * (300 + 10) + 60)


# Step names as the messages say them: one, two, three.
SAID = [(["go"], "go"), (["go", "rust"], "go and rust"), (["go", "rust", "php"], "go, rust and php")]
FILES = {"go": {"go.mod": ""}, "rust": {"Cargo.toml": ""}, "php": {"composer.json": "{}"}}


@pytest.mark.parametrize(("stacks", "said"), SAID, ids=[s for _, s in SAID])
def test_messages_read_right_for_one_step_and_for_many(project, tmp_path, stacks, said):
    files = {name: text for stack in stacks for name, text in FILES[stack].items()}
    project_dir = project({"stacks": stacks}, files)
    session = session_for(project_dir, tmp_path)
    cold = session.hook_output(session.start())
    assert cold["systemMessage"] == f"cloud-init: installing {said} in the background."
    cold_context = cold["hookSpecificOutput"]["additionalContext"]
    assert cold_context.startswith(f"cloud-init: installing {said} in the background. ")

    warm = session.hook_output(session.run())
    assert warm["systemMessage"] == f"cloud-init: ready; unchanged since the last install in this VM: {said}."
    context = warm["hookSpecificOutput"]["additionalContext"]
    assert context.startswith(f"cloud-init: ready; already installed in this VM, with unchanged inputs: {said}. Log:")
    assert " are installed" not in context and " is installed" not in context


def test_waiting_and_status_name_the_steps_as_a_list(project, tmp_path):
    project_dir = project({"stacks": ["go", "rust"]}, {"go.mod": "", "Cargo.toml": ""})
    session = session_for(project_dir, tmp_path)
    session.run(STUB_SLEEP="3")
    status = session.run("--status", remote=False)
    waited = session.run("--wait")
    assert status.stdout.splitlines()[0] == "installing: go and rust"
    assert "cloud-init: waiting for go and rust to finish installing" in waited.stderr


# --- installs without a lockfile: everything the project asks for, and a clean tree ---------

PYPROJECT_WANTS = """[project]
name = "probe"
version = "0.1.0"
dependencies = ["six"]

[project.optional-dependencies]
postgres = ["psycopg"]
docs = ["mkdocs"]

[dependency-groups]
dev = ["pytest"]
lint = ["ruff"]

[tool.poetry.group.test.dependencies]
pytest = "*"

[tool.poetry.group.docs]
optional = true

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""
NO_LOCK_INSTALLS = {
    "uv": ["uv venv --allow-existing .venv",
           "uv pip install --python .venv -r pyproject.toml --all-extras --group=dev --group=lint",
           "uv pip install --python .venv --no-deps -e ."],
    "poetry": ["poetry install --no-interaction --all-extras --with test,docs"],
    "pip": [".venv/bin/python -m pip help install",
            ".venv/bin/python -m pip install --quiet --disable-pip-version-check -e .[postgres,docs] --group=dev --group=lint"],
}


@pytest.mark.parametrize("tool", sorted(NO_LOCK_INSTALLS))
def test_a_python_project_without_a_lockfile_installs_its_extras_and_groups_and_leaves_the_tree_clean(
        project, tmp_path, tool):
    project_dir = project({"stacks": ["python"], "python_tool": tool}, {"pyproject.toml": PYPROJECT_WANTS})
    git_save(project_dir, "the team's repository")
    session = session_for(project_dir, tmp_path)
    if tool == "pip":  # the venv's python, a stub that logs (and answers `pip help install` with --group)
        venv_python = project_dir / ".venv" / "bin" / "python"
        venv_python.parent.mkdir(parents=True)
        venv_python.write_text('#!/usr/bin/env bash\nprintf "%s\\n" ".venv/bin/python $*" >>"$STUB_LOG"\n'
                               '[ "$*" = "-m pip help install" ] && echo "  --group <[path:]group>"\nexit 0\n')
        venv_python.chmod(0o755)
        (project_dir / ".venv" / ".gitignore").write_text("*\n")
    result = session.start()
    assert result.returncode == 0, result.stderr
    assert "python ok" in session.result(), session.result()
    assert session.calls() == NO_LOCK_INSTALLS[tool]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project_dir, capture_output=True, text=True).stdout
    assert status == "", f"the session left files in the tree:\n{status}"


@pytest.mark.parametrize(("manager", "tool", "lock", "install"), [
    ("pnpm@9.12.0", "pnpm", "pnpm-lock.yaml", "pnpm install --frozen-lockfile --prefer-offline"),
    ("yarn@4.5.1", "yarn", "yarn.lock", "yarn install --immutable"),
])
def test_package_managers_field_runs_the_pinned_tool_through_corepack(project, tmp_path, manager, tool, lock, install):
    files = {"package.json": json.dumps({"name": "x", "packageManager": manager}), lock: ""}
    if tool == "yarn":
        files[".yarnrc.yml"] = "nodeLinker: node-modules\n"
    project_dir = project({"stacks": ["node"], "node_tool": tool}, files)
    session = session_for(project_dir, tmp_path)
    session.start()
    shims = f"{session.home}/.cache/copier-claude-cloud/corepack"
    assert session.calls() == [f"corepack enable --install-directory {shims} {tool}", install]
    assert session.exports("PATH")["PATH"].split(":")[:2] == [f"{project_dir}/node_modules/.bin", shims]


def test_without_a_package_manager_field_corepack_is_left_alone(project, tmp_path):
    project_dir = project({"stacks": ["node"], "node_tool": "npm"}, {"package.json": "{}", "package-lock.json": "{}"})
    session = session_for(project_dir, tmp_path)
    session.start()
    assert session.calls() == ["npm ci --prefer-offline --no-audit --no-fund"]


@pytest.mark.parametrize(("tool", "files", "install"), [
    ("npm", {"package-lock.json": "{}", ".npmrc": "package-lock=false\n"},
     "npm install --no-package-lock --prefer-offline --no-audit --no-fund"),
    ("pnpm", {"pnpm-lock.yaml": "", ".npmrc": "lockfile = false\n"}, "pnpm install --no-lockfile --prefer-offline"),
])
def test_a_lockfile_switched_off_in_npmrc_gets_the_plain_install(project, tmp_path, tool, files, install):
    project_dir = project({"stacks": ["node"], "node_tool": tool}, {"package.json": "{}", **files})
    session = session_for(project_dir, tmp_path)
    session.start()
    assert session.calls() == [install]
