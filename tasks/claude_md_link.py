"""On an update, a CLAUDE.md that is a link to a file in the repository (AGENTS.md, say) stays
a link, and the update's changes go into the file it leads to.

Copier merges files, not links: it would see the link as the team replacing the template's
CLAUDE.md with a one-line file (the link's target path), and leave conflicts. So:

before: CLAUDE.md, a link to a file inside the repository, becomes a regular file holding
        that file's text, in the folder and in the index, and the link is noted in the
        gitignored .claude/state/. Copier merges CLAUDE.md as it merges any file.
after:  the merged text goes into the linked file, CLAUDE.md is the link again (in the index
        too, as HEAD has it), and a line says so. Conflict markers, if any, are then in the
        linked file, where check_update.py finds them.

A link that leads out of the repository is left to Copier, which replaces it with a file: the
template never writes through it. On a copy, extensions/layout.py's claude_md_path() writes
to the linked file directly.
Usage: claude_md_link.py before|after ANSWERS_FILE (run by Copier in the project's folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stages  # noqa: E402

LINK = Path("CLAUDE.md")
NOTE = Path(".claude/state/update-claude-md-link.json")


def linked_file() -> str | None:
    """The file CLAUDE.md links to, from the repository's top, when it is one inside it."""
    if not LINK.is_symlink():
        return None
    root, target = Path.cwd().resolve(), LINK.resolve()
    if not target.is_relative_to(root) or not target.is_file() or target == root / LINK:
        return None
    return target.relative_to(root).as_posix()


def before(_answers: dict) -> None:
    target = linked_file()
    if target is None:
        return
    NOTE.parent.mkdir(parents=True, exist_ok=True)
    NOTE.write_text(json.dumps({"link": os.readlink(LINK), "file": target}), encoding="utf-8")
    text = Path(target).read_bytes()
    LINK.unlink()
    LINK.write_bytes(text)
    subprocess.run(["git", "add", "--", str(LINK)], check=True)


def after() -> None:
    if not NOTE.is_file():
        return
    note = json.loads(NOTE.read_text(encoding="utf-8"))
    if LINK.is_file() and not LINK.is_symlink():
        Path(note["file"]).write_bytes(LINK.read_bytes())
        LINK.unlink()
    if not LINK.is_symlink():
        os.symlink(note["link"], LINK)
    subprocess.run(["git", "reset", "--quiet", "--", str(LINK)], check=False)
    NOTE.unlink()
    print(f"copier-claude-cloud: CLAUDE.md stays a link to {note['file']}; the update's changes are in {note['file']}.")


if __name__ == "__main__":
    _stages.run(before, after)
