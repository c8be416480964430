"""On every update, the team's own entries in the JSON files step aside for Copier's merge.

Copier merges text. In JSON a team's addition at the end of a list or object edits the line
before it (a comma), so a template release that changes the same end of the list conflicts
with it, though the two never touch the same entry. So, per file, entries this template
never writes (permission rules, env vars not in the answers, hook groups that do not run a
template script, MCP servers not in the answers) are:

before: set aside in the gitignored .claude/state/ and taken out of the files (and the
        index, which Copier diffs), so the merge sees only template-owned content;
after:  appended again at the end of their lists and objects.

The team's edits to template-owned entries stay in the merge, as with any file.
Usage: json_ownership.py before|after ANSWERS_FILE (run by Copier in the project's folder).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import yaml

SETTINGS = Path(".claude/settings.json")
MCP = Path(".mcp.json")
STASH = Path(".claude/state/update-team-entries.json")
RULE_LISTS = ("allow", "deny", "ask")


def _claude_json():
    """This release's extensions/claude_json.py: what the template can write."""
    path = Path(__file__).resolve().parent.parent / "extensions" / "claude_json.py"
    spec = importlib.util.spec_from_file_location("copier_claude_cloud_claude_json", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _template_servers(answers: dict) -> set[str]:
    return set(answers.get("mcp_servers") or []) | set(answers.get("custom_mcp_servers") or {})


def _split(items, is_template):
    """(the template's part, the team's part) of a list, or of a mapping by its keys."""
    if isinstance(items, dict):
        return ({k: v for k, v in items.items() if is_template(k)}, {k: v for k, v in items.items() if not is_template(k)})
    return [i for i in items if is_template(i)], [i for i in items if not is_template(i)]


def before(answers: dict) -> None:
    claude_json = _claude_json()
    owned_rules = claude_json.template_owned_rules()
    template_env = set(answers.get("env_vars") or {})
    template_servers = _template_servers(answers)
    team: dict = {}
    settings = _read(SETTINGS)
    if settings is not None:
        team_settings: dict = {"permissions": {}, "env": {}, "hooks": {}, "enabledMcpjsonServers": []}
        permissions = settings.get("permissions") or {}
        for key in RULE_LISTS:
            if key in permissions:
                permissions[key], rules = _split(permissions[key], owned_rules.__contains__)
                if rules:
                    team_settings["permissions"][key] = rules
        if "env" in settings:
            settings["env"], team_settings["env"] = _split(settings["env"], template_env.__contains__)
        if "hooks" in settings:
            kept_hooks = {}
            for event, groups in settings["hooks"].items():
                kept, theirs = _split(groups, claude_json._is_template_hook)
                if kept:
                    kept_hooks[event] = kept
                if theirs:
                    team_settings["hooks"][event] = theirs
            settings["hooks"] = kept_hooks
        if "enabledMcpjsonServers" in settings:
            approved, team_settings["enabledMcpjsonServers"] = _split(settings["enabledMcpjsonServers"],
                                                                      template_servers.__contains__)
            if approved:
                settings["enabledMcpjsonServers"] = approved
            else:
                del settings["enabledMcpjsonServers"]
        team["settings"] = team_settings
        _write(SETTINGS, settings)
        subprocess.run(["git", "add", "--", str(SETTINGS)], check=True)
    mcp = _read(MCP)
    if mcp is not None:
        mcp["mcpServers"], team["mcpServers"] = _split(mcp.get("mcpServers") or {}, template_servers.__contains__)
        if mcp["mcpServers"] or len(mcp) > 1:
            _write(MCP, mcp)
            subprocess.run(["git", "add", "--", str(MCP)], check=True)
        else:  # only the team's servers: the file was theirs; it comes back after the merge
            subprocess.run(["git", "rm", "--quiet", "--cached", "--", str(MCP)], check=False)
            MCP.unlink()
    STASH.parent.mkdir(parents=True, exist_ok=True)
    _write(STASH, team)


def after() -> None:
    if not STASH.exists():
        return
    team = json.loads(STASH.read_text(encoding="utf-8"))
    entries = team.get("settings")
    if entries:
        settings = _read(SETTINGS)
        if settings is None:
            print(f"copier-claude-cloud: {SETTINGS} is not valid JSON; your own entries are in {STASH}.", file=sys.stderr)
            return
        permissions = settings.setdefault("permissions", {})
        for key, rules in entries.get("permissions", {}).items():
            current = permissions.setdefault(key, [])
            current += [r for r in rules if r not in current]
        if entries.get("env"):
            env = settings.setdefault("env", {})
            for name, value in entries["env"].items():
                env.setdefault(name, value)  # a name the answers now set is the template's
        for event, groups in entries.get("hooks", {}).items():
            current = settings.setdefault("hooks", {}).setdefault(event, [])
            current += [g for g in groups if g not in current]
        if entries.get("enabledMcpjsonServers"):
            approved = settings.setdefault("enabledMcpjsonServers", [])
            approved += [n for n in entries["enabledMcpjsonServers"] if n not in approved]
        _write(SETTINGS, settings)
    if team.get("mcpServers"):
        mcp = _read(MCP) if MCP.exists() else {"mcpServers": {}}
        if mcp is None:
            print(f"copier-claude-cloud: {MCP} is not valid JSON; your own servers are in {STASH}.", file=sys.stderr)
            return
        servers = mcp.setdefault("mcpServers", {})
        for name, entry in team["mcpServers"].items():
            servers.setdefault(name, entry)
        _write(MCP, mcp)
    STASH.unlink()


if __name__ == "__main__":
    stage, answers_file = sys.argv[1], sys.argv[2]
    if stage == "before":
        before(yaml.safe_load(Path(answers_file).read_text(encoding="utf-8")) or {})
    else:
        after()
