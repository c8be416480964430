"""Services with the real Debian packages: PostgreSQL and Redis, installed with apt-get, started
by cloud-init.sh in simulated cloud sessions that call the real `service`, `pg_isready`,
`psql`, `runuser` and `redis-cli` (the other package managers stay stubs).

A service starts in the first session; a second session finds it running and leaves it be; a
service that died between sessions is started again (its stamp alone does not count: its port
must answer); and a port that another program holds gets its line in the hook's message.

Marked `integration`: it installs packages from the Debian archive and starts daemons on this
machine, as root. It skips only where that cannot be done (no apt-get, not root); a failed
install fails it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from helpers import CloudSession, generate

pytestmark = pytest.mark.integration

# What the services' steps call for real; everything else stays a logging stub.
REAL_TOOLS = ["service", "pg_isready", "psql", "runuser", "createdb", "redis-cli", "sudo"]
# A cloud VM's root PATH: `service` and `runuser` live in sbin.
SESSION_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_ENV = {"PATH": SESSION_PATH, "LANG": "C.UTF-8", "HOME": "/root"}


def system(*command: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
    """A command as root on this machine, outside any session."""
    done = subprocess.run(command, env=SYSTEM_ENV, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return done


def as_postgres(sql: str) -> str:
    return system("runuser", "-u", "postgres", "--", "psql", "--no-psqlrc", "-tAc", sql).stdout.strip()


def wait_until(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {seconds}s waiting for {what}", pytrace=False)
        time.sleep(0.2)


def listening(port: int) -> bool:
    with contextlib.closing(socket.socket()) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop_services() -> None:
    system("service", "postgresql", "stop", check=False)
    system("service", "redis-server", "stop", check=False)
    wait_until(lambda: not listening(5432) and not listening(6379), "PostgreSQL and Redis to stop")


@pytest.fixture(scope="module")
def debian_packages():
    """postgresql and redis-server from the Debian archive, installed once for the module,
    with both services stopped (so the first session is what starts them), the project's
    database absent and the postgres user without a password (so the step must set it)."""
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get is not available: this test installs the Debian packages postgresql and redis-server")
    if os.geteuid() != 0:
        pytest.skip("not root: installing Debian packages and starting system services needs root")
    # APT::Sandbox::User=root: apt's download sandbox user cannot write a /tmp that is not
    # world-writable, as on some images; as root the sandbox adds nothing here.
    apt = ["apt-get", "-o", "APT::Sandbox::User=root", "-o", "Dpkg::Options::=--force-confold"]
    install = [*apt, "install", "-y", "-qq", "--no-install-recommends", "postgresql", "redis-server"]
    env = {**SYSTEM_ENV, "DEBIAN_FRONTEND": "noninteractive"}
    started = time.monotonic()
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:  # stale package lists: update them once, then again
        subprocess.run([*apt, "update", "-qq"], env=env, capture_output=True, text=True, timeout=600)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"apt-get could not install postgresql and redis-server:\n{done.stdout[-2000:]}\n"
                    f"{done.stderr[-2000:]}", pytrace=False)
    print(f"\napt-get install postgresql redis-server: {time.monotonic() - started:.1f}s")
    for program in ("pg_isready", "psql", "redis-server", "redis-cli"):
        assert shutil.which(program, path=SESSION_PATH), f"{program} is missing after the install"
    # A clean start: the database and password of an earlier run gone, both services stopped.
    system("service", "postgresql", "start")
    wait_until(lambda: system("pg_isready", "--quiet", "--host=127.0.0.1", check=False).returncode == 0,
               "PostgreSQL to accept connections")
    as_postgres("DROP DATABASE IF EXISTS demo")
    as_postgres("DROP DATABASE IF EXISTS shop")
    as_postgres("ALTER USER postgres PASSWORD NULL")
    stop_services()
    yield
    stop_services()


def real_session(project: Path, scratch: Path) -> CloudSession:
    """A simulated cloud session of `project` that runs the machine's real service tools."""
    session = CloudSession(project, scratch)
    for name in REAL_TOOLS:
        (session.bin / name).unlink()
    return session


def hook(session: CloudSession) -> str:
    """Start a session (the SessionStart hook; background_install is off, so it waits for the
    steps) and return the message it shows the user."""
    result = session.run(PATH=f"{session.bin}:{SESSION_PATH}")
    assert result.returncode == 0, result.stderr
    return session.hook_output(result)["systemMessage"]


def database_url_answers(session: CloudSession) -> str:
    """Connect with the exported DATABASE_URL (password over TCP); the server's start time."""
    url = session.exports("DATABASE_URL")["DATABASE_URL"]
    assert url == "postgresql://postgres:postgres@127.0.0.1:5432/demo"
    assert system("pg_isready", "--host=127.0.0.1", "--port=5432").returncode == 0
    row = system("psql", url, "--no-psqlrc", "-tAc", "SELECT current_database(), pg_postmaster_start_time()").stdout
    name, started = row.strip().split("|")
    assert name == "demo", row
    return started


def redis_url_answers(session: CloudSession) -> str:
    """PING through the exported REDIS_URL; the server's run id."""
    url = session.exports("REDIS_URL")["REDIS_URL"]
    assert url == "redis://127.0.0.1:6379/0"
    assert system("redis-cli", "-u", url, "ping").stdout.strip() == "PONG"
    info = system("redis-cli", "-u", url, "info", "server").stdout
    return next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("run_id:"))


@pytest.fixture(scope="module")
def demo(debian_packages, template_repo, tmp_path_factory):
    """Project "demo" with both services, and its first session: (session, the hook's message)."""
    root = tmp_path_factory.mktemp("real-services")
    project = generate(template_repo, root / "project", {
        "project_name": "demo", "services": ["postgresql", "redis"], "background_install": False,
    })
    session = real_session(project, root / "session")
    message = hook(session)
    return session, message


def test_first_session_starts_both_services(demo):
    session, message = demo
    assert message.startswith("cloud-init: postgresql ok, redis ok"), message + "\n" + session.result()
    database_url_answers(session)
    redis_url_answers(session)
    assert as_postgres("SELECT 1 FROM pg_database WHERE datname = 'demo'") == "1"


def test_second_session_leaves_running_services_alone(demo):
    session, _ = demo
    postgres_started, redis_run = database_url_answers(session), redis_url_answers(session)
    message = hook(session)
    assert message == "cloud-init: ready; unchanged since the last install in this VM: postgresql and redis.", message
    assert database_url_answers(session) == postgres_started, "PostgreSQL was restarted"
    assert redis_url_answers(session) == redis_run, "Redis was restarted"


def test_a_service_that_died_between_sessions_is_started_again(demo):
    session, _ = demo
    state = session.project / ".claude" / "state"
    postgres_started, redis_run = database_url_answers(session), redis_url_answers(session)
    stamps = {name: (state / f"{name}.stamp").read_text() for name in ("postgresql", "redis")}
    # PostgreSQL stopped as its service; Redis dies (SIGKILL: no shutdown, its pid file left behind).
    system("service", "postgresql", "stop")
    redis_pid = system("redis-cli", "-h", "127.0.0.1", "info", "server").stdout.split("process_id:")[1].split()[0]
    os.kill(int(redis_pid), 9)
    wait_until(lambda: not listening(5432) and not listening(6379), "PostgreSQL and Redis to be down")
    # The stamps still match: only the ports say the services are gone.
    assert {name: (state / f"{name}.stamp").read_text() for name in stamps} == stamps
    message = hook(session)
    assert message.startswith("cloud-init: postgresql ok, redis ok"), message + "\n" + session.result()
    assert database_url_answers(session) != postgres_started
    assert redis_url_answers(session) != redis_run


def test_in_the_background_a_second_project_shares_the_services(debian_packages, template_repo, tmp_path):
    # The default mode: the hook returns at once and a Bash command waits (--wait). The VM's
    # services may already run for another project: starting them again is harmless.
    project = generate(template_repo, tmp_path / "project",
                       {"project_name": "shop", "services": ["postgresql", "redis"]})
    session = real_session(project, tmp_path / "session")
    path = f"{session.bin}:{SESSION_PATH}"
    started = session.run(PATH=path)
    assert started.returncode == 0, started.stderr
    message = session.hook_output(started)["systemMessage"]
    assert message == "cloud-init: installing postgresql and redis in the background.", message
    waited = session.run("--wait", PATH=path)
    assert waited.returncode == 0, waited.stderr + session.result()
    assert session.result().startswith("ready: cloud-init: postgresql ok, redis ok"), session.result()
    url = session.exports("DATABASE_URL")["DATABASE_URL"]
    assert system("psql", url, "--no-psqlrc", "-tAc", "SELECT current_database()").stdout.strip() == "shop"
    assert system("redis-cli", "-u", session.exports("REDIS_URL")["REDIS_URL"], "ping").stdout.strip() == "PONG"


@contextlib.contextmanager
def port_taken(port: int):
    """Another program on 127.0.0.1:PORT: it accepts connections (the kernel completes them)
    and never answers a byte."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen(16)
    try:
        yield
    finally:
        holder.close()


def test_a_port_another_program_holds_gets_a_clear_line(debian_packages, demo, template_repo, tmp_path):
    # A project whose first session finds 6379 taken. (A project whose Redis step is already
    # stamped would count a listener there as its Redis: the engine checks the port, not who holds it.)
    project = generate(template_repo, tmp_path / "project", {
        "project_name": "demo", "services": ["redis"], "background_install": False,
    })
    session = real_session(project, tmp_path / "session")
    system("service", "redis-server", "stop")
    wait_until(lambda: not listening(6379), "Redis to stop")
    with port_taken(6379):
        started = time.monotonic()
        message = hook(session)
        took = time.monotonic() - started
    assert "redis FAILED" in message and "(another program holds port 6379)" in message, message
    assert "They run again at the next session start." in message
    assert took < 60, f"the failing Redis step took {took:.0f}s: a silent listener must not hang it"
    assert not listening(6379)
    # The port is free again: the next session starts Redis.
    message = hook(session)
    assert message.startswith("cloud-init: redis ok"), message + "\n" + session.result()
    assert system("redis-cli", "-h", "127.0.0.1", "ping").stdout.strip() == "PONG"
