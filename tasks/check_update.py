"""After `copier update`: find what the merge could not settle, and fail loudly.

Copier exits 0 even when a file has conflicts, so this task makes them visible: unmerged
paths, conflict markers, `.rej` files, a release's new file beside a team's own file of the
same name (`.copier-new`), JSON that no longer parses or holds a key twice, and the team's
JSON entries left set aside. It prints the files that need attention and exits 1, which
makes `copier update` (and so a fleet workflow) fail. It only reads, so it is safe to run
the three times Copier runs tasks during an update; in Copier's temporary copies (no git
repository) it does nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
JSON_FILES = (".claude/settings.json", ".mcp.json")
STASH = ".claude/state/update-team-entries.json"  # tasks/json_ownership.py's
NEW_FILE = ".copier-new"  # tasks/team_files.py's: a release's file beside the team's own


def git(*args: str) -> list[str]:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    return [line for line in result.stdout.split("\0" if "-z" in args else "\n") if line] if result.returncode == 0 else []


def _unique_keys(pairs: list) -> dict:
    """A key twice in one JSON object: Claude Code would read only the last."""
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"the key {key!r} twice in one object")
    return dict(pairs)


def problems(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in git("diff", "--name-only", "--diff-filter=U", "-z"):
        found[path] = "unmerged (conflict)"
    changed = set(git("ls-files", "--modified", "--others", "--exclude-standard", "-z")) | set(found)
    for path in sorted(changed):
        file = root / path
        if path.endswith(".rej"):
            found[path] = "rejected hunk: merge it by hand, then delete the file"
        elif path.endswith(NEW_FILE):
            found[path] = (f"this release's new template file; your own {path.removesuffix(NEW_FILE)} is kept as it "
                           "was: take what you want from this one, then delete it")
        elif file.is_file() and file.stat().st_size < 2_000_000:
            try:
                if MARKER.search(file.read_text(encoding="utf-8")):
                    found[path] = "conflict markers"
            except UnicodeDecodeError:
                continue
    for path in [*JSON_FILES, *(str(p.relative_to(root)) for p in (root / ".claude").rglob("*.json"))]:
        file = root / path
        if file.is_file() and path not in found and not path.startswith(".claude/state/"):
            try:
                json.loads(file.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
            except ValueError as error:
                found[path] = f"invalid JSON ({error})"
    if (root / STASH).exists():  # json_ownership.py could not put the team's entries back
        found[STASH] = "your own JSON entries, set aside for the merge: add them back to their files, then delete this"
    for path in JSON_FILES:  # say where the team's own entries are, so no one redoes them
        if path in found:
            found[path] += (f"; your own entries are set aside in {STASH}" if (root / STASH).exists()
                            else "; your own entries were kept in the file, on both sides of any conflict")
    return found


def main() -> int:
    root = Path.cwd()
    if not git("rev-parse", "--is-inside-work-tree"):
        return 0  # one of Copier's temporary copies
    found = problems(root)
    if not found:
        return 0
    print(f"copier-claude-cloud: {len(found)} file(s) need attention after the update:", file=sys.stderr)
    for path, reason in sorted(found.items()):
        print(f"  {path}: {reason}", file=sys.stderr)
    print("Resolve them, check `git diff`, then commit. Nothing else needs redoing.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
