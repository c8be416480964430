"""The setup script's plugin commands against the real CLIs: a generated project declares an
offline marketplace (a folder in the repository) with one plugin, and a GitHub marketplace
that cannot be reached. cloud-setup.sh, run as the launcher runs it, adds the one, installs
its plugin, fails cleanly and fast on the other, and a second run is idempotent."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import cli
from helpers import build_file_tree, generate

MARKETPLACE = {
    "plugins/market/.claude-plugin/marketplace.json": json.dumps({
        "name": "local-tools", "owner": {"name": "Test"},
        "plugins": [{"name": "hello", "source": "./plugins/hello", "description": "Says hello"}],
    }),
    "plugins/market/plugins/hello/.claude-plugin/plugin.json": json.dumps(
        {"name": "hello", "version": "1.0.0", "description": "Says hello"}),
    "plugins/market/plugins/hello/skills/greet/SKILL.md": "---\nname: greet\ndescription: Greets the user.\n---\nSay hello.\n",
    "plugins/market/plugins/hello/commands/hello.md": "---\ndescription: Say hello\n---\nSay hello.\n",
}
DECLARED = {
    "extraKnownMarketplaces": {
        "local-tools": {"source": {"source": "directory", "path": "plugins/market"}},
        # No network here: the CLI must fail at once, and the setup script go on.
        "offline": {"source": {"source": "github", "repo": "copier-claude-cloud-test/no-such-marketplace"}},
    },
    "enabledPlugins": {"hello@local-tools": True, "gone@offline": True},
}


@pytest.fixture
def plugin_project(template_repo, tmp_path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    generate(template_repo, project, {"project_name": "demo", "stacks": [], "mcp_servers": []})
    build_file_tree(project, MARKETPLACE)
    settings_file = project / ".claude" / "settings.json"
    settings_file.write_text(json.dumps({**json.loads(settings_file.read_text()), **DECLARED}, indent=2))
    return project


def isolated_env(binary: Path, scratch: Path) -> dict[str, str]:
    """The real CLI first on PATH, a HOME and config folder of the test's own, no telemetry."""
    bin_dir = scratch / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").symlink_to(binary)
    node_dir = str(Path(shutil.which("node") or "/usr/bin/node").parent)
    home = scratch / "home"
    return {
        "PATH": f"{bin_dir}:{node_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CLOUD_SETUP_LOG": str(scratch / "setup.log"),
        "CLAUDE_CLOUD_SETUP_RECORD": str(scratch / "provided"),
    }


def run_setup(project: Path, env: dict[str, str], scratch: Path) -> str:
    """cloud-setup.sh, in the checkout, as the launcher runs it; the lines of this run's log."""
    log = Path(env["CLAUDE_CLOUD_SETUP_LOG"])
    start = log.stat().st_size if log.exists() else 0
    ran = subprocess.run(["bash", ".claude/scripts/cloud-setup.sh"], cwd=project, env=env, capture_output=True,
                         text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    return log.read_text()[start:]


def test_the_setup_script_installs_the_declared_plugins_with_the_real_cli(claude, plugin_project, tmp_path):
    version, binary = claude
    env = isolated_env(binary, tmp_path)
    config = Path(env["CLAUDE_CONFIG_DIR"])
    market = plugin_project / "plugins" / "market"

    started = time.monotonic()
    first = run_setup(plugin_project, env, tmp_path)
    elapsed = time.monotonic() - started
    assert f"ok: marketplace:local-tools (claude plugin marketplace add {market})" in first, first
    assert "ok: plugin:hello@local-tools (claude plugin install hello@local-tools)" in first, first
    assert ("FAILED (exit 1; the next setup run retries it): marketplace:offline "
            "(claude plugin marketplace add copier-claude-cloud-test/no-such-marketplace)") in first, first
    assert "skipped (its marketplace was not added): plugin:gone@offline" in first
    assert ", 1 failed" in first.splitlines()[-1]
    assert elapsed < 60, f"an unreachable marketplace must fail fast; the run took {elapsed:.0f}s"

    # The CLI knows both: the marketplace by its list, the plugin by its own records.
    assert "local-tools" in cli.run(binary, plugin_project, env, "plugin", "marketplace", "list")
    known = json.loads((config / "plugins" / "known_marketplaces.json").read_text())
    assert known["local-tools"]["source"] == {"source": "directory", "path": str(market)}
    assert json.loads((config / "settings.json").read_text())["enabledPlugins"]["hello@local-tools"] is True
    if version.startswith("2.0."):  # no `plugin list`; a folder plugin is read in place
        assert "unknown command 'list'" in cli.run(binary, plugin_project, env, "plugin", "list")
    else:
        assert "hello@local-tools" in cli.run(binary, plugin_project, env, "plugin", "list")
        installed = json.loads((config / "plugins" / "installed_plugins.json").read_text())
        assert installed["plugins"]["hello@local-tools"][0]["scope"] == "user"
    # The repository is not written: the CLI's default scope is the user's.
    assert json.loads((plugin_project / ".claude" / "settings.json").read_text())["enabledPlugins"] == DECLARED["enabledPlugins"]

    # Again: the known marketplace is skipped (CLI 2.0 would exit 1 on it), the install repeats
    # harmlessly, and only the unreachable marketplace fails again.
    second = run_setup(plugin_project, env, tmp_path)
    assert "present: marketplace:local-tools" in second, second
    assert "ok: plugin:hello@local-tools" in second
    assert ", 1 failed" in second.splitlines()[-1]
