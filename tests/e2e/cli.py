"""The real Claude Code CLI for the end-to-end tests: which versions, where they are cached, how
to run them. The tests never download a CLI: `tests/e2e/fetch_clis.py` fetches them (`.ci/run`
calls it), and a test whose CLI is not in the cache skips with the command that fetches it."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

PACKAGE = "@anthropic-ai/claude-code"
# The current release, bumped to the newest one at each release of this template, and a
# late-2025 one. CLAUDE_CLI_VERSIONS="latest" or "x.y.z,..." runs the suite against others.
DEFAULT_VERSIONS = ("2.1.332", "2.0.55")
ENV_VERSIONS = "CLAUDE_CLI_VERSIONS"
EXACT = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = Path(__file__).resolve().with_name("fetch_clis.py")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")


def requested(args: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The versions asked for, as written: `args`, else $CLAUDE_CLI_VERSIONS (comma-separated
    exact versions or npm dist-tags such as `latest`), else the pinned pair."""
    chosen = list(args) or os.environ.get(ENV_VERSIONS, "").split(",")
    return list(dict.fromkeys(v.strip() for v in chosen if v.strip())) or list(DEFAULT_VERSIONS)


def is_exact(spec: str) -> bool:
    return EXACT.fullmatch(spec) is not None


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "copier-claude-cloud" / "claude-code"
    return Path(os.environ.get("CLAUDE_CLI_CACHE", default))


def binary_path(version: str) -> Path:
    """Where `version`'s `claude` is, once fetched: <cache>/<version>/node_modules/.bin/claude."""
    return cache_root() / version / "node_modules" / ".bin" / "claude"


def tags_file() -> Path:
    """fetch_clis.py's record of what each dist-tag (or range) resolved to, so that the tests map
    `latest` to the version that was fetched without asking the registry."""
    return cache_root() / "tags.json"


def recorded_tags() -> dict[str, dict[str, str]]:
    """{"latest": {"version": "2.1.332", "resolved_on": "2026-11-29T23:40:00Z"}, ...}"""
    try:
        data = json.loads(tags_file().read_text())
    except (OSError, ValueError):
        return {}
    return {spec: entry for spec, entry in data.items()
            if isinstance(entry, dict) and is_exact(entry.get("version", ""))}


def record_tag(spec: str, version: str) -> None:
    tags = recorded_tags()
    tags[spec] = {"version": version, "resolved_on": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    target = tags_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".tags.json.{os.getpid()}")
    partial.write_text(json.dumps(tags, indent=2, sort_keys=True) + "\n")
    partial.replace(target)


def resolve_offline(spec: str) -> str | None:
    """The exact version `spec` stands for, from the record alone (None: not resolved yet)."""
    if is_exact(spec):
        return spec
    return recorded_tags().get(spec, {}).get("version")


def versions() -> list[str]:
    """The exact versions the e2e tests run; a tag nobody fetched yet stays as written (and skips)."""
    return list(dict.fromkeys(resolve_offline(spec) or spec for spec in requested()))


def installed_version(binary: Path) -> str:
    """What `binary --version` says it is ("" when it does not run)."""
    try:
        output = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = EXACT.search(output)
    return found.group(0) if found else ""


def is_cached(version: str) -> bool:
    binary = binary_path(version)
    return binary.exists() and installed_version(binary) == version


def fetch_command(specs: list[str] | tuple[str, ...] = ()) -> str:
    """The command that fetches `specs` into this cache folder (no specs: the pinned pair)."""
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    script = FETCH_SCRIPT.relative_to(ROOT) if FETCH_SCRIPT.is_relative_to(ROOT) else FETCH_SCRIPT
    words = [str(python), str(script), *specs]
    chosen_cache = os.environ.get("CLAUDE_CLI_CACHE")
    return (f"CLAUDE_CLI_CACHE={shlex.quote(chosen_cache)} " if chosen_cache else "") + shlex.join(words)


def cached_binary(version: str) -> Path:
    """The cached `claude` of `version` (an exact version, or a tag nobody resolved yet).
    Never downloads: skips the calling test, with the command that fetches it, when it is missing."""
    spec = next((s for s in requested() if (resolve_offline(s) or s) == version), version)
    command = fetch_command([] if spec in DEFAULT_VERSIONS else [spec])
    if not is_exact(version):
        pytest.skip(f"Claude Code {version!r} is not resolved to a version yet ({tags_file()} has no record of it); "
                    f"fetch it with: {command}")
    binary = binary_path(version)
    if not binary.exists():
        pytest.skip(f"Claude Code {version} is not in the cache ({binary.parents[2]}); fetch it with: {command}")
    found = installed_version(binary)
    if found != version:
        pytest.skip(f"Claude Code {version} in the cache ({binary.parents[2]}) reports {found or 'no version'!r}; "
                    f"fetch it again with: {command}")
    return binary


def doctor(binary: Path, project: Path, env: dict[str, str], version: str) -> str:
    """`claude doctor`'s report, without colours. 2.0 CLIs draw it with Ink and need a
    terminal: they get a pseudo-terminal, read until they ask for Enter."""
    if version.startswith("2.0."):
        return ANSI.sub("", _doctor_in_terminal(binary, project, env))
    try:
        plain = subprocess.run([str(binary), "doctor"], cwd=project, env=env, capture_output=True, text=True,
                               timeout=60, stdin=subprocess.DEVNULL)
        output = plain.stdout + plain.stderr
    except subprocess.TimeoutExpired as stopped:  # Ink CLIs print the error, then hang
        output = (stopped.stdout or b"").decode("utf-8", "replace") if isinstance(stopped.stdout, bytes) else str(stopped.stdout or "")
    if "Raw mode is not supported" not in output:
        return ANSI.sub("", output)
    return ANSI.sub("", _doctor_in_terminal(binary, project, env))


def _doctor_in_terminal(binary: Path, project: Path, env: dict[str, str], limit: float = 60) -> str:
    master, slave = pty.openpty()
    process = subprocess.Popen([str(binary), "doctor"], cwd=project, env={**env, "TERM": "xterm", "COLUMNS": "200"},
                               stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
                if "press enter to continue" in ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).lower():
                    break
            elif process.poll() is not None:
                break
    finally:
        process.kill()
        process.wait()
        os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def invalid_settings(report: str) -> str:
    """The 'Invalid settings' section of a doctor report ("" when there is none)."""
    match = re.search(r"invalid settings(.*?)(?:\n\s*\n(?=\S)|press enter|\Z)", report, flags=re.I | re.S)
    return match.group(0).strip() if match else ""


def print_mode(binary: Path, project: Path, env: dict[str, str], prompt: str = "check the session",
               extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binary), "-p", prompt, "--output-format", "json", *extra, "--allowedTools", "Bash", "Write"],
        cwd=project, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )


def run(binary: Path, project: Path, env: dict[str, str], *args: str) -> str:
    """Any other CLI subcommand's output, e.g. `mcp get NAME`."""
    result = subprocess.run([str(binary), *args], cwd=project, env=env, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    return ANSI.sub("", result.stdout + result.stderr)

