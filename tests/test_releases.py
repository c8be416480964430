"""Releases: every release CHANGELOG.md names is an annotated tag on its recorded commit, the
newest tag generates what HEAD generates, and scripts/release.py cuts, checks and restores.

The tag tests read this repository's own tags. A clone made without them fails here with the
command that restores them (`python scripts/release.py restore-tags`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version
import yaml

from helpers import ANSWERS_FILE, ROOT, generate, generated_files, git, update
from scripts.release import (
    CHANGELOG,
    LAUNCHER,
    RAW_URL,
    README,
    RECORD,
    ReleaseError,
    changelog_versions,
    cut,
    one_liner_problems,
    problems,
    project_version,
    recorded,
    restore_tags,
    tag_commit,
    template_changed_since,
    unreleased_notes,
)

NEWEST = changelog_versions((ROOT / CHANGELOG).read_text(encoding="utf-8"))[0]
RESTORE = "python scripts/release.py restore-tags"


def clone(destination: Path, *options: str) -> Path:
    """A clone of this repository's committed history (its tags too, unless told otherwise)."""
    git("clone", "--quiet", *options, f"file://{ROOT}", str(destination))
    git("-C", str(destination), "config", "user.name", "Release Test")
    git("-C", str(destination), "config", "user.email", "release-test@example.com")
    return destination


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    return clone(tmp_path_factory.mktemp("clone") / "repo")


# --- this repository's releases ---------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(recorded(ROOT)))
def test_each_recorded_release_is_an_annotated_tag_on_its_commit(version):
    commit = tag_commit(ROOT, version)
    assert commit is not None, f"tag {version} is missing from this clone: run `{RESTORE}`"
    assert commit == recorded(ROOT)[version]
    assert git("-C", str(ROOT), "cat-file", "-t", f"refs/tags/{version}").strip() == "tag"


def test_changelog_names_exactly_the_recorded_releases():
    assert set(changelog_versions((ROOT / CHANGELOG).read_text(encoding="utf-8"))) == set(recorded(ROOT))


def test_pyproject_version_is_the_newest_release():
    assert project_version(ROOT) == NEWEST


def test_release_check_passes_on_this_repository():
    assert problems(ROOT) == []


def test_head_generates_what_the_newest_tag_generates(repository):
    """Every change to generated output lands as a release, so committed HEAD and the newest
    tag agree on everything under the template's paths."""
    assert not template_changed_since(repository, NEWEST), (
        f"the template changed since {NEWEST}: release it (python scripts/release.py cut X.Y.Z, see RELEASING.md)"
    )


def tree(project: Path) -> dict[str, tuple[int, bytes]]:
    """{path: (mode, content)} of a generated project, without the answers file's `_commit`,
    the one line that names where a copy came from."""
    files = {}
    for path in generated_files(project):
        content = path.read_bytes()
        if path.name == ANSWERS_FILE:
            content = b"".join(line for line in content.splitlines(True) if not line.startswith(b"_commit:"))
        files[str(path.relative_to(project))] = (path.stat().st_mode, content)
    return files


@pytest.mark.parametrize("answers", [{}, {"stacks": ["python", "node"], "services": ["redis"],
                                         "update_automation": "github-actions"}], ids=["defaults", "stacks"])
def test_copy_from_the_newest_tag_equals_a_copy_from_head(repository, tmp_path, answers):
    from_tag = generate(repository, tmp_path / "tag" / "project", answers, vcs_ref=NEWEST)
    from_head = generate(repository, tmp_path / "head" / "project", answers, vcs_ref="HEAD")
    tag_files, head_files = tree(from_tag), tree(from_head)
    assert sorted(path for path in {*tag_files, *head_files} if tag_files.get(path) != head_files.get(path)) == []


def test_copy_from_a_tag_records_the_tag(repository, tmp_path):
    project = generate(repository, tmp_path / "project", {}, vcs_ref=NEWEST)
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"] == NEWEST


# --- restore-tags -------------------------------------------------------------------------------


def test_restore_tags_recreates_every_release_in_a_clone_without_tags(tmp_path):
    repo = clone(tmp_path / "repo", "--no-tags")
    assert tag_commit(repo, NEWEST) is None
    assert restore_tags(repo) == list(recorded(ROOT))
    assert problems(repo) == []
    for version in recorded(ROOT):  # the same tag objects as the originals: same date and tagger
        assert git("-C", str(repo), "rev-parse", f"refs/tags/{version}") == git("-C", str(ROOT), "rev-parse",
                                                                                  f"refs/tags/{version}")


def test_restore_tags_is_idempotent(repository):
    assert restore_tags(repository) == []


def test_restore_tags_never_moves_a_tag(tmp_path):
    repo = clone(tmp_path / "repo", "--no-tags")
    git("-C", str(repo), "tag", "--annotate", NEWEST, "-m", "elsewhere", recorded(ROOT)[min(recorded(ROOT))])
    with pytest.raises(ReleaseError, match="tags never move"):
        restore_tags(repo)


def test_restore_tags_names_a_commit_that_a_shallow_clone_lacks(tmp_path):
    repo = clone(tmp_path / "repo", "--no-tags", "--depth=1")
    with pytest.raises(ReleaseError, match="not in this clone.*unshallow"):
        restore_tags(repo)


# --- check ------------------------------------------------------------------------------------


def test_check_reports_a_tag_that_is_not_recorded(tmp_path):
    repo = clone(tmp_path / "repo")
    git("-C", str(repo), "tag", "--annotate", "9.9.9", "-m", "stray")
    assert problems(repo) == ["tag 9.9.9 is not in releases.toml"]


def test_check_reports_a_lightweight_tag(tmp_path):
    repo = clone(tmp_path / "repo", "--no-tags")
    restore_tags(repo)
    git("-C", str(repo), "tag", "--force", NEWEST, recorded(ROOT)[NEWEST])
    assert problems(repo) == [f"tag {NEWEST} is lightweight; releases are annotated tags"]


def test_check_reports_a_template_change_that_no_changelog_entry_announces(tmp_path):
    repo = clone(tmp_path / "repo")
    clear_unreleased(repo)
    commit_change(repo, "template/{{ claude_md_path() }}.jinja", "\n<!-- a change -->\n")
    assert problems(repo) == [f"the template changed since {NEWEST}, but CHANGELOG.md's Unreleased section is empty"]


# --- cut ----------------------------------------------------------------------------------------


def commit_change(repo: Path, relative: str, addition: str, message: str = "change") -> None:
    path = repo / relative
    path.write_text(path.read_text(encoding="utf-8") + addition, encoding="utf-8")
    git("-C", str(repo), "commit", "--quiet", "-am", message)


def clear_unreleased(repo: Path) -> None:
    """Commit an empty Unreleased section, as it is right after a release."""
    path = repo / CHANGELOG
    text = path.read_text()
    notes = unreleased_notes(text)
    if notes:
        path.write_text(text.replace(f"## Unreleased\n\n{notes}\n", "## Unreleased\n", 1))
        git("-C", str(repo), "commit", "--quiet", "-am", "empty Unreleased section")
    assert unreleased_notes(path.read_text()) == ""


def announce(repo: Path, note: str) -> None:
    """A template change and its CHANGELOG entry, committed."""
    path = repo / CHANGELOG
    path.write_text(path.read_text().replace("## Unreleased\n", f"## Unreleased\n\n### Changed\n- {note}\n", 1))
    commit_change(repo, "template/{{ claude_md_path() }}.jinja", "\n<!-- a change -->\n", message="a template change")


def test_cut_tags_the_release_commit_and_records_it(tmp_path):
    repo = clone(tmp_path / "repo")
    announce(repo, "CLAUDE.md gains a comment.")
    commit = cut(repo, "99.0.0", "2030-01-02")
    assert tag_commit(repo, "99.0.0") == commit
    assert recorded(repo)["99.0.0"] == commit
    assert project_version(repo) == "99.0.0"
    assert problems(repo) == []
    assert git("-C", str(repo), "diff", "--name-only", "99.0.0", "HEAD").split() == [RECORD]


def test_cut_moves_the_unreleased_notes_under_the_new_heading(tmp_path):
    repo = clone(tmp_path / "repo")
    announce(repo, "CLAUDE.md gains a comment.")
    cut(repo, "99.0.0", "2030-01-02")
    changelog = (repo / CHANGELOG).read_text()
    assert "## Unreleased\n\n## 99.0.0 (2030-01-02)\n\n### Changed\n- CLAUDE.md gains a comment.\n" in changelog
    assert unreleased_notes(changelog) == ""


def test_cut_pins_readmes_one_liner_to_the_release_and_its_launcher(tmp_path):
    repo = clone(tmp_path / "repo")
    announce(repo, "CLAUDE.md gains a comment.")
    cut(repo, "99.0.0", "2030-01-02")
    assert one_liner_problems(repo) == []
    tagged = git("-C", str(repo), "show", f"99.0.0:{README}")
    assert f"u={RAW_URL}/99.0.0/{LAUNCHER};" in tagged, "the tag's own README names the tag"
    assert f"/{NEWEST}/{LAUNCHER};" not in tagged


def test_check_reports_a_launcher_that_readme_does_not_pin(tmp_path):
    repo = clone(tmp_path / "repo")
    commit_change(repo, LAUNCHER, "\n# a change\n")
    (found,) = problems(repo)
    assert found.startswith("README.md's one-line setup script should read") and "pin-one-liner" in found
    # cut pins it anyway: the check is not a precondition of a release.
    announce(repo, "a change")
    cut(repo, "99.0.0", "2030-01-02")
    assert problems(repo) == []


@pytest.mark.parametrize(("version", "prepare", "message"), [
    ("99.0.0", "nothing", "Unreleased section is empty"),
    ("0.0.1", "announce", "not newer than the newest release"),
    ("v99.0.0", "announce", "write 'v99.0.0' in its normal form: 99.0.0"),
    ("banana", "announce", "not a PEP 440 version"),
    ("99.0.0", "dirty", "uncommitted changes"),
])
def test_cut_refuses(tmp_path, version, prepare, message):
    repo = clone(tmp_path / "repo")
    clear_unreleased(repo)
    if prepare == "announce":
        announce(repo, "a change")
    elif prepare == "dirty":
        announce(repo, "a change")
        (repo / "README.md").write_text("edited, not committed\n")
    before = git("-C", str(repo), "rev-parse", "HEAD")
    with pytest.raises(ReleaseError, match=message):
        cut(repo, version, "2030-01-02")
    assert git("-C", str(repo), "rev-parse", "HEAD") == before


def test_the_script_exits_non_zero_with_its_findings(tmp_path):
    repo = clone(tmp_path / "repo")
    git("-C", str(repo), "tag", "--annotate", "9.9.9", "-m", "stray")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "release.py"), "--repo",
                             str(repo), "check"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "tag 9.9.9 is not in releases.toml" in result.stderr


# --- updates from the real releases -------------------------------------------------------------

REAL_UPDATE_SETS = {
    "defaults": {},
    "python-node-services-mcp": {"stacks": ["python", "node"], "services": ["postgresql", "redis"],
                                 "cli_tools": ["npm:prettier@3.3.3", "apt:jq"], "mcp_servers": ["github"],
                                 "env_vars": {"LOG_LEVEL": "debug"}, "update_automation": "github-actions"},
}


def _release_cases() -> list:
    """Every release with the defaults; the full answer set from the three newest releases,
    which generate the most (older ones' full-set updates were shown when they were newest,
    and each costs about 6 s of a suite that must stay under 10 minutes)."""
    releases = sorted(set(recorded(ROOT)) - {"0.1.0"}, key=Version)
    cases = [pytest.param(release, REAL_UPDATE_SETS["defaults"], id=f"defaults-{release}") for release in releases]
    return cases + [pytest.param(release, REAL_UPDATE_SETS["python-node-services-mcp"],
                                 id=f"python-node-services-mcp-{release}") for release in releases[-3:]]


@pytest.fixture(scope="module")
def fresh_tree(repository, tmp_path_factory):
    """tree() of a fresh copy at HEAD, made once per answer set: every release's case compares
    with the same one (about 3 s saved per case)."""
    made: dict[str, dict[str, tuple[int, bytes]]] = {}

    def of(answers: dict) -> dict[str, tuple[int, bytes]]:
        key = json.dumps(answers, sort_keys=True)
        if key not in made:
            made[key] = tree(generate(repository, tmp_path_factory.mktemp("fresh") / "project", answers, vcs_ref="HEAD"))
        return made[key]
    return of


@pytest.mark.parametrize(("release", "answers"), _release_cases())
def test_an_update_from_each_release_equals_a_fresh_copy(repository, fresh_tree, tmp_path, release, answers):
    """A repository copied at a real release and never edited updates to HEAD byte for byte
    (file modes too) as a fresh copy at HEAD. (0.1.0 is left out: its bootstrap_timeout
    answer migrates to a value, so its answers file differs by design; test_migrations.py
    covers it.)"""
    project = generate(repository, tmp_path / "old" / "project", answers, vcs_ref=release)
    git("-C", str(project), "init", "--quiet", "--initial-branch=main")
    git("-C", str(project), "add", "--all")
    git("-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "copy")
    update(project, vcs_ref="HEAD")
    updated_files, fresh_files = tree(project), fresh_tree(answers)
    assert sorted(path for path in {*updated_files, *fresh_files} if updated_files.get(path) != fresh_files.get(path)) == []
