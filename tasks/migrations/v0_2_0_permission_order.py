"""0.2.0: settings.json lists the answer-dependent permission rules first and the stable
ones last (so later updates merge around rules a team appends). Reordering moves every
line a team's appended rule sits next to, so a plain three-way merge would conflict.

before: set the team's own rules (any rule the template never writes) aside, in the
        gitignored .claude/state/, and take them out of the file, so the merge sees no
        change there;
after:  put them back at the end of their lists.

Usage: v0_2_0_permission_order.py before|after (run by Copier in the project's folder).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SETTINGS = Path(".claude/settings.json")
STASH = Path(".claude/state/0.2.0-team-permission-rules.json")
LISTS = ("allow", "deny", "ask")


def template_owned_rules() -> set[str]:
    """Every rule the template (this release's extensions) can write."""
    module_path = Path(__file__).resolve().parents[2] / "extensions" / "claude_json.py"
    spec = importlib.util.spec_from_file_location("copier_claude_cloud_claude_json", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.template_owned_rules()


def write(settings: dict) -> None:
    SETTINGS.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def before() -> None:
    try:
        settings = json.loads(SETTINGS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    owned = template_owned_rules()
    permissions = settings.get("permissions") or {}
    team = {key: [rule for rule in permissions.get(key, []) if rule not in owned] for key in LISTS}
    if not any(team.values()):
        return
    for key, rules in team.items():
        if rules:
            permissions[key] = [rule for rule in permissions[key] if rule not in rules]
    STASH.parent.mkdir(parents=True, exist_ok=True)
    STASH.write_text(json.dumps(team, indent=2) + "\n", encoding="utf-8")
    write(settings)
    # Copier diffs the index, not the working tree.
    subprocess.run(["git", "add", "--", str(SETTINGS)], check=True)


def after() -> None:
    if not STASH.exists():
        return
    team = json.loads(STASH.read_text(encoding="utf-8"))
    try:
        settings = json.loads(SETTINGS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"copier-claude-cloud 0.2.0: add your permission rules from {STASH} back by hand.", file=sys.stderr)
        return
    permissions = settings.setdefault("permissions", {})
    for key, rules in team.items():
        if rules:
            current = permissions.setdefault(key, [])
            current += [rule for rule in rules if rule not in current]
    write(settings)
    STASH.unlink()
    print(f"copier-claude-cloud 0.2.0: kept your permission rules: {sum(map(len, team.values()))}")


if __name__ == "__main__":
    {"before": before, "after": after}[sys.argv[1]]()
