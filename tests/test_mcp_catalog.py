"""The built-in MCP catalog: real entry shapes, secrets as references, needs recorded."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import urlparse

import pytest
import yaml

from extensions.mcp import VAR_REFERENCE, mcp_catalog, mcp_choices
from helpers import ROOT, STUB_SCRIPT, CloudSession, generate

CATALOG = mcp_catalog()
COPIER_YML = yaml.safe_load((ROOT / "copier.yml").read_text())


def referenced_vars(entry: dict) -> set[str]:
    text = yaml.safe_dump(entry)
    return {match.group(1) for match in VAR_REFERENCE.finditer(text)}


STDIO = sorted(server_id for server_id, item in CATALOG.items() if item["entry"].get("type") == "stdio")
REMOTE = sorted(set(CATALOG) - set(STDIO))
TOKEN = sorted(server_id for server_id, item in CATALOG.items() if item.get("auth") == "token")


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_id_is_lowercase_words_joined_by_hyphens(server_id):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", server_id)


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_item_has_every_field(server_id):
    item = CATALOG[server_id]
    assert {"title", "description", "source", "auth", "env", "hosts", "allowed_by_default", "entry"} <= set(item)


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_source_is_https(server_id):
    assert CATALOG[server_id]["source"].startswith("https://")


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_auth_is_token_oauth_or_none(server_id):
    assert CATALOG[server_id]["auth"] in ("token", "oauth", "none")


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_entry_type_is_http_sse_or_stdio(server_id):
    assert CATALOG[server_id]["entry"]["type"] in ("http", "sse", "stdio")


# An exact version: npm's semver (prerelease allowed), or a PEP 440 release for uvx.
NPM_EXACT = re.compile(r"(@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*@\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?")
PYPI_EXACT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?(@|==)\d+(\.\d+)*")
# uvx options that take a value (`--python 3.12`), and those whose value is a package.
UVX_VALUE_OPTIONS = {"--python", "-p", "--index", "--default-index", "--index-url", "--extra-index-url"}
UVX_PACKAGE_OPTIONS = {"--from", "--with", "-w"}
NPX_PACKAGE_OPTIONS = {"--package", "-p"}


def split_stdio(entry: dict) -> tuple[list[str], list[str], list[str]]:
    """(runner options, package arguments, server arguments) of an npx or uvx entry, the way
    npx and uvx read them: options before the first positional, whose value may be a package;
    the first positional is the package to run; what follows goes to the server."""
    args = list(entry["args"])
    options, packages = [], []
    value_options = NPX_PACKAGE_OPTIONS if entry["command"] == "npx" else UVX_VALUE_OPTIONS | UVX_PACKAGE_OPTIONS
    package_options = NPX_PACKAGE_OPTIONS if entry["command"] == "npx" else UVX_PACKAGE_OPTIONS
    while args and args[0].startswith("-"):
        arg = args.pop(0)
        name, _, value = arg.partition("=")
        if name in value_options and not value:
            value = args.pop(0)
            options += [arg, value]
        else:
            options.append(arg)
        if name in package_options:
            packages.append(value)
    packages.append(args.pop(0))
    return options, packages, args


def expected_prefetch(entry: dict) -> list[str]:
    """The command that fetches the entry's packages into the cache the entry runs from,
    starting no server: npx keys its cache on the package list, uvx on the environment."""
    options, packages, _ = split_stdio(entry)
    if entry["command"] == "npx":
        return ["npx", "--yes", *(f"--package={package}" for package in packages), "--", "true"]
    runner = [arg for i, arg in enumerate(options)
              if arg.partition("=")[0] not in UVX_PACKAGE_OPTIONS and (i == 0 or options[i - 1] not in UVX_PACKAGE_OPTIONS)]
    withs = [f"--with={package}" for package in packages[:-1]]
    return ["uvx", *runner, *withs, "--from", packages[-1], "python", "-c", "pass"]


@pytest.mark.parametrize("server_id", STDIO)
def test_a_stdio_entry_runs_a_pinned_package(server_id):
    entry = CATALOG[server_id]["entry"]
    assert "url" not in entry and entry["command"] in ("npx", "uvx")
    # Pinned: every package argument (the one run, and any --package/--from/--with) has an
    # exact version, never @latest or a range.
    exact = NPM_EXACT if entry["command"] == "npx" else PYPI_EXACT
    options, packages, server_args = split_stdio(entry)
    assert packages, entry["args"]
    for package in packages:
        assert exact.fullmatch(package), f"{server_id}: {package!r} is not pinned to an exact version"
    if entry["command"] == "npx":
        assert options[:1] in (["-y"], ["--yes"]), "npx must not stop to ask before installing"
    for arg in server_args:
        assert not exact.fullmatch(arg) or arg.startswith("-"), f"{server_id}: a package among the server's own arguments: {arg}"


def test_the_pin_checks_catch_unpinned_package_arguments():
    def problems(entry):
        exact = NPM_EXACT if entry["command"] == "npx" else PYPI_EXACT
        return [package for package in split_stdio(entry)[1] if not exact.fullmatch(package)]

    assert problems({"command": "npx", "args": ["-y", "--package=left-pad", "tool@1.0.0"]}) == ["left-pad"]
    assert problems({"command": "npx", "args": ["-y", "some-mcp@latest"]}) == ["some-mcp@latest"]
    assert problems({"command": "npx", "args": ["-y", "some-mcp@^1.2.0"]}) == ["some-mcp@^1.2.0"]
    assert problems({"command": "uvx", "args": ["--with", "httpx", "tool==1.0"]}) == ["httpx"]
    assert problems({"command": "uvx", "args": ["--python", "3.12", "--from", "pkg>=1", "tool"]}) == ["pkg>=1", "tool"]
    assert problems({"command": "uvx", "args": ["--python", "3.12", "postgres-mcp@0.3.0", "--x=1"]}) == []


@pytest.mark.parametrize("server_id", STDIO)
def test_a_stdio_entry_is_prefetched_from_exactly_its_own_packages(server_id):
    assert CATALOG[server_id]["prefetch"] == expected_prefetch(CATALOG[server_id]["entry"])


def test_only_stdio_entries_are_prefetched():
    assert sorted(server_id for server_id, item in CATALOG.items() if "prefetch" in item) == STDIO


@pytest.fixture(scope="module")
def setup_script_project(template_repo, tmp_path_factory):
    """A project whose only cloud-setup work is fetching the stdio servers (read only)."""
    return generate(template_repo, tmp_path_factory.mktemp("mcp-setup") / "project",
                    {"mcp_servers": [*STDIO, "github"]})


def test_the_setup_script_fetches_every_chosen_stdio_server(setup_script_project, tmp_path):
    cloud = CloudSession(setup_script_project, tmp_path / "session")
    for name in ("npx", "uvx"):
        (cloud.bin / name).write_text(STUB_SCRIPT)
        (cloud.bin / name).chmod(0o755)
    setup = setup_script_project / ".claude" / "scripts" / "cloud-setup.sh"
    log = tmp_path / "setup.log"
    ran = subprocess.run([str(setup)], env=cloud.environment(CLAUDE_CLOUD_SETUP_LOG=str(log),
                                                             CLAUDE_CLOUD_SETUP_RECORD=str(tmp_path / "provided")),
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    # It reads .mcp.json when it runs (cloud-config.py), which gives uvx's --from in the
    # requirement form: the same package, and the same cached environment.
    expected = [re.sub(r"--from (\S+)@(\S+)", r"--from \1==\2", " ".join(CATALOG[server_id]["prefetch"])) for server_id in STDIO]
    assert cloud.calls() == expected
    assert all(f"ok: mcp:{server_id}" in log.read_text() for server_id in STDIO)


def test_the_setup_script_logs_a_missing_runner_and_still_exits_0(setup_script_project, tmp_path):
    cloud = CloudSession(setup_script_project, tmp_path / "session")
    setup = setup_script_project / ".claude" / "scripts" / "cloud-setup.sh"
    log = tmp_path / "setup.log"
    env = cloud.environment(CLAUDE_CLOUD_SETUP_LOG=str(log), CLAUDE_CLOUD_SETUP_RECORD=str(tmp_path / "provided"))
    env["PATH"] = f"{cloud.bin}:/usr/bin:/bin"  # no npx, no uvx
    (cloud.bin / "npx").write_text("#!/bin/sh\nexit 3\n")
    (cloud.bin / "npx").chmod(0o755)
    (cloud.bin / "uvx").unlink()  # the session's stubs have one
    ran = subprocess.run([str(setup)], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0
    text = log.read_text()
    assert "FAILED (exit 3; cloud-init retries it): mcp:playwright" in text
    if shutil.which("uvx", path="/usr/bin:/bin") is None:
        assert "skipped (no uvx): mcp:postgres" in text


def test_remote_servers_only_fetch_nothing(template_repo, tmp_path):
    project = generate(template_repo, tmp_path / "project", {"mcp_servers": REMOTE[:2], "stacks": []})
    cloud = CloudSession(project, tmp_path / "session")
    log = tmp_path / "setup.log"
    ran = subprocess.run([str(project / ".claude" / "scripts" / "cloud-setup.sh")],
                         env=cloud.environment(CLAUDE_CLOUD_SETUP_LOG=str(log), CLAUDE_CLOUD_SETUP_RECORD=str(tmp_path / "provided")),
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0
    assert cloud.calls() == [] and "mcp:" not in log.read_text()


@pytest.mark.parametrize("server_id", REMOTE)
def test_a_remote_entry_uses_https_on_a_listed_host(server_id):
    item = CATALOG[server_id]
    assert urlparse(item["entry"]["url"]).scheme == "https"
    assert urlparse(item["entry"]["url"]).hostname in item["hosts"]


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_env_names_exactly_the_variables_the_entry_uses(server_id):
    # Every ${VAR} the entry uses is one the user is told to set, and the other way round.
    assert referenced_vars(CATALOG[server_id]["entry"]) == set(CATALOG[server_id]["env"])


@pytest.mark.parametrize("server_id", TOKEN)
def test_a_token_server_names_the_variable_that_holds_the_token(server_id):
    assert CATALOG[server_id]["env"], "a token server must name the variable that holds the token"


def test_allowed_by_default_matches_the_cloud_allowlist():
    # One domain per line; "#" starts a comment line, and text after the domain (a note) is ignored.
    lines = (ROOT / "extensions" / "data" / "cloud-default-allowed-domains.txt").read_text().splitlines()
    allowed = [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]
    assert "github.com" in allowed, "the allowlist file is empty or was not parsed"

    def is_allowed(host: str) -> bool:
        return any(host == rule or (rule.startswith("*.") and host.endswith(rule[1:])) for rule in allowed)

    for server_id, item in CATALOG.items():
        assert item["allowed_by_default"] == all(is_allowed(h) for h in item["hosts"]), server_id


def test_copier_question_offers_exactly_the_catalog():
    assert sorted(mcp_choices().values()) == sorted(CATALOG)
    assert COPIER_YML["mcp_servers"]["choices"] == "{{ mcp_choices() | to_json }}"
