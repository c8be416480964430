"""Run the migrations of every release an update crosses.

tasks/migrations/ holds one module per release that needs one, named for the release with
`_` for its dots (`v0_2_0.py` is 0.2.0; an rc that ships the change: `v1_0_0rc1.py`). A
module defines either or both of:

    before(answers: dict) -> dict      before Copier's merge; returns the answers to use
    prepare(project_dir: Path, old_release: Callable[[], Path])
                                       before Copier's merge, after every before(): moves
                                       the team's edits out of a file the release replaces,
                                       so the merge cannot conflict on it. old_release()
                                       renders the release the project was generated from
                                       (its answers as they were, at its `_commit`) into a
                                       temporary folder, once, and returns that folder.
    after(project_dir: Path, answers)  after the merge; changes files, never the answers

Only `before` changes answers: this script rewrites the answers file with what the last one
returns (key order and header comments kept). `after` gets a copy of the answers, must
return None, and must leave the answers file alone. `prepare` must leave it alone too.

Which releases run: release R runs when released(FROM) < R <= released(TO), oldest first,
each stage on its own. released(V) is V for a tag. Copier's version of an untagged commit
is its tag plus distance and hash (`0.3.0.post2.dev0+gabc1234`); released() takes the tag
(`0.3.0`). So:

- an update to an untagged build runs the migrations of the releases up to the tag it was
  built from, and not those of an unreleased version: their number is not final, and the
  update to the real tag runs them once, later;
- an update from an untagged build runs every release after its tag, because the build may
  predate all or part of those releases' changes: a migration accepts answers and files
  that already have the new shape;
- an update within one release (from == to, or two builds of one tag) runs nothing;
- a downgrade is refused (Copier refuses it first).

Usage (copier.yml runs it once per stage, in the project's folder; Copier renders the
arguments from `_stage`, `_version_pep440_from` and `_version_pep440_to`):

    migrate.py before|after FROM_VERSION TO_VERSION ANSWERS_FILE
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import yaml
from packaging.version import InvalidVersion, Version

sys.path.insert(0, str(Path(__file__).resolve().parent))
import old_release  # noqa: E402  (a sibling: tasks/ is not a package in Copier's checkout)

REGISTRY = Path(__file__).resolve().parent / "migrations"
TEMPLATE = Path(__file__).resolve().parent.parent  # Copier's checkout of the template
STAGES = ("before", "after")
FUNCTIONS = ("before", "prepare", "after")


class MigrationError(Exception):
    """A migration cannot run; the message says which and why."""


def module_name(release: Version) -> str:
    """The registry's name for a release's module: 0.2.0 -> v0_2_0."""
    return "v" + str(release).replace(".", "_")


def release_of(path: Path) -> Version:
    """The release a module in the registry belongs to, from its file name."""
    try:
        release = Version(path.stem.removeprefix("v").replace("_", "."))
    except InvalidVersion:
        release = None
    if (release is None or not path.stem.startswith("v") or module_name(release) != path.stem
            or release.local is not None or release.is_devrelease):
        raise MigrationError(f"{path}: a migration module is named for its release, with _ for the dots "
                             "(v0_2_0.py for 0.2.0); helpers that are not a release start with _")
    return release


def registry(folder: Path = REGISTRY) -> dict[Version, Path]:
    """{release: module path} for every release in the registry, oldest first."""
    found = {release_of(path): path for path in folder.glob("*.py") if not path.name.startswith("_")}
    return dict(sorted(found.items()))


def released(version: Version) -> Version:
    """The release `version` was built from: itself for a tag; for Copier's version of an
    untagged commit (a local `+hash` label), the tag before it (epoch, release, pre-release)."""
    if version.local is None:
        return version
    pre = "".join(map(str, version.pre)) if version.pre else ""
    epoch = f"{version.epoch}!" if version.epoch else ""
    return Version(f"{epoch}{'.'.join(map(str, version.release))}{pre}")


def due(releases: list[Version], version_from: Version, version_to: Version) -> list[Version]:
    """The releases an update from `version_from` to `version_to` crosses, oldest first."""
    low, high = released(version_from), released(version_to)
    if low > high:
        raise MigrationError(f"{version_from} -> {version_to} is a downgrade; migrations only go forward")
    return sorted(release for release in releases if low < release <= high)


def load(path: Path) -> ModuleType:
    """A registry module, loaded by its path (the registry is not an importable package
    in Copier's clone of the template)."""
    spec = importlib.util.spec_from_file_location(f"copier_claude_cloud_migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not any(callable(getattr(module, name, None)) for name in FUNCTIONS):
        raise MigrationError(f"{path} defines none of before(answers), prepare(project_dir, old_release) "
                             "and after(project_dir, answers)")
    return module


def header(text: str) -> str:
    """The comment lines the answers file starts with (Copier's "do not edit" note)."""
    lines = text.splitlines(keepends=True)
    count = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return "".join(lines[:count])


def changes(old: dict, new: dict) -> str:
    """What a before() changed, for the update's output."""
    removed = [f"{key} removed" for key in old if key not in new]
    changed = [f"{key}: {new[key]!r}" for key in new if key not in old or old[key] != new[key]]
    return ", ".join(removed + changed)


def run(stage: str, version_from: Version | str, version_to: Version | str, answers_file: Path,
        project_dir: Path, folder: Path = REGISTRY) -> list[Version]:
    """Run `stage` of each release between the two versions (the before stage: every
    before(), then every prepare()); returns the releases that had one."""
    if stage not in STAGES:
        raise MigrationError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    modules = registry(folder)
    names = ("before", "prepare") if stage == "before" else ("after",)
    functions: dict[str, list[tuple[Version, Callable]]] = {name: [] for name in names}
    for release in due(list(modules), Version(str(version_from)), Version(str(version_to))):
        module = load(modules[release])
        for name in names:
            if callable(function := getattr(module, name, None)):
                functions[name].append((release, function))
    ran = sorted({release for found in functions.values() for release, _ in found})
    if not ran:
        return []
    if not answers_file.is_file():
        raise MigrationError(f"{answers_file} is missing: the migrations of {ran[0]} need the answers")
    text = answers_file.read_text(encoding="utf-8")
    answers = yaml.safe_load(text) or {}
    if stage == "before":
        run_before(functions["before"], answers, answers_file, text)
        written = answers_file.read_text(encoding="utf-8")
        with old_release.OldRelease(TEMPLATE, answers) as old:
            for release, prepare in functions["prepare"]:
                if prepare(project_dir, old.folder) is not None:
                    raise MigrationError(f"{release}: prepare() returned a value; only before() changes answers")
                if answers_file.read_text(encoding="utf-8") != written:
                    raise MigrationError(f"{release}: prepare() rewrote {answers_file}; only before() changes answers")
    else:
        for release, after in functions["after"]:
            if after(project_dir, copy.deepcopy(answers)) is not None:
                raise MigrationError(f"{release}: after() returned a value; only before() changes answers")
            if answers_file.read_text(encoding="utf-8") != text:
                raise MigrationError(f"{release}: after() rewrote {answers_file}; only before() changes answers")
    return ran


def run_before(functions: list[tuple[Version, Callable]], answers: dict, answers_file: Path, text: str) -> None:
    """Pass the answers through each before(), and write the result if it changed."""
    migrated = answers
    for release, before in functions:
        result = before(copy.deepcopy(migrated))
        if not isinstance(result, dict):
            raise MigrationError(f"{release}: before() returned {type(result).__name__}, not the answers (a dict)")
        if {k: v for k, v in result.items() if k.startswith("_")} != {k: v for k, v in migrated.items()
                                                                       if k.startswith("_")}:
            raise MigrationError(f"{release}: before() changed Copier's own keys (_commit, _src_path)")
        if result != migrated:
            print(f"copier-claude-cloud {release}: {changes(migrated, result)}")
        migrated = result
    if migrated != answers:
        answers_file.write_text(header(text) + yaml.safe_dump(migrated, sort_keys=False, allow_unicode=True),
                                encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: migrate.py before|after FROM_VERSION TO_VERSION ANSWERS_FILE", file=sys.stderr)
        return 2
    stage, version_from, version_to, answers_file = argv
    try:
        run(stage, Version(version_from), Version(version_to), Path(answers_file), Path.cwd())
    except (MigrationError, InvalidVersion) as error:
        print(f"copier-claude-cloud migrations: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
