"""Benchmark the generated session bootstrap against the common hand-written recipe.

Run by hand, from the repository root:

    .venv/bin/python bench/bootstrap.py            # real registries when reachable
    .venv/bin/python bench/bootstrap.py --stubs    # timed stub package managers

It builds a sample repository with a Python and a Node.js stack (real lockfiles, about 30
Python and 150 npm packages) and a global CLI tool, generates the template into it, and
measures in one run:

- hook: how long the SessionStart hook takes to return on a fresh clone (cold caches);
- ready: how long until the dependencies are installed;
- warm: a re-run in the same VM, and how many package manager calls it made;
- first request: from starting the real `claude -p` to its first model request, against
  the fake Messages API of tests/e2e, with the hook and with no hooks at all.

The baseline is the recipe people write by hand and run on every start, one step after
the other: `npm install`, `pip install -r requirements.txt`, `npm install -g TOOL`.
Every figure is also given as a ratio to that baseline. Nothing here is asserted: the
table is the result.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e"), str(ROOT)]

import cli  # noqa: E402
from fake_api import FakeAnthropic, Script  # noqa: E402
from helpers import generate, reachable, snapshot_template  # noqa: E402

PYTHON_DEPS = ["requests==2.32.3", "flask==3.0.3", "sqlalchemy==2.0.36", "pydantic==2.9.2", "pytest==8.3.3",
               "rich==13.9.4", "httpx==0.27.2", "click==8.1.7", "alembic==1.14.0", "python-dotenv==1.0.1"]
NODE_DEPS = {"express": "4.21.1", "axios": "1.7.7", "lodash": "4.17.21", "zod": "3.23.8", "typescript": "5.6.3",
             "prettier": "3.3.3", "eslint": "9.14.0", "dayjs": "1.11.13", "commander": "12.1.0", "chalk": "5.3.0"}
CLI_TOOL = "@biomejs/biome@1.9.4"
NAIVE_RECIPE = f"""#!/usr/bin/env bash
# The common hand-written SessionStart script: everything, in order, on every start.
cd "$CLAUDE_PROJECT_DIR" || exit 0
npm install
[ -d .venv ] || python3 -m venv .venv
.venv/bin/pip install -r requirements.txt
npm install -g {CLI_TOOL}
"""
# --stubs: how long each stubbed command sleeps, in seconds: rounded from one run of this
# benchmark with real registries and cold caches on a 2-core machine (2026-11-24).
STUB_SECONDS = {"npm install -g": 1.5, "npm ci": 5.0, "npm install": 8.0, "uv sync": 2.5, "pip install": 8.0,
                "python3 -m venv": 2.0}


class Machine:
    """A stand-in VM: its own HOME (so caches start cold), npm prefix and tool shims."""

    def __init__(self, root: Path, tools_bin: Path, stubs: bool):
        self.root = root
        self.home = root / "home"
        self.prefix = root / "npm-global"
        self.shims = root / "shims"
        self.calls = root / "package-manager-calls.log"
        for folder in (self.home, self.prefix / "bin", self.shims):
            folder.mkdir(parents=True, exist_ok=True)
        self.calls.touch()
        self.path = f"{self.shims}:{self.prefix / 'bin'}:{tools_bin}:{os.environ['PATH']}"
        for manager in ("npm", "uv", "pip", "python3"):
            real = shutil.which(manager, path=f"{tools_bin}:{os.environ['PATH']}")
            shim = self.shims / manager
            if stubs:
                body = STUB_BODY.format(log=self.calls, table=json.dumps(STUB_SECONDS), python=sys.executable)
            else:  # log the call, then run the real program
                body = f'#!/usr/bin/env bash\necho "{manager} $*" >> "{self.calls}"\nexec "{real}" "$@"\n'
            shim.write_text(body)
            shim.chmod(0o755)

    def env(self, project: Path, **extra: str) -> dict[str, str]:
        # The machine's own environment (proxy and CA settings), with a HOME, caches and an
        # npm prefix of this VM. npm reads its global config from the prefix: keep the real one.
        return {
            **os.environ,
            "npm_config_globalconfig": GLOBAL_NPMRC,
            "PATH": self.path, "HOME": str(self.home), "npm_config_prefix": str(self.prefix),
            "npm_config_cache": str(self.home / ".npm"), "UV_CACHE_DIR": str(self.home / ".cache" / "uv"),
            "PIP_CACHE_DIR": str(self.home / ".cache" / "pip"), "CLAUDE_CODE_REMOTE": "true",
            "CLAUDE_PROJECT_DIR": str(project), "CLAUDE_ENV_FILE": str(self.root / "env-file.sh"), **extra,
        }

    def call_count(self) -> int:
        return len(self.calls.read_text().splitlines())


GLOBAL_NPMRC = subprocess.run(["npm", "config", "get", "globalconfig"], capture_output=True, text=True).stdout.strip()

STUB_BODY = r"""#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "{log}"
line="$(basename "$0") $*"
seconds=$("{python}" - "$line" <<'EOF' 2>/dev/null || echo 0
import json, sys
table = json.loads('{table}')
line = sys.argv[1]
print(next((v for k, v in table.items() if line.startswith(k) or (" " + k) in line), 0.2))
EOF
)
sleep "$seconds"
case "$line" in *venv*) mkdir -p .venv/bin && cp "$0" .venv/bin/pip ;; esac
exit 0
"""


def build_sample(folder: Path, tools_bin: Path, template: Path, stubs: bool) -> Path:
    """A repository with Python (uv.lock and an equivalent requirements.txt) and Node.js
    (package-lock.json) dependencies, and the template generated into it. With stubs the
    lockfiles are placeholders: no registry is asked."""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "sample"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = [\n'
        + "".join(f'  "{dep}",\n' for dep in PYTHON_DEPS) + "]\n\n[tool.uv]\npackage = false\n"
    )
    (folder / "package.json").write_text(json.dumps({"name": "sample", "version": "1.0.0", "private": True,
                                                    "dependencies": NODE_DEPS}, indent=2))
    env = {**os.environ, "PATH": f"{tools_bin}:{os.environ['PATH']}"}
    if stubs:
        (folder / "uv.lock").write_text("# placeholder\n")
        (folder / "requirements.txt").write_text("\n".join(PYTHON_DEPS) + "\n")
        (folder / "package-lock.json").write_text("{}\n")
        return _generate(template, folder)
    subprocess.run(["uv", "lock", "--quiet"], cwd=folder, env=env, check=True)
    exported = subprocess.run(["uv", "export", "--quiet", "--no-hashes", "--format", "requirements-txt"],
                              cwd=folder, env=env, check=True, capture_output=True, text=True).stdout
    (folder / "requirements.txt").write_text(exported)
    subprocess.run(["npm", "install", "--package-lock-only", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=folder, check=True)
    return _generate(template, folder)


def _generate(template: Path, folder: Path) -> Path:
    generate(template, folder, {"project_name": "sample", "stacks": ["python", "node"], "python_tool": "uv",
                                "node_tool": "npm", "cli_tools": [f"npm:{CLI_TOOL}"]})
    return folder


def package_counts(sample: Path) -> tuple[int, int]:
    """(Python packages, npm packages) the lockfiles pin, transitive ones included."""
    python = [line for line in (sample / "requirements.txt").read_text().splitlines() if line and line[0].isalnum()]
    lock = json.loads((sample / "package-lock.json").read_text() or "{}")
    return len(python), len([name for name in lock.get("packages", {}) if name])


def fresh_clone(sample: Path, destination: Path) -> Path:
    """What a new cloud session gets: the repository's files, nothing installed."""
    shutil.copytree(sample, destination, ignore=shutil.ignore_patterns(".venv", "node_modules", "state", "logs"))
    return destination


def timed(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - start, result


def measure_naive(sample: Path, work: Path, tools_bin: Path, stubs: bool) -> dict[str, float]:
    machine = Machine(work / "naive-vm", tools_bin, stubs)
    project = fresh_clone(sample, work / "naive-project")
    recipe = work / "naive-recipe.sh"
    recipe.write_text(NAIVE_RECIPE)
    recipe.chmod(0o755)
    fresh, result = timed([str(recipe)], env=machine.env(project))
    if result.returncode != 0:
        raise SystemExit(f"the naive recipe failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    warm, _ = timed([str(recipe)], env=machine.env(project))
    return {"fresh": fresh, "warm": warm}


def measure_template(sample: Path, work: Path, tools_bin: Path, stubs: bool) -> dict[str, float]:
    machine = Machine(work / "template-vm", tools_bin, stubs)
    project = fresh_clone(sample, work / "template-project")
    hook = project / ".claude" / "scripts" / "cloud-init.sh"
    start = time.perf_counter()
    hook_seconds, result = timed([str(hook)], env=machine.env(project), stdin=subprocess.DEVNULL)
    while True:  # --wait returns 2 while installs still run after its own limit
        waited = subprocess.run([str(hook), "--wait"], env=machine.env(project), capture_output=True, text=True)
        if waited.returncode != 2:
            break
    ready = time.perf_counter() - start
    state = (project / ".claude" / "state" / "result").read_text().strip()
    if not state.startswith("ready:"):
        raise SystemExit(f"the template's bootstrap failed: {state}\n{(project / '.claude/logs/cloud-init.log').read_text()[-3000:]}")
    calls_before = machine.call_count()
    warm_runs = [timed([str(hook)], env=machine.env(project), stdin=subprocess.DEVNULL)[0] for _ in range(5)]
    return {"hook": hook_seconds, "ready": ready, "warm": statistics.median(warm_runs),
            "warm_calls": machine.call_count() - calls_before, "summary": state}


def first_request(binary: Path, project: Path, machine: Machine, hooks: bool) -> float:
    """Seconds from starting `claude -p` to its first model request."""
    settings = project / ".claude" / "settings.json"
    if not hooks:
        data = json.loads(settings.read_text())
        data["hooks"] = {}
        settings.write_text(json.dumps(data))
    script = Script()
    home = machine.home
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True,
                                                   "projects": {str(project): {"hasTrustDialogAccepted": True}}}))
    with FakeAnthropic(script) as api:
        env = {**machine.env(project), "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "sk-ant-bench",
               "DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
        del env["CLAUDE_ENV_FILE"], env["CLAUDE_PROJECT_DIR"]
        started = time.time()
        subprocess.run([str(binary), "-p", "hello", "--output-format", "json"], cwd=project, env=env,
                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    if not script.request_times:
        raise SystemExit("claude -p sent no request to the fake API")
    return script.request_times[0] - started


def measure_first_request(sample: Path, work: Path, tools_bin: Path, stubs: bool, runs: int) -> dict[str, float]:
    version = cli.versions()[0]
    if not cli.is_cached(version):
        raise SystemExit(f"Claude Code {version} is not fetched; run: {cli.fetch_command()}")
    binary = cli.binary_path(version)
    with_hook, without = [], []
    for run in range(runs):
        for hooks, bucket in ((True, with_hook), (False, without)):
            machine = Machine(work / f"claude-vm-{run}-{hooks}", tools_bin, stubs)
            project = fresh_clone(sample, work / f"claude-project-{run}-{hooks}")
            bucket.append(first_request(binary, project, machine, hooks))
            # let the background installs of this run finish before the next one starts
            subprocess.run([str(project / ".claude/scripts/cloud-init.sh"), "--wait"], env=machine.env(project),
                           capture_output=True)
    return {"with_hook": statistics.median(with_hook), "without_hooks": statistics.median(without)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stubs", action="store_true", help="timed stub package managers instead of registries")
    parser.add_argument("--runs", type=int, default=3, help="claude -p runs per variant (median)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    stubs = args.stubs or not (reachable("https://pypi.org/simple/flask/") and reachable("https://registry.npmjs.org/express"))
    work = Path(tempfile.mkdtemp(prefix="bench-bootstrap-"))
    try:
        tools = work / "tools"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--prefix", str(tools), "uv"], check=True)
        tools_bin = tools / "bin"
        template = snapshot_template(work / "template")
        sample = build_sample(work / "sample", tools_bin, template, stubs)
        python_count, npm_count = package_counts(sample)
        naive = measure_naive(sample, work, tools_bin, stubs)
        ours = measure_template(sample, work, tools_bin, stubs)
        first = measure_first_request(sample, work, tools_bin, stubs, args.runs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    mode = "timed stubs" if stubs else "real registries (PyPI, npm), cold caches"
    base = naive["fresh"]
    rows = [
        ("naive recipe, fresh clone (blocks the session)", naive["fresh"]),
        ("naive recipe, re-run on the next start", naive["warm"]),
        ("template: hook returns, fresh clone", ours["hook"]),
        ("template: dependencies ready, fresh clone", ours["ready"]),
        (f"template: warm re-run ({ours['warm_calls']} package manager calls)", ours["warm"]),
        ("claude -p to first request, template hook", first["with_hook"]),
        ("claude -p to first request, no hooks", first["without_hooks"]),
    ]
    print(f"\nSession bootstrap benchmark: {mode}; sample repo: {python_count} Python and {npm_count} npm "
          f"packages in its lockfiles ({len(PYTHON_DEPS)} and {len(NODE_DEPS)} direct), 1 global npm tool\n")
    print("| measure | seconds | × naive fresh |\n|---|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} | {seconds / base:.3f} |")
    print(f"\nfirst-request overhead of the hook: {first['with_hook'] - first['without_hooks']:+.3f} s")
    print(f"template summary: {ours['summary']}")


if __name__ == "__main__":
    main()
