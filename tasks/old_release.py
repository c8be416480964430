"""What the release a project was generated from wrote, rendered again on demand.

A migration that replaces a generated file must tell the team's edits from what the old
release wrote. The answers file records both halves of that: the answers, and the
release (`_commit`). This renders that release, with those answers, from Copier's
checkout of the template (a git clone that holds every tag), into a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


class OldReleaseError(Exception):
    """The old release cannot be rendered; the message says why."""


class OldRelease:
    """`with OldRelease(template, answers) as old: old.folder()` renders once, when first
    asked, and removes the folder when the block ends."""

    def __init__(self, template: Path, answers: dict):
        self.template = template
        self.answers = answers
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._folder: Path | None = None

    def __enter__(self) -> OldRelease:
        return self

    def __exit__(self, *exc) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()

    def folder(self) -> Path:
        if self._folder is None:
            self._folder = self._render()
        return self._folder

    def _render(self) -> Path:
        from copier import run_copy  # only when a migration asks: most updates never do

        commit = self.answers.get("_commit")
        if not commit:
            raise OldReleaseError("the answers file records no _commit, so the old release is unknown")
        self._scratch = tempfile.TemporaryDirectory(prefix="copier-claude-cloud-old-release.")
        destination = Path(self._scratch.name) / "project"
        data = {key: value for key, value in self.answers.items() if not key.startswith("_")}
        try:
            run_copy(str(self.template), str(destination), data=data, vcs_ref=str(commit), defaults=True,
                     quiet=True, unsafe=True, skip_tasks=True, overwrite=True)
        except Exception as error:  # Copier raises many kinds; each means "cannot render it"
            raise OldReleaseError(f"rendering {commit} again failed: {error}") from error
        return destination
