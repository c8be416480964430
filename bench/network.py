"""Benchmark the network checks: what they add before the installs, and what they save.

Run by hand, from the repository root:

    .venv/bin/python bench/network.py

It generates the template into a repository with Python, Node.js and Go folders, a CLI tool
and two MCP servers (7 distinct hosts), then times, 5 runs each, median and best:

- preflight, allowed: the worker's checks of the hosts of the steps it runs, through the
  loopback proxy of the tests (tests/fake_proxy.py), every host allowed;
- preflight, one refused: the same with pypi.org refused (the Python step fails at once);
- doctor: `cloud-init.sh --doctor`, every step, host, MCP server and variable;
- a refused host without the check: how long pip takes to give up on a refused index
  (PIP_INDEX_URL through the same proxy; pip's own retries), which is what a refused host
  cost before.

Nothing is asserted: the table is the result.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from fake_proxy import FakeProxy  # noqa: E402
from helpers import CloudSession, build_file_tree, generate, snapshot_template  # noqa: E402

RUNS = 5


def timed(run) -> list[float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def row(name: str, times: list[float]) -> str:
    return f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} |"


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-network-"))
    try:
        template = snapshot_template(scratch / "template")
        project = scratch / "project"
        build_file_tree(project, {"pyproject.toml": "[project]\nname = 'x'\n", "uv.lock": "",
                                  "web/package.json": "{}", "web/package-lock.json": "{}",
                                  "tools/go.mod": "module example.com/x\n\ngo 1.22\n", "tools/go.sum": ""})
        generate(template, project, {"project_name": "bench", "stacks": ["python", "node", "go"],
                                     "cli_tools": ["cargo:ripgrep@14.1.0"],
                                     "custom_mcp_servers": {"tracker": {"type": "http", "url": "https://mcp.tracker.example.com/mcp"}},
                                     "mcp_servers": ["sequential-thinking"]})
        session = CloudSession(project, scratch / "session")
        lines = ["| measure | median s | best s |", "|---|---:|---:|"]
        for name, refused in (("preflight, all 7 hosts allowed", set()), ("preflight, pypi.org refused", {"pypi.org"})):
            with FakeProxy(refused) as proxy:
                env = proxy.environment()

                def bootstrap():
                    shutil.rmtree(project / ".claude" / "state", ignore_errors=True)
                    session.run("--force", **env)

                def without_checks():
                    shutil.rmtree(project / ".claude" / "state", ignore_errors=True)
                    session.run("--force")  # no proxy: nothing is probed

                with_checks = timed(bootstrap)
                lines.append(row(f"bootstrap with stubs, {name}", with_checks))
                if not refused:
                    baseline = timed(without_checks)
                    lines.append(row("bootstrap with stubs, no proxy (no checks)", baseline))
                    lines.append(f"| checks' cost (median difference) | "
                                 f"{statistics.median(with_checks) - statistics.median(baseline):.3f} | |")
                lines.append(row(f"--doctor, {name}", timed(lambda: session.run("--doctor", **env))))
        pip = shutil.which("pip") or shutil.which("pip3")
        if pip:
            with FakeProxy({"pypi.org"}) as proxy:
                def refused_pip():
                    subprocess.run([pip, "download", "--no-deps", "--no-cache-dir", "-d", str(scratch / "dl"),
                                    "--index-url", "https://pypi.org/simple", "--proxy", proxy.url, "six==1.16.0"],
                                   capture_output=True, check=False)
                lines.append(row("pip download behind a refusing proxy, no check (pip's retries)", timed(refused_pip)))
        print("\n".join(lines))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
