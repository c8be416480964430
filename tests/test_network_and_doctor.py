"""Network and MCP readiness in simulated cloud sessions: the hosts each install needs,
checked through a proxy that refuses some of them as the cloud's does; the JVM's proxy;
a broken apt source; the MCP packages step; and `cloud-init.sh --doctor`."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
import yaml

from extensions import catalogue
from fake_proxy import FakeProxy
from helpers import ROOT, CloudSession, build_file_tree

CONFIG_READER = ROOT / "template" / ".claude" / "scripts" / "cloud-config.py"
_spec = importlib.util.spec_from_file_location("cloud_config", CONFIG_READER)
cloud_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cloud_config)
_spec = importlib.util.spec_from_file_location("hosts_module", ROOT / "extensions" / "hosts.py")
hosts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hosts)


def steps_of(project_dir: Path) -> list[list[str]]:
    text = (project_dir / ".claude" / "scripts" / "cloud-init.steps").read_text()
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


# --- which hosts ------------------------------------------------------------------------

def test_each_install_step_names_the_hosts_it_downloads_from(project):
    project_dir = project({"stacks": ["python", "node"], "python_tool": "uv", "node_tool": "npm",
                           "cli_tools": ["cargo:ripgrep@14.1.0", "apt:jq"]},
                          {"pyproject.toml": "[project]\nname = 'x'\n", "uv.lock": "", "package.json": "{}"})
    host_records = [record[1:] for record in steps_of(project_dir) if record[0] == "host"]
    assert host_records == [["python", "pypi.org"], ["python", "files.pythonhosted.org"],
                            ["node", "registry.npmjs.org"],
                            ["cli-tools", "index.crates.io"], ["cli-tools", "static.crates.io"]]


def test_a_registry_the_repository_declares_replaces_the_default(project):
    files = {
        "requirements.txt": "--index-url https://pypi.corp.example.com/simple\n--extra-index-url https://extra.example.org/simple\nhttpx\n",
        "web/package.json": "{}",
        "web/.npmrc": "registry=https://npm.corp.example.com/\n@acme:registry=https://npm.acme.example.com/\n//npm.corp.example.com/:_authToken=${NPM_TOKEN}\n",
    }
    project_dir = project({"stacks": ["python", "node"]}, files)
    host_records = [record[1:] for record in steps_of(project_dir) if record[0] == "host"]
    assert host_records == [["python", "pypi.corp.example.com"], ["python", "extra.example.org"],
                            ["node:web", "npm.corp.example.com"], ["node:web", "npm.acme.example.com"]]
    # Recorded in the answers, so an update renders the same hosts without reading again.
    answers = (project_dir / ".copier-answers.claude.yml").read_text()
    assert "npm.corp.example.com" in answers


@pytest.mark.parametrize("files, stack, expected", [
    ({"pyproject.toml": "[[tool.uv.index]]\nname='corp'\nurl='https://uv.corp.example.com/simple'\ndefault=true\n"},
     "python", ["uv.corp.example.com"]),
    ({"pyproject.toml": "[[tool.uv.index]]\nname='x'\nurl='https://extra.example.com/simple'\n"},
     "python", ["pypi.org", "files.pythonhosted.org", "extra.example.com"]),
    ({"pyproject.toml": "[[tool.poetry.source]]\nname='x'\nurl='https://poetry.example.com/simple'\n"},
     "python", ["pypi.org", "files.pythonhosted.org", "poetry.example.com"]),
    ({".yarnrc.yml": "npmRegistryServer: \"https://yarn.corp.example.com\"\n"}, "node", ["yarn.corp.example.com"]),
    ({".yarnrc.yml": "npmScopes:\n  acme:\n    npmRegistryServer: https://scoped.example.com\n"},
     "node", ["registry.npmjs.org", "scoped.example.com"]),
    # The Gemfile's top-level source is where every gem comes from: a mirror replaces rubygems.org.
    ({"Gemfile": "source 'https://gems.example.com'\n"}, "ruby", ["gems.example.com"]),
    ({"Gemfile": "source \"https://rubygems.org\"\n\nsource \"https://gems.example.com\" do\n  gem \"pro\"\nend\n"},
     "ruby", ["rubygems.org", "index.rubygems.org", "gems.example.com"]),
    ({"Gemfile": "source 'https://rubygems.org'\ngem 'a', source: 'https://a.example.com'\ngem 'b', :source => 'https://b.example.com'\n"},
     "ruby", ["rubygems.org", "index.rubygems.org", "a.example.com", "b.example.com"]),
    ({".yarnrc.yml": "enableGlobalCache: true\n\nnpmRegistryServer: \"https://registry.npmjs.org\"\n"},
     "node", ["registry.npmjs.org"]),
    ({".npmrc": "registry=https://npm.corp.example.com\n", "package.json": '{"packageManager": "pnpm@9.1.0"}'},
     "node", ["npm.corp.example.com", "registry.npmjs.org"]),  # corepack fetches pnpm from npm
    ({"composer.json": '{"repositories": [{"type": "composer", "url": "https://wpackagist.org"},'
                       ' {"type": "path", "url": "https://not.example.com"}], "funding": [{"url": "https://fund.example.com"}]}'},
     "php", ["repo.packagist.org", "wpackagist.org"]),
    ({"composer.json": '{"repositories": [{"packagist.org": false}, {"type": "composer", "url": "https://satis.example.com"}]}'},
     "php", ["satis.example.com"]),
    ({"composer.json": "not json"}, "php", ["repo.packagist.org"]),
    ({"pom.xml": "<url>https://maven.project.example.com</url><scm><url>https://repo.github.example.com</url></scm>"
                 "<distributionManagement><repository><url>https://deploy.example.com/repo</url></repository>"
                 "</distributionManagement><pluginRepositories><pluginRepository><id>p</id>"
                 "<url>https://plugins.example.com/m2</url></pluginRepository></pluginRepositories>"},
     "java", ["repo.maven.apache.org", "plugins.example.com"]),
    ({"settings.gradle.kts": 'repositories { google(); maven("https://jitpack.io"); maven(url = "https://kts.example.com") }',
      "build.gradle": "repositories { maven { url 'https://groovy.example.com' }; maven { url = uri('https://uri.example.com') } }"},
     "java", ["repo.maven.apache.org", "groovy.example.com", "uri.example.com", "jitpack.io", "kts.example.com",
              "dl.google.com"]),
    ({"pyproject.toml": "[[tool.poetry.source]]\nname='torch'\nurl='https://torch.example.com/whl'\npriority='explicit'\n"},
     "python", ["pypi.org", "files.pythonhosted.org"]),  # explicit, and no dependency names it
    ({"pyproject.toml": "[[tool.poetry.source]]\nname='torch'\nurl='https://torch.example.com/whl'\npriority='explicit'\n"
                        "[tool.poetry.group.gpu.dependencies]\ntorch={version='2.3', source='torch'}\n"},
     "python", ["pypi.org", "files.pythonhosted.org", "torch.example.com"]),
    ({"pyproject.toml": "[[tool.uv.index]]\nname='cu'\nurl='https://cu.example.com/whl'\nexplicit=true\n"},
     "python", ["pypi.org", "files.pythonhosted.org"]),
    ({"pyproject.toml": "[[tool.uv.index]]\nname='cu'\nurl='https://cu.example.com/whl'\nexplicit=true\n"
                        "[tool.uv.sources]\ntorch=[{index='cu', extra='gpu'}]\n"},
     "python", ["pypi.org", "files.pythonhosted.org", "cu.example.com"]),
    ({"pom.xml": "<url>https://project.example.com</url><repository><url>https://repo.corp.example.com/maven2</url></repository>"},
     "java", ["repo.maven.apache.org", "repo.corp.example.com"]),
    # Not hosts: variables, local and file URLs, garbage. A registry replaced by a variable
    # is one no check can name: nothing is checked rather than the default that is not used.
    ({".npmrc": "registry=${REGISTRY}\n"}, "node", []),
    ({"requirements.txt": "--extra-index-url file:///srv/wheels\n--extra-index-url http://localhost:8080/\n"},
     "python", ["pypi.org", "files.pythonhosted.org"]),
    ({"pyproject.toml": "not toml ["}, "python", ["pypi.org", "files.pythonhosted.org"]),
])
def test_declared_registries(tmp_path, files, stack, expected):
    build_file_tree(tmp_path, files)
    defaults = {"python": ["pypi.org", "files.pythonhosted.org"], "node": ["registry.npmjs.org"],
                "ruby": ["rubygems.org", "index.rubygems.org"], "java": ["repo.maven.apache.org"],
                "php": ["repo.packagist.org"]}[stack]
    assert hosts.install_hosts(tmp_path, ".", stack, defaults) == expected


REAL_REGISTRIES = Path(__file__).parent / "fixtures" / "real-registries"


@pytest.mark.parametrize("case", yaml.safe_load((REAL_REGISTRIES / "cases.yml").read_text()),
                         ids=lambda case: f"{case['repo']}:{case.get('folder', '.')}")
def test_the_hosts_of_real_repositories(case):
    """Registries as real repositories declare them (Maven with homepage, SCM and deploy URLs,
    Gradle's Kotlin forms and google(), Gemfile blocks and `source:`, Composer, explicit Poetry
    and uv indexes, corepack), against the hosts their installs use, read by hand."""
    root = REAL_REGISTRIES / case["repo"].replace("/", "+")
    tool_hosts = list(catalogue.stacks()[case["stack"]]["tools"][case["tool"]]["hosts"])
    assert hosts.install_hosts(root, case.get("folder", "."), case["stack"], tool_hosts) == case["hosts"]


def test_the_vendored_allowlist_is_the_refreshed_one():
    allowlist = hosts.default_allowlist()
    header = [line for line in hosts.ALLOWLIST.read_text().splitlines() if line.startswith("#")]
    assert any("code.claude.com/docs/en/cloud-environments" in line for line in header)
    assert any("Retrieved 2026-11-30" in line for line in header)
    for added in ("jsr.io", "maven.google.com", "plugins-artifacts.gradle.org", "*.r2.cloudflarestorage.com"):
        assert added in allowlist
    for dropped in ("statsig.anthropic.com", "sentry.io", "*.sentry.io"):
        assert dropped not in allowlist
    assert hosts.allowed_by_default("registry.npmjs.org") and hosts.allowed_by_default("x.r2.cloudflarestorage.com")
    assert not hosts.allowed_by_default("npm.corp.example.com")


# --- the checks in a session -------------------------------------------------------------

def test_a_refused_host_fails_its_step_at_once_with_one_line_naming_it(project, tmp_path):
    project_dir = project({"stacks": ["python", "node"], "python_tool": "uv", "node_tool": "npm"},
                          {"pyproject.toml": "", "uv.lock": "", "package.json": "{}", "package-lock.json": "{}"})
    session = CloudSession(project_dir, tmp_path / "session")
    with FakeProxy(refused={"pypi.org"}) as proxy:
        session.run(**proxy.environment())
        waited = session.run("--wait", **proxy.environment())  # as a Bash command does
    result = session.result()
    assert result.startswith("failed:")
    assert ("python BLOCKED: the cloud proxy refuses pypi.org (host_not_allowed): allow it in the environment's "
            "settings, Network access: Custom, with pypi.org among the allowed domains") in result
    assert "node ok" in result
    calls = session.calls()
    assert not any(call.startswith("uv ") for call in calls), calls  # no install to time out
    assert "npm ci --prefer-offline --no-audit --no-fund" in calls
    assert sorted(set(proxy.requests)) == ["files.pythonhosted.org", "pypi.org", "registry.npmjs.org"]
    # The first Bash command is told.
    assert "python BLOCKED: the cloud proxy refuses pypi.org" in waited.stderr and waited.returncode == 1


@pytest.mark.parametrize("team_records, probed, node", [
    # The team's registry replaces the catalogue's guess: npmjs is refused here, and unused.
    (["host\tnode\tnpm.corp.example.com"], ["npm.corp.example.com"], "node ok"),
    (["host\tnode\tnone"], [], "node ok"),
    # Replaced, not added to: the team's second record adds to its first.
    (["host\tnode\tnpm.corp.example.com", "host\tnode\tregistry.npmjs.org"],
     ["npm.corp.example.com", "registry.npmjs.org"], "node BLOCKED"),
])
def test_a_teams_host_records_replace_the_hosts_the_template_guessed(project, tmp_path, team_records, probed, node):
    """Repositories copied before 0.9.0 (or with a registry the reader cannot see) get the
    catalogue's hosts; a team's steps file names the real ones, and no update touches it."""
    project_dir = project({"stacks": ["node"], "node_tool": "npm"}, {"package.json": "{}", "package-lock.json": "{}"})
    team = project_dir / ".claude/scripts/cloud-init.d"
    team.mkdir(parents=True, exist_ok=True)
    (team / "registry.steps").write_text("\n".join(team_records) + "\n")
    session = CloudSession(project_dir, tmp_path / "session")
    with FakeProxy(refused={"registry.npmjs.org"}) as proxy:
        session.run(**proxy.environment())
        session.run("--wait", **proxy.environment())
    assert node in session.result()
    assert sorted(set(proxy.requests)) == probed
    assert "ignored" not in session.run("--status").stdout


def test_without_a_proxy_nothing_is_probed(project, tmp_path):
    project_dir = project({"stacks": ["node"], "node_tool": "npm"}, {"package.json": "{}", "package-lock.json": "{}"})
    session = CloudSession(project_dir, tmp_path / "session")
    session.start()
    assert session.result().startswith("ready:")
    assert "curl" not in (project_dir / ".claude" / "logs" / "cloud-init.log").read_text()


def test_doctor_names_a_refused_host_and_a_missing_variable(project, tmp_path):
    """Must show: `--doctor` names a blocked host and a missing ${VAR}, in a simulated session."""
    project_dir = project({"stacks": ["node"], "node_tool": "npm", "mcp_servers": ["sequential-thinking"],
                           "custom_mcp_servers": {
                               "tracker": {"type": "http", "url": "https://mcp.tracker.example.com/mcp",
                                           "headers": {"Authorization": "Bearer ${TRACKER_TOKEN}"}},
                               "notes": {"type": "http", "url": "https://notes.example.org/mcp"}}},
                          {"package.json": "{}", "package-lock.json": "{}"})
    session = CloudSession(project_dir, tmp_path / "session")
    npx = session.bin / "npx"  # the stub fetches; --offline finds the package once fetched
    npx.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "npx $*" >>"$STUB_LOG"\n'
                   'if [ "$1" = --offline ]; then [ -f "$STUB_ROOT/npx-cache" ]; else : >"$STUB_ROOT/npx-cache"; fi\n')
    npx.chmod(0o755)
    with FakeProxy(refused={"mcp.tracker.example.com"}) as proxy:
        env = proxy.environment()
        session.start(**env)
        doctor = session.run("--doctor", **env)
    lines = doctor.stdout.splitlines()
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "step node: done" in lines and "step mcp-packages: done" in lines
    assert ("host mcp.tracker.example.com: REFUSED: the cloud proxy refuses mcp.tracker.example.com "
            "(host_not_allowed): allow it in the environment's settings, Network access: Custom, with "
            "mcp.tracker.example.com among the allowed domains (needed by MCP server tracker)") in lines
    assert "host registry.npmjs.org: reachable (needed by node, MCP server sequential-thinking (npx))" in lines
    assert "host notes.example.org: reachable (needed by MCP server notes)" in lines
    assert "mcp sequential-thinking: stdio npx: ready (package cached)" in lines
    assert "mcp notes: http https://notes.example.org/mcp: ready (reachable)" in lines
    assert "mcp tracker: http https://mcp.tracker.example.com/mcp: NOT READY: mcp.tracker.example.com refused" in lines
    assert ("var TRACKER_TOKEN: MISSING: referenced by .mcp.json server tracker; set it in the cloud "
            "environment's environment variables") in lines
    assert lines[-1] == "doctor: 3 to fix"

    # With the host allowed and the variable set, the same session is all clear.
    with FakeProxy(refused=set()) as proxy:
        clear = session.run("--doctor", TRACKER_TOKEN="set-in-the-environment", **proxy.environment())
    assert clear.returncode == 0, clear.stdout
    assert clear.stdout.splitlines()[-1] == "doctor: all clear"
    assert "var TRACKER_TOKEN: set" in clear.stdout and "set-in-the-environment" not in clear.stdout


def test_doctor_runs_outside_the_cloud_too(project, tmp_path):
    project_dir = project({"custom_mcp_servers": {"local": {"command": "definitely-not-installed-mcp", "args": []}}})
    session = CloudSession(project_dir, tmp_path / "session")
    doctor = session.run("--doctor", remote=False)
    assert "mcp local: stdio: NOT READY: definitely-not-installed-mcp is not on PATH" in doctor.stdout
    assert doctor.returncode == 1


def test_the_mcp_packages_step_fetches_what_is_not_cached_and_reruns_when_mcp_json_changes(project, tmp_path):
    project_dir = project({"mcp_servers": ["sequential-thinking"]})
    session = CloudSession(project_dir, tmp_path / "session")
    npx = session.bin / "npx"
    npx.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "npx $*" >>"$STUB_LOG"\n[ "$1" != --offline ]\n')
    npx.chmod(0o755)
    session.start()
    fetches = [call for call in session.calls() if call.startswith("npx --yes")]
    assert fetches == ["npx --yes --package=@modelcontextprotocol/server-sequential-thinking@2026.8.31 -- true"]
    session.start()
    assert len([call for call in session.calls() if call.startswith("npx --yes")]) == 1  # stamped
    mcp_json = project_dir / ".mcp.json"
    document = json.loads(mcp_json.read_text())
    document["mcpServers"]["more"] = {"command": "npx", "args": ["-y", "some-mcp@1.0.0"]}
    mcp_json.write_text(json.dumps(document))
    session.start()
    assert "npx --yes --package=some-mcp@1.0.0 -- true" in session.calls()


# --- the JVM's proxy, and apt -----------------------------------------------------------

def test_maven_and_gradle_get_the_session_proxy_outside_the_repository(project, tmp_path):
    project_dir = project({"stacks": ["java"], "java_tool": "maven"}, {"pom.xml": "<project/>"})
    session = CloudSession(project_dir, tmp_path / "session")
    proxy = {"HTTPS_PROXY": "http://agent:p%40ss%26word@proxy.internal:15004", "NO_PROXY": "localhost,127.0.0.1,.googleapis.com"}
    session.start(**proxy)
    options = session.exports("JAVA_TOOL_OPTIONS")["JAVA_TOOL_OPTIONS"]
    assert options == ("-Dhttps.proxyHost=proxy.internal -Dhttps.proxyPort=15004 -Dhttp.proxyHost=proxy.internal "
                       "-Dhttp.proxyPort=15004 -Dhttp.nonProxyHosts=localhost|127.0.0.1|*.googleapis.com")
    assert "p@ss" not in session.env_file.read_text()  # a JVM prints JAVA_TOOL_OPTIONS
    settings = (session.home / ".m2" / "settings.xml").read_text()
    assert "<host>proxy.internal</host><port>15004</port><username>agent</username><password>p@ss&amp;word</password>" in settings
    assert oct((session.home / ".m2" / "settings.xml").stat().st_mode & 0o777) == "0o600"
    gradle = (session.home / ".gradle" / "gradle.properties").read_text()
    assert "systemProp.https.proxyUser=agent\nsystemProp.https.proxyPassword=p@ss&word" in gradle
    assert oct((session.home / ".gradle" / "gradle.properties").stat().st_mode & 0o777) == "0o600"
    assert not list(project_dir.rglob("settings.xml")) and not list(project_dir.rglob("gradle.properties"))


def test_a_jvm_proxy_the_session_already_has_and_a_team_maven_settings_are_kept(project, tmp_path):
    project_dir = project({"stacks": ["java"], "java_tool": "gradle"}, {"build.gradle": ""})
    session = CloudSession(project_dir, tmp_path / "session")
    own = session.home / ".m2" / "settings.xml"
    own.parent.mkdir(parents=True)
    own.write_text("<settings><mirrors/></settings>")
    session.start(HTTPS_PROXY="http://proxy.internal:3128", JAVA_TOOL_OPTIONS="-Dhttps.proxyHost=given -Dhttps.proxyPort=1")
    assert own.read_text() == "<settings><mirrors/></settings>"
    assert "JAVA_TOOL_OPTIONS" not in session.env_file.read_text()


def test_one_broken_apt_source_does_not_stop_the_apt_installs(project, tmp_path):
    project_dir = project({"cli_tools": ["apt:jq", "apt:ripgrep"]})
    session = CloudSession(project_dir, tmp_path / "session")
    apt = session.bin / "apt-get"
    apt.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "apt-get $*" >>"$STUB_LOG"\n'
                   'if [ "$1" = update ]; then echo "E: The repository \'https://ppa.example.org noble Release\' '
                   'does not have a Release file." >&2; exit 100; fi\n')
    apt.chmod(0o755)
    session.start()
    calls = session.calls()
    assert calls.count("apt-get update -qq") == 1
    assert "apt-get install -y -qq --no-install-recommends jq" in calls
    assert "apt-get install -y -qq --no-install-recommends ripgrep" in calls
    assert session.result().startswith("ready:")
    log = (project_dir / ".claude" / "logs" / "cloud-init.log").read_text()
    assert "apt-get update failed (exit 100; a package source may be broken)" in log


# --- cloud-config.py ---------------------------------------------------------------------

def records(project_dir: Path) -> list[list[str]]:
    cloud_config.records.clear()
    cloud_config.mcp_records(cloud_config.load(project_dir / ".mcp.json", ".mcp.json"))
    cloud_config.settings_records(cloud_config.load(project_dir / ".claude" / "settings.json", "settings"))
    return [list(record) for record in cloud_config.records]


def test_config_records(tmp_path):
    build_file_tree(tmp_path, {".mcp.json": json.dumps({"mcpServers": {
        "gh": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"],
               "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"}},
        "pg": {"command": "uvx", "args": ["--python", "3.12", "postgres-mcp@0.3.0", "--access-mode=restricted"],
               "env": {"DATABASE_URI": "${DATABASE_URI:-postgresql://localhost/app}"}},
        "srv": {"command": "uvx", "args": ["--from", "mcp-server-x==1.2", "mcp-server-x", "--root", "${CLAUDE_PROJECT_DIR:-.}"]},
        "path": {"command": "npx", "args": ["-y", "file:../../evil"]},
        "git": {"command": "uvx", "args": ["--from", "git+https://example.com/x.git", "x"]},
        "docker": {"command": "docker", "args": ["run", "-i", "image"]},
        "tab": {"command": "node\tevil"},
        "bad": "not an object",
    }}), ".claude/settings.json": json.dumps({
        "env": {"DEFINED": "1"},
        "statusLine": {"type": "command", "command": "echo ${DEFINED} ${UNDEFINED} ${CLAUDE_PROJECT_DIR}"},
        "extraKnownMarketplaces": {"acme": {"source": {"source": "github", "repo": "acme/plugins"}},
                                   "corp": {"source": {"source": "git", "url": "git@git.corp.example.com:t/p.git"}},
                                   "broken": {"source": {"source": "unknown"}}},
        "enabledPlugins": {"fmt@acme": True, "off@acme": False}})})
    got = records(tmp_path)
    assert ["fetch", "gh", "npx", "--yes", "--package=@modelcontextprotocol/server-github@2025.4.8", "--", "true"] in got
    assert ["cached", "gh", "npx", "--offline", "--yes", "--package=@modelcontextprotocol/server-github@2025.4.8", "--", "true"] in got
    assert ["fetch", "pg", "uvx", "--python", "3.12", "--from", "postgres-mcp==0.3.0", "python", "-c", "pass"] in got
    assert ["fetch", "srv", "uvx", "--from", "mcp-server-x==1.2", "python", "-c", "pass"] in got
    assert ["unfetched", "path", "'file:../../evil' is not a registry package"] in got
    assert ["unfetched", "git", "'git+https://example.com/x.git' is not a registry package"] in got
    assert ["unfetched", "docker", "docker is not npx or uvx"] in got
    assert not any("evil" in field for record in got if record[0] == "mcp" for field in record)
    assert any(record[0] == "problem" and "control character" in record[1] for record in got)
    assert any(record[0] == "problem" and "'bad'" in record[1] for record in got)
    variables = [record[1] for record in got if record[0] == "var"]
    assert variables == ["GITHUB_TOKEN", "UNDEFINED"]  # defaults, env-defined and Claude's own left out
    assert ["marketplace", "acme", "acme/plugins"] in got and ["host", "github.com", "plugin marketplace acme"] in got
    assert ["host", "git.corp.example.com", "plugin marketplace corp"] in got
    assert ["plugin", "fmt@acme"] in got and ["plugin", "off@acme"] not in got
    assert any(record[0] == "problem" and "broken" in record[1] for record in got)


def test_config_reader_survives_unreadable_files(tmp_path):
    (tmp_path / ".mcp.json").write_text("{ not json")
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text("[]")
    got = records(tmp_path)
    assert [record[0] for record in got] == ["problem", "problem"]


# --- hostile configuration (an attacker's review, 0.9.0) ---------------------------------

def test_a_hostile_mcp_url_host_runs_nothing_in_the_doctor(project, tmp_path):
    project_dir = project({"custom_mcp_servers": {"ok": {"type": "http", "url": "https://ok.example.com/mcp"}}})
    mcp_json = project_dir / ".mcp.json"
    document = json.loads(mcp_json.read_text())
    document["mcpServers"]["h"] = {"type": "http", "url": "https://`touch PWNED`.example/mcp"}
    document["mcpServers"]["s"] = {"type": "http", "url": "https://$(touch PWNED2).example/mcp"}
    mcp_json.write_text(json.dumps(document))
    session = CloudSession(project_dir, tmp_path / "session")
    with FakeProxy(refused=set()) as proxy:
        doctor = session.run("--doctor", **proxy.environment())
    assert not (project_dir / "PWNED").exists() and not (project_dir / "pwned").exists()
    assert not (project_dir / "PWNED2").exists() and not (project_dir / "pwned2").exists()
    assert "`touch" not in "".join(proxy.requests) and "host ok.example.com: reachable" in doctor.stdout
    assert "mcp h: http https://`touch PWNED`.example/mcp: NOT READY: its URL's host is not a plain host name" in doctor.stdout
    # `$(` is not a ${VAR} that Claude Code fills in: a host nothing can reach, not a template.
    assert "mcp s: http https://$(touch PWNED2).example/mcp: NOT READY: its URL's host is not a plain host name" in doctor.stdout


@pytest.mark.parametrize("url, target", [
    ("https://mcp.example.com/mcp", "mcp.example.com"),
    ("https://MCP.Example.com:8443/mcp?x=1", "mcp.example.com"),
    ("https://user:${TOKEN}@mcp.example.com/mcp", "-templated"),  # Claude Code fills it in: no probe
    ("https://${MCP_HOST}/mcp", "-templated"),
    ("https://mcp-${REGION}.example.com/mcp", "-templated"),
    ("${MCP_URL}", "-templated"),
    ("https://${HOST:-mcp.example.com}/mcp", "-templated"),
    ("http://localhost:3000/mcp", "-local"),
    ("http://127.0.0.1:3000/mcp", "-local"),
    ("http://[::1]:3000/mcp", "-local"),
    ("mcp.example.com/mcp", "-no-host"),
    ("https:///mcp", "-no-host"),
    ("https://`touch x`.example/mcp", "-not-plain"),
    ("https://$(touch x).example/mcp", "-not-plain"),
    ("https://a b.example/mcp", "-not-plain"),
    ("https://-rf.example/mcp", "-not-plain"),
    ("https://[not-an-ip/mcp", "-not-plain"),
    ("https://xn--nxasmq6b.example/mcp", "xn--nxasmq6b.example"),
    ("https://ex\u0430mple.com/mcp", "-not-plain"),  # a Cyrillic a: not a plain host
])
def test_the_reader_says_what_an_http_servers_host_is(url, target):
    assert cloud_config.url_target(url) == target
    assert cloud_config.url_host(url) == ("" if target.startswith("-") else target)


def test_the_doctor_reads_the_readers_verdict_on_each_url(project, tmp_path):
    project_dir = project({})
    (project_dir / ".mcp.json").write_text(json.dumps({"mcpServers": {
        "templated": {"type": "http", "url": "https://${MCP_HOST}/mcp"},
        "local": {"type": "http", "url": "http://localhost:3000/mcp"},
        "hostless": {"type": "http", "url": "mcp.example.com/mcp"},
        "refused": {"type": "http", "url": "https://blocked.example.com/mcp"},
    }}))
    session = CloudSession(project_dir, tmp_path / "session")
    with FakeProxy(refused={"blocked.example.com"}) as proxy:
        doctor = session.run("--doctor", MCP_HOST="mcp.example.com", **proxy.environment())
    lines = doctor.stdout.splitlines()
    assert "mcp templated: http https://${MCP_HOST}/mcp: ready (its host comes from a ${VAR}, not probed)" in lines
    assert "mcp local: http http://localhost:3000/mcp: ready (a local URL, not probed)" in lines
    assert "mcp hostless: http mcp.example.com/mcp: NOT READY: its URL has no host" in lines
    assert any(line.startswith("mcp refused: http https://blocked.example.com/mcp: NOT READY: blocked.example.com refused")
               for line in lines), doctor.stdout
    assert doctor.returncode == 1


@pytest.mark.parametrize("args, why", [
    (["--python", "./evil.sh", "mcp-foo"], "--python './evil.sh' is not a Python version"),
    (["--with", "./localpkg", "mcp-foo"], "--with './localpkg' is not a registry package"),
    (["--with=git+https://example.com/x.git", "mcp-foo"], "is not a registry package"),
    (["--index-url", "http://evil.example/simple", "mcp-foo"], "it uses --index-url"),
    (["--from", "./local", "x"], "is not a registry package"),
])
def test_uvx_options_that_reach_local_files_or_other_indexes_are_not_fetched(tmp_path, args, why):
    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": {"u": {"command": "uvx", "args": args}}}))
    got = records(tmp_path)
    assert not [record for record in got if record[0] in ("fetch", "cached")], got
    assert any(record[0] == "unfetched" and why in record[2] for record in got), got


def test_names_and_sources_that_would_read_as_options_never_reach_the_cli(tmp_path):
    build_file_tree(tmp_path, {".mcp.json": json.dumps({"mcpServers": {
        "": {"command": "npx", "args": ["-y", "x"]}, "-x": {"command": "npx", "args": ["-y", "x"]},
        "t": {"type": [], "url": "x"}}}),
        ".claude/settings.json": json.dumps({
            "extraKnownMarketplaces": {"a": {"source": {"source": "github", "repo": "--help"}},
                                       "b": {"source": {"source": {"x": 1}}},
                                       "-d": {"source": {"source": "github", "repo": "o/r"}}},
            "enabledPlugins": {"--scope=project": True, "ok@a": True}})})
    got = records(tmp_path)
    assert [record for record in got if record[0] in ("mcp", "marketplace", "fetch")] == []
    assert [record for record in got if record[0] == "plugin"] == [["plugin", "ok@a"]]
    assert all(not field.startswith("-") for record in got if record[0] != "problem" for field in record[1:])


def test_a_config_the_reader_cannot_read_is_a_doctor_finding_not_all_clear(project, tmp_path):
    project_dir = project({"mcp_servers": ["sequential-thinking"]})
    (project_dir / ".mcp.json").write_text("[" * 100000)
    session = CloudSession(project_dir, tmp_path / "session")
    doctor = session.run("--doctor")
    assert doctor.returncode == 1 and "doctor: all clear" not in doctor.stdout
    assert "config: .mcp.json cannot be read" in doctor.stdout


def test_the_doctor_speaks_when_there_is_nothing_to_install(project, tmp_path):
    project_dir = project({})
    (project_dir / ".mcp.json").unlink(missing_ok=True)
    (project_dir / ".claude" / "scripts" / "cloud-init.steps").write_text("# nothing\n")
    doctor = CloudSession(project_dir, tmp_path / "session").run("--doctor")
    assert doctor.stdout.splitlines()[-1] == "doctor: all clear", doctor.stdout


def test_hostile_proxy_values_never_add_to_the_jvm_files(project, tmp_path):
    project_dir = project({"stacks": ["java"], "java_tool": "gradle"}, {"build.gradle": ""})
    session = CloudSession(project_dir, tmp_path / "session")
    hostile = {"HTTPS_PROXY": "http://us%0aorg.gradle.jvmargs%3d-javaagent%3aevil.jar:pw@proxy.internal:3128",
               "NO_PROXY": "localhost,</nonProxyHosts></proxy></proxies><mirrors><mirror><url>https://evil.example/m2</url>"}
    session.start(**hostile)
    settings = (session.home / ".m2" / "settings.xml").read_text()
    assert "<mirror>" not in settings and "evil.example" not in settings and "<username>" not in settings
    assert not (session.home / ".gradle" / "gradle.properties").exists()
    # The doctor reads; it writes neither file.
    (session.home / ".m2" / "settings.xml").unlink()
    session.run("--doctor", HTTPS_PROXY="http://proxy.internal:3128")
    assert not (session.home / ".m2" / "settings.xml").exists()
