"""Issue "Bring your own setup", end to end with the real CLI.

A person's home holds a skill, a command, an agent, a hook script, a plugin with its
marketplace, and two user MCP servers (plus a local-scope one) with literal tokens. The
copy imports all of it. Then, in a simulated cloud environment: the setup script installs
the plugin with the real CLI and fetches the MCP packages; the session bootstrap runs; the
engine's doctor is clean once the environment defines the variables the copy named; the real
CLI accepts the settings (`claude doctor`), lists the imported skill, command and agent and the
plugin's skill, starts the stdio servers, and runs the imported hook (its command rewritten to
"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh). No token is anywhere in
the project, before or after the session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

import cli
from fake_api import FakeAnthropic, Script, request_text
from fake_proxy import FakeProxy
from git_server import GitServer
from helpers import ANSWERS_FILE
from test_real_plugins import MARKETPLACE
from user_home import assert_no_token, make_home, use_home

EVERYTHING = ["skills", "commands", "agents", "hooks", "mcp_servers", "plugins", "permissions"]


def test_a_personal_setup_imports_into_a_project_the_real_cli_accepts(claude, client_world, tmp_path, monkeypatch):
    version, binary = claude
    person = tmp_path / "person"
    use_home(monkeypatch, person)
    make_home(person, tmp_path / "project")
    # The person's plugin comes from a GitHub marketplace; a loopback git server stands in.
    user_settings = person / ".claude" / "settings.json"
    settings = json.loads(user_settings.read_text())
    settings["extraKnownMarketplaces"] = {"local-tools": {"source": {"source": "github", "repo": "team/claude-plugins"}}}
    settings["enabledPlugins"] = {"hello@local-tools": True}
    user_settings.write_text(json.dumps(settings))
    github = GitServer(tmp_path / "git")
    (tmp_path / "git").mkdir()
    github.publish("team/claude-plugins.git", {path.removeprefix("plugins/market/"): text for path, text in MARKETPLACE.items()})

    world = client_world({"project_name": "demo", "import_user_config": EVERYTHING})
    project = world.project
    assert_no_token(project)
    record = yaml.safe_load((project / ANSWERS_FILE).read_text())["imported_user_config"]
    variables = record["variables"]
    assert len(variables) >= 4, record  # the two user servers' tokens, and the local one's
    mcp = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert {"tracker", "chat", "gitlab"} <= set(mcp)

    # The environment's setup script: the real CLI installs the plugin into the cloud home.
    github.stand_in_for_github(world.home)
    (world.scratch / "cli").mkdir()
    (world.scratch / "cli" / "claude").symlink_to(binary)
    env = {**world.env(), "STUB_PYTHON": sys.executable}  # the python3 stub runs cloud-config.py for real
    env["PATH"] = f"{world.scratch / 'cli'}:{env['PATH']}"
    with github:
        setup = subprocess.run(["bash", ".claude/scripts/cloud-setup.sh"], cwd=project, capture_output=True, text=True,
                               timeout=300, env={**env, "CLAUDE_CLOUD_SETUP_LOG": str(tmp_path / "setup.log"),
                                                 "CLAUDE_CLOUD_SETUP_RECORD": str(tmp_path / "provided")})
    log = (tmp_path / "setup.log").read_text()
    assert setup.returncode == 0 and "ok: plugin:hello@local-tools" in log, log
    assert "ok: mcp:tracker" in log and "ok: mcp:gitlab" in log, log

    # A session: the variables defined in the environment, a proxy that allows every host.
    defined = {name: f"value-of-{name.lower()}" for name in variables}
    with FakeProxy(refused=set()) as proxy:
        session_env = {**proxy.environment(), **defined}
        world.stubs.start(**session_env)
        doctor = world.stubs.run("--doctor", **session_env)
    assert doctor.stdout.splitlines()[-1] == "doctor: all clear", doctor.stdout + doctor.stderr
    for name in variables:
        assert f"var {name}: set" in doctor.stdout
    assert "mcp chat: http" in doctor.stdout and "ready (reachable)" in doctor.stdout

    client_env = {**world.env(), **defined, "STUB_PYTHON": sys.executable}
    client_env["PATH"] = env["PATH"]
    report = cli.doctor(binary, project, client_env, version)
    assert cli.invalid_settings(report) == "", report

    script = Script(bash_command="echo imported")
    with FakeAnthropic(script) as api:
        result = cli.print_mode(binary, project, {**client_env, "ANTHROPIC_BASE_URL": api.url})
    assert result.returncode == 0, result.stderr
    first = request_text(script.main_requests()[0])
    for name, description in (("release-notes", "Write release notes from the git log."),  # a skill
                              ("component", "Scaffold a component"),  # a command, from a subfolder
                              ("reviewer", "Reviews diffs for bugs."),  # an agent
                              ("greet", "Greets the user.")):  # the plugin's skill
        assert name in first and description in first, f"{version} does not list {name}"
    for name in ("tracker", "gitlab"):  # the stdio servers started (stubbed) with the variables
        assert f"mcp__{name}__ping" in first, f"{version}: imported server {name} shows no tools"
    hook_log = project / ".claude" / "imported-hook.log"
    assert hook_log.exists() and "hook ran: stop" in hook_log.read_text()
    assert_no_token(project)
    for value in defined.values():  # nor the environment's values
        assert not any(value in path.read_text(errors="replace") for path in project.rglob("*")
                       if path.is_file() and ".git" not in path.parts)
