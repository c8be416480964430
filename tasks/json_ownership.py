"""On every update, the team's own entries in the JSON files step aside for Copier's merge.

Copier merges text. In JSON a team's addition at the end of a list or object edits the line
before it (a comma), so a template release that changes the same end of the list conflicts
with it, though the two never touch the same entry. So, per file, the team's part (the
entries this template never writes: permission rules, env vars not in the answers, hook
groups that run no template command, approvals and MCP servers not in the answers, other
keys; extensions/ownership.py decides, as it does for a copy over a repository) is:

before: set aside in the gitignored .claude/state/ and taken out of the files (and the
        index, which Copier diffs), so the merge sees only template-owned content;
after:  appended again at the end of their lists and objects. Where the merge left conflict
        markers (the team and the release changed the same template-owned entry), they are
        appended to each side of the conflict, and the markers kept around what differs, so
        no team entry stays behind in the stash; check_update.py then fails the update.

Ownership is decided with the answers that wrote the files (the answers file before the
update). The team's edits to template-owned entries stay in the merge, as with any file.
Usage: json_ownership.py before|after ANSWERS_FILE (run by Copier in the project's folder).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
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
            team["mcp_unstaged"] = True  # so `after` gives the index its entry back
    STASH.parent.mkdir(parents=True, exist_ok=True)
    _write(STASH, team)


# A conflict as Copier writes it (git merge-file, maybe with a diff3 base section).
CONFLICT = re.compile(r"^<{7}(?: ([^\n]*))?\n(.*?)(?:^\|{7}[^\n]*\n.*?)?^={7}\n(.*?)^>{7}(?: ([^\n]*))?\n",
                      re.MULTILINE | re.DOTALL)


def _side(text: str, side: int) -> str:
    """The text with each conflict resolved to one side (1: before updating, 2: after)."""
    return CONFLICT.sub(lambda match: match.group(1 + side), text)


def _labels(text: str) -> tuple[str, str]:
    match = CONFLICT.search(text)
    return match.group(1) or "before updating", match.group(4) or "after updating"


def _with_conflicts(ours: str, theirs: str, labels: tuple[str, str]) -> str:
    """One text with both: the lines they share as they are, each stretch that differs
    between markers, as a merge shows a conflict."""
    a, b = ours.splitlines(keepends=True), theirs.splitlines(keepends=True)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += a[i1:i2]
        else:
            out += [f"<<<<<<< {labels[0]}\n", *a[i1:i2], "=======\n", *b[j1:j2], f">>>>>>> {labels[1]}\n"]
    return "".join(out)


def _dumps(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _rejoin(path: Path, team: dict, join) -> bool:
    """Put the team's part back into `path`; False if it cannot (then the stash keeps it).

    A file with conflict markers does not parse, but each side of it does: the team's
    part joins both sides, and the markers come back around what still differs (the
    colliding template entries), so resolving the conflict either way keeps the team's part."""
    if not path.exists():
        _write(path, join({"mcpServers": {}}, team))
        return True
    text = path.read_text(encoding="utf-8")
    if not CONFLICT.search(text):
        data = _read(path)
        if data is None:
            return False
        _write(path, join(data, team))
        return True
    sides = []
    for side in (1, 2):
        try:
            data = json.loads(_side(text, side))
        except ValueError:
            return False
        if not isinstance(data, dict):
            return False
        sides.append(_dumps(join(data, team)))
    path.write_text(_with_conflicts(*sides, _labels(text)), encoding="utf-8")
    print(f"copier-claude-cloud: {path} has conflicts; your own entries were kept in it, outside the "
          "conflict markers.", file=sys.stderr)
    return True


def after() -> None:
    if not STASH.exists():
        return
    ownership = _ownership()
    team = json.loads(STASH.read_text(encoding="utf-8"))
    kept = True
    if "settings" in team and not _rejoin(SETTINGS, team["settings"], ownership.join_settings):
        print(f"copier-claude-cloud: {SETTINGS} is not valid JSON; your own entries are in {STASH}.", file=sys.stderr)
        kept = False
    if "mcp" in team and not _rejoin(MCP, team["mcp"], ownership.join_mcp):
        print(f"copier-claude-cloud: {MCP} is not valid JSON; your own servers are in {STASH}.", file=sys.stderr)
        kept = False
    if team.get("mcp_unstaged") and kept:
        # `before` took the team's own file out of the index; without this the update would
        # show it staged as deleted (and untracked), and a commit of the index would drop it.
        subprocess.run(["git", "reset", "--quiet", "--", str(MCP)], check=False)
    if kept:  # every team entry is back in its file
        STASH.unlink()

if __name__ == "__main__":
    stage, answers_file = sys.argv[1], sys.argv[2]
    if stage == "before":
        before(yaml.safe_load(Path(answers_file).read_text(encoding="utf-8")) or {})
    else:
        after()
