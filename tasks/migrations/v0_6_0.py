"""0.6.0: cloud-init.sh becomes one static engine, and what it does moves to a generated
data file (cloud-init.steps). The team's own steps live in .claude/scripts/cloud-init.d/.

Up to 0.5.x, cloud-init.sh was rendered for each repository, and teams edited it. Those
edits cannot merge into the new engine: the two files share almost no lines. So before
Copier's merge, prepare() compares the team's cloud-init.sh with what the old release
wrote, puts the old release's text back (staged, so the merge replaces it cleanly), and
moves the team's edits into .claude/scripts/cloud-init.d/:

- added `persist_var NAME "VALUE"` and `persist_path "FOLDER"` lines (the old exports)
  become `env` and `path` records of from-old-cloud-init.steps;
- other added lines become from-old-cloud-init.sh, a step of the team's that runs after
  the template's steps, each block headed by the line it followed;
- changed or deleted lines of the old script cannot be carried over by a rule: they go to
  from-old-cloud-init.review between conflict markers, old lines and the team's side by
  side. The update then fails (tasks/check_update.py finds the markers), so a fleet's
  update PR is opened as conflicted, and nothing is lost silently.

When the old release cannot be rendered again, the file is left as it is: the merge then
shows the conflict in cloud-init.sh itself.
"""

from __future__ import annotations

import difflib
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

SCRIPT = ".claude/scripts/cloud-init.sh"
TEAM_DIR = ".claude/scripts/cloud-init.d"
MOVED_STEPS = f"{TEAM_DIR}/from-old-cloud-init.steps"
MOVED_SCRIPT = f"{TEAM_DIR}/from-old-cloud-init.sh"
REVIEW = f"{TEAM_DIR}/from-old-cloud-init.review"

# The old script's export helpers, and its spelling of the placeholders.
PERSIST_VAR = re.compile(r'^\s*persist_var ([A-Za-z_][A-Za-z0-9_]*) "([^"\t]*)"\s*$')
PERSIST_PATH = re.compile(r'^\s*persist_path "([^"\t]*)"\s*$')
OLD_SPELLINGS = {"$project_dir": "{project}", "${GOPATH:-$HOME/go}": "{gopath}",
                 "${CARGO_HOME:-$HOME/.cargo}": "{cargo_home}", "$HOME": "{home}", "$database": "{database}"}


def placeholders(value: str) -> str:
    for old, new in OLD_SPELLINGS.items():
        value = value.replace(old, new)
    return value


def split_edits(old: list[str], team: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The team's edits as (steps records, script lines, review lines)."""
    records: list[str] = []
    script: list[str] = []
    review: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=team, autojunk=False)
    for tag, old_from, old_to, team_from, team_to in matcher.get_opcodes():
        if tag == "equal":
            continue
        added = team[team_from:team_to]
        after = old[old_from - 1].strip() if old_from else "(the start of the file)"
        if tag == "insert":
            leftover = []
            for line in added:
                if match := PERSIST_VAR.match(line):
                    records.append(f"env\t{match[1]}\t{placeholders(match[2])}")
                elif match := PERSIST_PATH.match(line):
                    records.append(f"path\t{placeholders(match[1])}")
                else:
                    leftover.append(line)
            if any(line.strip() for line in leftover):
                script += ["", f"# Added after this line of the old cloud-init.sh: {after}", *leftover]
            continue
        review += [f"<<<<<<< the old cloud-init.sh (0.5.x and before), after: {after}",
                   *old[old_from:old_to], "=======", *added,
                   ">>>>>>> your edit: carry what you still need into a step of this folder, then delete this file"]
    return records, script, review


def git(project_dir: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project_dir, check=True, capture_output=True)


def prepare(project_dir: Path, old_release: Callable[[], Path]) -> None:
    script = project_dir / SCRIPT
    if not script.is_file():
        return
    team_text = script.read_text(encoding="utf-8")
    if "\ncloud-init.steps" in team_text or "steps_file=" in team_text:
        return  # already the engine (an update from an untagged build after the change)
    try:
        old_text = (old_release() / SCRIPT).read_text(encoding="utf-8")
    except Exception as error:  # noqa: BLE001 - any failure means: leave the file to the merge
        print(f"copier-claude-cloud 0.6.0: could not tell your edits to {SCRIPT} from the old release's ({error}); "
              "the merge will show them as a conflict in that file.")
        return
    if team_text == old_text:
        return
    records, lines, review = split_edits(old_text.splitlines(), team_text.splitlines())
    folder = project_dir / TEAM_DIR
    folder.mkdir(parents=True, exist_ok=True)
    moved = []
    if records:
        (project_dir / MOVED_STEPS).write_text(
            "# Your exports from the old .claude/scripts/cloud-init.sh, moved here by the 0.6.0 update.\n"
            + "\n".join(records) + "\n", encoding="utf-8")
        moved.append(MOVED_STEPS)
    if lines:
        path = project_dir / MOVED_SCRIPT
        path.write_text("#!/usr/bin/env bash\n# Your additions to the old .claude/scripts/cloud-init.sh, moved here by "
                        "the 0.6.0 update.\n# It runs as a step of its own, in the repository's folder, after the "
                        "template's steps.\nset -uo pipefail\n" + "\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o755)
        moved.append(MOVED_SCRIPT)
    if review:
        (project_dir / REVIEW).write_text(
            "# Lines of the old .claude/scripts/cloud-init.sh that you changed or deleted. No rule can carry\n"
            "# them into the new engine: move what you still need into a step of this folder (a *.sh\n"
            "# script, or a *.steps file; see the header of cloud-init.sh), then delete this file.\n"
            + "\n".join(review) + "\n", encoding="utf-8")
        moved.append(REVIEW)
    script.write_text(old_text, encoding="utf-8")
    git(project_dir, "add", "--", SCRIPT)
    print(f"copier-claude-cloud 0.6.0: your edits to {SCRIPT} moved to {', '.join(moved)}"
          + ("; review the .review file, then delete it" if review else "") + ".")
