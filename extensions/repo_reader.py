"""Read a repository's real test, lint, format, typecheck and build commands from its own files.

`read_repository(root)` returns a JSON-serialisable dict, always in the same order:

    {"folders": [FOLDER, ...], "notes": ["node in frontend/ (pnpm from packageManager); lint: ...", ...]}

One FOLDER per project folder and stack (a folder holding a Gemfile and a package.json has
two), root first, then by path, then in catalogue order:

    path          POSIX, relative to root: ".", "frontend", "services/api"
    stack         a catalogue stack
    tool          a catalogue tool of the stack (never null: every stack has a fallback tool)
    tool_version  the version `packageManager` pins (corepack), else null
    why           why this tool, e.g. "pnpm from packageManager", "uv from uv.lock"
    commands      {kind: {"run": ..., "source": ...}} for the kinds found: test, lint, format,
                  typecheck, build. `format` is always the FIXING form: a CI format check
                  (`ruff format --check`, `cargo fmt --all -- --check`, `prettier --check`) is
                  stored as `ruff format`, `cargo fmt --all`, `prettier --write`.
    guessed       the kinds whose command is the catalogue's default. Defaults are used only
                  for a folder with no evidence at all: a folder that shows some commands
                  never gets an invented one for the other kinds.
    formatter     the per-file formatter of the format-on-edit hook (ruff, black, biome,
                  prettier, rubocop, standardrb, pint, php-cs-fixer, rustfmt, gofmt), or null.
                  It is the tool the strongest evidence names, not a command.
    install       lock (a lockfile in the folder, or null); frozen (a lockfile exists, here or
                  at the workspace root, and is not switched off by `package-lock=false` in
                  .npmrc); pnp (Yarn Berry Plug'n'Play); workspace_member (a workspace root
                  installs this folder: npm/yarn/pnpm workspaces, Cargo [workspace], go.work,
                  uv [tool.uv.workspace], the projects a .sln lists; only a root that is a
                  project folder itself counts, so go.work with no go.mod beside it marks none);
                  workspace_root (ADDED: that root's path, else null); extras and groups
                  (python: optional-dependencies, [dependency-groups], poetry groups, and
                  "dev" for [tool.poetry.dev-dependencies]); edition (rust, inherited from
                  [workspace.package] too); wrapper (java: ./mvnw or ./gradlew).

Evidence, in this order of trust (the first that gives a kind wins):
  1. CI: .github/workflows/*.yml `run:` steps (with working-directory, defaults.run and
     `cd DIR` lines), .gitlab-ci.yml `script:` lines, .circleci/config.yml `run:` steps;
     `${{ matrix.x }}` expands to each of the job's values, other `${{ }}` drop the line.
     A line is read by the tool it runs (pytest, cargo clippy, pnpm lint, ./gradlew build);
     `make`, `just` and task-script lines count for every stack of their folder.
  2. Declared tasks: package.json and composer.json scripts, Makefile and justfile targets,
     tox envs, nox sessions, Rakefile tasks, poe and hatch scripts, scripts/ and script/
     task scripts, bin/ wrappers, .pre-commit-config.yaml hooks, .cargo/config.toml aliases.
  3. Tool configs and dependencies (biome.json, [tool.ruff], `standard` in the Gemfile...).
  4. The stack's own tools (go, cargo, dotnet) and a Java wrapper.
  5. The catalogue's default, listed in `guessed`.
The rules live in data/evidence.yml; stacks, tools, markers and defaults in the catalogue.

Every command runs from its folder. A project tool goes through the folder tool's runner
(`uv run pytest`, `poetry run mypy .`, `bundle exec rspec`, `vendor/bin/pest`), except with
uv and no uv.lock, where it runs bare from .venv/bin: `uv run` would write a uv.lock. A node
package binary goes through npx --no-install, pnpm exec, yarn or bunx, a script through the
catalogue's `run` (`pnpm run lint`). A CI line keeps its own runner and flags when the folder
uses that runner (`uv run --locked tox run -e typing`, `pnpm exec prettier`); a bare build
tool becomes the folder's wrapper (./mvnw, ./gradlew). A tool shown only by its config may
not be installed by the project (black configured, installed by tox): the command is still
the one the project means.

`notes` has one line per folder, stack and command source: "STACK in PATH/ (WHY); KIND: RUN,
KIND: RUN (SOURCE)", or "...; no commands found".

Safety: a command built from a repository file is safe to put in a shell command line. Task
names are kept only when they match evidence.yml's `task_name_pattern` (letters, digits and
`:_.-`), and CI lines only when they are plain words (no `$`, quotes, backticks, `;`, `|`,
`&`, `<`, `>`, globs, line breaks); anything else is refused, never quoted.

Bounds: folders are scanned to evidence.yml's `scan.max_depth` (3: root is 0), skipping its
`skip_folders` and hidden folders; symlinked folders are never entered and a symlinked file
that leaves the root is absent; a file over `scan.max_file_bytes` (1 MB) is never read (a big
lockfile still counts as present); a file that does not parse (JSON, TOML, YAML, Python)
gives no evidence. noxfile.py is parsed (ast), never run.
Not read: `npm --prefix DIR` style folder flags in CI (such a line is attributed to the
step's folder), tox.toml and [tool.tox] envs, setup.cfg's other sections.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import importlib.util
import itertools
import json
import os
import re
import tomllib
from pathlib import Path, PurePosixPath

import yaml


# Copier runs extension files as modules of their own: the catalogue is loaded by its path.
_spec = importlib.util.spec_from_file_location("copier_claude_cloud_catalogue",
                                               Path(__file__).with_name("catalogue.py"))
catalogue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogue)
EVIDENCE_FILE = Path(__file__).resolve().parent / "data" / "evidence.yml"
MAX_MATRIX_COMBINATIONS = 64
MAX_SCRIPT_NESTING, MAX_SCRIPT_LINES = 10, 1000
MAX_CI_STEPS = 5000


class EvidenceError(ValueError):
    """evidence.yml contradicts itself or the catalogue; the message names the entry."""


# --- the rules ----------------------------------------------------------------------------------


def check_evidence(data: dict, stacks) -> None:
    """What must hold between evidence.yml and the catalogue."""
    kinds = set(data["kinds"])
    tools = data["tools"]
    if set(data["task_names"]) - kinds:
        raise EvidenceError(f"task_names has kinds outside `kinds`: {sorted(set(data['task_names']) - kinds)}")
    for name, tool in tools.items():
        if tool["stack"] not in stacks:
            raise EvidenceError(f"tools.{name}.stack is not a catalogue stack: {tool['stack']}")
        for excluded in tool.get("excludes", ()):
            if excluded not in tools:
                raise EvidenceError(f"tools.{name}.excludes names an unknown tool: {excluded}")
    if set(data["stacks"]) - set(stacks):
        unknown = sorted(set(data["stacks"]) - set(stacks))
        raise EvidenceError(f"stacks has names that are not catalogue stacks: {unknown}")
    for stack, spec in [*data["stacks"].items(), ("shared", data["shared"])]:
        for rule in spec["lines"]:
            if ("kind" in rule) == ("task" in rule) or rule.get("kind", "test") not in kinds:
                raise EvidenceError(f"{stack}.lines `{rule['words']}` needs one known `kind` or a `task`")
    named = [entry["tool"] for entry in data["configs"]] + [entry["tool"] for entry in data["pre_commit"].values()]
    named += [tool for table in data["dependencies"].values() for tool in table.values()]
    for tool in named:
        if tool not in tools:
            raise EvidenceError(f"configs, dependencies or pre_commit name an unknown tool: {tool}")


def load_evidence() -> dict:
    """The rules, parsed and checked once per process for each version of the file. Read-only:
    a caller that wants other rules passes its own (read_repository's `evidence`)."""
    return catalogue.parsed_once(EVIDENCE_FILE, lambda data: check_evidence(data, catalogue.stacks()) or data, "evidence")


# --- reading files, within bounds -----------------------------------------------------------------


class Repo:
    """The repository's files, as the reader may see them: inside the root, not too big."""

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes
        self._names: dict[str, list[str]] = {}
        self._texts: dict[str, str | None] = {}  # each file is read once, however many rules ask

    def path(self, relative: str) -> Path | None:
        """The file at `relative`, or None when it is missing or outside the root."""
        path = self.root / relative
        try:
            resolved = path.resolve()
            if not resolved.is_relative_to(self.root) or not resolved.is_file():
                return None
        except (OSError, RuntimeError):  # a symlink loop, a name the system refuses
            return None
        return path

    def exists(self, relative: str) -> bool:
        """Whether the file is there. Its size does not matter: lockfiles are often big."""
        return self.path(relative) is not None

    def text(self, relative: str) -> str | None:
        """The file's text, or None when it is absent or too big to read."""
        if relative not in self._texts:
            self._texts[relative] = self._read(relative)
        return self._texts[relative]

    def _read(self, relative: str) -> str | None:
        path = self.path(relative)
        try:
            if path is None or path.stat().st_size > self.max_bytes:
                return None
        except OSError:
            return None
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def toml(self, relative: str) -> dict:
        text = self.text(relative)
        try:
            return tomllib.loads(text) if text else {}
        except (tomllib.TOMLDecodeError, ValueError, RecursionError):
            return {}

    def json(self, relative: str) -> dict:
        text = self.text(relative)
        try:
            value = json.loads(text) if text else {}
        except (ValueError, RecursionError):
            return {}
        return value if isinstance(value, dict) else {}

    def sections(self, relative: str) -> set[str]:
        """The [section] names of an INI file (setup.cfg, tox.ini)."""
        return set(re.findall(r"^\[([^\]\n]+)\]", self.text(relative) or "", re.MULTILINE))

    def yaml(self, relative: str):
        text = self.text(relative)
        try:
            return yaml.safe_load(text) if text else None
        except (yaml.YAMLError, ValueError, RecursionError):
            return None

    def names(self, folder: str) -> list[str]:
        """The files directly in `folder` (sorted), that the reader may read."""
        if folder not in self._names:
            try:
                entries = sorted(entry.name for entry in os.scandir(self.root / folder))
            except OSError:
                entries = []
            self._names[folder] = [name for name in entries if self.exists(_join(folder, name))]
        return self._names[folder]


def _join(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder}/{name}"


def _table(data, dotted: str):
    """data["a"]["b"] for "a.b", or None."""
    for key in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _strings(value) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


# --- folders ------------------------------------------------------------------------------------


def project_folders(repo: Repo, rules: dict) -> list[str]:
    """Folders holding a stack's detection file: root first, then by path; bounded."""
    detect = [pattern for stack in catalogue.stacks().values() for pattern in stack["detect"]]
    skip = set(rules["scan"]["skip_folders"])
    found = []

    def visit(folder: str, depth: int) -> None:
        try:
            entries = sorted(os.scandir(repo.root / folder), key=lambda entry: entry.name)
        except OSError:
            return
        # The listing is checked first, as it is cheap; then only the files the reader may
        # read count (a symlinked package.json that leaves the root does not).
        listed = [entry.name for entry in entries if not entry.is_dir()]
        if _matches_any(listed, detect) and _matches_any(repo.names(folder), detect):
            found.append(folder)
        if depth == rules["scan"]["max_depth"]:
            return
        for entry in entries:
            if entry.name in skip or entry.name.startswith(".") or entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                visit(_join(folder, entry.name), depth + 1)

    visit(".", 0)
    return sorted(found, key=lambda path: (path != ".", path))


def _matches_any(names, patterns) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns)


def _glob_match(path: str, pattern: str) -> bool:
    """Segment-wise glob, `**` matching any number of segments (workspace member globs)."""
    parts, wanted = PurePosixPath(path).parts, PurePosixPath(pattern.strip("/").removeprefix("./")).parts
    if not wanted:
        return False
    if wanted[0] == "**":
        return any(_glob_match("/".join(parts[start:]), "/".join(wanted[1:]) or "*") for start in range(len(parts)))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], wanted[0]) and (
        len(parts) == len(wanted) == 1 or (len(parts) > 1 and len(wanted) > 1
                                          and _glob_match("/".join(parts[1:]), "/".join(wanted[1:]))))


def _relative_to(path: str, base: str) -> str | None:
    if base == ".":
        return path
    return path[len(base) + 1:] if path.startswith(base + "/") else None


def workspace_globs(repo: Repo, folder: str, stack: str) -> list[str]:
    """The member globs a workspace root in `folder` declares for `stack`, relative to it."""
    if stack == "node":
        manifest = repo.json(_join(folder, "package.json"))
        declared = manifest.get("workspaces")
        globs = _strings(declared.get("packages") if isinstance(declared, dict) else declared)
        globs += _strings(_dict(repo.yaml(_join(folder, "pnpm-workspace.yaml"))).get("packages"))
    elif stack == "rust":
        workspace = _dict(repo.toml(_join(folder, "Cargo.toml")).get("workspace"))
        globs = _strings(workspace.get("members")) + [f"!{path}" for path in _strings(workspace.get("exclude"))]
    elif stack == "python":
        globs = _strings(_table(repo.toml(_join(folder, "pyproject.toml")), "tool.uv.workspace.members"))
    elif stack == "go":
        text = repo.text(_join(folder, "go.work")) or ""
        globs = re.findall(r"^\s*(?:use\s+)?(\./[^\s()]*|\.\.?)\s*$", text, re.MULTILINE)
    elif stack == "dotnet":
        globs = []
        for name in repo.names(folder):
            if name.endswith(".sln"):
                text = repo.text(_join(folder, name)) or ""
                projects = re.findall(r'^Project\([^)]*\)\s*=\s*"[^"]*",\s*"([^"]+\.\w+proj)"', text, re.M)
                globs += [str(PurePosixPath(project.replace("\\", "/")).parent) for project in projects]
    else:
        globs = []
    return [glob for glob in globs if glob not in (".", "./")]


def workspace_roots(repo: Repo, folders: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(member folder, stack) -> the workspace root that installs it. A glob starting with
    `!` (or a Cargo `exclude`) takes folders out again."""
    roots = {}
    for folder, stack in folders:
        globs = workspace_globs(repo, folder, stack)
        included = [glob for glob in globs if not glob.startswith("!")]
        excluded = [glob[1:] for glob in globs if glob.startswith("!")]
        for member, member_stack in folders:
            relative = _relative_to(member, folder)
            if member_stack != stack or member == folder or not relative:
                continue
            if any(_glob_match(relative, glob) for glob in included) and not any(
                    _glob_match(relative, glob) for glob in excluded):
                roots.setdefault((member, stack), folder)
    return roots


# --- the folder's tool and install facts -----------------------------------------------------------


def _has(repo: Repo, folder: str, patterns) -> str | None:
    """The first file in `folder` matching one of `patterns`, in pattern order."""
    names = repo.names(folder)
    for pattern in patterns:
        for name in names:
            if fnmatch.fnmatchcase(name, pattern):
                return name
    return None


def package_manager(repo: Repo, folder: str) -> tuple[str, str | None] | None:
    """`packageManager: "pnpm@9.12.0+sha512..."` -> ("pnpm", "9.12.0")."""
    declared = repo.json(_join(folder, "package.json")).get("packageManager")
    if not isinstance(declared, str):
        return None
    name, _, version = declared.partition("@")
    version = version.split("+", 1)[0]
    return name, (version if re.fullmatch(r"[0-9A-Za-z.-]+", version or "") else None)


def choose_tool(repo: Repo, folder: str, stack: str, rules: dict) -> tuple[str, str | None, str]:
    """(tool, version, why) for a folder that is not a workspace member."""
    spec = catalogue.stacks()[stack]
    if stack == "node" and (declared := package_manager(repo, folder)) and declared[0] in spec["tools"]:
        return declared[0], declared[1], f"{declared[0]} from packageManager"
    for tool, details in spec["tools"].items():
        if details["markers"] and (marker := _has(repo, folder, details["markers"])):
            return tool, None, f"{tool} from {marker}"
    pyproject = repo.toml(_join(folder, "pyproject.toml"))
    for hint in rules["tool_tables"].get(stack, ()):
        if _table(pyproject, hint["table"]) is not None:
            return hint["tool"], None, f"{hint['tool']} from [{hint['table']}] in pyproject.toml"
    if len(spec["tools"]) == 1:
        return spec["fallback"], None, f"{spec['fallback']}, the stack's one tool"
    return spec["fallback"], None, f"{spec['fallback']}: no lockfile, the catalogue's fallback"


def lockfile(repo: Repo, folder: str, stack: str, tool: str, rules: dict) -> str | None:
    markers = [marker for marker in catalogue.stacks()[stack]["tools"][tool]["markers"]
               if marker not in rules["not_lockfiles"]]
    return _has(repo, folder, [*markers, *rules["extra_lockfiles"].get(stack, ())])


def lock_switched_off(repo: Repo, folder: str) -> bool:
    text = repo.text(_join(folder, ".npmrc")) or ""
    return bool(re.search(r"^\s*package-lock\s*=\s*false\s*$", text, re.MULTILINE))


def plug_n_play(repo: Repo, folder: str, tool: str, version: str | None) -> bool:
    """Yarn Berry PnP: a .pnp.cjs, or Yarn 2+ without `nodeLinker: node-modules` (pnpm)."""
    if repo.exists(_join(folder, ".pnp.cjs")):
        return True
    if tool != "yarn":
        return False
    berry = (version and version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 2) \
        or repo.exists(_join(folder, ".yarnrc.yml")) or bool(_has(repo, _join(folder, ".yarn/releases"), ["*"]))
    linker = _dict(repo.yaml(_join(folder, ".yarnrc.yml"))).get("nodeLinker")
    return bool(berry) and linker in (None, "pnp")


def python_needs(repo: Repo, folder: str) -> tuple[list[str], list[str]]:
    """(extras, groups) an install brings in: every one, the test and dev needs among them."""
    pyproject = repo.toml(_join(folder, "pyproject.toml"))
    extras = list(_dict(_table(pyproject, "project.optional-dependencies")))
    groups = list(_dict(pyproject.get("dependency-groups")))
    groups += list(_dict(_table(pyproject, "tool.poetry.group")))
    if _table(pyproject, "tool.poetry.dev-dependencies") is not None:
        groups.append("dev")
    return extras, list(dict.fromkeys(groups))


def rust_edition(repo: Repo, folder: str, workspace_root: str | None) -> str | None:
    manifest = repo.toml(_join(folder, "Cargo.toml"))
    edition = _table(manifest, "package.edition")
    if isinstance(edition, dict) or edition is None:  # `edition.workspace = true`, or a virtual manifest
        root = repo.toml(_join(workspace_root or folder, "Cargo.toml"))
        edition = _table(root, "workspace.package.edition")
    return edition if isinstance(edition, str) else None


def java_wrapper(repo: Repo, folder: str, rules: dict) -> str | None:
    for wrapper in rules["stacks"]["java"]["wrappers"].values():
        if repo.exists(_join(folder, wrapper.removeprefix("./"))):
            return wrapper
    return None


# --- evidence records ---------------------------------------------------------------------------


class Folder:
    """One folder and stack: its tool and install facts, then the evidence as it arrives
    (strongest first: the first command offered for a kind stays)."""

    def __init__(self, path: str, stack: str, tool: tuple[str, str | None, str], install: dict, rules: dict):
        self.path, self.stack, self.install = path, stack, install
        self.tool, self.tool_version, self.why = tool
        details = catalogue.stacks()[stack]["tools"][self.tool]
        # The catalogue's runner: a node tool's runs a script ("pnpm run "), the others' run a
        # tool from the project's environment. `uv run` writes a uv.lock when there is none,
        # so without one the tools run from .venv/bin (on the session's PATH).
        locked = install["lock"] or install["frozen"]
        self.run = "" if self.tool == "uv" and not locked else details["run"]
        self.exec = rules["bin_runners"].get(self.tool, "")  # runs a package binary: "pnpm exec "
        self.commands: dict[str, dict] = {}
        self.formatters: list[str] = []
        self.guessed: list[str] = []

    def offer(self, kind: str, run: str, source: str, formatter: str | None = None) -> None:
        if kind not in self.commands and run:
            self.commands[kind] = {"run": run, "source": source}
        if formatter:
            self.formatters.append(formatter)

    def fill(self, template: str) -> str:
        return template.format(run=self.run, exec=self.exec)


def new_folder(repo: Repo, path: str, stack: str, workspace_root: str | None, root_tools: dict, rules: dict) -> Folder:
    """A folder's record: its tool (a workspace member takes its root's), and install facts."""
    if workspace_root is not None and (workspace_root, stack) in root_tools:
        tool, version, _ = root_tools[(workspace_root, stack)]
        chosen = (tool, version, f"{tool} from the workspace root {workspace_root}/")
    else:
        chosen = choose_tool(repo, path, stack, rules)
    root_tools[(path, stack)] = chosen
    tool, version, _ = chosen
    installs_from = workspace_root if workspace_root is not None else path
    lock = lockfile(repo, path, stack, tool, rules)
    root_lock = lockfile(repo, installs_from, stack, tool, rules)
    install = {
        "lock": lock,
        "frozen": bool(lock or root_lock) and not lock_switched_off(repo, installs_from),
        "pnp": stack == "node" and plug_n_play(repo, installs_from, tool, version),
        "workspace_member": workspace_root is not None,
        "workspace_root": workspace_root,
        "extras": [], "groups": [],
        "edition": rust_edition(repo, path, workspace_root) if stack == "rust" else None,
        "wrapper": java_wrapper(repo, path, rules) if stack == "java" else None,
    }
    if stack == "python":
        install["extras"], install["groups"] = python_needs(repo, path)
    return Folder(path, stack, chosen, install, rules)


# --- 1. CI ------------------------------------------------------------------------------------------


class LineReader:
    """Classifies a plain command line by the tool it runs, and renders it for a folder."""

    def __init__(self, rules: dict):
        self.rules = rules
        self.task_kinds = {name: kind for kind, names in rules["task_names"].items() for name in names}
        self.task_name = re.compile(rules["task_name_pattern"])
        self.plain = re.compile(rules["plain_line_pattern"])
        # Per stack (None: the shared lines, make and just, which run any stack's tasks).
        self.stacks = {}
        for stack, spec in [*rules["stacks"].items(), (None, rules["shared"])]:
            lines = sorted(spec["lines"], key=lambda rule: -len(rule["words"].split()))
            runners = sorted(spec.get("runners", ()), key=len, reverse=True)
            self.stacks[stack] = (spec, lines, runners)
        self.task_script = re.compile(r"(?:\./)?(?:%s)/([A-Za-z0-9_-]+)(%s)" % (
            "|".join(map(re.escape, rules["task_scripts"]["folders"])),
            "|".join(map(re.escape, rules["task_scripts"]["suffixes"]))))

    def kind_of_task(self, name: str) -> str | None:
        return self.task_kinds.get(name) if self.task_name.fullmatch(name) else None

    def _strip_runner(self, line: str, runners, value_flags) -> tuple[str, str]:
        """("uv run --frozen ", "pytest -x") for "uv run --frozen pytest -x"; ("", line) without one."""
        for runner in runners:
            if line.startswith(runner) and (runner.endswith("/") or line[len(runner):].startswith(" ")):
                words = line[len(runner):].split()
                skip = 0
                while skip < len(words) and words[skip].startswith("-"):
                    skip += 2 if words[skip] in value_flags else 1
                if skip < len(words):
                    rest = " ".join(words[skip:])
                    return line[: len(line) - len(rest)], rest
        return "", line

    def classify(self, line: str) -> dict | None:
        """{stack, kind, runner, words, rule} for the first rule that matches, else None."""
        for stack, (spec, lines, runners) in self.stacks.items():
            runner, rest = self._strip_runner(line, runners, set(spec.get("value_flags", ())))
            found = self._match(lines, rest.split(), spec)
            if found:
                return {**found, "stack": stack, "runner": runner}
        return None

    def _match(self, lines, words: list[str], spec: dict) -> dict | None:
        for rule in lines:
            wanted = rule["words"].split()
            if words[: len(wanted)] != wanted:
                continue
            if "kind" in rule:
                return {"kind": rule["kind"], "words": words, "rule": rule}
            kind = self._task_kind(rule, words[len(wanted):], set(spec.get("value_flags", ())))
            if kind:
                return {"kind": kind, "words": words, "rule": rule}
            if rule.get("bins") and len(words) > len(wanted):
                inner = self._match(lines, words[len(wanted):], spec)
                if inner and "task" not in inner["rule"]:
                    return {**inner, "words": words, "rule": {**inner["rule"], "standalone": True}}
        return None

    def _task_kind(self, rule: dict, args: list[str], value_flags: set[str]) -> str | None:
        task = rule["task"]
        if task == "script":  # bash scripts/lint.sh, ./script/test
            script = self.task_script.fullmatch(args[0]) if args else None
            return self.kind_of_task(script.group(1)) if script else None
        if task == "java":
            names = [arg for arg in args if not arg.startswith("-")]
            return self.rules["java_tasks"].get(names[0]) if names else None
        if task is True:  # the first word that is not a flag: npm run lint, pnpm -r test
            position = 0
            while position < len(args) and args[position].startswith("-"):
                position += 2 if args[position] in value_flags else 1
            name = args[position] if position < len(args) else None
        else:  # a flag names the task: tox -e lint, nox -s tests
            name = args[args.index(task) + 1] if task in args[:-1] else None
            if name and re.fullmatch(self.rules["tox_python_env"], name):
                name = "py"
        if name is None:
            return rule.get("bare")
        return self.kind_of_task(name)

    def render(self, found: dict, record: Folder) -> str:
        """The command as it runs from the record's folder: the fixing form of a check, the
        folder's wrapper or runner prefix."""
        rule, words = found["rule"], list(found["words"])
        check = rule.get("check") or {}
        if any(word in check for word in words):
            words = [check.get(word, word) for word in words]
            words = [word for word in words if word]
            while words and words[-1] == "--":
                words.pop()
        if rule.get("task") == "java":
            fix = self.rules["java_fix"]
            words = [fix.get(word, word) for word in words]
            wrapper = self.rules["stacks"]["java"]["wrappers"].get(words[0])
            if wrapper and record.install["wrapper"] == wrapper:
                words[0] = wrapper
        command = " ".join(words)
        spec = self.stacks[found["stack"]][0]
        if rule.get("standalone") or "prefix" not in spec:
            return found["runner"] + command
        prefix = record.fill(spec["prefix"])
        if found["runner"] and (spec.get("keep_runner") or (prefix and found["runner"].startswith(prefix))):
            return found["runner"] + command  # the maintainers' own runner, flags and all
        return prefix + command


def _logical_lines(script: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def _normal_folder(base: str, relative: str) -> str | None:
    """base/relative as a root-relative POSIX path, or None when it leaves the root."""
    parts = [] if base == "." else base.split("/")
    for part in relative.strip().split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or "."


def _matrix_values(matrix) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    if not isinstance(matrix, dict):
        return values
    for key, items in matrix.items():
        if key in ("include", "exclude"):
            continue
        if isinstance(items, list):
            values[key] = [str(item) for item in items if isinstance(item, (str, int, float))]
    for entry in _list(matrix.get("include")):
        for key, item in _dict(entry).items():
            if isinstance(item, (str, int, float)) and str(item) not in values.setdefault(key, []):
                values[key].append(str(item))
    return values


MATRIX_VALUE = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}")


def _expand_matrix(texts: tuple[str, ...], matrix: dict[str, list[str]]) -> list[tuple[str, ...]]:
    """`texts` once per combination of the matrix values they use. A key the matrix does not
    list stays as it is: the lines that use it are dropped later, like any other `${{`."""
    keys = sorted({key for text in texts for key in MATRIX_VALUE.findall(text) if matrix.get(key)})
    expanded = []
    for combination in itertools.islice(itertools.product(*(matrix[key] for key in keys)), MAX_MATRIX_COMBINATIONS):
        values = dict(zip(keys, combination))
        expanded.append(tuple(MATRIX_VALUE.sub(lambda match: values.get(match.group(1), match.group(0)), text)
                              for text in texts))
    return expanded


def ci_steps(repo: Repo):
    """(source file, working folder, script) for each CI step that runs a script, at most
    MAX_CI_STEPS of them (YAML aliases can repeat a long script in many jobs cheaply)."""
    every = itertools.chain(_github_steps(repo), _gitlab_steps(repo), _circleci_steps(repo))
    return itertools.islice(every, MAX_CI_STEPS)


def _github_steps(repo: Repo):
    for name in repo.names(".github/workflows"):
        if not name.endswith((".yml", ".yaml")):
            continue
        source = f".github/workflows/{name}"
        workflow = _dict(repo.yaml(source))
        default = _dict(_dict(workflow.get("defaults")).get("run")).get("working-directory") or "."
        for job in _dict(workflow.get("jobs")).values():
            job = _dict(job)
            job_folder = _dict(_dict(job.get("defaults")).get("run")).get("working-directory") or default
            matrix = _matrix_values(_dict(job.get("strategy")).get("matrix"))
            for step in _list(job.get("steps")):
                step = _dict(step)
                folder = step.get("working-directory") or job_folder
                if isinstance(step.get("run"), str) and isinstance(folder, str):
                    for folder_text, script in _expand_matrix((folder, step["run"]), matrix):
                        yield source, folder_text, script


def _gitlab_steps(repo: Repo):
    for key, job in _dict(repo.yaml(".gitlab-ci.yml")).items():
        if isinstance(job, dict) and not str(key).startswith("."):  # .name: a template, not a job
            for part in ("before_script", "script"):
                for line in _flatten(job.get(part)):
                    yield ".gitlab-ci.yml", ".", line


def _circleci_steps(repo: Repo):
    for job in _dict(_dict(repo.yaml(".circleci/config.yml")).get("jobs")).values():
        for step in _list(_dict(job).get("steps")):
            run = _dict(step).get("run")
            if isinstance(run, str):
                yield ".circleci/config.yml", ".", run
            elif isinstance(run, dict) and isinstance(run.get("command"), str):
                folder = run.get("working_directory")
                folder = folder.removeprefix("~/project") if isinstance(folder, str) else "."
                yield ".circleci/config.yml", folder, run["command"]


def _flatten(value, depth: int = 0) -> list[str]:
    """GitLab's script lines, nested lists (!reference) flattened. YAML aliases can nest a
    list in itself many times over: the depth is bounded, and so is the count."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or depth > MAX_SCRIPT_NESTING:
        return []
    lines = []
    for item in value:
        lines += _flatten(item, depth + 1)
        if len(lines) > MAX_SCRIPT_LINES:
            return lines[:MAX_SCRIPT_LINES]
    return lines


def read_ci(repo: Repo, records: dict[tuple[str, str], Folder], reader: LineReader) -> None:
    for source, step_folder, script in ci_steps(repo):
        folder = _normal_folder(".", step_folder)
        for line in _logical_lines(script):
            if folder is None:
                break
            change = re.fullmatch(r"cd (\S+)(?: && (.+))?", line)
            if change and not change.group(2):
                folder = _normal_folder(folder, change.group(1))  # `cd DIR` alone: the rest of the step runs there
                continue
            here = _normal_folder(folder, change.group(1)) if change else folder
            line = change.group(2) if change else line
            if here is None or "${{" in line or not reader.plain.fullmatch(line):
                continue
            found = reader.classify(line)
            if not found:
                continue
            # A shared line (make test) counts for each stack of its folder.
            stacks = [found["stack"]] if found["stack"] else [stack for path, stack in records if path == here]
            for stack in stacks:
                if record := records.get((here, stack)):
                    record.offer(found["kind"], reader.render(found, record), source, found["rule"].get("formatter"))


# --- 2. declared tasks ---------------------------------------------------------------------------


def _package_scripts(repo, folder, manifest):
    scripts = _dict(repo.json(_join(folder, manifest)).get("scripts"))
    return {name: name for name in scripts}


def _makefile_targets(repo, folder, _):
    text = repo.text(_join(folder, "Makefile")) or repo.text(_join(folder, "makefile")) or ""
    return {name: name for name in re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)", text, re.MULTILINE)}


def _just_recipes(repo, folder, _):
    text = next((text for name in ("justfile", "Justfile", ".justfile")
                 if (text := repo.text(_join(folder, name)))), "")
    recipes = {}
    for name, params in re.findall(r"^@?([A-Za-z0-9][A-Za-z0-9_-]*)((?:\s+[^:\n]*)?):(?!=)", text, re.MULTILINE):
        # A recipe that needs an argument cannot run as `just NAME`.
        if all("=" in param or param.startswith(("*", "$*")) for param in params.split()):
            recipes[name] = name
    return recipes


def _tox_envs(repo, folder, rules):
    text = repo.text(_join(folder, "tox.ini"))
    if not text:
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    envs = [section.split(":", 1)[1] for section in parser.sections() if section.startswith("testenv:")]
    if parser.has_option("tox", "envlist"):
        envs += [env for env in re.split(r"[\s,]+", parser.get("tox", "envlist")) if env]
    names = {}
    for env in envs:
        name = "py" if re.fullmatch(rules["tox_python_env"], env) else env  # py312 -> py: this Python
        names.setdefault(name, name)
    return names


def _nox_sessions(repo, folder, _):
    text = repo.text(_join(folder, "noxfile.py"))
    try:
        tree = ast.parse(text or "")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    sessions = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if ast.unparse(target) not in ("nox.session", "session"):
                continue
            name = node.name
            for keyword in call.keywords if call else []:
                value = keyword.value.value if isinstance(keyword.value, ast.Constant) else None
                if keyword.arg == "name" and isinstance(value, str):
                    name = value
            sessions[name] = name
    return sessions


def _rake_tasks(repo, folder, rules):
    text = repo.text(_join(folder, "Rakefile")) or ""
    names = re.findall(r"""\btask\s*\(?\s*(?::(\w+)|["'](\w[\w:.-]*)["']|(\w+):\s)""", text)
    tasks = [next(part for part in found if part) for found in names]
    for klass, default in rules["rake_task_classes"].items():
        for argument in re.findall(re.escape(klass) + r"\.new(?:\s*\(\s*:(\w+))?", text):
            tasks.append(argument or default)
    return {name: name for name in tasks if name != "default"}


def _poe_tasks(repo, folder, _):
    return {name: name for name in _dict(_table(repo.toml(_join(folder, "pyproject.toml")), "tool.poe.tasks"))}


def _hatch_scripts(repo, folder, rules):
    envs = _dict(_table(repo.toml(_join(folder, "pyproject.toml")), "tool.hatch.envs"))
    tasks = {}
    known = {name for names in rules["task_names"].values() for name in names}
    for env, spec in envs.items():
        for script in _dict(_dict(spec).get("scripts")):
            argument = script if env == "default" else f"{env}:{script}"
            # The kind is the script's name, else its environment's (envs.lint.scripts.style).
            name = script if script in known else env
            tasks.setdefault(name, argument)
    return tasks


def _task_scripts(repo, folder, rules):
    tasks = {}
    for directory in rules["task_scripts"]["folders"]:
        for suffix in rules["task_scripts"]["suffixes"]:
            for name in repo.names(_join(folder, directory)):
                if not name.endswith(suffix) or (not suffix and "." in name):
                    continue
                relative = f"{directory}/{name}"
                executable = os.access(repo.root / _join(folder, relative), os.X_OK)
                tasks.setdefault(name.removesuffix(suffix) if suffix else name,
                                 f"./{relative}" if executable else f"bash {relative}")
    return tasks


def _cargo_aliases(repo, folder, _):
    return {name: name for name in _dict(repo.toml(_join(folder, ".cargo/config.toml")).get("alias"))}


# What a task's argument may hold (a name, hatch's ENV:NAME, a script's path): no shell syntax.
SAFE_ARGUMENT = re.compile(r"[A-Za-z0-9:_./ -]+")
# Task sources in their order of trust: (label, stacks it applies to or None for all,
# reader -> {name: argument}, command template).
TASK_SOURCES = [
    ("package.json scripts", ("node",), lambda repo, folder, rules: _package_scripts(repo, folder, "package.json"),
     "{run}{arg}"),
    ("composer.json scripts", ("php",), lambda repo, folder, rules: _package_scripts(repo, folder, "composer.json"),
     "composer {arg}"),
    ("Makefile", None, _makefile_targets, "make {arg}"),
    ("justfile", None, _just_recipes, "just {arg}"),
    ("tox.ini", ("python",), _tox_envs, "tox -e {arg}"),
    ("noxfile.py", ("python",), _nox_sessions, "nox -s {arg}"),
    ("Rakefile", ("ruby",), _rake_tasks, "{run}rake {arg}"),
    ("[tool.poe.tasks]", ("python",), _poe_tasks, "{run}poe {arg}"),
    ("[tool.hatch.envs]", ("python",), _hatch_scripts, "hatch run {arg}"),
    ("scripts/", None, _task_scripts, "{arg}"),
    (".cargo/config.toml aliases", ("rust",), _cargo_aliases, "cargo {arg}"),
]


def read_tasks(repo: Repo, record: Folder, reader: LineReader, rules: dict) -> None:
    for label, stacks, read, template in TASK_SOURCES:
        if stacks and record.stack not in stacks:
            continue
        declared = read(repo, record.path, rules)
        for kind, names in rules["task_names"].items():
            for name in names:
                argument = declared.get(name)
                if argument and reader.task_name.fullmatch(name) and SAFE_ARGUMENT.fullmatch(argument):
                    command = template.format(run=record.run, arg=argument)
                    record.offer(kind, command, label)
                    break
    _task_bodies_formatter(repo, record, reader)
    _bin_wrappers(repo, record, rules)
    _pre_commit(repo, record, rules)


def _task_bodies_formatter(repo: Repo, record: Folder, reader: LineReader) -> None:
    """A package.json or composer.json script that runs a formatter names it (`"format": "biome format --write"`)."""
    manifest = {"node": "package.json", "php": "composer.json"}.get(record.stack)
    if not manifest:
        return
    for body in _dict(repo.json(_join(record.path, manifest)).get("scripts")).values():
        for part in (body if isinstance(body, list) else [body]):
            if isinstance(part, str) and (found := reader.classify(part.split("&&")[0].strip().removeprefix("@php "))):
                if found["stack"] == record.stack and found["rule"].get("formatter"):
                    record.formatters.append(found["rule"]["formatter"])


def _bin_wrappers(repo: Repo, record: Folder, rules: dict) -> None:
    if record.stack != "ruby":
        return
    for wrapper in rules["bin_wrappers"]:
        if repo.exists(_join(record.path, wrapper["file"])) and not (
                wrapper.get("unless") and repo.exists(_join(record.path, wrapper["unless"]))):
            record.offer(wrapper["kind"], wrapper["run"], wrapper["file"])


def _pre_commit(repo: Repo, record: Folder, rules: dict) -> None:
    config = _dict(repo.yaml(_join(record.path, ".pre-commit-config.yaml")))
    for entry in _list(config.get("repos")):
        for hook in _list(_dict(entry).get("hooks")):
            known = rules["pre_commit"].get(str(_dict(hook).get("id")))
            tool = rules["tools"].get(known["tool"]) if known else None
            if not tool or tool["stack"] != record.stack:
                continue
            for kind in known["kinds"]:
                if kind in tool:
                    record.offer(kind, record.fill(tool[kind]), f".pre-commit-config.yaml hook {hook['id']}")
            if tool.get("formatter") and "format" in known["kinds"]:
                record.formatters.append(tool["formatter"])


# --- 3. tool configs and dependencies -----------------------------------------------------------


def dependency_names(repo: Repo, folder: str, stack: str) -> list[str]:
    if stack == "node":
        manifest = repo.json(_join(folder, "package.json"))
        return [name for key in ("devDependencies", "dependencies") for name in _dict(manifest.get(key))]
    if stack == "php":
        manifest = repo.json(_join(folder, "composer.json"))
        return [name for key in ("require-dev", "require") for name in _dict(manifest.get(key))]
    if stack == "ruby":
        return re.findall(r"""^\s*gem\s+["']([A-Za-z0-9_.-]+)["']""", repo.text(_join(folder, "Gemfile")) or "", re.M)
    if stack == "python":
        pyproject = repo.toml(_join(folder, "pyproject.toml"))
        specs = _strings(_table(pyproject, "project.dependencies"))
        for table in ("project.optional-dependencies", "dependency-groups"):
            specs += [spec for group in _dict(_table(pyproject, table)).values() for spec in _strings(group)]
        names = [re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec) for spec in specs]
        found = [match.group(1).lower() for match in names if match]
        for group in _dict(_table(pyproject, "tool.poetry.group")).values():
            found += list(_dict(_dict(group).get("dependencies")))
        found += list(_dict(_table(pyproject, "tool.poetry.dev-dependencies")))
        for name in repo.names(folder):
            if fnmatch.fnmatchcase(name, "requirements*.txt"):
                text = repo.text(_join(folder, name)) or ""
                found += [match.lower() for match in re.findall(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text, re.M)]
        return found
    return []


def tools_in_use(repo: Repo, record: Folder, rules: dict) -> list[tuple[str, str]]:
    """(tool, what shows it) for the record's stack: configs first, in evidence.yml's order."""
    folder = record.path
    pyproject = repo.toml(_join(folder, "pyproject.toml")) if record.stack == "python" else {}
    package = repo.json(_join(folder, "package.json")) if record.stack == "node" else {}
    found = []
    for entry in rules["configs"]:
        if rules["tools"][entry["tool"]]["stack"] != record.stack:
            continue
        shown = _has(repo, folder, entry.get("files", ()))
        if not shown and entry.get("pyproject") and _table(pyproject, entry["pyproject"]) is not None:
            shown = f"pyproject.toml [{entry['pyproject']}]"
        if not shown and entry.get("package_json") and entry["package_json"] in package:
            shown = f"package.json {entry['package_json']}"
        for file, section in (item.split(" ", 1) for item in entry.get("ini", ())):
            if not shown and section.strip("[]") in repo.sections(_join(folder, file)):
                shown = f"{file} {section}"
        if shown:
            found.append((entry["tool"], shown))
    dependencies = rules["dependencies"].get(record.stack, {})
    for name in dependency_names(repo, folder, record.stack):
        if name in dependencies:
            found.append((dependencies[name], f"dependency {name}"))
    excluded = {other for tool, _ in found for other in rules["tools"][tool].get("excludes", ())}
    seen, kept = set(), []
    for tool, shown in found:
        if tool not in excluded and tool not in seen:
            seen.add(tool)
            kept.append((tool, shown))
    return kept


def read_tools(repo: Repo, record: Folder, rules: dict) -> None:
    for tool, shown in tools_in_use(repo, record, rules):
        spec = rules["tools"][tool]
        for kind in rules["kinds"]:
            if kind in spec:
                record.offer(kind, record.fill(spec[kind]), shown)
        if spec.get("formatter"):
            record.formatters.append(spec["formatter"])


# --- 4. the stack's own tools, 5. the catalogue's guess ---------------------------------------------


def _catalogue_commands(record: Folder) -> dict[str, str]:
    spec = catalogue.stacks()[record.stack]
    commands = spec["tools"][record.tool].get("commands") or spec["commands"]
    return {kind: command.format(run=record.run) for kind, command in commands.items() if command}


def read_own_tools(repo: Repo, record: Folder, rules: dict) -> None:
    inherent = rules["inherent"].get(record.stack)
    defaults = _catalogue_commands(record)
    detect = _has(repo, record.path, catalogue.stacks()[record.stack]["detect"])
    if inherent:
        for kind in inherent["kinds"]:
            record.offer(kind, defaults.get(kind, ""), f"{detect} (the {record.stack} toolchain)")
        if inherent.get("formatter"):
            record.formatters.append(inherent["formatter"])
    wrapper = record.install["wrapper"]
    if wrapper:
        for kind in rules["java_wrapper_kinds"]:
            words = defaults.get(kind, "").split(" ", 1)
            if words[0] in rules["stacks"]["java"]["wrappers"]:
                words[0] = rules["stacks"]["java"]["wrappers"][words[0]]
            if words[0] == wrapper:
                record.offer(kind, " ".join(words), wrapper)


def guess(record: Folder) -> None:
    if record.commands:
        return
    for kind, command in _catalogue_commands(record).items():
        record.offer(kind, command, "the catalogue's default, a guess")
        record.guessed.append(kind)


# --- the whole repository -----------------------------------------------------------------------


def read_repository(root, evidence: dict | None = None) -> dict:
    """The folders, their tools, commands, formatter and install facts; see the module docstring."""
    rules = evidence or load_evidence()
    repo = Repo(Path(root), rules["scan"]["max_file_bytes"])
    stacks = catalogue.stacks()
    pairs = []
    for folder in project_folders(repo, rules):
        pairs += [(folder, stack) for stack, spec in stacks.items() if _matches_any(repo.names(folder), spec["detect"])]
    members = workspace_roots(repo, pairs)
    records: dict[tuple[str, str], Folder] = {}
    root_tools: dict[tuple[str, str], tuple] = {}
    # Workspace roots before their members, which take the root's tool.
    for folder, stack in sorted(pairs, key=lambda pair: (pair in members, pair[0] != ".", pair[0])):
        records[(folder, stack)] = new_folder(repo, folder, stack, members.get((folder, stack)), root_tools, rules)
    reader = LineReader(rules)
    read_ci(repo, records, reader)
    for record in records.values():
        read_tasks(repo, record, reader, rules)
        read_tools(repo, record, rules)
        read_own_tools(repo, record, rules)
        guess(record)
    ordered = [records[pair] for pair in pairs]
    for record in ordered:  # a member formats as its workspace root does, unless it says otherwise
        root = record.install["workspace_root"]
        if not record.formatters and root is not None and (root, record.stack) in records:
            record.formatters = records[(root, record.stack)].formatters
    return {"folders": [_as_dict(record, rules) for record in ordered], "notes": notes(ordered)}


def _as_dict(record: Folder, rules: dict) -> dict:
    commands = {kind: record.commands[kind] for kind in rules["kinds"] if kind in record.commands}
    return {
        "path": record.path,
        "stack": record.stack,
        "tool": record.tool,
        "tool_version": record.tool_version,
        "why": record.why,
        "commands": commands,
        "guessed": [kind for kind in rules["kinds"] if kind in record.guessed],
        "formatter": record.formatters[0] if record.formatters else None,
        "install": record.install,
    }


def notes(records: list[Folder]) -> list[str]:
    """One line per folder and command source: "node in frontend/ (pnpm from packageManager);
    lint: pnpm run lint, test: pnpm run test (package.json scripts)"."""
    lines = []
    for record in records:
        where = "./" if record.path == "." else f"{record.path}/"
        head = f"{record.stack} in {where} ({record.why})"
        by_source: dict[str, list[str]] = {}
        for kind, command in record.commands.items():
            by_source.setdefault(command["source"], []).append(f"{kind}: {command['run']}")
        if not by_source:
            lines.append(f"{head}; no commands found")
        for source, commands in by_source.items():
            lines.append(f"{head}; {', '.join(commands)} ({source})")
    return lines
