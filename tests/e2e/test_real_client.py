"""The real Claude Code CLI loads everything the template generates.

For each pinned CLI version and each answer set: `claude doctor` finds no invalid
settings, and `claude -p` in a simulated cloud session (against a fake Messages API on
loopback, with stub package managers) shows the SessionStart hook's output, the exports
in Bash, every skill, command and agent, and every MCP server.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

import cli
from extensions.mcp import mcp_requirements
from fake_api import FakeAnthropic, Script, request_text, tool_results
from helpers import read_frontmatter
from world import STUB_SERVER

STUB = {"command": sys.executable, "args": [str(STUB_SERVER)]}
# The names a CLI runs under (/proc/PID/comm): 2.1 is one binary, 2.0 runs in node.
CLI_PROGRAMS = {"claude", "node", "MainThread"}


def cli_own_call(callers: str) -> bool:
    """A stub call the CLI made itself: its parent is the CLI, or a shell the CLI started."""
    parent, _, grandparent = callers.partition("<")
    return parent in CLI_PROGRAMS or (parent in ("sh", "bash") and grandparent in CLI_PROGRAMS)
PROBE_VARS = ("PATH", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "FEATURE_FLAG")
PROBE = "; ".join(f"printf 'E2E {name}=%s\\n' \"${{{name}:-}}\"" for name in PROBE_VARS) + (
    '; printf "E2E RESULT=%s\\n" "$(cat .claude/state/result 2>/dev/null)"'
)

E2E_SETS = {
    "python-node-services-starters": (
        {
            "stacks": ["python", "node"], "python_tool": "uv", "node_tool": "npm",
            "services": ["postgresql", "redis"],
            "cli_tools": ["npm:prettier@3.3.3", "apt:jq"],
            "env_vars": {"LOG_LEVEL": "debug", "FEATURE_FLAG": "on"},
            "mcp_servers": ["github", "playwright"],
            "custom_mcp_servers": {
                "stub-tools": STUB,
                "team-docs": {"type": "http", "url": "https://docs.example.com/mcp",
                              "headers": {"Authorization": "Bearer ${TEAM_DOCS_TOKEN}"}},
            },
        },
        {"pyproject.toml": "[tool.ruff]\n", "uv.lock": "", "package.json": "{}", "package-lock.json": "{}"},
    ),
    "go-rust-ruby-catalog-stdio": (
        {
            "stacks": ["go", "rust", "ruby"], "services": ["redis"], "permission_profile": "autonomous",
            "mcp_servers": ["sequential-thinking", "postgres", "context7"],
        },
        {"go.mod": "module example.com/x\n", "Cargo.toml": "", "Cargo.lock": "", "Gemfile": ""},
    ),
    "java-php-cautious-sse": (
        {
            "stacks": ["java", "php"], "java_tool": "gradle", "permission_profile": "cautious",
            "starter_commands": ["check"], "starter_skills": ["cloud-environment"],
            "custom_mcp_servers": {"events": {"type": "sse", "url": "https://events.example.com/sse"}},
        },
        {"build.gradle": "", "composer.json": "{}"},
    ),
    "python-pip-foreground": (
        {"stacks": ["python"], "python_tool": "pip", "background_install": False, "services": ["postgresql"]},
        {"requirements.txt": "", "pyproject.toml": "[tool.ruff]\n"},
    ),
    "defaults": ({}, {}),
}


def expected_exports(world, answers: dict) -> dict[str, list[str]]:
    """Per probed variable, the substrings its value must contain in a Bash command."""
    project, home = world.project, world.home
    stacks = answers.get("stacks", [])
    path_parts = {"python": [f"{project}/.venv/bin"], "node": [f"{project}/node_modules/.bin"],
                  "go": [f"{home}/go/bin"], "rust": [f"{home}/.cargo/bin"], "php": [f"{project}/vendor/bin"]}
    expected = {"PATH": [part for stack in stacks for part in path_parts.get(stack, [])]}
    if "postgresql" in answers.get("services", []):
        expected["DATABASE_URL"] = ["postgresql://postgres:postgres@127.0.0.1:5432/project"]
    if "redis" in answers.get("services", []):
        expected["REDIS_URL"] = ["redis://127.0.0.1:6379/0"]
    for name, value in answers.get("env_vars", {}).items():
        expected[name] = [str(value)]
    return expected


def tool_result_text(requests: list[dict]) -> str:
    """The first tool_result the CLI sent back."""
    return next(iter(tool_results(requests).values()), "")


def probe_values(text: str) -> dict[str, str]:
    return dict(re.findall(r"^E2E ([A-Z_]+)=(.*)$", text, flags=re.MULTILINE))


@pytest.fixture(params=sorted(E2E_SETS))
def world(request, client_world):
    answers, files = E2E_SETS[request.param]
    needs = mcp_requirements(answers.get("mcp_servers", []), answers.get("custom_mcp_servers", {}))
    made = client_world(answers, files, mcp_env={name: f"dummy-{name.lower()}" for name in needs["env"]})
    made.answers = answers
    if answers.get("python_tool") == "pip":  # the venv's python, stubbed like the package managers
        venv_python = made.project / ".venv" / "bin" / "python"
        venv_python.parent.mkdir(parents=True, exist_ok=True)
        venv_python.write_text((made.stubs.bin / "uv").read_text())
        venv_python.chmod(0o755)
    return made


def test_doctor_finds_no_invalid_settings(claude, world):
    version, binary = claude
    with FakeAnthropic(Script()) as api:  # doctor retries an unreachable API for minutes
        report = cli.doctor(binary, world.project, world.env(api.url), version)
    assert re.search(r"diagnostics|claude code doctor", report, flags=re.I), f"doctor did not run:\n{report}"
    assert cli.invalid_settings(report) == "", f"Claude Code {version} rejects:\n{cli.invalid_settings(report)}"


def test_doctor_would_report_a_broken_setting(claude, client_world):
    """The check above can fail: a typo in a hook event is reported by every pinned version."""
    version, binary = claude
    world = client_world({})
    settings_file = world.project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["hooks"]["SessionStrt"] = settings["hooks"].pop("SessionStart")
    settings_file.write_text(json.dumps(settings))
    with FakeAnthropic(Script()) as api:
        report = cli.doctor(binary, world.project, world.env(api.url), version)
    assert "SessionStrt" in cli.invalid_settings(report), f"{version} did not flag the typo:\n{report}"


def test_cloud_session_loads_everything(claude, world):
    version, binary = claude
    written = world.project / "probe_module.py"
    formatter_log = world.scratch / "ruff.log"
    # The PostToolUse proof needs a formatter the test controls: python's ruff.
    hooked = (world.project / ".claude" / "hooks" / "format-on-edit.sh").exists() and "python" in world.answers.get("stacks", [])
    if hooked:
        # The format-on-edit hook finds ruff in the project's venv; this one only logs.
        ruff = world.project / ".venv" / "bin" / "ruff"
        ruff.parent.mkdir(parents=True, exist_ok=True)
        ruff.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "ruff $*" >> "{formatter_log}"\n')
        ruff.chmod(0o755)
    more = [("Write", {"file_path": str(written), "content": "x = 1\n"})] if hooked else []
    script = Script(bash_command=PROBE, more_tools=more)
    with FakeAnthropic(script) as api:
        # Stub installs take a second, so the Bash call lands while they run.
        result = cli.print_mode(binary, world.project, {**world.env(api.url), "STUB_SLEEP": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["is_error"] is False
    main = script.main_requests()
    assert len(main) >= 2, f"expected the tool round trip, got {len(script.requests)} requests"
    first = request_text(main[0])

    # 1. The SessionStart hook ran before the first request, and Claude sees its summary.
    assert "SessionStart hook additional context: cloud-init:" in first
    context = first.split("SessionStart hook additional context: cloud-init:", 1)[1][:400]
    assert "FAILED" not in context
    assert ("in the background" in context) == world.answers.get("background_install", True) or "nothing" in context

    # 2. A Bash command sees what cloud-init exported, and the answers' env vars.
    values = probe_values(tool_result_text(script.requests))
    assert values, f"no probe output in the tool result: {tool_result_text(script.requests)!r}"
    if world.answers.get("stacks") or world.answers.get("services"):
        # The first Bash call, made right after startup, finds the installs finished.
        assert values.get("RESULT", "").startswith("ready: cloud-init:"), values.get("RESULT")
    for name, parts in expected_exports(world, world.answers).items():
        for part in parts:
            assert part in values.get(name, ""), f"{version}: {name}={values.get(name)!r} lacks {part!r}"

    # 3. Every generated skill, command and agent is listed for the model.
    claude_dir = world.project / ".claude"
    listed = [*claude_dir.glob("skills/*/SKILL.md"), *claude_dir.glob("commands/*.md"), *claude_dir.glob("agents/*.md")]
    for path in listed:
        meta, _ = read_frontmatter(path)
        name = meta.get("name") or path.stem
        assert name in first, f"{version} does not list {name}"
        assert meta["description"][:50] in first, f"{version} lists {name} without its description"

    # 4. The PostToolUse hook runs after Claude writes a file.
    if hooked:
        assert written.exists(), f"{version} did not run the Write call"
        assert f"ruff format --quiet -- {written}" in formatter_log.read_text(), f"{version} did not run format-on-edit"

    # 5. Every stdio MCP server started (stubbed) and shows its tool; remote ones are configured.
    mcp_file = world.project / ".mcp.json"
    servers = json.loads(mcp_file.read_text())["mcpServers"] if mcp_file.exists() else {}
    for name, entry in servers.items():
        if entry["type"] == "stdio":
            assert f"mcp__{name}__ping" in first, f"{version}: stdio server {name} shows no tools"
        else:
            shown = cli.run(binary, world.project, world.env(api.url), "mcp", "get", name)
            assert f"Type: {entry['type']}" in shown and f"URL: {entry['url']}" in shown, shown


def test_outside_the_cloud_the_hook_leaves_no_trace(claude, world):
    version, binary = claude
    script = Script()
    callers = world.scratch / "stub-callers.log"
    with FakeAnthropic(script) as api:
        result = cli.print_mode(binary, world.project, {**world.env(api.url, remote=False), "STUB_CALLERS": str(callers)},
                                prompt="hello")
    assert result.returncode == 0, result.stderr
    assert script.main_requests(), "the CLI sent no request"
    assert "cloud-init: " not in request_text(script.main_requests()[0]).replace("cloud-init.sh", "")
    # The CLI may call a package manager itself: with the sandbox on (autonomous), 2.1.332 runs
    # `npm root -g`. Only calls from another program (the hook's scripts) count.
    calls = [line.split("\t", 1) for line in callers.read_text().splitlines()] if callers.exists() else []
    assert [call for caller, call in calls if not cli_own_call(caller)] == [], "a package manager ran outside the cloud"
    assert not (world.project / ".claude" / "logs").exists() and not (world.project / ".claude" / "state").exists()
    assert all(path.is_dir() or path.read_text() == "" for path in world.session_env_files())
