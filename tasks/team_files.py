"""On an update, a file of the team's at a path where the new release adds a template file is
kept as it is, and the template's file is written beside it.

Copier 9.19 sees such a file as the team's addition to a path the template now writes: it
merges the two with an empty base and leaves conflict markers inside the team's file (or,
with --conflict rej, the template's file in its place). Either way the team's file is
changed. So:

before: each file that the new release's template/ holds, that the old release's did not
        (read from the template's git history at the answers' `_commit`), and that the
        project has, is set aside, bytes and mode, in the gitignored .claude/state/, and
        taken out of the folder and the index: Copier writes the template's file there.
after:  the template's file moves to `<path>.copier-new` (unless it is byte for byte the
        team's), the team's file comes back exactly, and a line says so. check_update.py
        then lists the `.copier-new` file and fails the update, so the fleet workflow opens
        its pull request as conflicted.

A file a newer release adds that an option of the answers leaves out is not written by
Copier; the team's file then just comes back. When the old release's files cannot be read
(an answers file whose `_commit` the template's history lacks), nothing is set aside, and a
line says that Copier's own merge applies.
Usage: team_files.py before|after ANSWERS_FILE (run by Copier in the project's folder).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path


SOURCE = Path(__file__).resolve().parent.parent  # the template, at the new release
STATE = Path(".claude/state")
ASIDE = STATE / "update-team-files"
MANIFEST = STATE / "update-team-files.json"
SUFFIX = ".copier-new"
# Files other steps own: the answers file (Copier's), and the JSON files json_ownership.py merges.
OWNED_ELSEWHERE = {".claude/settings.json", ".mcp.json"}


def destination(name: str) -> str | None:
    """The path a template/ file is written to: conditions in old releases' file names
    (`{% if x %}name{% endif %}`) dropped, the .jinja suffix taken off. None for a name that
    a setting fills in (the answers file)."""
    name = re.sub(r"\{%.*?%\}", "", name)
    name = name.replace("{{ claude_md_path() }}", "CLAUDE.md")  # written to the file CLAUDE.md links to
    name = re.sub(r"\{\{ claude_folder\('([a-z]+)'\) \}\}", r"\1", name)  # .claude/skills, unless linked out
    if "{{" in name or not name or name.endswith("/"):
        return None
    return name.removesuffix(".jinja")


def template_paths(names: list[str]) -> set[str]:
    found = set()
    for name in names:
        if name.startswith("template/"):
            path = destination(name.removeprefix("template/"))
            if path:
                found.add(path)
    return found


def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def old_release_paths(commit: str) -> set[str] | None:
    for ref in dict.fromkeys([commit, re.sub(r"^.*-g([0-9a-f]{7,40})$", r"\1", commit)]):
        if not ref:
            continue
        listed = git("ls-tree", "-r", "--name-only", f"{ref}^{{commit}}", "--", "template/", cwd=SOURCE)
        if listed.returncode == 0:
            return template_paths(listed.stdout.splitlines())
    return None


def new_release_paths() -> set[str]:
    template = SOURCE / "template"
    files = [path for path in template.rglob("*") if path.is_file()]
    return template_paths([f"template/{path.relative_to(template).as_posix()}" for path in files])


def before(answers: dict) -> None:
    old = old_release_paths(str(answers.get("_commit") or ""))
    if old is None:
        print(f"copier-claude-cloud: the template's history lacks the release {answers.get('_commit')!r}, so files "
              "it adds where you have your own are merged by Copier, with conflict markers.", file=sys.stderr)
        return
    aside = []
    for path in sorted(new_release_paths() - old - OWNED_ELSEWHERE):
        file = Path(path)
        if not file.is_file() or file.is_symlink():
            continue
        tracked = git("ls-files", "--error-unmatch", "--", path).returncode == 0
        kept = ASIDE / path
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, kept)  # bytes and mode
        aside.append({"path": path, "tracked": tracked})
        if tracked:
            git("rm", "--quiet", "--cached", "--", path)
        file.unlink()
    if aside:
        STATE.mkdir(parents=True, exist_ok=True)
        MANIFEST.write_text(json.dumps(aside, indent=2) + "\n", encoding="utf-8")


def after() -> None:
    if not MANIFEST.exists():
        return
    for entry in json.loads(MANIFEST.read_text(encoding="utf-8")):
        path, file = entry["path"], Path(entry["path"])
        kept = ASIDE / path
        if file.is_file() and file.read_bytes() != kept.read_bytes():
            beside = file.with_name(file.name + SUFFIX)
            shutil.move(file, beside)
            print(f"copier-claude-cloud: {path} is your own file, kept as it was; this release adds a template "
                  f"file at that path, written beside it as {beside}. Take what you want from it, then delete it.",
                  file=sys.stderr)
        file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kept, file)
        git("reset", "--quiet", "--", path)  # the index entry as it was: HEAD's, or none
        kept.unlink()
    MANIFEST.unlink()
    shutil.rmtree(ASIDE, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _stages

    _stages.run(before, after)
