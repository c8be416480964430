"""What the release a project was generated from wrote, rendered again on demand.

A migration that replaces a generated file must tell the team's edits from what the old
release wrote. The answers file records both halves of that: the answers, and the
release (`_commit`). This renders that release, with those answers, from Copier's
checkout of the template (a git clone that holds every tag), into a temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def cache_root() -> Path:
    """Where renders are kept between updates: an update renders the same old release for the
    same answers again only after the cache is cleared."""
    if folder := os.environ.get("COPIER_CLAUDE_CLOUD_RENDER_CACHE"):
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "copier-claude-cloud" / "old-releases"


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
        data = {key: value for key, value in self.answers.items() if not key.startswith("_")}
        cached = self._cached(str(commit), data)
        if cached is not None and cached.is_dir():
            return cached
        self._scratch = tempfile.TemporaryDirectory(prefix="copier-claude-cloud-old-release.")
        destination = Path(self._scratch.name) / "project"
        try:
            run_copy(str(self.template), str(destination), data=data, vcs_ref=str(commit), defaults=True,
                     quiet=True, unsafe=True, skip_tasks=True, overwrite=True)
        except Exception as error:  # Copier raises many kinds; each means "cannot render it"
            raise OldReleaseError(f"rendering {commit} again failed: {error}") from error
        if cached is not None:
            try:  # a copy beside, then a rename: a reader never sees half a render
                partial = cached.with_name(cached.name + f".{os.getpid()}")
                shutil.copytree(destination, partial, symlinks=True)
                partial.rename(cached)
            except OSError:
                shutil.rmtree(partial, ignore_errors=True)
        return destination

    def _cached(self, commit: str, data: dict) -> Path | None:
        """The cache folder of this render: keyed by the commit the release resolves to (not
        its name) and the answers; None when the commit cannot be resolved."""
        resolved = subprocess.run(["git", "-C", str(self.template), "rev-parse", "--verify", "--quiet",
                                   f"{commit}^{{commit}}"], capture_output=True, text=True)
        if resolved.returncode != 0:
            return None
        key = hashlib.sha256(json.dumps({"commit": resolved.stdout.strip(), "answers": data}, sort_keys=True,
                                        default=str).encode()).hexdigest()
        return cache_root() / key
