"""Write what the `import_user_config` answer imports from the person's Claude Code home.

A `_tasks` entry of copier.yml runs this on a copy only (never on an update, never under
--pretend, where Copier runs no task), in the new project's folder, after Copier has written
the template's files. The plan comes from extensions/user_config.py, the module the question's
help, the recorded answer `imported_user_config` and the closing message use, so they agree.

It adds files the repository does not have yet (never over one, never through a symlink), and
entries to .claude/settings.json and .mcp.json that are not there yet (an existing entry of the
same name wins). None of it is the template's: tasks/json_ownership.py keeps the entries as the
team's on every update, and Copier's merge never touches files the template does not render.
The home is only read. Usage: import_user_config.py ANSWERS_FILE
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path, PurePosixPath

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent  # Copier's checkout of the template
SETTINGS = Path(".claude/settings.json")
MCP = Path(".mcp.json")


def _reader():
    path = TEMPLATE / "extensions" / "user_config.py"
    spec = importlib.util.spec_from_file_location("copier_claude_cloud_user_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def say(line: str) -> None:
    print(f"copier-claude-cloud import: {line}", file=sys.stderr)


def write_file(reader, entry: dict, root: Path) -> str:
    """Write one planned file; "" or why it was not written."""
    target = PurePosixPath(entry["target"])
    if ".." in target.parts or target.is_absolute():
        return "not a path inside the repository"
    if reader._taken(root, entry["target"]):
        return "the repository has it already"
    # Read again, with the same checks: the home may have changed since the plan.
    notes: list[str] = []
    data = reader._read_bytes(Path(entry["source"]), reader.rules()["limits"]["max_file_bytes"])
    if data is None or not reader._check_text(data, entry["target"], notes):
        return notes[0] if notes else "its source is no longer a readable file"
    path = root / entry["target"]
    path.parent.mkdir(parents=True, exist_ok=True)
    if reader._taken(root, entry["target"]):  # a link made on the way, in the meantime
        return "the repository has it already"
    mode = 0o755 if entry.get("executable") else 0o644
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # the umask may have narrowed it
    return ""


def merge_settings(settings: dict, planned: dict) -> list[str]:
    """Add the planned entries to settings.json's document; lines for what was already there."""
    notes = []
    for kind, rules in planned.get("permissions", {}).items():
        listed = settings.setdefault("permissions", {}).setdefault(kind, [])
        listed += [rule for rule in rules if rule not in listed]
    for event, groups in planned.get("hooks", {}).items():
        existing = settings.setdefault("hooks", {}).setdefault(event, [])
        existing += [group for group in groups if group not in existing]
    for key in ("enabledPlugins", "extraKnownMarketplaces"):
        for name, value in planned.get(key, {}).items():
            table = settings.setdefault(key, {})
            if name in table and table[name] != value:
                notes.append(f"{key}.{name}: the repository's own entry kept")
            table.setdefault(name, value)
    approved = planned.get("enabledMcpjsonServers", [])
    if approved:
        listed = settings.setdefault("enabledMcpjsonServers", [])
        listed += [name for name in approved if name not in listed]
    return notes


def _dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _document(path: Path, default: dict, table: str) -> dict | None:
    """The JSON object in `path` (`default` when there is no file), or None when it is not one,
    or its `table` is there and not an object."""
    if not path.exists():
        return default
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or (table and not isinstance(document.get(table, {}), dict)):
        return None
    return document


def apply(plan: dict, root: Path, reader) -> list[str]:
    """Write the plan into `root`; the lines to print."""
    lines = []
    for entry in plan["files"]:
        if problem := write_file(reader, entry, root):
            lines.append(f"{entry['target']} not written: {problem}")
    for path in (SETTINGS, MCP):
        if (root / path).is_symlink():
            return [*lines, f"{path} is a symlink: nothing written to it (add the entries by hand)"]
    if plan["settings"]:
        path = root / SETTINGS
        settings = _document(path, {}, "")
        try:
            merged = merge_settings(settings, plan["settings"]) if settings is not None else None
        except (AttributeError, TypeError):  # a permissions, hooks... entry that is not what it should be
            merged = None
        if merged is None:
            lines.append(f"{SETTINGS} is not a settings object this import can read: the import wrote nothing to it "
                         "(fix it, then add the entries by hand)")
        else:
            lines += merged
            path.write_text(_dumps(settings), encoding="utf-8")
    if plan["mcp"]:
        path = root / MCP
        document = _document(path, {"mcpServers": {}}, "mcpServers")
        if document is None:
            lines.append(f"{MCP} is not a JSON object with an mcpServers object: the import wrote nothing to it "
                         f"(fix it, then add {', '.join(plan['mcp'])} by hand)")
        else:
            servers = document.setdefault("mcpServers", {})
            for name, entry in plan["mcp"].items():
                if name in servers:
                    lines.append(f".mcp.json: {name} is the repository's own; yours was not added")
                servers.setdefault(name, entry)
            path.write_text(_dumps(document), encoding="utf-8")
    return lines


def main(answers_file: str) -> None:
    answers = yaml.safe_load(Path(answers_file).read_text(encoding="utf-8")) or {}
    reader = _reader()
    servers = reader._template_servers(answers.get("mcp_servers"), answers.get("custom_mcp_servers"))
    plan = reader.build_plan(answers.get("import_user_config") or [], Path.cwd(), servers)
    for note in plan["notes"]:
        say(note)
    recorded = answers.get("imported_user_config") or {}
    if any(set(names) - set(recorded.get(kind) or []) for kind, names in plan["record"].items()):
        say("your home folder changed while the copy ran: CLAUDE.md and the answers file list what the "
            "questions saw; check the imported files against them")
    for line in apply(plan, Path.cwd(), reader):
        say(line)


if __name__ == "__main__":
    main(sys.argv[1])
