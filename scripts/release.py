"""Releases of this template: cut one, check that tags, CHANGELOG.md, pyproject.toml and
releases.toml agree, and restore tags in a clone that came without them.

    python scripts/release.py check
    python scripts/release.py restore-tags
    python scripts/release.py cut 0.3.0 [--date 2026-11-29]
    python scripts/release.py pin-one-liner

A release is an annotated PEP 440 tag (no `v`) on the commit that lands it. CHANGELOG.md
names it in a `## VERSION (DATE)` heading, pyproject.toml's version equals the newest one,
releases.toml records the tag's commit, and README.md's one-line setup script pins the tag
and the sha256 of the launcher it downloads. See RELEASING.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
RECORD = "releases.toml"
CHANGELOG = "CHANGELOG.md"
PYPROJECT = "pyproject.toml"
README = "README.md"
# The launcher that README's one-line setup script downloads from the release's tag.
LAUNCHER = "setup/cloud-env-setup.sh"
RAW_URL = "https://raw.githubusercontent.com/ORG/copier-claude-cloud"
# README's one-liner, the line that starts `u=<RAW_URL>/<tag>/<LAUNCHER>;` (one_liner writes it).
ONE_LINER = re.compile(rf"^u={re.escape(RAW_URL)}/(?P<tag>[^/\s]+)/{re.escape(LAUNCHER)};.*$", re.MULTILINE)
# What decides a generated project. A change under these paths is a change to generated
# output, so it waits in CHANGELOG's Unreleased section until a release ships it.
TEMPLATE_PATHS = ("copier.yml", "template", "extensions", "includes", "tasks")

HEADING = re.compile(r"^## (?P<name>\S+)(?: \((?P<date>\d{4}-\d{2}-\d{2})\))?[ \t]*$", re.MULTILINE)
PROJECT_VERSION = re.compile(r'^(version = ")([^"]*)(")$', re.MULTILINE)


class ReleaseError(Exception):
    """A release cannot be cut or restored; the message says why and what to do."""


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


# --- the three files ------------------------------------------------------------------------


def changelog_versions(text: str) -> list[str]:
    """The released versions that CHANGELOG.md names, newest first."""
    return [m["name"] for m in HEADING.finditer(text) if m["name"] != "Unreleased"]


def unreleased_notes(text: str) -> str:
    """What the Unreleased section says ("" when it is empty)."""
    headings = list(HEADING.finditer(text))
    for index, match in enumerate(headings):
        if match["name"] == "Unreleased":
            end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
            return text[match.end():end].strip()
    return ""


def recorded(root: Path) -> dict[str, str]:
    """{version: commit} from releases.toml."""
    path = root / RECORD
    return tomllib.loads(path.read_text(encoding="utf-8"))["releases"] if path.exists() else {}


def project_version(root: Path) -> str:
    return tomllib.loads((root / PYPROJECT).read_text(encoding="utf-8"))["project"]["version"]


def tag_commit(root: Path, tag: str) -> str | None:
    """The commit `tag` names, or None when there is no such tag."""
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
    except ReleaseError:
        return None


def release_tags(root: Path) -> list[str]:
    """Tags that are PEP 440 versions, as Copier sees them."""
    tags = []
    for name in git(root, "tag", "--list").split():
        try:
            Version(name)
        except InvalidVersion:
            continue
        tags.append(name)
    return tags


def template_changed_since(root: Path, tag: str) -> bool:
    """Whether committed HEAD generates differently from `tag` (its template paths differ)."""
    return bool(git(root, "diff", "--name-only", tag, "HEAD", "--", *TEMPLATE_PATHS))


# --- the one-line setup script ----------------------------------------------------------------


def one_liner(version: str, sha256: str) -> str:
    """The line to paste into a cloud environment's "Setup script" field: download the launcher
    at release `version`, check it against `sha256`, run it. A failed download or a checksum
    that does not match prints one line and runs nothing, and the line always exits 0: a
    failing setup script stops the session from starting."""
    return (f"u={RAW_URL}/{version}/{LAUNCHER}; f=$(mktemp); "
            'if ! curl -fsL --max-time 60 -o "$f" "$u"; then echo "copier-claude-cloud: setup skipped: could not download $u"; '
            f'elif ! echo "{sha256}  $f" | sha256sum -c --status; then '
            'echo "copier-claude-cloud: setup skipped: $u does not match the pinned sha256, so it was not run"; '
            'else bash "$f"; fi; rm -f "$f"; exit 0')


def launcher_sha256(root: Path) -> str:
    return hashlib.sha256((root / LAUNCHER).read_bytes()).hexdigest()


def one_liner_problems(root: Path) -> list[str]:
    """Whether README's one-liner pins this version and the launcher in this tree."""
    text = (root / README).read_text(encoding="utf-8")
    found = [match.group(0) for match in ONE_LINER.finditer(text)]
    expected = one_liner(project_version(root), launcher_sha256(root))
    if found == [expected]:
        return []
    if len(found) != 1:
        return [f"README.md holds {len(found)} one-line setup scripts; it should hold one:\n  {expected}"]
    return [f"README.md's one-line setup script should read (the version in pyproject.toml, the sha256 of {LAUNCHER}; "
            f"python scripts/release.py pin-one-liner writes it):\n  {expected}"]


def pin_one_liner(root: Path, version: str) -> None:
    """README's one-liner, pinned to `version` and the sha256 of the launcher in the tree."""
    path = root / README
    text, count = ONE_LINER.subn(lambda _: one_liner(version, launcher_sha256(root)), path.read_text(encoding="utf-8"))
    if count != 1:
        raise ReleaseError(f"README.md holds {count} one-line setup scripts (lines starting u={RAW_URL}/); it should hold one")
    path.write_text(text, encoding="utf-8")


# --- check ------------------------------------------------------------------------------------


def problems(root: Path, one_liner_too: bool = True) -> list[str]:
    """Every way in which tags, CHANGELOG.md, pyproject.toml and releases.toml disagree, and
    (unless told otherwise) README's one-liner with the version and the launcher."""
    found = one_liner_problems(root) if one_liner_too else []
    changelog = (root / CHANGELOG).read_text(encoding="utf-8")
    versions = changelog_versions(changelog)
    record = recorded(root)
    for version, commit in record.items():
        actual = tag_commit(root, version)
        if actual is None:
            found.append(f"release {version} has no tag (run: python scripts/release.py restore-tags)")
        elif actual != commit:
            found.append(f"tag {version} names {actual[:12]}, but releases.toml records {commit[:12]}")
        elif git(root, "cat-file", "-t", f"refs/tags/{version}") != "tag":
            found.append(f"tag {version} is lightweight; releases are annotated tags")
    for tag in sorted(set(release_tags(root)) - set(record)):
        found.append(f"tag {tag} is not in releases.toml")
    if set(versions) != set(record):
        found.append(f"CHANGELOG.md names {sorted(versions)}, releases.toml records {sorted(record)}")
    if versions and project_version(root) != versions[0]:
        found.append(f"pyproject.toml says {project_version(root)}, CHANGELOG.md's newest release is {versions[0]}")
    if versions and tag_commit(root, versions[0]) and template_changed_since(root, versions[0]):
        if not unreleased_notes(changelog):
            found.append(f"the template changed since {versions[0]}, but CHANGELOG.md's Unreleased section is empty")
    return found


# --- restore-tags -----------------------------------------------------------------------------


def tag(root: Path, version: str, commit: str) -> None:
    """The annotated tag of a release. Its tagger and date are the commit's committer and date,
    so a restored tag is the very same object as the one first published."""
    who = git(root, "show", "-s", "--format=%cn%x00%ce%x00%cI", commit).split("\0")
    env = {"GIT_COMMITTER_NAME": who[0], "GIT_COMMITTER_EMAIL": who[1], "GIT_COMMITTER_DATE": who[2]}
    git(root, "tag", "--annotate", version, commit, "-m", f"copier-claude-cloud {version}", env=env)


def restore_tags(root: Path) -> list[str]:
    """Create every recorded tag that is missing, on its recorded commit. An existing tag
    elsewhere is an error: tags never move."""
    created = []
    for version, commit in recorded(root).items():
        actual = tag_commit(root, version)
        if actual == commit:
            continue
        if actual is not None:
            raise ReleaseError(f"tag {version} names {actual[:12]}, but releases.toml records {commit[:12]}; "
                               "tags never move: find out which is wrong before you release again")
        try:
            git(root, "cat-file", "-e", f"{commit}^{{commit}}")
        except ReleaseError as missing:
            raise ReleaseError(f"commit {commit[:12]} of release {version} is not in this clone "
                               "(a shallow clone? run: git fetch --unshallow)") from missing
        tag(root, version, commit)
        created.append(version)
    return created


# --- cut --------------------------------------------------------------------------------------


def cut(root: Path, version: str, date: str) -> str:
    """Release `version`: CHANGELOG's Unreleased notes move under its heading, pyproject.toml
    takes the version, the commit is tagged, and a second commit records the tag's commit.
    Returns that commit."""
    try:
        new = Version(version)
    except InvalidVersion as error:
        raise ReleaseError(f"{version!r} is not a PEP 440 version (e.g. 0.3.0, 0.3.0rc1)") from error
    if str(new) != version:
        raise ReleaseError(f"write {version!r} in its normal form: {new}")
    if git(root, "status", "--porcelain"):
        raise ReleaseError("the work tree has uncommitted changes: commit them first")
    # README's one-liner is not a precondition: the cut pins it to the new version.
    if found := problems(root, one_liner_too=False):
        raise ReleaseError("fix these first:\n- " + "\n- ".join(found))
    record = recorded(root)
    if record and new <= max(Version(v) for v in record):
        raise ReleaseError(f"{version} is not newer than the newest release, {max(record, key=Version)}")
    changelog_path = root / CHANGELOG
    changelog = changelog_path.read_text(encoding="utf-8")
    if not unreleased_notes(changelog):
        raise ReleaseError("CHANGELOG.md's Unreleased section is empty: say what this release changes")
    # The notes stay where they are; the new heading goes between them and "Unreleased".
    unreleased = next(m for m in HEADING.finditer(changelog) if m["name"] == "Unreleased")
    changelog_path.write_text(f"{changelog[:unreleased.end()]}\n\n## {version} ({date}){changelog[unreleased.end():]}",
                              encoding="utf-8")
    pyproject_path = root / PYPROJECT
    pyproject_path.write_text(PROJECT_VERSION.sub(rf"\g<1>{version}\g<3>", pyproject_path.read_text(encoding="utf-8"),
                                                  count=1), encoding="utf-8")
    pin_one_liner(root, version)
    git(root, "commit", "--quiet", "-m", f"Release {version}", "--", CHANGELOG, PYPROJECT, README)
    commit = git(root, "rev-parse", "HEAD")
    tag(root, version, commit)
    with (root / RECORD).open("a", encoding="utf-8") as record_file:
        record_file.write(f'"{version}" = "{commit}"\n')
    git(root, "commit", "--quiet", "-m", f"Record release {version} at {commit[:12]}", "--", RECORD)
    return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the template repository (default: this one)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="tags, CHANGELOG.md, pyproject.toml and releases.toml agree")
    commands.add_parser("restore-tags", help="create the recorded tags that this clone lacks")
    cutting = commands.add_parser("cut", help="release the Unreleased changes as VERSION")
    cutting.add_argument("version")
    cutting.add_argument("--date", default=datetime.date.today().isoformat())
    commands.add_parser("pin-one-liner", help="pin README's one-line setup script to pyproject.toml's version "
                                              "and the launcher in the tree (cut does it for a release)")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            if found := problems(args.repo):
                print("release check failed:\n- " + "\n- ".join(found), file=sys.stderr)
                return 1
            print(f"releases agree: {', '.join(changelog_versions((args.repo / CHANGELOG).read_text()))}")
        elif args.command == "restore-tags":
            created = restore_tags(args.repo)
            print(f"restored tags: {', '.join(created)}" if created else "every recorded tag is present")
        elif args.command == "pin-one-liner":
            pin_one_liner(args.repo, project_version(args.repo))
            print(f"README.md's one-liner pins {project_version(args.repo)} and {LAUNCHER} as it is in the tree")
        else:
            commit = cut(args.repo, args.version, args.date)
            print(f"released {args.version} at {commit[:12]}; publish it with:\n"
                  f"  git push origin main {args.version}")
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
