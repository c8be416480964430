"""On an update, the links a team made stay links, and nothing is written through one that
leads out of the repository.

A CLAUDE.md that is a link to a file in the repository (AGENTS.md, say) stays a link, and the
update's changes go into the file it leads to.

Copier merges files, not links: it would see the link as the team replacing the template's
CLAUDE.md with a one-line file (the link's target path), and leave conflicts. So:

before: CLAUDE.md, a link to a file inside the repository, becomes a regular file holding
        that file's text, in the folder and in the index, and the link is noted in the
        gitignored .claude/state/. Copier merges CLAUDE.md as it merges any file.
after:  the merged text goes into the linked file, CLAUDE.md is the link again (in the index
        too, as HEAD has it), and a line says so. Conflict markers, if any, are then in the
        linked file, where check_update.py finds them.

A CLAUDE.md link that leads out of the repository is left to Copier, which replaces it with a
file: the template never writes through it. On a copy, extensions/layout.py's claude_md_path()
writes to the linked file directly.

A shareable folder (.claude/skills, commands, agents: extensions/layout.py's
SHAREABLE_FOLDERS) that is a link out of the repository:

before: the link is taken out of the folder and the index, and noted: to Copier's merge the
        team deleted that folder, so the release's files for it are not kept.
after:  whatever the update wrote there goes, the link comes back as HEAD has it, and a line
        says so. (On a copy, the folder's template name renders empty, and Copier skips it.)
Usage: team_links.py before|after ANSWERS_FILE (run by Copier in the project's folder).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stages  # noqa: E402

SOURCE = Path(__file__).resolve().parent.parent  # the template, at the new release
LINK = Path("CLAUDE.md")
NOTE = Path(".claude/state/update-claude-md-link.json")
FOLDERS_NOTE = Path(".claude/state/update-linked-folders.json")


def _layout():
    spec = importlib.util.spec_from_file_location("copier_claude_cloud_layout_task", SOURCE / "extensions" / "layout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def linked_out_folders(layout) -> dict[str, str]:
    """The shareable folders that are links out of the repository: {folder: the link's text}."""
    folders = [f".claude/{name}" for name in layout.SHAREABLE_FOLDERS]
    return {folder: os.readlink(folder) for folder in folders
            if os.path.islink(folder) and layout.folder_link_out(".", folder)}


def before(_answers: dict) -> None:
    layout = _layout()
    folders = linked_out_folders(layout)
    if folders:
        FOLDERS_NOTE.parent.mkdir(parents=True, exist_ok=True)
        FOLDERS_NOTE.write_text(json.dumps(folders), encoding="utf-8")
        for folder in folders:
            os.unlink(folder)
            subprocess.run(["git", "rm", "--cached", "--quiet", "--ignore-unmatch", "--", folder], check=True)
    target = layout.linked_claude_md(".")  # the same reading the copy's claude_md_path() makes
    if target is None or not Path(target).is_file():
        return
    NOTE.parent.mkdir(parents=True, exist_ok=True)
    NOTE.write_text(json.dumps({"link": os.readlink(LINK), "file": target}), encoding="utf-8")
    text = Path(target).read_bytes()
    LINK.unlink()
    LINK.write_bytes(text)
    subprocess.run(["git", "add", "--", str(LINK)], check=True)


def after() -> None:
    if FOLDERS_NOTE.is_file():
        for folder, link in json.loads(FOLDERS_NOTE.read_text(encoding="utf-8")).items():
            if os.path.isdir(folder) and not os.path.islink(folder):
                shutil.rmtree(folder)  # the release's files for it: never the team's, which are behind the link
            if not os.path.islink(folder):
                os.symlink(link, folder)
            subprocess.run(["git", "reset", "--quiet", "--", folder], check=False)
            print(f"copier-claude-cloud: {folder} stays a link to {link}, out of the repository; "
                  "this release's files for it were not written.")
        FOLDERS_NOTE.unlink()
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
