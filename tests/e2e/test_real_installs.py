"""One real install per stack, from the public registries, through the real CLI: a cloud
session's first Bash command finds the dependencies the bootstrap installed.

Marked `integration` (network): `.ci/run` runs them after the default suite. A stack
whose tool is missing here, or whose registry this machine cannot reach, is skipped with
the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from fake_api import FakeAnthropic, Script
from helpers import git_save, reachable

pytestmark = pytest.mark.integration

REGISTRIES = {
    "python": "https://pypi.org/simple/six/",
    "node": "https://registry.npmjs.org/is-number",
    "ruby": "https://rubygems.org/api/v1/gems/rake.json",
    "go": "https://proxy.golang.org/github.com/pkg/errors/@v/list",
    "rust": "https://index.crates.io/config.json",
    "java": "https://repo.maven.apache.org/maven2/",
    "php": "https://repo.packagist.org/packages.json",
}
# (answers, files, the tool it needs, a Bash probe that succeeds only after the install)
CASES = {
    "python": ({"stacks": ["python"], "python_tool": "pip"}, {"requirements.txt": "six==1.16.0\n"}, "python3",
               'python -c "import six; print(\'PROBE\', six.__version__)"'),
    "node": ({"stacks": ["node"], "node_tool": "npm"},
             {"package.json": json.dumps({"name": "probe", "version": "1.0.0", "dependencies": {"is-number": "7.0.0"}})},
             "npm", "node -e \"require('is-number'); console.log('PROBE', 'is-number')\""),
    "ruby": ({"stacks": ["ruby"]}, {"Gemfile": 'source "https://rubygems.org"\ngem "rake", "13.2.1"\n'}, "bundle",
             "bundle exec rake --version && echo PROBE"),
    "go": ({"stacks": ["go"]}, {"go.mod": "module probe\n\ngo 1.21\n\nrequire github.com/pkg/errors v0.9.1\n"}, "go",
           "go list -m github.com/pkg/errors && echo PROBE"),
    "rust": ({"stacks": ["rust"]}, {"Cargo.toml": '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                                 '[dependencies]\nitoa = "=1.0.11"\n', "src/main.rs": "fn main() {}\n"},
             "cargo", "cargo tree --offline && echo PROBE"),
    "java": ({"stacks": ["java"], "java_tool": "maven"}, {"pom.xml": "<project/>"}, "mvn", "echo PROBE"),
    "php": ({"stacks": ["php"]}, {"composer.json": '{"require": {"psr/log": "3.0.0"}}'}, "composer",
            "test -d vendor/psr/log && echo PROBE"),
}


@pytest.mark.parametrize("stack", sorted(CASES))
def test_real_install_is_ready_for_the_first_bash_command(stack, client_world):
    answers, files, tool, probe = CASES[stack]
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed on this machine")
    if not reachable(REGISTRIES[stack]):
        pytest.skip(f"the {stack} registry ({REGISTRIES[stack]}) is not reachable from this machine")
    version = cli.versions()[0]
    binary = cli.cached_binary(version)
    world = client_world(answers, files)
    if stack == "node":  # a real lockfile, so the bootstrap's `npm ci` path runs
        subprocess.run(["npm", "install", "--package-lock-only", "--no-audit", "--no-fund"], cwd=world.project,
                       check=True, capture_output=True, timeout=300)
    env = world.env()
    env["PATH"] = env["PATH"].split(":", 1)[1]  # no stubs: the machine's real package managers
    script = Script(bash_command=probe)
    with FakeAnthropic(script) as api:
        env["ANTHROPIC_BASE_URL"] = api.url
        result = cli.print_mode(binary, world.project, env)
    assert result.returncode == 0, result.stderr
    first = json.dumps(script.main_requests()[0])
    assert f"installing {stack} in the background" in first, first[first.find("cloud-init:"):][:400]
    # The Bash call came right after startup; the env file made it wait for the real install.
    outputs = json.dumps(script.requests[-1].get("messages", [])[-1])
    assert "PROBE" in outputs, outputs[:600]
    assert (world.project / ".claude" / "state" / "result").read_text().startswith(f"ready: cloud-init: {stack} ok")


# A Python project with no lockfile, installed for real with uv: every extra and dependency
# group arrives, and the session leaves `git status` as clean as it found it.
NO_LOCK_PYPROJECT = """[project]
name = "probe"
version = "0.1.0"
dependencies = ["six==1.16.0"]

[project.optional-dependencies]
cli = ["iniconfig==2.0.0"]

[dependency-groups]
dev = ["packaging==24.1"]
"""


def test_a_python_project_without_a_lockfile_gets_its_extras_and_groups_and_a_clean_tree(client_world, tmp_path):
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("uv is not in the test environment: pip install -e '.[test]'")
    if not reachable(REGISTRIES["python"]):
        pytest.skip(f"PyPI ({REGISTRIES['python']}) is not reachable from this machine")
    world = client_world({"stacks": ["python"], "python_tool": "uv"}, {"pyproject.toml": NO_LOCK_PYPROJECT})
    git_save(world.project, "the team's repository")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "uv").symlink_to(uv)
    env = world.env()
    env["PATH"] = f"{tools}:" + env["PATH"].split(":", 1)[1]  # real uv, no stubs
    # This machine reaches PyPI through a proxy whose CA is in the system store, which uv reads
    # only when told (pip reads it from pip.conf here).
    env["UV_NATIVE_TLS"] = "true"
    hook = subprocess.run([str(world.project / ".claude/scripts/cloud-init.sh")], cwd=world.project, env=env,
                          capture_output=True, text=True, timeout=60)
    assert hook.returncode == 0, hook.stderr
    waited = subprocess.run([str(world.project / ".claude/scripts/cloud-init.sh"), "--wait"], cwd=world.project,
                            env=env, capture_output=True, text=True, timeout=600)
    assert waited.returncode == 0, waited.stderr + (world.project / ".claude/logs/cloud-init.log").read_text()
    probe = subprocess.run([str(world.project / ".venv/bin/python"), "-c",
                            "import six, iniconfig, packaging; print('PROBE')"], capture_output=True, text=True)
    assert "PROBE" in probe.stdout, probe.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=world.project, capture_output=True, text=True).stdout
    assert [line for line in status.splitlines() if not line.endswith(".claude/")] == [], status
