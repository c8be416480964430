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


def before(answers: dict) -> None:
    claude_json = _claude_json()
    owned_rules = claude_json.template_owned_rules()
    template_env = set(answers.get("env_vars") or {})
    template_servers = _template_servers(answers)
    team: dict = {}
    settings = _read(SETTINGS)
    if settings is not None:
        permissions = settings.get("permissions") or {}
        rules = {key: [r for r in permissions.get(key, []) if r not in owned_rules] for key in RULE_LISTS}
        env = {k: v for k, v in (settings.get("env") or {}).items() if k not in template_env}
        hooks = {
            event: [group for group in groups if not claude_json._is_template_hook(group)]
            for event, groups in (settings.get("hooks") or {}).items()
        }
        approved = [name for name in settings.get("enabledMcpjsonServers") or [] if name not in template_servers]
        team["settings"] = {"permissions": {k: v for k, v in rules.items() if v}, "env": env,
                            "hooks": {k: v for k, v in hooks.items() if v}, "enabledMcpjsonServers": approved}
        for key, kept in rules.items():
            if kept:
                permissions[key] = [r for r in permissions[key] if r not in kept]
        if "env" in settings:
            settings["env"] = {k: v for k, v in settings["env"].items() if k in template_env}
        if "hooks" in settings:
            settings["hooks"] = {
                event: groups for event, groups in (
                    (event, [g for g in groups if claude_json._is_template_hook(g)]) for event, groups in settings["hooks"].items()
                ) if groups
            }
        if "enabledMcpjsonServers" in settings:
            remaining = [n for n in settings["enabledMcpjsonServers"] if n in template_servers]
            if remaining:
                settings["enabledMcpjsonServers"] = remaining
            else:
                del settings["enabledMcpjsonServers"]
        _write(SETTINGS, settings)
        subprocess.run(["git", "add", "--", str(SETTINGS)], check=True)
    mcp = _read(MCP)
    if mcp is not None:
        servers = mcp.get("mcpServers") or {}
        team["mcpServers"] = {name: entry for name, entry in servers.items() if name not in template_servers}
        mcp["mcpServers"] = {name: entry for name, entry in servers.items() if name in template_servers}
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
