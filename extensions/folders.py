"""The `project_folders` answer: the folders of the repository that a session installs, each
with its stack, its tool and its commands, as repo_reader.py read them on the copy.

The reading is recorded as an answer (`ask: false`), not read again at each render: an update
renders the old and the new release with the same folders and commands, so it merges only
what the template changed, and a team that corrects a command in .copier-answers.claude.yml
keeps its correction. One entry:

    {"path": "frontend", "stack": "node", "tool": "pnpm",
     "commands": {"lint": "pnpm lint", "test": "pnpm test"},
     "sources": {"lint": ".github/workflows/ci.yml", "test": "package.json scripts"},
     "guessed": [],                 # kinds whose command is the catalogue's default
     "formatter": "biome",          # the format-on-edit hook's formatter for this folder's files
     "pnp": false,                  # Yarn Plug'n'Play: no node_modules, .pnp.cjs instead
     "installed_by": null}          # a workspace root that installs this folder
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from weakref import WeakKeyDictionary

from jinja2 import pass_context
from jinja2.ext import Extension


def _sibling(name: str):
    """Copier loads each extension file as a module of its own: siblings are loaded by path,
    once (the catalogue keeps one registry across them)."""
    spec = importlib.util.spec_from_file_location(f"copier_claude_cloud_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reader = _sibling("repo_reader")
hosts = _sibling("hosts")
catalogue = reader.catalogue
EVIDENCE = reader.load_evidence()
KINDS = tuple(EVIDENCE["kinds"])
PLAIN_COMMAND = re.compile(EVIDENCE["plain_line_pattern"])
# The engine's `dir` record takes the same spelling: plain names, no `..`, no leading /.
FOLDER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
# A bound for the answers file, far above real monorepos (a generated 100k-file one has 68).
MAX_FOLDERS = 1000
ENTRY_KEYS = {"path", "stack", "tool", "commands", "sources", "guessed", "formatter", "pnp", "installed_by", "hosts"}
MAX_HOSTS = 20


def formatter_names(stack: str) -> list[str]:
    """The formatters the catalogue's hook can run for a stack's files."""
    formatter = catalogue.stacks()[stack].get("formatter") or {}
    return [command["name"] for command in formatter.get("commands", ())]


def catalogue_commands(stack: str, tool: str) -> dict[str, str]:
    """The catalogue's default commands of a stack's tool, e.g. {"test": "uv run pytest"}."""
    spec = catalogue.stacks()[stack]
    details = spec["tools"][tool]
    defaults = details.get("commands") or spec["commands"]
    return {kind: text.format(run=details["run"]) for kind, text in defaults.items() if text}


def guessed_entry(stack: str, tool: str, path: str = ".") -> dict:
    commands = catalogue_commands(stack, tool)
    return {"path": path, "stack": stack, "tool": tool, "commands": commands,
            "sources": {kind: "catalogue default" for kind in commands}, "guessed": list(commands),
            "formatter": None, "pnp": False, "installed_by": None}


def read_entry(folder: dict) -> dict:
    """An entry from one folder of the reading. A workspace member keeps only the commands its
    own files name: a guess there (`pnpm run test` in a package with no test script) would
    fail, and the workspace root's commands cover it."""
    install = folder.get("install") or {}
    member = bool(install.get("workspace_member"))
    guessed = [] if member else list(folder.get("guessed") or [])
    kept = {kind: found for kind, found in folder["commands"].items()
            if not (member and kind in (folder.get("guessed") or []))}
    return {"path": folder["path"], "stack": folder["stack"], "tool": folder["tool"],
            "commands": {kind: found["run"] for kind, found in kept.items()},
            "sources": {kind: found["source"] for kind, found in kept.items()},
            "guessed": guessed,
            "formatter": folder.get("formatter") if folder.get("formatter") in formatter_names(folder["stack"]) else None,
            "pnp": bool(install.get("pnp")),
            "installed_by": install.get("workspace_root") if member else None}


def reading(destination) -> dict:
    folder = Path(str(destination))
    return reader.read_repository(folder) if folder.is_dir() else {"folders": [], "notes": []}


# One reading per render: the defaults of `stacks`, each tool question and `project_folders`,
# and the closing message, all ask for it. Kept per Jinja environment, which Copier makes
# once for each render (an update's old and new renders have their own).
_READINGS: WeakKeyDictionary = WeakKeyDictionary()


def _with_reading(function):
    """`function` as a Jinja global that reads the destination once per render."""
    @pass_context
    def per_render(context, destination, *args):
        readings = _READINGS.setdefault(context.environment, {})
        if str(destination) not in readings:
            readings[str(destination)] = reading(destination)
        return function(destination, *args, read=readings[str(destination)])

    per_render.__name__ = function.__name__
    return per_render


def detected_stacks(destination, read: dict | None = None) -> list[str]:
    """The stacks of every folder the reader found, in catalogue order: a repository with
    backend/pyproject.toml and frontend/package.json and nothing at its top has both. `read`:
    the reading, when the caller has it (the same goes for the functions below)."""
    found = {folder["stack"] for folder in (read or reading(destination))["folders"]}
    return [name for name in catalogue.stacks() if name in found]


def detected_tool(destination, stack: str, read: dict | None = None) -> str:
    """The tool of the stack's first folder (the top one first), else the stack's fallback."""
    for folder in (read or reading(destination))["folders"]:
        if folder["stack"] == stack:
            return folder["tool"]
    return catalogue.stacks()[stack]["fallback"]


def folders_default(destination, stacks, tools, read: dict | None = None) -> list[dict]:
    """The `project_folders` default: each folder the reader found for a chosen stack, then a
    top-folder entry with the catalogue's commands (all guessed) for a chosen stack it found
    nowhere. `tools` maps a stack to its tool question's answer: when that differs from the
    tool read for the stack's first folder, the person chose it, and it applies to all the
    stack's folders, with the catalogue's commands for it (the read ones were for another tool)."""
    stacks = [name for name in catalogue.stacks() if name in (stacks or [])]
    found = [folder for folder in (read or reading(destination))["folders"] if folder["stack"] in stacks]
    first_tool = {}
    for folder in found:
        first_tool.setdefault(folder["stack"], folder["tool"])
    entries = []
    for folder in found:
        chosen = (tools or {}).get(folder["stack"])
        if chosen and chosen != first_tool[folder["stack"]] and chosen in catalogue.stacks()[folder["stack"]]["tools"]:
            read = read_entry(folder)
            entries.append({**guessed_entry(folder["stack"], chosen, folder["path"]),
                            "installed_by": read["installed_by"], "formatter": read["formatter"], "pnp": read["pnp"]})
        else:
            entries.append(read_entry(folder))
    for stack in stacks:
        if stack not in first_tool:
            spec = catalogue.stacks()[stack]
            chosen = (tools or {}).get(stack)
            entries.append(guessed_entry(stack, chosen if chosen in spec["tools"] else spec["fallback"]))
    # The default must pass the validator: a folder whose name the engine cannot take (a space,
    # a line break) is left out, and so is what goes over the bound.
    for entry in entries:
        # The registries the repository declares for the folder, when they are not the
        # catalogue's: recorded, so an update renders the same hosts without reading again.
        tool_hosts = list(catalogue.stacks()[entry["stack"]]["tools"][entry["tool"]].get("hosts", ()))
        declared = hosts.install_hosts(str(destination), entry["path"], entry["stack"], tool_hosts)[:MAX_HOSTS]
        if declared != tool_hosts:
            entry["hosts"] = declared
    return [entry for index, entry in enumerate(entries) if not _entry_problem(index, entry)][:MAX_FOLDERS]


def reading_notes(destination, read: dict | None = None) -> list[str]:
    """What the reader found and why, one line per folder, stack and source, for the copy's
    closing message."""
    return (read or reading(destination))["notes"]


def _entry_problem(index: int, entry: object) -> str:
    where = f"project_folders[{index}]"
    if not isinstance(entry, dict):
        return f"{where} must be a mapping such as {{path: frontend, stack: node, tool: npm, commands: {{test: npm test}}}}."
    if unknown := sorted(set(map(str, entry)) - ENTRY_KEYS):
        return f"{where} has keys this template does not know: {', '.join(unknown)}."
    path, stack, tool = entry.get("path"), entry.get("stack"), entry.get("tool")
    if not isinstance(path, str) or not (path == "." or (FOLDER.fullmatch(path) and not {".", ".."} & set(path.split("/")))):
        return f"{where}.path: {path!r} is not a folder of the repository (such as . or services/api)."
    if stack not in catalogue.stacks():
        return f"{where}.stack: {stack!r} is not one of {', '.join(catalogue.stacks())}."
    if tool not in catalogue.stacks()[stack]["tools"]:
        return f"{where}.tool: {tool!r} is not a {stack} tool ({', '.join(catalogue.stacks()[stack]['tools'])})."
    commands = entry.get("commands", {})
    if not isinstance(commands, dict):
        return f"{where}.commands must be a mapping of kind to command, e.g. {{test: npm test}}."
    for kind, command in commands.items():
        if kind not in KINDS:
            return f"{where}.commands: {kind!r} is not one of {', '.join(KINDS)}."
        if not isinstance(command, str) or len(command) > 300 or not PLAIN_COMMAND.fullmatch(command):
            return (f"{where}.commands.{kind}: {command!r} must be one plain command (words of letters, digits "
                    "and ./:=@%+,-_; no quotes, $, ;, |, & or >): it becomes an exact allow rule.")
    sources = entry.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) and len(v) <= 200 and "\n" not in v
                                                for v in sources.values()):
        return f"{where}.sources must map kinds to one line each."
    guessed = entry.get("guessed", [])
    if not isinstance(guessed, list) or not set(map(str, guessed)) <= set(KINDS):
        return f"{where}.guessed must list kinds ({', '.join(KINDS)})."
    installed_by = entry.get("installed_by")
    if installed_by is not None and not (installed_by == "." or (isinstance(installed_by, str) and FOLDER.fullmatch(installed_by))):
        return f"{where}.installed_by: {installed_by!r} is not a folder of the repository."
    formatter = entry.get("formatter")
    if formatter is not None and formatter not in formatter_names(stack):
        return f"{where}.formatter: {formatter!r} is not a {stack} formatter ({', '.join(formatter_names(stack)) or 'none'})."
    if not isinstance(entry.get("pnp", False), bool):
        return f"{where}.pnp must be true or false."
    listed = entry.get("hosts", [])
    if not isinstance(listed, list) or len(listed) > MAX_HOSTS or not all(
            isinstance(host, str) and hosts.HOST.fullmatch(host) for host in listed):
        return f"{where}.hosts must list at most {MAX_HOSTS} host names (such as npm.example.com) its install downloads from."
    return ""


def project_folders_problem(value: object, stacks: object = None) -> str:
    """The validator: a list of entries as the module docstring shows, each for a chosen stack."""
    if value is None:
        return ""
    if not isinstance(value, list):
        return f"project_folders: expected a list of folders, got {type(value).__name__}."
    if len(value) > MAX_FOLDERS:
        return f"project_folders: {len(value)} folders; keep it to {MAX_FOLDERS}."
    seen = set()
    for index, entry in enumerate(value):
        if problem := _entry_problem(index, entry):
            return problem
        key = (entry["path"], entry["stack"])
        if key in seen:
            return f"project_folders[{index}]: {entry['stack']} in {entry['path']} is listed twice."
        seen.add(key)
        if isinstance(stacks, list) and entry["stack"] not in stacks:
            return f"project_folders[{index}]: {entry['stack']} is not among the chosen stacks ({', '.join(map(str, stacks))})."
    return ""


class Folders(Extension):
    """Globals and the validator filter for the `project_folders` question."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update({function.__name__: _with_reading(function) for function in (
            detected_stacks, detected_tool, folders_default, reading_notes,
        )})
        environment.filters["project_folders_problem"] = project_folders_problem
