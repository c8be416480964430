"""Install and run pinned versions of the real Claude Code CLI for the end-to-end tests."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

PACKAGE = "@anthropic-ai/claude-code"
# The newest release and a late-2025 one. CLAUDE_CLI_VERSIONS="x.y.z,..." re-runs the suite
# against any others.
DEFAULT_VERSIONS = ("2.1.330", "2.0.55")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")


def versions() -> list[str]:
    chosen = os.environ.get("CLAUDE_CLI_VERSIONS", "")
    return [v.strip() for v in chosen.split(",") if v.strip()] or list(DEFAULT_VERSIONS)


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "copier-claude-cloud" / "claude-code"
    return Path(os.environ.get("CLAUDE_CLI_CACHE", default))


def install(version: str) -> Path:
    """The `claude` executable of `version`, installed once into the cache folder.
    Skips the calling test, with the reason, when npm or the registry cannot provide it."""
    prefix = cache_root() / version
    binary = prefix / "node_modules" / ".bin" / "claude"
    if binary.exists() and version in _version_of(binary):
        return binary
    npm = shutil.which("npm")
    if not npm:
        pytest.skip(f"npm is not installed, so Claude Code {version} cannot be installed for the e2e tests")
    prefix.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", f"{PACKAGE}@{version}"],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0 or not binary.exists():
        pytest.skip(f"npm could not install {PACKAGE}@{version} (registry unreachable?): {result.stderr.strip()[-400:]}")
    return binary


def _version_of(binary: Path) -> str:
    try:
        return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


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


if __name__ == "__main__":
    # `.ci/run` calls this before the tests, so the CLI install is CI's own package install
    # and the test run itself needs no network. A failure is reported, not fatal: the e2e
    # tests then skip with the reason.
    for version in versions():
        try:
            print(f"Claude Code {version}: {install(version)}")
        except pytest.skip.Exception as skipped:
            print(f"Claude Code {version}: not installed: {skipped}")
