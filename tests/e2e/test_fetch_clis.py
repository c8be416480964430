"""fetch_clis.py and the cache rules in cli.py, without the network or a real CLI: a fake `npm`
on PATH answers `view` and `install`, and installs a `claude` that only prints its version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import cli
import fetch_clis

TARBALL_BYTES = 186_117_258

FAKE_NPM = r'''"""A stand-in for npm: the answers fetch_clis.py asks for, from a fixed table."""
import json, os, sys
from pathlib import Path

PACKAGE = "@anthropic-ai/claude-code"
TAGS = {"latest": "9.1.2", "^9.1": ["9.1.0", "9.1.10", "9.1.2", "9.1.10-beta.1"]}
args = sys.argv[1:]
with open(os.environ["FAKE_NPM_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
if args[:3] == ["config", "get", "cache"]:
    print("/fake/npm-cache")
elif args[0] == "view":
    name, _, spec = args[1].rpartition("@")
    if args[2:3] == ["version"]:
        found = TAGS.get(spec, spec if spec[:1].isdigit() else None)
        if found is None:
            print(json.dumps({"error": {"code": "E404", "summary": f"No match found for version {spec}"}}))
            sys.exit(1)
        print(json.dumps(found))
    else:  # dist
        print(json.dumps({"tarball": f"{os.environ['FAKE_REGISTRY']}/{name}-{spec}.tgz"}))
elif args[0] == "install":
    name, _, version = args[-1].rpartition("@")
    if "--dry-run" in args:
        print(f"add {name}-fake-native {version}")
        print(f"add {name} {version}")
        print(json.dumps({"add": [{"name": f"{name}-fake-native", "version": version},
                                   {"name": name, "version": version}], "added": 2}, indent=2))
        sys.exit(0)
    if os.environ.get("FAKE_NPM_FAIL"):
        print("npm error code E404", file=sys.stderr)
        sys.exit(1)
    prefix = Path(args[args.index("--prefix") + 1])
    package = prefix / "node_modules" / "@anthropic-ai" / "claude-code"
    (package / "bin").mkdir(parents=True)
    exe = package / "bin" / "claude.exe"
    exe.write_text(f"#!/bin/sh\necho '{version} (Claude Code)'\n")
    exe.chmod(0o755)
    os.link(exe, prefix / "node_modules" / "@anthropic-ai" / "native-claude")  # as 2.1's postinstall does
    (prefix / "node_modules" / ".bin").mkdir()
    (prefix / "node_modules" / ".bin" / "claude").symlink_to("../@anthropic-ai/claude-code/bin/claude.exe")
    print(f"npm http fetch GET 200 https://registry.example/{name}/-/claude-code-{version}.tgz 5ms (cache miss)")
    print("added 2 packages in 1s")
else:
    sys.exit(f"fake npm: unexpected {args}")
'''


class Sizes(BaseHTTPRequestHandler):
    def do_HEAD(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(TARBALL_BYTES if "native" in self.path else 32_525))
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def registry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sizes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cli-cache"
    monkeypatch.setenv("CLAUDE_CLI_CACHE", str(folder))
    monkeypatch.delenv("CLAUDE_CLI_VERSIONS", raising=False)
    return folder


def fake_cli(cache: Path, version: str, says: str | None = None) -> Path:
    """A cached `claude` of `version` in the layout fetch_clis.py leaves."""
    binary = cache / version / "node_modules" / ".bin" / "claude"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!/bin/sh\necho '{says or version} (Claude Code)'\n")
    binary.chmod(0o755)
    return binary


@pytest.fixture
def run_fetch(tmp_path, cache, registry):
    """run_fetch(*args, npm=True, **env) -> CompletedProcess of fetch_clis.py with a fake npm (or none)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(f"#!{sys.executable}\n{FAKE_NPM}")
    npm.chmod(0o755)
    no_npm = tmp_path / "no-npm"
    no_npm.mkdir()
    log = tmp_path / "npm.log"

    def run(*args: str, npm: bool = True, **env: str) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "CLAUDE_CLI_VERSIONS"}
        base.update(PATH=str(bin_dir if npm else no_npm), CLAUDE_CLI_CACHE=str(cache), FAKE_NPM_LOG=str(log),
                    FAKE_REGISTRY=registry, **env)
        return subprocess.run([sys.executable, str(cli.FETCH_SCRIPT), *args], env=base, capture_output=True,
                              text=True, timeout=120)

    run.log = log
    return run


def test_versions_are_the_pinned_pair_by_default(cache):
    assert cli.requested() == list(cli.DEFAULT_VERSIONS) == cli.versions()
    assert all(cli.is_exact(version) for version in cli.DEFAULT_VERSIONS)


def test_a_tag_maps_to_the_version_fetched_for_it(cache, monkeypatch):
    monkeypatch.setenv("CLAUDE_CLI_VERSIONS", "latest, 2.0.55")
    assert cli.versions() == ["latest", "2.0.55"]  # not resolved yet: stays as written, and skips
    cli.record_tag("latest", "2.1.400")
    assert cli.versions() == ["2.1.400", "2.0.55"]
    recorded = json.loads((cache / "tags.json").read_text())
    assert recorded["latest"]["version"] == "2.1.400" and recorded["latest"]["resolved_on"].endswith("Z")


def test_the_highest_version_of_a_range_is_picked():
    assert fetch_clis.highest(["2.1.9", "2.1.10", "2.1.10-beta.1", "2.0.99"]) == "2.1.10"
    assert fetch_clis.highest(["2.1.10", "2.2.0-rc.1"]) == "2.2.0-rc.1"
    assert fetch_clis.highest("2.1.400") == "2.1.400"
    with pytest.raises(fetch_clis.FetchError):
        fetch_clis.highest([])


def test_sizes_count_a_hard_linked_file_once(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 1000)
    os.link(tmp_path / "a", tmp_path / "b")
    (tmp_path / "c").symlink_to("a")
    assert fetch_clis.disk_size(tmp_path) == 1000 + len("a")
    assert fetch_clis.megabytes(402_512_345) == "402.5 MB" and fetch_clis.megabytes(32_525) == "33 kB"


@pytest.mark.parametrize(("asked", "version", "command_tail"), [
    (None, cli.DEFAULT_VERSIONS[0], "tests/e2e/fetch_clis.py"),  # a default: the plain command fetches the pair
    ("2.1.331", "2.1.331", "tests/e2e/fetch_clis.py 2.1.331"),
    ("latest", "latest", "tests/e2e/fetch_clis.py latest"),
])
def test_a_missing_cli_skips_with_the_command_that_fetches_it(cache, monkeypatch, asked, version, command_tail):
    if asked:
        monkeypatch.setenv("CLAUDE_CLI_VERSIONS", asked)
    assert cli.versions()[0] == version
    with pytest.raises(pytest.skip.Exception) as skipped:
        cli.cached_binary(version)
    reason = str(skipped.value)
    assert f"fetch it with: CLAUDE_CLI_CACHE={cache} " in reason and reason.endswith(command_tail), reason
    assert "not resolved" in reason if version == "latest" else f"not in the cache ({cache / version})" in reason


def test_a_fetched_tag_whose_folder_is_gone_skips_with_the_tag(cache, monkeypatch):
    monkeypatch.setenv("CLAUDE_CLI_VERSIONS", "latest")
    cli.record_tag("latest", "2.1.400")
    with pytest.raises(pytest.skip.Exception) as skipped:
        cli.cached_binary(cli.versions()[0])
    assert "Claude Code 2.1.400 is not in the cache" in str(skipped.value)
    assert str(skipped.value).endswith("tests/e2e/fetch_clis.py latest")


def test_a_cached_cli_is_used_and_a_wrong_one_skips(cache):
    binary = fake_cli(cache, "2.1.400")
    assert cli.cached_binary("2.1.400") == binary
    fake_cli(cache, "2.0.55", says="2.0.5")
    with pytest.raises(pytest.skip.Exception, match=r"reports '2\.0\.5'; fetch it again with"):
        cli.cached_binary("2.0.55")


def test_fetch_says_what_how_big_and_where_then_reuses_the_cache(run_fetch, cache):
    first = run_fetch("latest")
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "@anthropic-ai/claude-code@9.1.2 (latest): fetching" in out
    assert "@anthropic-ai/claude-code-fake-native@9.1.2: 186.1 MB download" in out
    assert "size:  186.1 MB to download" in out
    assert f"into:  {cache / '9.1.2'}" in out
    assert "    npm http fetch GET 200 https://registry.example/" in out  # npm's lines, as they come
    assert "done:  " in out and f"on disk in {cache / '9.1.2'}" in out
    assert out.index("186.1 MB download") < out.index("npm http fetch")  # told before it downloads
    assert (cache / "9.1.2" / "node_modules" / ".bin" / "claude").exists()
    assert not list(cache.glob(".*partial"))
    assert json.loads((cache / "tags.json").read_text())["latest"]["version"] == "9.1.2"

    installs = run_fetch.log.read_text().count("install --prefix")
    again = run_fetch("latest")
    assert again.returncode == 0, again.stderr
    assert f"@anthropic-ai/claude-code@9.1.2 (latest): cached in {cache / '9.1.2'}" in again.stdout
    assert "nothing downloaded now" in again.stdout
    assert run_fetch.log.read_text().count("install --prefix") == installs  # nothing fetched


def test_a_range_fetches_its_highest_version(run_fetch, cache):
    result = run_fetch("^9.1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "@anthropic-ai/claude-code@9.1.10 (^9.1): fetching" in result.stdout
    assert cli.resolve_offline("^9.1") == "9.1.10"


def test_versions_come_from_the_environment_too(run_fetch, cache):
    result = run_fetch(CLAUDE_CLI_VERSIONS="9.0.1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Claude Code CLIs for tests/e2e: 9.0.1;" in result.stdout
    assert (cache / "9.0.1" / "node_modules" / ".bin" / "claude").exists()


def test_cached_versions_need_no_npm(run_fetch, cache):
    for version in cli.DEFAULT_VERSIONS:
        fake_cli(cache, version)
    fake_cli(cache, "1.0.0")
    result = run_fetch(npm=False)
    assert result.returncode == 0, result.stderr
    for version in cli.DEFAULT_VERSIONS:
        assert f"@anthropic-ai/claude-code@{version}: cached in {cache / version}" in result.stdout
    assert "Also in the cache, neither pinned nor asked for: 1.0.0" in result.stdout


def test_without_npm_it_stops_and_says_why(run_fetch, cache):
    result = run_fetch(npm=False)
    assert result.returncode == 2
    assert "npm is not installed" in result.stderr and "Install Node.js" in result.stderr
    assert not cache.exists() or not any(cache.iterdir())


def test_a_failed_download_fails_and_leaves_nothing_half_installed(run_fetch, cache):
    result = run_fetch("9.0.1", FAKE_NPM_FAIL="1")
    assert result.returncode == 1
    assert "npm error code E404" in result.stdout  # npm's own words, streamed
    assert ("@anthropic-ai/claude-code@9.0.1: FAILED: "
            "`npm install @anthropic-ai/claude-code@9.0.1` exited with 1") in result.stderr
    assert not (cache / "9.0.1").exists() and not list(cache.glob(".*partial"))


def test_an_unknown_tag_fails(run_fetch):
    result = run_fetch("nosuchtag")
    assert result.returncode == 1
    assert "No match found for version nosuchtag" in result.stderr


def test_the_default_cache_folder_is_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CLAUDE_CLI_CACHE", raising=False)
    monkeypatch.delenv("CLAUDE_CLI_VERSIONS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cli.cache_root() == tmp_path / "copier-claude-cloud" / "claude-code"
    with pytest.raises(pytest.skip.Exception) as skipped:
        cli.cached_binary(cli.DEFAULT_VERSIONS[1])
    where = tmp_path / "copier-claude-cloud" / "claude-code" / cli.DEFAULT_VERSIONS[1]
    assert str(skipped.value) == (f"Claude Code {cli.DEFAULT_VERSIONS[1]} is not in the cache ({where}); "
                                  f"fetch it with: {cli.fetch_command()}")
    assert cli.fetch_command().endswith("python tests/e2e/fetch_clis.py")
