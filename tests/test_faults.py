"""Faults, done for real to the static engine: processes killed with SIGKILL, a full disk,
read-only folders, ten sessions at once, hanging installs, files edited mid-install. After
each, the next session start must recover by itself, and nothing a team wrote may be lost.

Each test drives the real engine (template/.claude/scripts/cloud-init.sh) with stub
package managers (helpers.CloudSession) and a hand-written steps file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from engine_world import FOREGROUND, engine_repository, records, world  # noqa: F401 (world: a fixture)
from helpers import CloudSession

BACKGROUND = "option|background|on"
# One step that takes a while: the stub sleeps $STUB_SLEEP seconds in every call.
SLOW_DEPS = ("step|deps", "input|deps|uv.lock", "run|deps|*|uv sync")


def in_flight_overlap(calls: list[str], command: str) -> int:
    """The most runs of `command` that were in progress at once, from a slow stub's log
    (each run logs its command when it starts and `done: command` when it ends)."""
    running = most = 0
    for line in calls:
        if line == command:
            running += 1
            most = max(most, running)
        elif line == f"done: {command}":
            running -= 1
    return most


def full_log(session: CloudSession) -> list[str]:
    return session.stub_log.read_text().splitlines()


def wait_until(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def worker_pid(session: CloudSession) -> int:
    return int((session.project / ".claude/state/worker.pid").read_text())


# --- 1. the wait's "gave up" marker -------------------------------------------------------------


def test_after_a_wait_gave_up_a_new_worker_is_waited_for_in_full(world):
    session = world(records(BACKGROUND, "option|wait_limit|1", *SLOW_DEPS), {"uv.lock": "1"})
    session.run(STUB_SLEEP="3")
    assert session.run("--wait", "--quiet-ok").returncode == 2, "the first command waits 1 s, then gives up"
    session.run("--wait")  # let it finish (each call glances, then waits again)
    wait_until(lambda: "done: uv sync" in full_log(session))
    wait_until(lambda: not (session.project / ".claude/state/running").exists())
    (session.project / "uv.lock").write_text("2")  # a new install, in a new worker
    session.run(STUB_SLEEP="1.5")
    started = time.monotonic()
    waited = session.run("--wait", "--quiet-ok")
    # wait_limit is 1 s: a command that only glanced would be back at once, with exit 2.
    assert waited.returncode in (0, 2) and time.monotonic() - started >= 0.9, waited.stderr


def test_a_new_session_forgets_that_a_wait_gave_up(world):
    session = world(records(BACKGROUND, "option|wait_limit|2", *SLOW_DEPS), {"uv.lock": "1"})
    session.run(STUB_SLEEP="6")
    assert session.run("--wait", "--quiet-ok").returncode == 2
    assert (session.project / ".claude/state/gave-up").exists()
    session.run()  # the next session starts while the same install still runs
    started = time.monotonic()
    session.run("--wait", "--quiet-ok")
    assert time.monotonic() - started >= 1.5, "a new session's command must wait in full, not glance for 1 s"


# --- 2. a lockfile edited while its install runs ----------------------------------------------


def test_a_lockfile_edited_during_its_install_installs_again_next_session(world):
    session = world(records(FOREGROUND, *SLOW_DEPS), {"uv.lock": "old"})
    hook = subprocess.Popen([str(session.project / ".claude/scripts/cloud-init.sh")], cwd=session.project,
                            env=session.environment(STUB_SLEEP="1.5"), stdout=subprocess.PIPE, text=True)
    wait_until(lambda: "uv sync" in session.calls())
    (session.project / "uv.lock").write_text("new: the install read the old one")
    hook.communicate(timeout=60)
    session.start()
    assert session.calls() == ["uv sync", "uv sync"], "the new lockfile content was never installed"
    session.start()
    assert session.calls() == ["uv sync", "uv sync"], "once installed, it is stamped"


def test_a_lockfile_the_install_creates_is_not_installed_again(world):
    session = world(records(FOREGROUND, "step|deps", "input|deps|package-lock.json",
                            "run|deps|*|npm install --prefer-offline"), {"package.json": "{}"})
    session.start()  # the npm stub writes package-lock.json, as npm does
    assert (session.project / "package-lock.json").exists()
    session.start()
    assert session.calls() == ["npm install --prefer-offline"]


# --- 3. writes to $CLAUDE_ENV_FILE -------------------------------------------------------------

EXPORTS = ("env|APP_HOME|{project}/app", "path|{project}/bin")


def test_a_full_disk_leaves_the_env_file_whole_and_the_next_session_writes_it(world):
    session = world(records(FOREGROUND, *EXPORTS))
    result = session.run(CLAUDE_ENV_FILE="/dev/full")
    assert result.returncode == 0
    assert "could not write the exports" in session.hook_output(result)["systemMessage"]
    session.run()
    assert session.exports("APP_HOME")["APP_HOME"] == f"{session.project}/app"


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 64 KiB tmpfs (root can mount one); without it, the test cannot fill a disk for real."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_mid_write_never_leaves_half_a_line(world, tiny_filesystem):
    session = world(records(FOREGROUND, *EXPORTS))
    env_file = tiny_filesystem / "sessionstart-hook-1.sh"
    before = "export OTHER=1\n" * 200
    env_file.write_text(before)
    filler = tiny_filesystem / "filler"
    try:  # fill the disk to its last byte
        with filler.open("wb", buffering=0) as handle:
            while True:
                handle.write(b"x" * 512)
    except OSError:
        pass
    result = session.run(CLAUDE_ENV_FILE=str(env_file))
    assert result.returncode == 0
    assert env_file.read_text() == before, "the env file changed on a full disk"
    filler.unlink()
    session.run(CLAUDE_ENV_FILE=str(env_file))
    text = env_file.read_text()
    assert text.startswith(before) and text.endswith("\n") and f"{session.project}/app" in text


def test_another_writers_last_line_without_a_newline_stays_its_own(world):
    session = world(records(FOREGROUND, *EXPORTS))
    session.env_file.write_text("export TEAM_VAR=kept")  # no newline at the end
    session.run()
    exported = session.exports("TEAM_VAR", "APP_HOME")
    assert exported == {"TEAM_VAR": "kept", "APP_HOME": f"{session.project}/app"}


# --- 4. sourcing the env file never trips the caller ---------------------------------------------


def test_the_env_file_sources_under_set_euo_pipefail_and_keeps_the_options(world):
    session = world(records(BACKGROUND, "option|wait_limit|1", *SLOW_DEPS, *EXPORTS), {"uv.lock": "1"})
    session.run(STUB_SLEEP="0.5", STUB_FAIL="uv")  # a failed install: the guard reports it
    wait_until(lambda: "done: uv sync" in full_log(session))
    check = subprocess.run(["bash", "-euo", "pipefail", "-c", '. "$CLAUDE_ENV_FILE"; echo "ok $-"; shopt -o pipefail'],
                           env={**session.environment(), "SHELLOPTS": "errexit:nounset:xtrace"},
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("ok ") and "e" in check.stdout.split()[1] and "u" in check.stdout.split()[1]
    assert "pipefail" in check.stdout and "on" in check.stdout
    assert "deps FAILED" in check.stderr, "the failure is still reported once"


def test_the_env_file_sources_with_path_unset(world):
    session = world(records(FOREGROUND, *EXPORTS))
    session.run()
    check = subprocess.run(["/bin/bash", "-u", "-c", f'unset PATH; . "{session.env_file}"; echo "$PATH"'],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == f"{session.project}/bin"


# --- 5. read-only folders, no HOME, no TMPDIR ------------------------------------------------------


def as_nobody(session: CloudSession, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """Run the engine as an unprivileged user, for whom permissions hold."""
    command = [str(session.project / ".claude/scripts/cloud-init.sh"), *args]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, cwd=session.project, env=session.environment(**extra), capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def readonly_world():
    """A repository an unprivileged user can read and not write, with its own env file, in
    a folder that user can reach (pytest's own temporary folders are private to root)."""
    base = Path(tempfile.mkdtemp(prefix="cloud-init-read-only-", dir="/var/tmp"))
    base.chmod(0o755)
    session = engine_repository(base / "repo", base / "session", records(FOREGROUND, *SLOW_DEPS, *EXPORTS),
                                {"uv.lock": "1"})
    session.env_file.touch()
    for path in [base, *base.rglob("*")]:
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    session.env_file.chmod(0o666)
    session.env_file.parent.chmod(0o777)
    session.stub_log.chmod(0o666)
    yield session
    shutil.rmtree(base, ignore_errors=True)


def test_a_read_only_checkout_starts_the_session_with_state_elsewhere(readonly_world):
    private_tmp = readonly_world.scratch / "tmp"
    private_tmp.mkdir(mode=0o777)
    private_tmp.chmod(0o777)
    result = as_nobody(readonly_world, TMPDIR=str(private_tmp))
    assert result.returncode == 0, result.stderr
    said = readonly_world.hook_output(result)["systemMessage"]
    assert "Degraded" in said and "cannot be written" in said and "deps ok" in said
    assert readonly_world.calls() == ["uv sync"]
    assert not (readonly_world.project / ".claude/state").exists()
    again = as_nobody(readonly_world, TMPDIR=str(private_tmp))
    assert "ready" in readonly_world.hook_output(again)["systemMessage"] and readonly_world.calls() == ["uv sync"]


def test_no_writable_folder_at_all_still_starts_the_session_with_its_exports(readonly_world):
    """.claude read-only, $TMPDIR missing, and /tmp and /dev/shm read-only (bind mounts in a
    mount namespace of the test's own)."""
    if os.geteuid() != 0:
        pytest.skip("making /tmp read-only for one process needs root (unshare -m)")
    remount = "; ".join(f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
                        for folder in ("/tmp", "/dev/shm"))
    script = readonly_world.project / ".claude/scripts/cloud-init.sh"
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", f'{remount} && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0"',
         str(script)],
        cwd=readonly_world.project, env=readonly_world.environment(TMPDIR="/no/such/folder", HOME=""),
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    said = readonly_world.hook_output(result)["systemMessage"]
    assert said.startswith("cloud-init: degraded: no writable folder"), said
    assert readonly_world.calls() == [], "nothing is installed without a place for its state"
    assert readonly_world.exports("APP_HOME")["APP_HOME"] == f"{readonly_world.project}/app"


def test_home_unset_and_tmpdir_unwritable_are_no_error(world, tmp_path):
    session = world(records(FOREGROUND, *SLOW_DEPS, "path|{home}/tools"), {"uv.lock": "1"})
    env = session.environment(TMPDIR=str(tmp_path / "no-such-dir"))
    del env["HOME"]
    result = subprocess.run([str(session.project / ".claude/scripts/cloud-init.sh")], cwd=session.project, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "deps ok" in session.hook_output(result)["systemMessage"]


# --- 6. a worker killed with SIGKILL --------------------------------------------------------------


def test_a_waiter_notices_a_killed_worker_at_once(world):
    session = world(records(BACKGROUND, "option|wait_limit|60", *SLOW_DEPS), {"uv.lock": "1"})
    session.run(STUB_SLEEP="20")
    wait_until(lambda: "uv sync" in session.calls())
    waiter = subprocess.Popen([str(session.project / ".claude/scripts/cloud-init.sh"), "--wait"], cwd=session.project,
                              env=session.environment(), stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    os.kill(worker_pid(session), signal.SIGKILL)
    started = time.monotonic()
    _, stderr = waiter.communicate(timeout=30)
    assert time.monotonic() - started < 5, "the waiter waited on after the worker died"
    assert waiter.returncode == 1 and "stopped before it finished" in stderr


def in_own_pid_namespace(session: CloudSession, *args: str) -> list[str]:
    """A command line that runs cloud-init.sh as a Bash command in Claude Code's sandbox does:
    bubblewrap with its own PID namespace, so no process outside it can be seen."""
    return ["bwrap", "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc",
            str(session.project / ".claude/scripts/cloud-init.sh"), *args]


@pytest.fixture
def bubblewrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("no bwrap: apt-get install bubblewrap")


def test_a_waiter_in_its_own_pid_namespace_waits_for_a_live_worker(world, bubblewrap):
    """The worker's pid means nothing there: the install lock says it lives."""
    session = world(records(BACKGROUND, "option|wait_limit|60", *SLOW_DEPS), {"uv.lock": "1"})
    session.run(STUB_SLEEP="3")
    wait_until(lambda: "uv sync" in session.calls())
    time.sleep(0.2)
    waited = subprocess.run(in_own_pid_namespace(session, "--wait"), cwd=session.project, env=session.environment(),
                            capture_output=True, text=True, timeout=60)
    assert waited.returncode == 0, waited.stderr
    assert "stopped before it finished" not in waited.stderr
    assert "done: uv sync" in full_log(session), "the waiter returned before the install finished"


def test_a_waiter_in_its_own_pid_namespace_still_notices_a_killed_worker(world, bubblewrap):
    session = world(records(BACKGROUND, "option|wait_limit|60", *SLOW_DEPS), {"uv.lock": "1"})
    session.run(STUB_SLEEP="20")
    wait_until(lambda: "uv sync" in session.calls())
    os.kill(worker_pid(session), signal.SIGKILL)
    os.utime(session.project / ".claude/state/running", (time.time() - 10, time.time() - 10))
    waited = subprocess.run(in_own_pid_namespace(session, "--wait"), cwd=session.project, env=session.environment(),
                            capture_output=True, text=True, timeout=30)
    assert waited.returncode == 1 and "stopped before it finished" in waited.stderr


# A step that notes when it starts while another run of it still runs: flock on a file,
# which the kernel releases when its holder dies (a killed run leaves no false alarm).
def guarded(step: str, command: str) -> list[str]:
    return [f"step|{step}", f"run|{step}|*|flock -n .claude/{step}.running {command} || "
            f"{{ echo {step} >>.claude/overlaps; exit 1; }}"]


def test_a_step_is_on_record_before_its_command_runs(world):
    """A worker killed right after it forks a step must not leave a step that no one can find:
    by the time a step's command runs, its process group is in steps.pgids. (CI once caught a
    worker killed between the fork and the parent's note, and the next worker ran alongside.)"""
    on_record = ('read -r _ _ _ _ group _ </proc/$$/stat; '
                 'grep -qx "$group" .claude/state/steps.pgids || echo "$group" >>.claude/unrecorded')
    session = world(records(BACKGROUND, "step|deps", f"run|deps|*|{on_record}",
                            "step|web", f"run|web|*|{on_record}"))
    session.run("--force")
    assert "deps: done" in session.run("--status").stdout
    assert not (session.project / ".claude/unrecorded").exists()


def test_the_next_worker_stops_what_is_on_record_in_every_state_a_fork_passes_through(world):
    """A recorded step may not yet lead its group: still the forked shell (before `exec
    timeout`), or `timeout` before it made its group. Both are stopped; a recorded pid that a
    stranger reuses is not."""
    session = world(records("step|deps", "run|deps|*|true"))
    script = session.project / ".claude/scripts/cloud-init.sh"
    forked = subprocess.Popen(["perl", "-e", f'$0 = "bash {script} --worker "; sleep 60'])
    no_group_yet = subprocess.Popen(["timeout", "--foreground", "60", "sleep", "60"])
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        wait_until(lambda: "--worker" in Path(f"/proc/{forked.pid}/cmdline").read_text())
        state = session.project / ".claude/state"
        state.mkdir(parents=True, exist_ok=True)
        (state / "steps.pgids").write_text(f"{forked.pid}\n{no_group_yet.pid}\n{stranger.pid}\n")
        session.run("--force")
        assert forked.wait(10) == -signal.SIGKILL
        assert no_group_yet.wait(10) == -signal.SIGTERM
        assert stranger.poll() is None, "a process that merely reuses a recorded pid was stopped"
    finally:
        for process in (forked, no_group_yet, stranger):
            process.kill()
            process.wait()


@pytest.mark.parametrize("kill_after", [0.05, 0.3, 1.0, 2.5])
def test_the_next_session_recovers_from_a_worker_killed_at_any_point(world, kill_after):
    session = world(records(BACKGROUND, *guarded("deps", "uv sync"), "input|deps|uv.lock", *guarded("web", "npm ci")),
                    {"uv.lock": "1"})
    session.run(STUB_SLEEP="2")
    time.sleep(kill_after)
    try:
        os.kill(worker_pid(session), signal.SIGKILL)
    except (ProcessLookupError, FileNotFoundError, ValueError):
        pass
    session.start(STUB_SLEEP="2")  # the next session
    wait_until(lambda: not (session.project / ".claude/state/running").exists(), 60)
    assert not (session.project / ".claude/overlaps").exists(), "a step ran alongside the one a killed worker left"
    status = session.run("--status").stdout
    assert "deps: done" in status and "web: done" in status, status
    assert session.result().startswith("ready:")


# --- 7. --force ---------------------------------------------------------------------------------


def test_force_reinstalls_every_step_after_a_run_in_progress_never_alongside_it(world):
    session = world(records(BACKGROUND, "option|wait_limit|60", *guarded("deps", "uv sync"), "input|deps|uv.lock",
                            *guarded("web", "npm ci")), {"uv.lock": "1"})
    session.start()
    assert sorted(session.calls()) == ["npm ci", "uv sync"]
    (session.project / "uv.lock").write_text("2")
    session.run(STUB_SLEEP="1.5")  # a worker reinstalls deps
    wait_until(lambda: session.calls().count("uv sync") == 2)
    forced = session.run("--force", STUB_SLEEP="0.5")
    assert forced.returncode == 0 and forced.stdout.startswith("ready:"), forced.stdout
    assert session.calls().count("uv sync") == 3 and session.calls().count("npm ci") == 2, session.calls()
    assert not (session.project / ".claude/overlaps").exists(), "--force ran a step alongside the run in progress"


# --- 8. the log --------------------------------------------------------------------------------


def test_the_log_keeps_the_last_few_runs(world):
    session = world(records(FOREGROUND, *SLOW_DEPS), {"uv.lock": "0"})
    logs = session.project / ".claude/logs"
    for run in range(1, 7):
        (session.project / "uv.lock").write_text(str(run))
        session.run()
    assert sorted(path.name for path in logs.iterdir()) == ["cloud-init.log", "cloud-init.log.1", "cloud-init.log.2",
                                                            "cloud-init.log.3"]
    assert (logs / "cloud-init.log").read_text().count("session bootstrap") == 1


# --- concurrency and hangs -------------------------------------------------------------------------


def test_ten_sessions_starting_at_once_install_once_and_export_once(world):
    session = world(records(BACKGROUND, "option|wait_limit|60", *SLOW_DEPS, "step|web", "run|web|*|npm ci", *EXPORTS),
                    {"uv.lock": "1"})
    script = str(session.project / ".claude/scripts/cloud-init.sh")
    hooks = [subprocess.Popen([script], cwd=session.project, env=session.environment(STUB_SLEEP="1"),
                              stdout=subprocess.PIPE, text=True) for _ in range(10)]
    outputs = [hook.communicate(timeout=60)[0] for hook in hooks]
    assert all(hook.returncode == 0 for hook in hooks)
    assert all(CloudSession.hook_output(subprocess.CompletedProcess([], 0, output))["systemMessage"] for output in outputs)
    session.run("--wait")
    wait_until(lambda: not (session.project / ".claude/state/running").exists())
    log = full_log(session)
    assert in_flight_overlap(log, "uv sync") == 1 and in_flight_overlap(log, "npm ci") == 1, log
    lines = session.env_file.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 3, lines
    assert session.result().startswith("ready:")


def test_a_hanging_install_is_stopped_reported_and_retried_next_session(world):
    session = world(records(FOREGROUND, "option|step_limit|1", *SLOW_DEPS), {"uv.lock": "1"})
    hung = session.run(STUB_SLEEP="30")
    assert "deps TIMED OUT after 1s" in session.hook_output(hung)["systemMessage"]
    ok = session.run()
    assert "deps ok" in session.hook_output(ok)["systemMessage"]
    assert session.calls() == ["uv sync", "uv sync"]


def test_a_port_already_in_use_gets_a_clear_line(world):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        session = world(records(FOREGROUND, "step|db", f"port|db|{port}", "run|db|*|service postgresql start && false"))
        result = session.run()
        assert f"another program holds port {port}" in session.hook_output(result)["systemMessage"]
    finally:
        listener.close()
