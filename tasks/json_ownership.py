"""On every update, the team's own entries in the JSON files step aside for Copier's merge.

Copier merges text. In JSON a team's addition at the end of a list or object edits the line
before it (a comma), so a template release that changes the same end of the list conflicts
with it, though the two never touch the same entry. So, per file, the team's part (the
entries this template never writes: permission rules, env vars not in the answers, hook
groups that run no template command, approvals and MCP servers not in the answers, other
keys; extensions/ownership.py decides, as it does for a copy over a repository) is:

before: set aside in the gitignored .claude/state/ and taken out of the files (and the
        index, which Copier diffs), so the merge sees only template-owned content;
after:  appended again at the end of their lists and objects.

Ownership is decided with the answers that wrote the files (the answers file before the
update). The team's edits to template-owned entries stay in the merge, as with any file.
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


def _ownership():
    """This release's extensions/ownership.py: which entries the template owns."""
    path = Path(__file__).resolve().parent.parent / "extensions" / "ownership.py"
    spec = importlib.util.spec_from_file_location("copier_claude_cloud_ownership", path)
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


def before(answers: dict) -> None:
    ownership = _ownership()
    team: dict = {}
    settings = _read(SETTINGS)
    if settings is not None:
        template, team["settings"] = ownership.split_settings(settings, answers)
        _write(SETTINGS, template)
        subprocess.run(["git", "add", "--", str(SETTINGS)], check=True)
    mcp = _read(MCP)
    if mcp is not None:
        template, theirs = ownership.split_mcp(mcp, answers)
        if theirs != {"mcpServers": {}}:
            team["mcp"] = theirs
        if template["mcpServers"]:
            _write(MCP, template)
            subprocess.run(["git", "add", "--", str(MCP)], check=True)
        else:  # only the team's servers: the file was theirs; it comes back after the merge
            subprocess.run(["git", "rm", "--quiet", "--cached", "--", str(MCP)], check=False)
            MCP.unlink()
    STASH.parent.mkdir(parents=True, exist_ok=True)
    _write(STASH, team)


def after() -> None:
    if not STASH.exists():
        return
    ownership = _ownership()
    team = json.loads(STASH.read_text(encoding="utf-8"))
    if "settings" in team:
        settings = _read(SETTINGS)
        if settings is None:
            print(f"copier-claude-cloud: {SETTINGS} is not valid JSON; your own entries are in {STASH}.", file=sys.stderr)
            return
        _write(SETTINGS, ownership.join_settings(settings, team["settings"]))
    if "mcp" in team:
        mcp = _read(MCP) if MCP.exists() else {"mcpServers": {}}
        if mcp is None:
            print(f"copier-claude-cloud: {MCP} is not valid JSON; your own servers are in {STASH}.", file=sys.stderr)
            return
        _write(MCP, ownership.join_mcp(mcp, team["mcp"]))
    STASH.unlink()


if __name__ == "__main__":
    stage, answers_file = sys.argv[1], sys.argv[2]
    if stage == "before":
        before(yaml.safe_load(Path(answers_file).read_text(encoding="utf-8")) or {})
    else:
        after()
