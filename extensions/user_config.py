"""Bring your own setup: what a copy imports from a person's Claude Code home folder.

The `import_user_config` question lets a copy take the person's own skills, commands, agents,
hooks, MCP servers, plugins and permission rules into the repository, so cloud sessions (which
never see ~/.claude or ~/.claude.json) have them. This module reads the home and builds the
plan: what would be written where, what is left out and why. It writes nothing: the question's
help and `when`, the recorded answer `imported_user_config`, the closing message and the task
that writes the files (tasks/import_user_config.py) all call `build_plan`, so they agree.

The home: `$CLAUDE_CONFIG_DIR`, else `~/.claude`, for the folder; `$CLAUDE_CONFIG_DIR/.claude.json`,
else `~/.claude.json`, for the global config, as Claude Code itself finds them (CLIs 2.0.55 and
2.1.332 read `<folder>/.config.json` instead when that legacy file exists).

Everything read there is untrusted: names are matched against plain patterns, sizes are
bounded, symlinks are followed only when they stay inside the home's folder, files that are
secrets by name or hold a literal secret are left out, literal secrets in MCP servers become
${VAR} references, and an allow rule is kept only when it cannot run unspelled code or reach
secrets (`allow_refusal`). A file that is not valid JSON is reported, and nothing is read from it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote_plus, urlsplit, urlunsplit
from weakref import WeakKeyDictionary

import yaml
from jinja2 import pass_context
from jinja2.ext import Extension

DATA_FILE = Path(__file__).parent / "data" / "user_config.yml"
EVIDENCE_FILE = Path(__file__).parent / "data" / "evidence.yml"
KINDS = ("skills", "commands", "agents", "hooks", "mcp_servers", "plugins", "permissions")


def _sibling(name: str):
    """Copier loads each extension file as a module of its own: siblings are loaded by path."""
    spec = importlib.util.spec_from_file_location(f"copier_claude_cloud_user_config_{name}",
                                                  Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


secrets = _sibling("secrets")
mcp = _sibling("mcp")
claude_json = _sibling("claude_json")
layout = _sibling("layout")


@cache
def rules() -> dict:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


# The same bar as a command read from a repository (evidence.yml): plain words only.
PLAIN_COMMAND = re.compile(yaml.safe_load(EVIDENCE_FILE.read_text(encoding="utf-8"))["plain_line_pattern"])
PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:=@%+,-]+")
# Names the template's own frontmatter checks hold its files to (tests/test_generated_layout.py).
SKILL_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
AGENT_NAME = re.compile(r"[a-z][a-z0-9-]*")
FILE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
COMMAND_KEYS = {"description", "argument-hint", "allowed-tools", "model", "disable-model-invocation", "context",
                "agent"}
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
PLUGIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*")
MARKETPLACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
GITHUB_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The sources a cloud session can fetch a marketplace from, with the keys each may carry.
MARKETPLACE_SOURCES = {
    "github": {"source", "repo", "ref", "path", "skipLfs"},
    "git": {"source", "url", "ref", "path", "skipLfs"},
    "url": {"source", "url"},
    "npm": {"source", "package"},
}
SKIPPED_NAMES = {".git", "__pycache__", ".DS_Store", "node_modules"}
# Where a hook command may name the home's folder: `~/.claude/x`, `$HOME/.claude/x`, `${HOME}/...`.
HOME_SPELLINGS = ("~/", "$HOME/", "${HOME}/")
HOOK_PREFIX = '"$CLAUDE_PROJECT_DIR"/.claude/hooks/'


# --- the home -----------------------------------------------------------------------------


def home_locations(environ=None) -> dict[str, Path]:
    """{"folder": the Claude Code folder, "global": the global config file, "home": HOME}, as the
    CLI finds them (`environ`: os.environ unless given)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    configured = environ.get("CLAUDE_CONFIG_DIR")
    folder = Path(configured) if configured else home / ".claude"
    legacy = folder / ".config.json"
    global_file = legacy if legacy.is_file() else (Path(configured) if configured else home) / ".claude.json"
    return {"folder": folder, "global": global_file, "home": home}


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def _read_bytes(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it is not a regular file or is over `limit`."""
    try:
        if not path.is_file() or path.stat().st_size > limit:
            return None
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def read_json(path: Path, label: str, notes: list[str]) -> dict:
    """The JSON object in `path`, or {} (with a note, unless there is no file)."""
    if not path.exists():
        return {}
    data = _read_bytes(path, rules()["limits"]["max_json_bytes"])
    if data is None:
        notes.append(f"{label}: not a readable file under {rules()['limits']['max_json_bytes']} bytes; "
                     "nothing imported from it")
        return {}
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        notes.append(f"{label}: not valid JSON ({_safe(error)}); nothing imported from it")
        return {}
    except RecursionError:
        notes.append(f"{label}: nested too deeply to read; nothing imported from it")
        return {}
    if not isinstance(document, dict):
        notes.append(f"{label}: not a JSON object; nothing imported from it")
        return {}
    if _depth(document) > rules()["limits"]["max_json_depth"]:
        notes.append(f"{label}: nested deeper than {rules()['limits']['max_json_depth']} levels; "
                     "nothing imported from it")
        return {}
    return document


def _depth(document: object) -> int:
    """How deeply lists and objects nest in `document`, counted without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            stack += [(item, depth + 1) for item in (value.values() if isinstance(value, dict) else value)]
    return deepest


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _safe(value: object, limit: int = 80) -> str:
    """A value from the home as one short printable line, for a report."""
    text = CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[:limit] + "..."


# --- frontmatter --------------------------------------------------------------------------


def frontmatter(text: str) -> tuple[dict | None, str]:
    """(metadata, body) of a Markdown file with a YAML frontmatter block; (None, text) without one.
    PyYAML, not python-frontmatter: Copier's environment has the one, not the other."""
    text = text.replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 3)
    if end < 0 or text[end + 4:end + 5] not in ("", "\n"):
        return None, text
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return None, text
    return (meta if isinstance(meta, dict) else None), text[end + 5:]


def _description_problem(meta: dict) -> str:
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip() or len(description) > 1024:
        return "needs a description of 1 to 1024 characters"
    if "<" in description:
        return "has an XML tag in its description"
    return ""


def skill_problem(name: str, text: str) -> str:
    """Why a SKILL.md fails the checks the template's own skills pass, or ""."""
    meta, body = frontmatter(text)
    if meta is None:
        return "SKILL.md has no valid YAML frontmatter"
    if meta.get("name") != name:
        return "its frontmatter name differs from its folder name"
    if "claude" in name or "anthropic" in name:
        return "its name holds a reserved word (claude, anthropic)"
    return _description_problem(meta) or ("has no instructions" if not body.strip() else "")


def command_problem(text: str) -> str:
    meta, body = frontmatter(text)
    if meta is None:
        return "has no valid YAML frontmatter"
    if unknown := sorted(set(map(str, meta)) - COMMAND_KEYS):
        return f"has frontmatter keys a command does not take here: {_safe(', '.join(unknown))}"
    return _description_problem(meta) or ("has no instructions" if not body.strip() else "")


def agent_problem(text: str) -> str:
    meta, body = frontmatter(text)
    if meta is None:
        return "has no valid YAML frontmatter"
    if not isinstance(meta.get("name"), str) or not AGENT_NAME.fullmatch(meta["name"]):
        return "needs a lowercase-hyphen name"
    return _description_problem(meta) or ("has no instructions" if not body.strip() else "")


# --- what the template ships --------------------------------------------------------------


@cache
def shipped() -> dict[str, set[str]]:
    """The names the template's own files take, whether or not this copy writes them: a user's
    file of the same name is left out, so the template's stays the template's."""
    names: dict[str, set[str]] = {"skills": set(), "commands": set(), "agents": set(), "hooks": set()}
    for path in layout.LAYOUT:
        parts = PurePosixPath(path).parts
        if len(parts) >= 3 and parts[0] == ".claude" and parts[1] in names:
            names[parts[1]].add(parts[2] if parts[1] in ("skills", "hooks") else PurePosixPath(parts[2]).stem)
    return names


# Secret files by name: the SECRET_PATHS of the template's deny rules that are file patterns.
@cache
def secret_file_patterns() -> list[str]:
    patterns = [path.removeprefix("./**/") for path in claude_json.SECRET_PATHS if path.startswith("./**/")]
    return patterns + ["secrets", ".env*"]


def secret_file(name: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in secret_file_patterns())


# --- files: skills, commands, agents --------------------------------------------------------


def _file_entry(source: Path, target: str, data: bytes) -> dict:
    return {"source": str(source.resolve()), "target": target, "executable": os.access(source, os.X_OK),
            "size": len(data)}


def _check_text(data: bytes, label: str, notes: list[str]) -> bool:
    """Whether a file may be copied: a text file holding a literal secret may not."""
    text = _text(data)
    if text is not None and (found := secrets.secret_in(text)):
        notes.append(f"{label}: holds {found}; left out (put the secret in the cloud environment's variables)")
        return False
    return True


def _skill_files(folder: Path, skill: Path, name: str, notes: list[str]) -> list[dict] | None:
    """The files of one skill folder, or None when the skill is left out (with a note)."""
    limits = rules()["limits"]
    label = f"skills/{name}"
    files: list[dict] = []
    for directory, subfolders, names in os.walk(skill, followlinks=False):
        here = Path(directory)
        for sub in sorted(subfolders):
            if (here / sub).is_symlink() or sub in SKIPPED_NAMES or sub.startswith(".") or secret_file(sub):
                if not (sub in SKIPPED_NAMES):
                    notes.append(f"{label}: folder {_safe(sub)} left out (a link, hidden, or secret by name)")
                subfolders.remove(sub)
        for file_name in sorted(names):
            source = here / file_name
            relative = source.relative_to(skill).as_posix()
            if file_name in SKIPPED_NAMES:
                continue
            if secret_file(file_name):
                notes.append(f"{label}: {_safe(relative)} left out: a secrets file by its name")
                continue
            if not all(FILE_PART.fullmatch(part) for part in PurePosixPath(relative).parts):
                notes.append(f"{label}: {_safe(relative)} left out: not a plain file name")
                continue
            if source.is_symlink() and not _inside(source, folder):
                notes.append(f"{label}: left out: {_safe(relative)} is a symlink out of the home's folder")
                return None
            data = _read_bytes(source, limits["max_file_bytes"])
            if data is None:
                notes.append(f"{label}: {_safe(relative)} left out: not a regular file under "
                             f"{limits['max_file_bytes']} bytes")
                if relative == "SKILL.md":
                    return None
                continue
            if not _check_text(data, f"{label}/{_safe(relative)}", notes):
                if relative == "SKILL.md":
                    return None
                continue
            files.append(_file_entry(source, f".claude/skills/{name}/{relative}", data))
            if len(files) > limits["max_files_per_skill"]:
                notes.append(f"{label}: left out: more than {limits['max_files_per_skill']} files")
                return None
    return files


def _taken(destination: Path, target: str) -> bool:
    """Whether the repository already has something at `target` (or a link on the way to it)."""
    path = destination / target
    return path.exists() or path.is_symlink() or any(
        (destination / parent).is_symlink() for parent in PurePosixPath(target).parents if str(parent) != ".")


def plan_skills(folder: Path, destination: Path, notes: list[str]) -> tuple[list[str], list[dict]]:
    names, files = [], []
    root = folder / "skills"
    if not root.is_dir() or not _inside(root, folder):
        return names, files
    for skill in sorted(root.iterdir())[: rules()["limits"]["max_items"]]:
        name = skill.name
        if not skill.is_dir():
            continue
        if not SKILL_NAME.fullmatch(name) or len(name) > 64:
            notes.append(f"skills/{_safe(name)}: left out: a skill name is lowercase letters, digits and -")
            continue
        if not _inside(skill, folder):
            notes.append(f"skills/{name}: left out: a symlink out of the home's folder")
            continue
        if name in shipped()["skills"]:
            notes.append(f"skills/{name}: left out: the template ships a skill of that name, and keeps its own")
            continue
        if _taken(destination, f".claude/skills/{name}"):
            notes.append(f"skills/{name}: left out: the repository has its own .claude/skills/{name}")
            continue
        inside = _inside(skill / "SKILL.md", folder)  # checked before it is read: no link is followed out
        skill_md = _read_bytes(skill / "SKILL.md", rules()["limits"]["max_file_bytes"]) if inside else None
        if skill_md is None or (problem := skill_problem(name, _text(skill_md) or "")):
            notes.append(f"skills/{name}: left out: {problem if skill_md is not None else 'no readable SKILL.md'}")
            continue
        found = _skill_files(folder, skill.resolve(), name, notes)
        if found:
            names.append(name)
            files += found
    return names, files


def _markdown_file(folder: Path, source: Path, label: str, problem_of, notes: list[str]) -> bytes | None:
    if source.is_symlink() and not _inside(source, folder):
        notes.append(f"{label}: left out: a symlink out of the home's folder")
        return None
    data = _read_bytes(source, rules()["limits"]["max_file_bytes"])
    if data is None:
        notes.append(f"{label}: left out: not a regular file under {rules()['limits']['max_file_bytes']} bytes")
        return None
    text = _text(data)
    if text is None or (problem := problem_of(text)):
        notes.append(f"{label}: left out: {problem if text is not None else 'not UTF-8 text'}")
        return None
    return data if _check_text(data, label, notes) else None


def plan_commands(folder: Path, destination: Path, skill_names: list[str], notes: list[str]
                  ) -> tuple[list[str], list[dict]]:
    names, files = [], []
    root = folder / "commands"
    if not root.is_dir() or not _inside(root, folder):
        return names, files
    found = []
    for directory, subfolders, file_names in os.walk(root, followlinks=False):
        for sub in [sub for sub in subfolders if (Path(directory) / sub).is_symlink()]:
            notes.append(f"commands/{_safe(sub)}: left out: a linked folder")
            subfolders.remove(sub)
        subfolders.sort()
        found += [Path(directory) / name for name in sorted(file_names) if name.endswith(".md")]
    taken_names = shipped()["commands"] | shipped()["skills"] | set(skill_names)
    for source in found[: rules()["limits"]["max_items"]]:
        relative = source.relative_to(root).as_posix()
        label = f"commands/{_safe(relative)}"
        if not all(FILE_PART.fullmatch(part) for part in PurePosixPath(relative).parts):
            notes.append(f"{label}: left out: not a plain file name")
            continue
        stem = PurePosixPath(relative).stem
        if stem in taken_names:
            notes.append(f"{label}: left out: /{stem} is a template or imported skill or command of that name")
            continue
        if _taken(destination, f".claude/commands/{relative}"):
            notes.append(f"{label}: left out: the repository has its own")
            continue
        data = _markdown_file(folder, source, label, command_problem, notes)
        if data is not None:
            names.append(relative.removesuffix(".md"))
            files.append(_file_entry(source, f".claude/commands/{relative}", data))
            taken_names.add(stem)
    return names, files


def plan_agents(folder: Path, destination: Path, notes: list[str]) -> tuple[list[str], list[dict]]:
    names, files = [], []
    root = folder / "agents"
    if not root.is_dir() or not _inside(root, folder):
        return names, files
    for source in sorted(root.glob("*.md"))[: rules()["limits"]["max_items"]]:
        label = f"agents/{_safe(source.name)}"
        if not FILE_PART.fullmatch(source.name):
            notes.append(f"{label}: left out: not a plain file name")
            continue
        data = _markdown_file(folder, source, label, agent_problem, notes)
        if data is None:
            continue
        name = frontmatter(data.decode("utf-8"))[0]["name"]
        if source.stem in shipped()["agents"] or name in shipped()["agents"] or name in names:
            notes.append(f"{label}: left out: the template ships (or this import has) an agent named {name}")
            continue
        if _taken(destination, f".claude/agents/{source.name}"):
            notes.append(f"{label}: left out: the repository has its own")
            continue
        names.append(name)
        files.append(_file_entry(source, f".claude/agents/{source.name}", data))
    return names, files


# --- hooks ---------------------------------------------------------------------------------


def _home_path(token: str, home: Path) -> Path | None:
    """The path a token names when it starts at the home folder or is absolute; else None."""
    for spelling in HOME_SPELLINGS:
        if token.startswith(spelling):
            return home / token[len(spelling):]
    return Path(token) if token.startswith("/") else None


def rewrite_hook_command(command: object, folder: Path, home: Path) -> tuple[str, Path | None, str]:
    """(the command as the repository runs it, the home script it runs or None, "") or
    ("", None, why it is left out). A script under the home's folder is run from
    .claude/hooks/; a command that names another absolute path, a tool the cloud image lacks,
    or shell syntax (which cannot be checked) is left out rather than copied broken."""
    if not isinstance(command, str) or not command.strip() or len(command) > 1000:
        return "", None, "is not a command"
    if CONTROL.search(command):
        return "", None, "holds a line break or control character"
    try:
        split = shlex.split(command)
    except ValueError:
        split = command.split()
    if found := secrets.secret_in(command) or words_secret(split):
        return "", None, f"holds {found}; pass it through the cloud environment's variables instead"
    # Only the home spellings may use $, and no other shell syntax at all.
    bare = command
    for spelling in ("${HOME}", "$HOME"):
        bare = bare.replace(spelling, "")
    if re.search(r"[$`;|&<>(){}*?\[\]\\!#]", bare):
        return "", None, ("uses shell syntax (pipes, substitutions, globs...), which the import cannot check; "
                          "copy it by hand")
    try:
        words = shlex.split(command)
    except ValueError:
        return "", None, "cannot be parsed"
    if not words:
        return "", None, "is empty"
    script_at = 1 if words[0] in rules()["hook_interpreters"] and len(words) > 1 else 0
    tools = set(rules()["cloud_image_tools"])
    script: Path | None = None
    out: list[str] = []
    for index, word in enumerate(words):
        path = _home_path(word, home)
        if index == script_at and path is not None:
            try:
                relative = path.resolve().relative_to(folder.resolve())
            except (OSError, RuntimeError, ValueError):
                return "", None, f"runs {_safe(word)}, outside the home's Claude folder: the cloud has no such file"
            if not path.is_file() or not _inside(path, folder) or ".." in PurePosixPath(word).parts:
                return "", None, f"runs {_safe(word)}, which is not a file inside the home's Claude folder"
            if not FILE_PART.fullmatch(path.name):
                return "", None, f"runs a script whose name is not plain ({_safe(path.name)})"
            script = folder.resolve() / relative
            out.append(HOOK_PREFIX + path.name)
            continue
        if path is not None or word.startswith("~") or "$" in word:
            return "", None, f"names {_safe(word)}, a path outside the repository that cloud sessions do not have"
        if not PLAIN_WORD.fullmatch(word):
            return "", None, f"has a word that is not plain ({_safe(word)})"
        out.append(word)
    program = words[0]
    if script is None or script_at == 1:
        if program not in tools:
            return "", None, f"needs {_safe(program)}, which the cloud image does not have"
    return " ".join(out), script, ""


def _hook_script_problem(script: Path, folder: Path, destination: Path, scripts: dict, notes: list[str]) -> str:
    """Plan the copy of a hook's script into .claude/hooks/ (once per script); "" or why not."""
    target = f".claude/hooks/{script.name}"
    if script.name in scripts:
        return "" if scripts[script.name]["source"] == str(script) else f"another hook script is named {script.name}"
    if script.name in shipped()["hooks"] or _taken(destination, target):
        return f"{target} is the template's or the repository's own"
    data = _read_bytes(script, rules()["limits"]["max_file_bytes"])
    if data is None:
        return f"{script.name} is not a file under {rules()['limits']['max_file_bytes']} bytes"
    if not _check_text(data, f"hooks/{script.name}", notes):
        return f"{script.name} holds a secret"
    text = _text(data) or ""
    if any(spelling + ".claude" in text for spelling in HOME_SPELLINGS) or str(folder) in text:
        notes.append(f"hooks/{script.name}: names the home's Claude folder inside; check that it works from "
                     ".claude/hooks/ in a cloud session")
    scripts[script.name] = {**_file_entry(script, target, data), "executable": True}
    return ""


def _plan_hook(hook: object, folder: Path, home: Path, destination: Path, scripts: dict, notes: list[str]
               ) -> tuple[dict | None, str]:
    """(the hook as the repository runs it, or None; why it is left out)."""
    if not isinstance(hook, dict) or hook.get("type") != "command" or "args" in hook:
        return None, "is not a plain command hook"
    command, script, problem = rewrite_hook_command(hook.get("command"), folder, home)
    if not problem and script is not None:
        problem = _hook_script_problem(script, folder, destination, scripts, notes)
    if problem:
        return None, problem
    new = {"type": "command", "command": command}
    # What the record (CLAUDE.md, the answers file) says of it: a name, never the command's text.
    new_name = script.name if script is not None else PurePosixPath(command.split(" ", 1)[0]).name
    timeout = hook.get("timeout")
    if isinstance(timeout, int) and not isinstance(timeout, bool) and 1 <= timeout <= 3600:
        new["timeout"] = timeout
    return {**new, "_name": new_name}, ""


def plan_hooks(settings: dict, folder: Path, home: Path, destination: Path, notes: list[str]
               ) -> tuple[list[str], dict, list[dict]]:
    """(what was imported, as "Event: command" lines; the hook groups by event; the scripts)."""
    hooks = settings.get("hooks")
    if hooks is None:
        return [], {}, []
    if not isinstance(hooks, dict):
        notes.append("hooks: settings.json `hooks` is not an object; none imported")
        return [], {}, []
    events = set(rules()["hook_events"])
    imported, groups_by_event, scripts = [], {}, {}
    groups_seen = 0
    for event, groups in hooks.items():
        if event not in events or not isinstance(groups, list):
            notes.append(f"hooks.{_safe(event)}: left out: not a hook event this template knows, or not a list")
            continue
        for group in groups:
            groups_seen += 1
            if groups_seen > rules()["limits"]["max_items"]:
                break
            matcher = group.get("matcher") if isinstance(group, dict) else None
            if not isinstance(group, dict) or not isinstance(group.get("hooks"), list) or (matcher is not None and (
                    not isinstance(matcher, str) or CONTROL.search(matcher) or len(matcher) > 200)):
                notes.append(f"hooks.{event}: a group that is not {{matcher, hooks: [...]}} was left out")
                continue
            kept = []
            for hook in group["hooks"]:
                new, problem = _plan_hook(hook, folder, home, destination, scripts, notes)
                if problem:
                    command = hook.get("command") if isinstance(hook, dict) else hook
                    shown = "a command" if problem.startswith("holds") else f"`{_safe(command)}`"  # no secret quoted
                    notes.append(f"hooks.{event}: {shown} left out: it {problem}")
                    continue
                name = new.pop("_name")
                kept.append(new)
                imported.append(f"{event}: {name}")
            if kept:
                groups_by_event.setdefault(event, []).append(
                    {**({"matcher": matcher} if matcher is not None else {}), "hooks": kept})
    return imported, groups_by_event, list(scripts.values())


# --- MCP servers ------------------------------------------------------------------------------


class Variables:
    """The ${NAME} references the import makes, one name per distinct secret value."""

    def __init__(self, taken: set[str] | None = None):
        self.by_value: dict[str, str] = {}
        self.taken = set(taken or ())

    def name_for(self, value: str, wanted: str) -> str:
        if value in self.by_value:
            return self.by_value[value]
        base = re.sub(r"[^A-Z0-9_]+", "_", wanted.upper()).strip("_") or "SECRET"
        if not base[0].isalpha():
            base = f"MCP_{base}"
        name, number = base, 2
        while name in self.taken:
            name, number = f"{base}_{number}", number + 1
        self.taken.add(name)
        self.by_value[value] = name
        return name


def _secret(key: str, value: str) -> bool:
    """Whether a value is a literal secret: by its shape, or by its key's name."""
    if secrets.secret_in(value):
        return True
    return bool(secrets.secret_name(key) and secrets.literal_part(value))


HEADER = re.compile(r"([A-Za-z0-9_-]+)( *: *)(.*)")


def _credential_header(text: str) -> re.Match | None:
    """`text` as a header `Name: value` (name, colon, value) whose name carries a credential."""
    header = HEADER.fullmatch(text)
    return header if header and secrets.secret_name(header.group(1)) else None


def _header_secret(text: str) -> bool:
    """Whether `text` is a header whose name carries a credential and whose value holds a
    literal (X-Api-Key:pw, Authorization: Bearer x, X-Pass: x)."""
    header = _credential_header(text)
    return bool(header and secrets.literal_part(header.group(3)).strip("*"))


# Programs that take a password glued to -p (`mysql -ppw db`); a separate word after -p is a
# database there, not a password.
GLUED_PASSWORD_PROGRAMS = {"mysql", "mariadb", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck",
                           "mysqlsh", "mariadb-dump", "mariadb-admin"}


def words_secret(words: list[str]) -> str:
    """What literal secret a command's words hold, or "": a credential of a known shape, a
    `--token=x`, `--password x`, `NAME_TOKEN=x`, a credential header (`-H X-Api-Key:pw`), a
    `-u user:password`, or mysql's `-ppassword`."""
    program = PurePosixPath(words[0]).name if words else ""
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if found := secrets.secret_in(word):
            return found
        if flag := re.fullmatch(r"--?([A-Za-z0-9_-]+)=(.*)", word):
            name, value = flag.groups()
            if _secret(name, value) or _header_secret(value) or _json_secret(value):
                return f"a literal value for --{name}"
            continue
        if assignment := re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", word):
            if _secret(*assignment.groups()):
                return f"a literal value for {assignment.group(1)}"
            continue
        if _header_secret(word) or _json_secret(word):
            return "a credential header or value"
        if program in GLUED_PASSWORD_PROGRAMS and re.fullmatch(r"-p\S+", word):
            return "a password glued to -p"
        if re.fullmatch(r"-u[^\s:]*:\S+", word) and secrets.literal_part(word.split(":", 1)[1]):
            return "a user:password pair"
        if (flag := re.fullmatch(r"--?([A-Za-z0-9_-]+)", word)) and following and not following.startswith("-"):
            name = flag.group(1)
            if name in ("u", "user") and ":" in following and secrets.literal_part(following.split(":", 1)[1]):
                return "a user:password pair"
            if secrets.SECRET_WORDS.search(name) and secrets.literal_part(following) \
                    and not secrets.REFERENCE.fullmatch(following):
                return f"a literal value for -{'-' if len(name) > 1 else ''}{name}"
    return ""


def _json_secret(text: str) -> bool:
    """Whether `text` is a JSON object or list with a secret under a secret-ish key."""
    if not text.startswith(("{", "[")):
        return False
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return _json_has_secret(document, "")


def _json_has_secret(value: object, key: str, depth: int = 0) -> bool:
    if depth > 20:
        return True  # too deep to check: taken for a secret
    if isinstance(value, dict):
        return any(_json_has_secret(item, str(name), depth + 1) for name, item in value.items())
    if isinstance(value, list):
        return any(_json_has_secret(item, key, depth + 1) for item in value)
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and _secret(key, str(value))


def _reference_url(url: str, prefix: str, variables: Variables) -> str:
    """`url` with its password and its credential query values as ${VAR} references."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name, colon, _ = user.partition(":")
        if name and not secrets.REFERENCE.fullmatch(name) and _secret("", name):  # a token as the user name
            name = "${" + variables.name_for(name, prefix + "_TOKEN") + "}"
        if password and not secrets.REFERENCE.fullmatch(password):
            password = "${" + variables.name_for(password, prefix + "_PASSWORD") + "}"
        netloc = f"{name}{colon}{password or ''}@{host}"
    def referenced(text: str) -> str:
        items = []
        for item in text.split("&") if text else []:
            key, equals, value = item.partition("=")
            decoded = unquote_plus(value)
            if equals and value and not secrets.REFERENCE.fullmatch(decoded) and (
                    _secret(key, value) or _secret(key, decoded) or secrets.random_value(decoded)):
                value = "${" + variables.name_for(value, f"{prefix}_{key}") + "}"
            items.append(f"{key}{equals}{value}")
        return "&".join(items)

    return urlunsplit((parts.scheme, netloc, parts.path, referenced(parts.query), referenced(parts.fragment)))


def _reference_string(value: str, key: str, prefix: str, variables: Variables, wanted: str = "") -> str:
    """A value, with each literal secret in it made a ${VAR} reference: a URL's parts, the token
    after "Bearer ", or the whole value (named `wanted`, else PREFIX_KEY)."""
    if "://" in value:
        value = re.sub(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+",
                       lambda match: _reference_url(match.group(0), prefix, variables), value)
        if not secrets.secret_in(value):
            return value
    if not _secret(key, value):
        return value if not _json_secret(value) else _reference_json(value, prefix, variables)
    if _json_secret(value):
        return _reference_json(value, prefix, variables)
    scheme = re.match(r"(?i:bearer|basic|token) +(?=\S)", value)
    literal = value[scheme.end():] if scheme else value
    name = wanted or (f"{prefix}_{key}" if key else prefix)
    return (scheme.group(0) if scheme else "") + "${" + variables.name_for(literal, name) + "}"


def _reference_json(text: str, prefix: str, variables: Variables) -> str:
    """A JSON value (`--config={"apiKey": "x"}`) with each secret under a secret-ish key a reference."""
    def walk(value: object, key: str, depth: int = 0) -> object:
        if depth > 20:
            return "${" + variables.name_for(json.dumps(value), f"{prefix}_CONFIG") + "}"
        if isinstance(value, dict):
            return {name: walk(item, str(name), depth + 1) for name, item in value.items()}
        if isinstance(value, list):
            return [walk(item, key, depth + 1) for item in value]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and _secret(key, str(value)):
            return "${" + variables.name_for(str(value), f"{prefix}_{key}" if key else f"{prefix}_TOKEN") + "}"
        return value

    try:
        return json.dumps(walk(json.loads(text), ""), separators=(",", ":"))
    except (ValueError, RecursionError):
        return "${" + variables.name_for(text, f"{prefix}_CONFIG") + "}"


def _reference_header(text: str, prefix: str, variables: Variables) -> str | None:
    """`Name: value` with the value a reference when the header carries credentials; None when
    `text` is no such header."""
    header = _credential_header(text)
    if not header:
        return None
    name, colon, value = header.groups()
    wanted = f"{prefix}_TOKEN" if name.lower() in ("authorization", "proxy-authorization") else ""
    return f"{name}{colon}{_reference_string(value, name, prefix, variables, wanted=wanted)}"


def _reference_args(args: list, prefix: str, variables: Variables) -> list[str]:
    out: list[str] = []
    flag_wants_value = ""
    for raw in args:
        arg = str(raw)
        if flag_wants_value and not arg.startswith("-"):
            port = flag_wants_value == "PASSWORD" and re.fullmatch(r"[0-9:.]+", arg)  # -p 8080:80 is a port
            out.append("${" + variables.name_for(arg, f"{prefix}_{flag_wants_value}") + "}"
                       if secrets.literal_part(arg) and not secrets.REFERENCE.fullmatch(arg) and not port else arg)
            flag_wants_value = ""
            continue
        flag_wants_value = ""
        if flag := re.fullmatch(r"(--?)([A-Za-z0-9_-]+)=(.*)", arg):
            dashes, key, value = flag.groups()
            header = _reference_header(value, prefix, variables)  # --header=Authorization: Bearer x
            value = header if header is not None else _reference_string(value, key, prefix, variables)
            out.append(f"{dashes}{key}={value}")
            continue
        # docker's -e KEY=value; a value with spaces is a command line (`-c "TOKEN=x node srv.js"`).
        if (assignment := re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(\S*)", arg)):
            key, value = assignment.groups()
            if ENV_NAME.fullmatch(key) and "://" not in value and _secret(key, value):
                out.append(f"{key}=${{{variables.name_for(value, key)}}}")
            else:
                out.append(f"{key}={_reference_string(value, key, prefix, variables)}")
            continue
        # mcp-remote's --header "Authorization: Bearer x": the header's name stays, its value goes.
        if (header := _reference_header(arg, prefix, variables)) is not None:
            out.append(header)
            continue
        if (flag := re.fullmatch(r"--?([A-Za-z0-9_-]+)", arg)) and (
                secrets.SECRET_WORDS.search(flag.group(1)) or flag.group(1) == "p"):
            flag_wants_value = "PASSWORD" if flag.group(1) == "p" else flag.group(1)
            out.append(arg)
            continue
        if " " in arg and words_secret(arg.split()):  # a command line in one argument
            out.append(" ".join(_reference_args(arg.split(" "), prefix, variables)))
            continue
        out.append(_reference_string(arg, "", prefix, variables, wanted=f"{prefix}_TOKEN"))
    return out


def secure_server(name: str, entry: dict, variables: Variables) -> tuple[dict, list[str]]:
    """(the entry as .mcp.json takes it, every literal secret a ${VAR} reference; notes)."""
    notes = []
    prefix = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "MCP"
    kind = entry.get("type", "stdio" if "url" not in entry else None)
    if kind == "streamable-http":
        kind = "http"
    out: dict = {"type": kind} if isinstance(kind, str) else {}
    allowed = mcp.ALLOWED_KEYS.get(kind, set()) if isinstance(kind, str) else set()
    if dropped := sorted(str(key) for key in entry if key not in allowed and key != "type"):
        notes.append(f"mcp_servers.{name}: keys left out: {_safe(', '.join(dropped))} (oauth, headersHelper, "
                     "timeout... are not carried to the repository)")
    # env first: its keys give the readable names when a value appears in args too.
    for table in ("env", "headers"):
        if table in allowed and table in entry:
            values = entry[table]
            if not isinstance(values, dict):
                out[table] = values
                continue
            out[table] = {}
            for key, value in values.items():
                if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                    out[table][key] = value
                    continue
                value = str(value)
                if table == "env" and ENV_NAME.fullmatch(str(key)) and _secret(str(key), value) and "://" not in value:
                    out[table][key] = "${" + variables.name_for(value, str(key)) + "}"
                else:
                    wanted = "TOKEN" if str(key).lower() in ("authorization", "proxy-authorization") else str(key)
                    out[table][key] = _reference_string(value, wanted, prefix, variables)
    for key in ("command", "url"):
        if key in allowed and key in entry:
            value = entry[key]
            out[key] = _reference_url(value, prefix, variables) if key == "url" and isinstance(value, str) else value
    if "args" in allowed and "args" in entry:
        args = entry["args"]
        out["args"] = _reference_args(args, prefix, variables) if isinstance(args, list) else args
    return out, notes


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [str(value)] if isinstance(value, (str, int, float)) else []


def plan_mcp(global_config: dict, destination: Path, template_servers: set[str], notes: list[str]
             ) -> tuple[dict, list[str]]:
    """({name: entry} to add to .mcp.json, the variables they reference)."""
    servers: dict = {}
    user = global_config.get("mcpServers")
    if isinstance(user, dict):
        servers.update(user)
    elif user is not None:
        notes.append("mcp_servers: the global config's mcpServers is not an object; none imported")
    projects = global_config.get("projects")
    if isinstance(projects, dict):
        for key in dict.fromkeys([os.path.abspath(destination), str(Path(destination).resolve())]):
            local = projects.get(key)
            local = local.get("mcpServers") if isinstance(local, dict) else None
            if isinstance(local, dict):
                servers.update(local)  # local scope wins over user scope, as in Claude Code
    existing = _existing_servers(destination)
    variables = Variables()
    planned, used = {}, []
    for name, entry in list(servers.items())[: rules()["limits"]["max_items"]]:
        label = f"mcp_servers.{_safe(name)}"
        if not isinstance(name, str) or not mcp.SERVER_NAME.fullmatch(name) or len(name) > 64:
            notes.append(f"{label}: left out: not a valid server name")
            continue
        if name in mcp.RESERVED_NAMES or name == "widgets":
            notes.append(f"{label}: left out: a name Claude Code reserves")
            continue
        if name in template_servers or name in existing:
            notes.append(f"{label}: left out: the template's answers or the repository's .mcp.json have a server "
                         "of that name")
            continue
        if not isinstance(entry, dict):
            notes.append(f"{label}: left out: not an object")
            continue
        before = dict(variables.by_value)
        secured, entry_notes = secure_server(name, entry, variables)
        problem = mcp._entry_problem(name, secured)
        if problem:
            # A problem message may quote a value: quote none that came from the home.
            for text in _strings(entry):
                if len(text) >= 4:
                    problem = problem.replace(text, "<value>")
            notes.append(f"{label}: left out: {problem.removeprefix('custom_mcp_servers: ')}")
            for value in set(variables.by_value) - set(before):
                variables.taken.discard(variables.by_value.pop(value))
            continue
        notes += entry_notes
        planned[name] = mcp._clean_entry(secured)
        for text in _strings(secured):
            used += [match.group(1) for match in secrets.REFERENCE.finditer(text)]
    return planned, sorted(set(used))


def _existing_servers(destination: Path) -> set[str]:
    try:
        document = json.loads((destination / ".mcp.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return set()
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    return set(servers) if isinstance(servers, dict) else set()


# --- plugins --------------------------------------------------------------------------------


def _marketplace_problem(entry: object) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("source"), dict):
        return "has no source"
    source = entry["source"]
    kind = source.get("source")
    if kind not in MARKETPLACE_SOURCES:
        return f"has a {_safe(kind)} source, which a cloud session cannot fetch (only github, git, url, npm)"
    if set(source) - MARKETPLACE_SOURCES[kind]:
        return "has source keys this template does not know"
    for key, value in source.items():
        if key == "skipLfs":
            if not isinstance(value, bool):
                return "has a skipLfs that is not true or false"
        elif not isinstance(value, str) or not value or len(value) > 500 or CONTROL.search(value):
            return f"has a {key} that is not one plain line"
        elif secrets.secret_in(value):
            return f"carries a secret in its {key}"
    if kind == "github" and not GITHUB_REPO.fullmatch(source.get("repo", "")):
        return "names no owner/repo"
    if kind in ("git", "url") and not str(source.get("url", "")).startswith("https://"):
        return "needs an https:// url"
    if kind == "git" and not source["url"].endswith(".git"):
        return "needs a url ending in .git"
    return ""


def plan_plugins(settings: dict, notes: list[str]) -> tuple[list[str], dict, dict]:
    """(what was imported, enabledPlugins, extraKnownMarketplaces)."""
    enabled, markets, imported = {}, {}, []
    plugins = settings.get("enabledPlugins")
    if isinstance(plugins, dict):
        for plugin, on in list(plugins.items())[: rules()["limits"]["max_items"]]:
            if not isinstance(plugin, str) or not PLUGIN_ID.fullmatch(plugin) or not isinstance(on, bool):
                notes.append(f"plugins.{_safe(plugin)}: left out: not a plugin@marketplace id set to true or false")
                continue
            enabled[plugin] = on
            imported.append(plugin)
    elif plugins is not None:
        notes.append("plugins: settings.json enabledPlugins is not an object; none imported")
    declared = settings.get("extraKnownMarketplaces")
    if isinstance(declared, dict):
        for name, entry in list(declared.items())[: rules()["limits"]["max_items"]]:
            problem = "is not a plain name" if not isinstance(name, str) or not MARKETPLACE_NAME.fullmatch(name) else \
                _marketplace_problem(entry)
            if problem:
                notes.append(f"plugins: marketplace {_safe(name)} left out: it {problem}")
                continue
            kept = {"source": dict(entry["source"])}
            if isinstance(entry.get("autoUpdate"), bool):
                kept["autoUpdate"] = entry["autoUpdate"]
            markets[name] = kept
            imported.append(f"marketplace {name}")
    elif declared is not None:
        notes.append("plugins: settings.json extraKnownMarketplaces is not an object; none imported")
    return imported, enabled, markets


# --- permissions ----------------------------------------------------------------------------

RULE = re.compile(r"(?P<tool>[A-Za-z][A-Za-z0-9_]*)(?:\((?P<spec>[^()]+)\))?")
MCP_RULE = re.compile(r"mcp__(?P<server>[A-Za-z0-9_-]+?)(?:__[A-Za-z0-9_-]+)?")


def rule_shape_problem(rule: object) -> str:
    """Why a rule cannot go into settings.json as it is, or "" (any list: allow, ask, deny)."""
    if not isinstance(rule, str) or not rule:
        return "is not a rule"
    if len(rule) > 300:
        return "is over 300 characters"
    if CONTROL.search(rule):
        return "holds a line break or control character"
    if found := secrets.secret_in(rule):
        return f"holds {found}"
    match = RULE.fullmatch(rule)
    if match and match["spec"] and match["tool"] in ("Bash", "PowerShell") and (
            found := words_secret(match["spec"].removesuffix(":*").replace("'", " ").replace('"', " ").split())):
        return f"holds {found}"
    if MCP_RULE.fullmatch(rule):
        return ""
    if not match or match["tool"] not in rules()["rule_tools"]:
        return "is not Tool or Tool(specifier) with a tool Claude Code knows"
    return ""


def _path_samples() -> list[str]:
    """Paths that the template's deny rules and its session configuration cover, one or two per
    pattern: an allow rule whose path pattern matches one of them reaches what they protect."""
    samples = []
    for pattern in claude_json.SECRET_PATHS + claude_json.SESSION_CONFIG:
        if pattern.startswith("~"):
            continue
        path = pattern.removeprefix("./")
        samples.append(path.replace("**/", "").replace("**", "x").replace("*", "x"))
    return samples + [".claude", ".claude/settings.json", ".git/config", ".git/hooks/pre-commit"]


def _glob_regex(pattern: str) -> re.Pattern:
    """A gitignore-style path pattern as a regex: `**` any folders, `*` within one name."""
    out, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    if "/" not in pattern.rstrip("/"):
        out = "(?:.*/)?" + out  # a bare name matches at any depth
    return re.compile(out + "(?:/.*)?")  # a folder's rule covers what is in it


def _path_refusal(spec: str) -> str:
    if spec.startswith(("~", "//", "$")) or ".." in spec.split("/"):
        return "reaches outside the project"
    path = spec.removeprefix("./").lstrip("/")
    if not path or path in ("*", "**"):
        return "covers every file, secrets and session configuration included"
    regex = _glob_regex(path)
    parts = PurePosixPath(path).parts
    # A pattern that covers a secret or the session's configuration at the top, or names one
    # anywhere. (A broad one such as src/** is kept: the template's deny rules win over it.)
    if any(regex.fullmatch(sample) for sample in _path_samples()) or secret_file(parts[-1]) \
            or {".claude", ".git"} & set(parts):
        return "covers secret files or the session's own configuration, which the template denies"
    return ""


ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _program_refusal(program: str) -> str:
    allow = rules()["allow"]
    if program in allow["refused_programs"] or re.fullmatch(allow["interpreter_pattern"], program):
        return f"runs {program}, which can run any code, reach the network or read any file"
    return ""


def _skip_options(words: list[str]) -> list[str]:
    """`words` from the first one that is not an option (or the value of an option that takes one)."""
    takes_value = set(rules()["allow"]["options_with_values"])
    index = 0
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in takes_value else 1
    return words[index:]


def _bash_refusal(command: str) -> str:
    allow = rules()["allow"]
    if command.endswith(":*"):
        prefix = command[:-2].strip()
        if prefix in allow["read_only_prefixes"]:
            return ""
        return "is a prefix rule (:*), which allows whatever follows it"
    if "*" in command:
        return "has a wildcard, which allows whatever it matches"
    if not PLAIN_COMMAND.fullmatch(command):
        return "is not one plain command (quotes, $, ;, |, &, >, backticks and globs are refused)"
    words = command.split(" ")
    if any(ASSIGNMENT.match(word) for word in words):
        return "sets a variable (NAME=value: the environment, or make's SHELL=...), which can run other code"
    program = PurePosixPath(words[0]).name
    program_options = allow["refused_program_options"].get(program, [])
    refused_options = set(allow["refused_options"]) | set(program_options)
    glued = tuple(option for option in program_options if re.fullmatch(r"-[A-Za-z]", option))  # -O./x, -ccore.x=y
    for word in words[1:]:
        option = word.split("=", 1)[0]
        if glued and word.startswith(glued):
            return f"passes {word[:2]}, which can run a command the rule does not spell"
        # Go's flags and others take one dash as well as two: -exec as --exec.
        single_dash = re.fullmatch(r"-[A-Za-z][A-Za-z0-9-]+", option)
        if option in refused_options or (single_dash and "-" + option in refused_options):
            return f"passes {option}, which can run a command the rule does not spell"
    if problem := _program_refusal(program):
        return problem
    rest = _skip_options(words[1:])
    subcommand = rest[0] if rest else ""
    for refused in allow["refused_subcommands"]:
        tool, _, sub = refused.partition(" ")
        # The subcommand is the first word after the program and its options; any later word
        # that names it is refused too, since an option of unknown arity may have hidden it.
        if program == tool and (subcommand == sub or sub in words[1:]):
            return f"runs `{refused}`, which fetches or installs code the rule does not pin"
    for runner in allow["runner_prefixes"]:
        tool, _, sub = runner.partition(" ")
        if program == tool and sub in words[1:]:
            after = words[words.index(sub, 1) + 1:]
            if after and after[0].startswith("-"):
                return f"passes options to `{runner}` before its program, which can change what it runs"
            if not after:
                return f"is `{runner}` without a program"
            if problem := _program_refusal(PurePosixPath(after[0]).name):
                return problem
    for denied in claude_json.DENY_BASH:
        prefix = denied.removeprefix("Bash(").removesuffix(":*)")
        if command == prefix or command.startswith(prefix + " "):
            return "is a command the template denies"
    if "--output" in command or any(word.startswith("--output=") for word in words):
        return "writes files through --output"
    for word in words[1:]:
        if word.startswith("/") or ".." in word.split("/"):
            return "names a path outside the project"
        if secret_file(PurePosixPath(word).name):
            return "names a secrets file"
    return ""


def allow_refusal(rule: object, servers: set[str] | frozenset = frozenset()) -> str:
    """Why an allow rule of the home is not kept, or "" when it is. Kept: exact Bash commands of
    plain words that run no interpreter, shell, network tool or package runner; a short list of
    read-only `:*` prefixes; Read/Edit/Write rules whose paths miss the secrets and the session's
    configuration; WebFetch(domain:...); `mcp__<server>` for an imported server; bare tools that
    run nothing (data/user_config.yml). The template's own rules are its answers' business."""
    if problem := rule_shape_problem(rule):
        return problem
    if rule in claude_json.template_owned_rules("allow"):
        return "is one of the template's own rules: the answers decide it"
    if server := MCP_RULE.fullmatch(rule):
        return "" if server["server"] in servers else "names an MCP server this import does not bring"
    match = RULE.fullmatch(rule)
    tool, spec = match["tool"], match["spec"]
    if spec is None:
        return "" if tool in rules()["allow"]["harmless_tools"] else f"allows every {tool} call"
    if tool == "Bash":
        return _bash_refusal(spec.strip())
    if tool in ("Read", "Edit", "Write", "MultiEdit", "NotebookEdit"):
        return _path_refusal(spec.strip())
    if tool == "WebFetch":
        domain = re.fullmatch(r"domain:([A-Za-z0-9*.-]+)", spec.strip())
        return "" if domain and domain.group(1).strip("*.") else "is not WebFetch(domain:host)"
    return f"is a {tool} rule, which this import does not keep"


def plan_permissions(settings: dict, servers: set[str], notes: list[str]) -> dict[str, list[str]]:
    permissions = settings.get("permissions")
    if permissions is None:
        return {}
    if not isinstance(permissions, dict):
        notes.append("permissions: settings.json `permissions` is not an object; none imported")
        return {}
    kept: dict[str, list[str]] = {}
    for kind in ("allow", "ask", "deny"):
        listed = permissions.get(kind)
        if listed is None:
            continue
        if not isinstance(listed, list):
            notes.append(f"permissions.{kind}: not a list; none imported")
            continue
        for rule in listed[: rules()["limits"]["max_items"]]:
            # A deny or ask rule is kept unless the template writes it in that list itself (its
            # deny rules are in every profile): a deny of a command the template allows is kept.
            problem = allow_refusal(rule, servers) if kind == "allow" else rule_shape_problem(rule) or (
                "is already the template's own, in every profile"
                if rule in claude_json.template_owned_rules(kind) else "")
            if problem.startswith("holds"):
                # Never quoted: the secret must not be written, in a note either, and a deny
                # rule is no exception (deny by a pattern without the secret).
                tool = RULE.match(rule)
                notes.append(f"permissions.{kind}: a {tool.group('tool') if tool else ''} rule left out: it {problem}"
                             + ("; a deny rule is left out too, so that the secret is not written: deny by a pattern "
                                "without it" if kind == "deny" else ""))
            elif problem:
                notes.append(f"permissions.{kind}: {_safe(rule)} left out: it {problem}")
            elif rule not in kept.get(kind, []):
                kept.setdefault(kind, []).append(rule)
    return kept


# --- the plan ---------------------------------------------------------------------------------


def build_plan(choices, destination, template_servers=(), locations: dict | None = None) -> dict:
    """What importing `choices` from the home into `destination` writes, as data:

        {"files": [{"source", "target", "executable", "size"}], "settings": {hooks, enabledPlugins,
         extraKnownMarketplaces, permissions, enabledMcpjsonServers}, "mcp": {name: entry},
         "record": the `imported_user_config` answer, "notes": [what was left out, and why]}

    Reads only: nothing in the home or the destination is written."""
    choices = [choice for choice in KINDS if choice in (choices or [])]
    locations = locations or home_locations()
    folder, home = locations["folder"], locations["home"]
    destination = Path(str(destination))
    notes: list[str] = []
    plan: dict = {"files": [], "settings": {}, "mcp": {}, "record": {}, "notes": notes}
    if not choices:
        return plan
    settings = read_json(folder / "settings.json", "settings.json", notes) \
        if {"hooks", "plugins", "permissions"} & set(choices) else {}
    global_config = read_json(locations["global"], locations["global"].name, notes) if "mcp_servers" in choices else {}
    record = plan["record"]
    skill_names: list[str] = []
    if "skills" in choices:
        skill_names, files = plan_skills(folder, destination, notes)
        plan["files"] += files
        record["skills"] = skill_names
    if "commands" in choices:
        record["commands"], files = plan_commands(folder, destination, skill_names, notes)
        plan["files"] += files
    if "agents" in choices:
        record["agents"], files = plan_agents(folder, destination, notes)
        plan["files"] += files
    if "hooks" in choices:
        record["hooks"], groups, scripts = plan_hooks(settings, folder, home, destination, notes)
        plan["files"] += scripts
        if groups:
            plan["settings"]["hooks"] = groups
    if "mcp_servers" in choices:
        plan["mcp"], variables = plan_mcp(global_config, destination, set(template_servers or ()), notes)
        record["mcp_servers"] = list(plan["mcp"])
        record["variables"] = variables
        if plan["mcp"]:
            plan["settings"]["enabledMcpjsonServers"] = list(plan["mcp"])
    if "plugins" in choices:
        record["plugins"], enabled, markets = plan_plugins(settings, notes)
        if enabled:
            plan["settings"]["enabledPlugins"] = enabled
        if markets:
            plan["settings"]["extraKnownMarketplaces"] = markets
    if "permissions" in choices:
        kept = plan_permissions(settings, set(plan["mcp"]), notes)
        if kept:
            plan["settings"]["permissions"] = kept
        record["permissions"] = [f"{kind}: {rule}" for kind, listed in kept.items() for rule in listed]
    plan["record"] = {key: value for key, value in record.items() if value}
    return plan


def found(locations: dict | None = None, destination=".", template_servers=()) -> dict:
    """What the home holds that an import of everything would bring: the plan's record."""
    return build_plan(KINDS, destination, template_servers, locations)["record"]


# --- the recorded answer ----------------------------------------------------------------------

# One line, and never an HTML comment marker: CLAUDE.md's managed block is delimited by them.
RECORD_LINE = re.compile(r"(?!.*(<!--|-->))[^\x00-\x1f\x7f]{1,400}")


def record_problem(value: object) -> str:
    """The validator of `imported_user_config`: kind -> list of one-line names, nothing else
    (names and variable names only: never a value)."""
    if value in (None, "", {}):
        return ""
    if not isinstance(value, dict):
        return "imported_user_config: expected a mapping of kind to names (it records what a copy imported)."
    for key, names in value.items():
        if key not in (*KINDS, "variables"):
            return f"imported_user_config: {_safe(key)!r} is not one of {', '.join((*KINDS, 'variables'))}."
        if not isinstance(names, list) or len(names) > 1000 or not all(
                isinstance(name, str) and RECORD_LINE.fullmatch(name) for name in names):
            return f"imported_user_config.{key} must be a list of one-line names."
        if key == "variables" and not all(ENV_NAME.fullmatch(name) for name in names):
            return "imported_user_config.variables must list UPPER_CASE variable names."
    return ""


def summary_lines(record: dict) -> list[str]:
    """One line per kind, for the question's help, CLAUDE.md and the closing message."""
    lines = []
    for kind in KINDS:
        names = record.get(kind) or []
        if not names:
            continue
        if kind == "permissions":
            counts = {}
            for line in names:
                counts[line.split(":", 1)[0]] = counts.get(line.split(":", 1)[0], 0) + 1
            lines.append("permissions: " + ", ".join(f"{count} {name}" for name, count in counts.items()) + " rules")
        elif kind == "hooks":
            lines.append(f"hooks: {len(names)} ({'; '.join(names)})")
        else:
            lines.append(f"{kind}: {', '.join(names)}")
    return lines


# --- Copier: the question, the recorded answer, the message ------------------------------------

def display(path: Path, home: Path) -> str:
    """A home path as a person writes it: ~/.claude rather than /home/me/.claude."""
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


def _template_servers(mcp_servers, custom_mcp_servers) -> list[str]:
    try:
        return list(mcp.mcp_servers(mcp_servers or [], custom_mcp_servers or {}))
    except Exception:  # noqa: BLE001 (an answer its own validator refuses: no names to protect)
        return []


@cache
def _adopt():
    return _sibling("adopt")


def _operation() -> str:
    """"copy" or "update". A render inside an update's migration (tasks/old_release.py renders the
    old release again with run_copy, a copy to Copier) is part of the update: Copier gives its
    tasks and migrations the operation as COPIER_OPERATION, and the home is not read there either."""
    if os.environ.get("COPIER_OPERATION") == "update":
        return "update"
    return _adopt().copier_operation()


# One plan per render and set of inputs: the question's `when` and help, the recorded answer's
# default and the closing message all ask for it, and the home is read once. Kept per Jinja
# environment, which Copier makes once per render (as extensions/folders.py does).
_PLANS: WeakKeyDictionary = WeakKeyDictionary()


def _cached_plan(context, choices, destination, servers) -> dict:
    locations = home_locations()
    key = (tuple(choices or ()), str(destination), tuple(servers), tuple(map(str, locations.values())))
    plans = _PLANS.setdefault(context.environment, {})
    if key not in plans:
        plans[key] = build_plan(choices, destination, servers, locations)
    return plans[key]


def _globals():
    @pass_context
    def user_config_when(context, current=None, mcp_servers=None, custom_mcp_servers=None) -> bool:
        """Ask `import_user_config` on a copy when the home has something to import (or an
        answer was given); on an update, only to keep the recorded answer: the home is not read."""
        if _operation() != "copy":
            return current is not None  # an answer recorded on the copy, [] too, is kept
        if current:
            return True
        destination = (context.get("_copier_conf") or {}).get("dst_path", ".")
        servers = _template_servers(mcp_servers, custom_mcp_servers)
        return bool(_cached_plan(context, KINDS, destination, servers)["record"])

    @pass_context
    def user_config_ask(context, current=None, mcp_servers=None, custom_mcp_servers=None) -> bool:
        return current is None and user_config_when(context, None, mcp_servers, custom_mcp_servers)

    @pass_context
    def user_config_help(context, mcp_servers=None, custom_mcp_servers=None) -> str:
        if _operation() != "copy":
            return "Imported on the copy; an update imports nothing, and never reads your home"
        locations = home_locations()
        destination = (context.get("_copier_conf") or {}).get("dst_path", ".")
        plan = _cached_plan(context, KINDS, destination, _template_servers(mcp_servers, custom_mcp_servers))
        where = " and ".join(display(locations[key], locations["home"]) for key in ("folder", "global"))
        lines = [f"Bring your own setup: copy these from {where} into the repository once, on this copy "
                 "(your home is only read; what is copied is the team's, and updates leave it alone). Found:"]
        lines += [f"  {line}" for line in summary_lines(plan["record"])]
        if plan["notes"]:
            lines.append(f"  ({len(plan['notes'])} more left out: the copy lists them)")
        return "\n".join(lines)

    @pass_context
    def imported_default(context, choices, mcp_servers=None, custom_mcp_servers=None) -> dict:
        """The `imported_user_config` answer: on a copy, what the import brings; on an update,
        nothing (the recorded answer is kept, and the home is never read)."""
        if not choices or _operation() != "copy":
            return {}
        destination = (context.get("_copier_conf") or {}).get("dst_path", ".")
        return _cached_plan(context, choices, destination, _template_servers(mcp_servers, custom_mcp_servers))["record"]

    @pass_context
    def user_config_message(context, record, pretend=False, choices=None, mcp_servers=None,
                            custom_mcp_servers=None, skip_tasks=False) -> list[str]:
        """The closing message's lines: what was (or, with --pretend, would be) imported, and the
        variables the cloud environment must define. Under --pretend no task runs, so the lines
        of what is left out are here too; otherwise the task prints them."""
        record = record if isinstance(record, dict) else {}
        lines = []
        if pretend and choices and _operation() == "copy":
            destination = (context.get("_copier_conf") or {}).get("dst_path", ".")
            plan = _cached_plan(context, choices, destination, _template_servers(mcp_servers, custom_mcp_servers))
            lines += [f"Would import {line}" for line in summary_lines(plan["record"])]
            lines += [f"Would not import {note}" for note in plan["notes"]]
        elif _operation() == "copy" and skip_tasks:
            lines += [f"Not imported (--skip-tasks; `copier recopy` without it imports) {line}"
                      for line in summary_lines(record)]
        elif _operation() == "copy":
            lines += [f"Imported {line}" for line in summary_lines(record)]
        if record.get("variables"):
            lines.append("Environment variables the imported MCP servers need (set them in the cloud environment's "
                         f"settings; their values were left out of every file): {', '.join(record['variables'])}")
        return lines

    return {function.__name__: function for function in (
        user_config_when, user_config_ask, user_config_help, imported_default, user_config_message)}


class UserConfig(Extension):
    """Globals for the `import_user_config` question and its record, and the record's validator."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(_globals())
        environment.globals["user_config_summary"] = summary_lines
        environment.filters["imported_user_config_problem"] = record_problem
