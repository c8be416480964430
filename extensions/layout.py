"""What a copy writes at the destination's top level, for the after-copy message.

The template stages nothing itself: it never runs `git add`. The message prints one
`git add` line naming these paths, so a review and commit takes every file the copy wrote,
and nothing else. tests/test_first_run.py checks this list against the files each answer
set really writes: a new top-level file in template/ must be added here too.
"""

from __future__ import annotations

from pathlib import PurePath

from jinja2 import pass_context
from jinja2.ext import Extension

UPDATE_WORKFLOW = ".github/workflows/copier-claude-cloud-update.yml"


@pass_context
def written_paths(context) -> list[str]:
    """The paths a copy with these answers writes. `.claude/` is the template's own folder;
    of `.github/`, which the team's workflows share, only the one file it writes."""
    paths = [".claude", "CLAUDE.md"]
    if context.get("mcp_servers") or context.get("custom_mcp_servers"):
        paths.append(".mcp.json")
    automation = context.get("update_automation")
    if automation == "github-actions":
        paths.append(UPDATE_WORKFLOW)
    elif automation == "renovate":
        paths.append("renovate.json")
    paths.append(PurePath(context["_copier_conf"]["answers_file"]).as_posix())
    return paths


class Layout(Extension):
    """Global `written_paths()`."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["written_paths"] = written_paths
