"""Which files a copy writes for which answers: one table, read by copier.yml's `_exclude`
and by the after-copy message.

template/ holds every file under its real name. LAYOUT maps each destination path to the
condition under which a copy writes it: a Jinja expression over the answers and the
extensions' globals, or None for always. From it, `excluded_paths()` renders copier.yml's
one `_exclude` entry (the paths whose condition is false, and the folders that leaves
empty), and `written_paths()` the paths the after-copy message's `git add` line names. So
what a copy leaves out and what the message stages cannot disagree. The answers file,
named by a setting, is always written and is not in the table.

The template stages nothing itself: it never runs `git add`. tests/test_layout.py checks
the table against template/ and against what each answer set generates: a new file in
template/ must be added here too.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath, PurePosixPath

from jinja2 import pass_context
from jinja2.ext import Extension

UPDATE_WORKFLOW = ".github/workflows/copier-claude-cloud-update.yml"
# Folders of .claude/ that teams share with other repositories by a symlink (to a dotfiles
# checkout, say). When one leads out of the repository, the template's files for it are
# skipped, and the copy says so: template/.claude/{{ claude_folder('skills') }}/ renders to an
# empty name then, which Copier skips. The other folders the template writes into are the
# session's own machinery; a link out there stops the copy (refuse_links_out).
SHAREABLE_FOLDERS = ("skills", "commands", "agents")
TEMPLATE_NAME = re.compile(r"\{\{ claude_folder\('([a-z]+)'\) \}\}")

LAYOUT: dict[str, str | None] = {
    ".claude/.gitignore": None,
    ".claude/settings.json": None,
    ".claude/scripts/cloud-init.sh": None,
    ".claude/scripts/cloud-init.steps": None,
    ".claude/scripts/cloud-config.py": None,
    ".claude/scripts/cloud-setup.sh": None,
    ".claude/hooks/guard.sh": None,
    ".claude/hooks/format-on-edit.sh": "'format-on-edit' in active_hooks(starter_hooks, stacks)",
    ".claude/skills/cloud-environment/SKILL.md": "'cloud-environment' in starter_skills",
    ".claude/skills/add-dependency/SKILL.md": "'add-dependency' in starter_skills",
    ".claude/commands/check.md": "'check' in starter_commands",
    ".claude/commands/bootstrap-status.md": "'bootstrap-status' in starter_commands",
    ".claude/agents/test-fixer.md": "include_agents",
    "CLAUDE.md": None,
    ".mcp.json": "mcp_servers or custom_mcp_servers",
    UPDATE_WORKFLOW: "update_automation == 'github-actions'",
    "renovate.json": "update_automation == 'renovate'",
}

# Top-level folders the team's own files share: the message names the template's files in
# them, not the folder. `.claude/` is the template's own folder, and is named whole.
SHARED_FOLDERS = {".github"}


def chosen(context) -> dict[str, bool]:
    """Each path of LAYOUT, and whether these answers write it."""
    values = context.get_all()
    return {
        path: condition is None or bool(context.environment.compile_expression(condition)(**values))
        for path, condition in LAYOUT.items()
    }


@pass_context
def excluded_paths(context) -> str:
    """Copier `_exclude` patterns, one a line, for what these answers do not write: each file
    left out, or its outermost folder when no written file is in it (no empty folders).

    Copier renders this list before it writes the first file, so it is also where the copy or
    update stops when a folder it would write into is a symlink out of the repository
    (refuse_links_out)."""
    refuse_links_out(context)
    written = chosen(context)
    needed = {folder for path, on in written.items() if on for folder in PurePosixPath(path).parents}
    patterns = []
    for path, on in written.items():
        if on:
            continue
        unneeded = [folder for folder in PurePosixPath(path).parents if folder not in needed]
        pattern = f"/{unneeded[-1] if unneeded else path}"
        if pattern not in patterns:
            patterns.append(pattern)
    return "\n".join(patterns)


@pass_context
def claude_folder(context, name: str) -> str:
    """The name of .claude/NAME in the destination, or "" (Copier then skips it and all in it)
    when it is a symlink that leads out of the repository."""
    destination = destination_of(context)
    return "" if destination is not None and folder_link_out(destination, f".claude/{name}") else name


@pass_context
def skipped_links(context) -> list[str]:
    """The shareable folders skipped because they link out of the repository, as "folder -> target"."""
    destination = destination_of(context)
    found = [folder_link_out(destination, f".claude/{name}") for name in SHAREABLE_FOLDERS] if destination else []
    return list(dict.fromkeys(line for line in found if line))


def linked_claude_md(destination) -> str | None:
    """Where CLAUDE.md leads when it is a symlink to a file inside the repository (AGENTS.md,
    docs/AGENTS.md), as a POSIX path from the repository's top; else None."""
    root = Path(str(destination))
    link = root / "CLAUDE.md"
    if not link.is_symlink():
        return None
    real_root, target = root.resolve(), link.resolve()
    if not target.is_relative_to(real_root) or target.is_dir() or target == real_root / "CLAUDE.md":
        return None
    return target.relative_to(real_root).as_posix()


@pass_context
def claude_md_path(context) -> str:
    """The file the template's CLAUDE.md is written to: CLAUDE.md, or the file it links to
    inside the repository, so that the link stays a link (template/{{ claude_md_path() }}.jinja).
    A link out of the repository is replaced by a file, never written through. On an update,
    tasks/team_links.py has made CLAUDE.md a file for the merge, and links it back after."""
    return linked_claude_md(destination_of(context)) or "CLAUDE.md"


@pass_context
def written_paths(context) -> list[str]:
    """The paths a copy with these answers writes, for the message's `git add` line: top-level
    files and folders, and in a shared folder the files themselves. A linked CLAUDE.md is
    named by the file it leads to: that is the one that changed."""
    paths = []
    for path, on in chosen(context).items():
        top = path.split("/", 1)[0]
        named = path if top in SHARED_FOLDERS else top
        if path == "CLAUDE.md":
            named = claude_md_path(context)
        if on and named not in paths:
            paths.append(named)
    # The import (tasks/import_user_config.py) writes .mcp.json when it brings servers, for
    # answers that do not make the template write one.
    imported = context.get("imported_user_config")
    if isinstance(imported, dict) and imported.get("mcp_servers") and ".mcp.json" not in paths:
        paths.append(".mcp.json")
    paths.append(PurePath(context["_copier_conf"]["answers_file"]).as_posix())
    return paths


def destination_of(context) -> str | None:
    """The folder Copier writes to; None where there is none (a test's bare Jinja context)."""
    return (context.get("_copier_conf") or {}).get("dst_path")


def folder_link_out(destination, folder: str) -> str | None:
    """The outermost of `folder` and the folders above it that is a symlink leading out of
    `destination`, as "folder -> target"; None when there is none."""
    root = Path(str(destination))
    if not root.is_dir():
        return None
    real_root = root.resolve()
    folder = PurePosixPath(folder)
    for part in [*reversed(folder.parents[:-1]), folder]:  # outermost first, never "."
        candidate = root / part
        if str(part) != "." and candidate.is_symlink() and not candidate.resolve().is_relative_to(real_root):
            return f"{part} -> {candidate.resolve()}"
    return None


def links_out(destination, paths) -> list[str]:
    """The folders on the way to the files `paths` in `destination` that are symlinks leading
    out of it, as "folder -> target", each once."""
    found = [folder_link_out(destination, str(PurePosixPath(path).parent)) for path in paths]
    return list(dict.fromkeys(line for line in found if line))


def refuse_links_out(context) -> str:
    """Stop the copy or update before it writes anything when a folder it would write into is
    a symlink out of the repository (a shared ~/.claude/skills, say). Copier refuses such a
    path only when it reaches it, after it has written other files; this says which links, and
    how to go on, first."""
    destination = destination_of(context)
    if destination is None:
        return ""
    shareable = tuple(f".claude/{name}/" for name in SHAREABLE_FOLDERS)
    found = links_out(destination, [path for path, on in chosen(context).items() if on and not path.startswith(shareable)])
    if found:
        from copier.errors import UserMessageError  # Copier runs this file; the tests load it alone

        raise UserMessageError(
            "copier-claude-cloud writes nothing through a symlink that leads out of the repository, and "
            "these folders are such links:\n  " + "\n  ".join(found) + "\nNothing was written. Replace each "
            "link with a folder (copy its files in, to keep them in the repository), or move it aside, "
            "then run the command again.")
    return ""


class Layout(Extension):
    """Globals `excluded_paths`, `written_paths`, `claude_md_path`, `claude_folder` and `skipped_links`."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["excluded_paths"] = excluded_paths
        environment.globals["written_paths"] = written_paths
        environment.globals["claude_md_path"] = claude_md_path
        environment.globals["claude_folder"] = claude_folder
        environment.globals["skipped_links"] = skipped_links
