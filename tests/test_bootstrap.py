"""The bootstrap is ready at once and never repeats work: warm path, background mode,
waiting Bash commands, failures, overlapping runs, the setup script, and --status/--wait/--force.

Stub package managers sleep ($STUB_SLEEP) and log their start and end, so the tests
assert on order and on calls, never on wall-clock time (bench/ measures speed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import CloudSession, build_file_tree, generate

STACK_FILES = {"pyproject.toml": "", "uv.lock": "", "package.json": "{}", "package-lock.json": "{}"}
ANSWERS = {"project_name": "demo", "stacks": ["python", "node"], "cli_tools": ["npm:prettier@3.3.3", "apt:jq"]}


@pytest.fixture
def session(template_repo, tmp_path):
    """make(**answers) -> a CloudSession on a project with python and node lockfiles."""

    def make(**answers) -> CloudSession:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        build_file_tree(project, STACK_FILES)
        generate(template_repo, project, {**ANSWERS, **answers})
        return CloudSession(project, tmp_path / "session")

    return make


def installs(session: CloudSession) -> list[str]:
    return [c for c in session.calls() if c.startswith(("uv sync", "npm ci", "npm install", "apt-get install"))]


def bash_command(session: CloudSession, command: str = "echo ran", **extra: str) -> subprocess.CompletedProcess:
    """What Claude Code does for a Bash tool call: source the env file, then run the command."""
    env = session.environment(**extra)
    return subprocess.run(["bash", "-c", f'source "$CLAUDE_ENV_FILE"; {command}'], env=env,
                          capture_output=True, text=True, timeout=120)


def test_warm_path_invokes_nothing(session):
    cloud = session()
    cloud.start()
    assert len(installs(cloud)) == 4
    cloud.stub_log.write_text("")
    warm = cloud.run()
    assert warm.returncode == 0
    assert cloud.calls() == [], "the warm path ran a package manager"
    output = cloud.hook_output(warm)
    assert output["systemMessage"].startswith("cloud-init: ready; unchanged since the last install in this VM: python, node and cli-tools")
    assert not (cloud.project / ".claude" / "state" / "running").exists()


def test_a_changed_lockfile_reruns_only_its_stack(session):
    cloud = session()
    cloud.start()
    cloud.stub_log.write_text("")
    (cloud.project / "package-lock.json").write_text('{"lockfileVersion": 3}')
    cloud.start()
    assert installs(cloud) == ["npm ci --prefer-offline --no-audit --no-fund"]


def test_a_changed_script_reruns_every_step(session):
    cloud = session()
    cloud.start()
    cloud.stub_log.write_text("")
    script = cloud.project / ".claude" / "scripts" / "cloud-init.sh"
    script.write_text(script.read_text() + "\n# a local edit\n")
    cloud.start()
    assert len(installs(cloud)) == 4


def test_background_mode_returns_before_the_installs_finish(session):
    cloud = session()
    hook = cloud.run(STUB_SLEEP="2")
    assert hook.returncode == 0
    log = cloud.stub_log.read_text()
    assert "done: " not in log, "the hook waited for an install"
    assert (cloud.project / ".claude" / "state" / "running").exists()
    assert "in the background" in cloud.hook_output(hook)["systemMessage"]
    cloud.run("--wait")


def test_a_bash_command_waits_for_the_installs(session):
    cloud = session()
    cloud.run(STUB_SLEEP="2")
    result = bash_command(cloud, "echo ran", STUB_SLEEP="2")
    assert result.stdout.strip() == "ran"
    assert "waiting for" in result.stderr
    finished = [line for line in cloud.stub_log.read_text().splitlines() if line.startswith("done: ")]
    assert len(installs(cloud)) == 4
    assert len(finished) == len(cloud.calls()), "the command ran before every install had ended"
    # Once done, commands run straight away and quietly.
    again = bash_command(cloud)
    assert again.stdout.strip() == "ran" and again.stderr == ""


def test_waiting_is_bounded(session):
    cloud = session(wait_timeout=5)
    cloud.run(STUB_SLEEP="20")
    result = bash_command(cloud, "echo ran")
    assert result.stdout.strip() == "ran"
    assert "still installing after 5s" in result.stderr
    assert "done: " not in cloud.stub_log.read_text()


def test_a_failed_install_is_logged_reported_once_and_retried(session):
    cloud = session()
    hook = cloud.run(STUB_FAIL="npm")
    assert hook.returncode == 0
    first = bash_command(cloud, "echo ran", STUB_FAIL="npm")
    assert first.stdout.strip() == "ran", "a failure never blocks the command"
    assert "node FAILED" in first.stderr and "cli-tools FAILED" in first.stderr
    assert bash_command(cloud).stderr == "", "the failure is reported once"
    log = (cloud.project / ".claude" / "logs" / "cloud-init.log").read_text()
    assert "failed node" in log and "npm: simulated failure" in log
    # The next session start retries exactly what failed, and says so.
    cloud.stub_log.write_text("")
    retry = cloud.run()
    assert "retrying after a failure" in cloud.hook_output(retry)["systemMessage"]
    cloud.run("--wait")
    assert not any(call.startswith("uv sync") for call in cloud.calls()), "python had succeeded"
    assert "npm ci --prefer-offline --no-audit --no-fund" in cloud.calls()
    assert cloud.result().startswith("ready:")


def test_foreground_mode_waits_and_reports_in_the_hook(session):
    cloud = session(background_install=False)
    hook = cloud.run(STUB_FAIL="npm")
    assert hook.returncode == 0
    assert len(installs(cloud)) == 4, "the hook returned before installing"
    output = cloud.hook_output(hook)
    assert "node FAILED" in output["systemMessage"] and "run again at the next session start" in output["systemMessage"]
    assert "--force" in output["hookSpecificOutput"]["additionalContext"]
    assert "--wait" not in cloud.env_file.read_text(), "no wait guard without background installs"


def test_overlapping_runs_leave_one_consistent_state(session):
    cloud = session()
    env = cloud.environment(STUB_SLEEP="1")
    script = str(cloud.project / ".claude" / "scripts" / "cloud-init.sh")
    runs = [subprocess.Popen([script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    assert all(run.wait(timeout=60) == 0 for run in runs)
    cloud.run("--wait")
    assert sorted(installs(cloud)) == sorted(set(installs(cloud))), f"an install ran twice: {installs(cloud)}"
    lines = cloud.env_file.read_text().splitlines()
    assert len(lines) == len(set(lines)), "duplicated exports"
    state = cloud.project / ".claude" / "state"
    assert sorted(p.name for p in state.glob("*.stamp")) == ["cli-tools.stamp", "node.stamp", "python.stamp"]
    assert not (state / "running").exists() and cloud.result().startswith("ready:")
    assert not list(state.glob("*.[0-9]*")), "a half-written state file was left behind"


def test_setup_script_and_cloud_init_agree_on_what_is_installed(session):
    cloud = session()
    record = cloud.scratch / "provided"
    setup = cloud.project / ".claude" / "scripts" / "cloud-setup.sh"
    extra = {"CLAUDE_CLOUD_SETUP_RECORD": str(record), "CLAUDE_CLOUD_SETUP_LOG": str(cloud.scratch / "setup.log")}
    ran = subprocess.run([str(setup)], env=cloud.environment(**extra), capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0
    assert record.read_text().split() == ["npm:prettier@3.3.3", "apt:jq"]
    assert "npm install --global --no-audit --no-fund --prefer-offline prettier@3.3.3" in cloud.calls()
    cloud.stub_log.write_text("")
    cloud.start(**extra)
    assert not [c for c in cloud.calls() if c.startswith(("npm install --global", "apt-get", "dpkg-query"))]
    assert "cli-tools ok" in cloud.result()
    log = (cloud.project / ".claude" / "logs" / "cloud-init.log").read_text()
    assert "provided by the setup script: npm:prettier@3.3.3" in log


def test_setup_script_always_exits_0_and_records_only_what_worked(session):
    cloud = session()
    record = cloud.scratch / "provided"
    setup = cloud.project / ".claude" / "scripts" / "cloud-setup.sh"
    extra = {"CLAUDE_CLOUD_SETUP_RECORD": str(record), "CLAUDE_CLOUD_SETUP_LOG": str(cloud.scratch / "setup.log"),
             "STUB_FAIL": "apt-get"}
    ran = subprocess.run([str(setup)], env=cloud.environment(**extra), capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0
    assert record.read_text().split() == ["npm:prettier@3.3.3"]
    assert "FAILED (exit 1; cloud-init retries it): apt:jq" in (cloud.scratch / "setup.log").read_text()


def test_status_wait_and_force(session):
    cloud = session()
    before = cloud.run("--status", remote=False)
    assert before.returncode == 0 and "has not run in this VM" in before.stdout
    cloud.start()
    status = cloud.run("--status")
    assert status.stdout.startswith("ready: cloud-init:") and "  node: done" in status.stdout
    assert cloud.run("--wait").returncode == 0
    cloud.stub_log.write_text("")
    forced = cloud.run("--force")
    assert forced.returncode == 0 and forced.stdout.startswith("ready: cloud-init:")
    assert len(installs(cloud)) == 4, "--force redoes every step"


def test_an_install_without_a_lockfile_writes_none_and_is_not_repeated(template_repo, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    build_file_tree(project, {"package.json": "{}"})  # no lockfile: the plain install, writing none
    generate(template_repo, project, {"project_name": "demo", "stacks": ["node"]})
    cloud = CloudSession(project, tmp_path / "session")
    cloud.start()
    assert not (project / "package-lock.json").exists()
    cloud.stub_log.write_text("")
    cloud.start()
    assert cloud.calls() == [], "the next start installed again"


def test_a_deleted_install_folder_is_installed_again(session):
    cloud = session()
    cloud.start()
    (cloud.project / "node_modules").rmdir()
    cloud.stub_log.write_text("")
    cloud.start()
    assert installs(cloud) == ["npm ci --prefer-offline --no-audit --no-fund"]


def test_a_worker_that_died_is_reported_not_waited_for(session):
    cloud = session()
    cloud.start()
    state = cloud.project / ".claude" / "state"
    dead = subprocess.run(["bash", "-c", "echo $$"], capture_output=True, text=True).stdout.strip()
    (state / "worker.pid").write_text(dead + "\n")
    (state / "running").write_text("node\n")
    result = bash_command(cloud)
    assert result.stdout.strip() == "ran"
    assert "stopped before it finished" in result.stderr
    assert not (state / "running").exists()
    assert cloud.run("--wait").returncode == 1, "--wait keeps saying it failed after the message was shown"
