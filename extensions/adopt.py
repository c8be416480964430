"""Fold a repository's own Claude files into the first copy, so `copier copy --overwrite`
on an existing repository keeps what the team already had.

Only on `copy` (and `recopy`, which Copier runs as a copy). During `update` the files
are the team's edits, and Copier's three-way merge owns them: adopting them there would
apply the team's changes twice.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from copier.errors import UserMessageError
from jinja2.ext import Extension

# CLAUDE.md markers. Tests, the docs and migrations rely on these exact lines.
MANAGED_BEGIN = "<!-- BEGIN copier-claude-cloud managed block: `copier update` rewrites it; change the answers instead. -->"
MANAGED_END = "<!-- END copier-claude-cloud managed block -->"
USER_BEGIN = "<!-- BEGIN user block: yours; `copier update` never changes it. -->"
USER_END = "<!-- END user block -->"


def copier_operation() -> str:
    """"copy" (also for recopy) or "update": what Copier is doing while it renders a file.

    The one private Copier API this template uses, and the only place it is read. Copier
    9.19 gives `_copier_operation` to `_exclude`, tasks and migrations, but not to file
    templates, question defaults, `_copier_conf` or `_copier_phase` (tests/test_copier_api.py
    shows each). An `_exclude` entry could hand it to a global, but an update renders the new
    release's `_exclude` with the old release's extensions (`_apply_update`), which lack that
    global, so updates from 0.3.0 and older would fail. So read the context variable Copier
    keeps it in (`as_operation` in copier/_main.py). tests/test_copier_api.py fails, naming the
    Copier version, when it changes; here a change stops the render rather than adopt files
    on the wrong operation.
    """
    import copier

    where = f"copier-claude-cloud cannot tell a copy from an update with Copier {copier.__version__}"
    try:
        from copier._main import _operation
    except ImportError as error:
        raise UserMessageError(f"{where}: copier._main._operation is gone. Use Copier 9.19, "
                               "or a release of this template that supports your Copier.") from error
    operation = _operation.get(None)
    if operation not in ("copy", "update"):
        raise UserMessageError(f"{where}: copier._main._operation is {operation!r} while rendering "
                               "(expected 'copy' or 'update').")
    return operation


def existing_json(destination: str | Path, relative_path: str) -> dict | None:
    if copier_operation() != "copy":
        return None
    path = Path(destination) / relative_path
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise UserMessageError(
            f"{relative_path} in the destination is not valid JSON ({error}). "
            "Fix it, or move it away, before copying; the template folds its content into the new file."
        ) from error
    if not isinstance(data, dict):
        raise UserMessageError(f"{relative_path} in the destination is not a JSON object. Fix it or move it away first.")
    return data


# A Markdown level-1 heading: "# Title" (ATX, up to three spaces in, optional closing #s),
# or "Title" underlined with "=" (setext).
ATX_TITLE = re.compile(r" {0,3}#[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*")
SETEXT_UNDERLINE = re.compile(r" {0,3}=+[ \t]*")


def split_title(text: str) -> tuple[str | None, str]:
    """(the level-1 heading `text` starts with, or None; the text after it)."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None, ""
    title, rest = None, lines
    if match := ATX_TITLE.fullmatch(lines[0]):
        title, rest = match["title"].strip(), lines[1:]
    elif len(lines) > 1 and not lines[0].startswith("    ") and SETEXT_UNDERLINE.fullmatch(lines[1]):
        title, rest = lines[0].strip(), lines[2:]
    # A title must stay one plain line: never empty, never a block marker.
    if not title or "<!--" in title or "-->" in title:
        return None, text
    return title, "\n".join(rest)


def existing_claude_md(destination: str | Path) -> dict:
    """What an existing CLAUDE.md keeps on a copy, as {"title": ..., "user_text": ...}
    (None where there is nothing to keep):

    - `title`: the level-1 heading the file starts with. It becomes the new file's title
      instead of `project_name`, and leaves the folded text, so there is one title.
    - `user_text`: everything else the team wrote: the user block of a file this template
      generated, with any text outside its blocks; all of a file it never generated.
    """
    kept = {"title": None, "user_text": None}
    if copier_operation() != "copy":
        return kept
    path = Path(destination) / "CLAUDE.md"  # through a link to AGENTS.md too: its text is kept
    if not path.is_file():
        return kept
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    if MANAGED_BEGIN in text and MANAGED_END in text:
        before, rest = text.split(MANAGED_BEGIN, 1)
        text = before + rest.split(MANAGED_END, 1)[1]
    if USER_BEGIN in text and USER_END in text:
        head, rest = text.split(USER_BEGIN, 1)
        block, tail = rest.rsplit(USER_END, 1)
    else:
        head, block, tail = text, "", ""
    kept["title"], head = split_title(head)
    kept["user_text"] = "\n\n".join(part.strip("\n") for part in (head, block, tail) if part.strip()) or None
    return kept


class Adoption(Extension):
    """Globals `existing_json(dst, path)`, `existing_claude_md(dst)`
    and the CLAUDE.md markers."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(
            existing_json=existing_json,
            existing_claude_md=existing_claude_md,
            claude_md_markers={
                "managed_begin": MANAGED_BEGIN,
                "managed_end": MANAGED_END,
                "user_begin": USER_BEGIN,
                "user_end": USER_END,
            },
        )
