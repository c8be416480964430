"""tasks/migrate.py, the migration registry's dispatcher: which releases run, in which order,
and that only `before` changes answers. Versions and stages are arguments, so each case is a
plain call; tests/test_migrations.py runs the real migrations in real updates."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from helpers import ROOT
from scripts.release import recorded
from tasks.old_release import OldRelease, OldReleaseError
from tasks.migrate import MigrationError, due, load, main, module_name, registry, release_of, released, run

HEADER = "# Changes here are overwritten by `copier update`.\n# Change answers with --data instead.\n"
RELEASES = [Version(v) for v in ("0.2.0", "0.3.0", "0.4.0", "1.0.0rc1", "1.0.0")]


# --- which releases run ---------------------------------------------------------------------


@pytest.mark.parametrize(("version", "release"), [
    ("0.3.0", "0.3.0"),
    ("0.3.0.post1", "0.3.0.post1"),                   # a tagged post-release is a release
    ("0.3.0.post2.dev0+gabc1234", "0.3.0"),           # Copier's version of an untagged commit
    ("0.3.0.post2+gabc1234", "0.3.0"),                # its fallback form (`describe` output)
    ("1.0.0rc1.post2.dev0+gabc1234", "1.0.0rc1"),     # after a release candidate
    ("1!2.0.post1.dev0+gabc1234", "1!2.0"),
])
def test_an_untagged_build_belongs_to_the_tag_it_was_built_from(version, release):
    assert released(Version(version)) == Version(release)


@pytest.mark.parametrize(("version_from", "version_to", "expected"), [
    ("0.1.0", "0.2.0", ["0.2.0"]),
    ("0.1.0", "0.4.0", ["0.2.0", "0.3.0", "0.4.0"]),  # oldest first
    ("0.2.0", "0.3.0", ["0.3.0"]),                    # from is exclusive, to inclusive
    ("0.2.0", "0.2.0", []),                           # an update that keeps the version
    ("0.2.0", "0.2.1", []),
    # To an untagged build: the releases up to its tag, none of an unreleased version.
    ("0.1.0", "0.3.0.post2.dev0+gabc1234", ["0.2.0", "0.3.0"]),
    ("0.3.0", "0.3.0.post2.dev0+gabc1234", []),
    ("0.4.0", "1.0.0rc1.post1.dev0+gabc1234", ["1.0.0rc1"]),
    # From an untagged build: every release after its tag, which it may predate.
    ("0.2.0.post3.dev0+gabc1234", "0.4.0", ["0.3.0", "0.4.0"]),
    ("0.3.0.post2.dev0+gabc1234", "0.3.0.post5.dev0+gdef5678", []),
    ("0.3.0.post2.dev0+gabc1234", "1.0.0rc1.post1.dev0+gdef5678", ["0.4.0", "1.0.0rc1"]),
    # Release candidates are releases: a change that ships in rc1 is named for rc1.
    ("0.4.0", "1.0.0rc1", ["1.0.0rc1"]),
    ("1.0.0rc1", "1.0.0", ["1.0.0"]),
    ("0.4.0", "1.0.0", ["1.0.0rc1", "1.0.0"]),
])
def test_a_release_runs_when_the_update_crosses_it(version_from, version_to, expected):
    assert due(RELEASES, Version(version_from), Version(version_to)) == [Version(v) for v in expected]


@pytest.mark.parametrize(("version_from", "version_to"), [
    ("0.4.0", "0.3.0"),
    ("0.4.0", "0.3.0.post9.dev0+gabc1234"),
    ("1.0.0", "1.0.0rc1"),
])
def test_a_downgrade_is_refused(version_from, version_to):
    with pytest.raises(MigrationError, match="downgrade"):
        due(RELEASES, Version(version_from), Version(version_to))


# --- the registry's modules --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "release"), [("v0_2_0.py", "0.2.0"), ("v1_0_0rc1.py", "1.0.0rc1"),
                                               ("v0_10_0.py", "0.10.0"), ("v2_0_0_post1.py", "2.0.0.post1"),
                                               ("v0_2_0_step_timeout.py", None), ("0_2_0.py", None),
                                               ("v0_2.py", "0.2"), ("v0_2_0_dev1.py", None), ("v0_2_0dev1.py", None)])
def test_a_module_is_named_for_its_release(name, release):
    if release is None:
        with pytest.raises(MigrationError, match="named for its release"):
            release_of(Path(name))
    else:
        assert release_of(Path(name)) == Version(release)
        assert module_name(Version(release)) == Path(name).stem


def test_every_module_of_the_registry_is_a_release_with_a_migration():
    releases = registry()
    assert releases, "tasks/migrations/ holds no release"
    recorded_releases = [Version(v) for v in recorded(ROOT)]
    for release, path in releases.items():
        module = load(path)
        assert any(callable(getattr(module, name, None)) for name in ("before", "prepare", "after"))
        assert module.__doc__ and module.__doc__.startswith(f"{release}:"), f"{path.name}: say what {release} changed"
        # Named for a tag that shipped, or for the next release: never for a skipped number.
        assert release in recorded_releases or release > max(recorded_releases), (
            f"{path.name}: {release} is not a release in releases.toml, and not newer than all of them")


def test_a_misnamed_module_or_one_without_a_migration_stops_the_update(tmp_path):
    (tmp_path / "v0_2_0_rename.py").write_text("def before(answers):\n    return answers\n")
    with pytest.raises(MigrationError, match="named for its release"):
        registry(tmp_path)
    (tmp_path / "v0_2_0_rename.py").rename(tmp_path / "v0_2_0.py")
    (tmp_path / "_helpers.py").write_text("")  # not a release: ignored
    assert list(registry(tmp_path)) == [Version("0.2.0")]
    (tmp_path / "v0_2_0.py").write_text("def migrate(answers):\n    return answers\n")
    with pytest.raises(MigrationError, match="defines none of before"):
        load(tmp_path / "v0_2_0.py")


# --- running them ---------------------------------------------------------------------------------


def fake_registry(folder: Path, modules: dict[str, str]) -> Path:
    folder.mkdir()
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "answers.yml").write_text(HEADER + "_commit: 0.1.0\n_src_path: gh:org/t\nzeta: 1\nalpha: [a]\n")
    return folder


# Each release's before() appends its release to `trail`; its after() writes it to a file.
TRAIL = {
    name: f"""
        from pathlib import Path

        def before(answers):
            return {{**answers, "trail": [*answers.get("trail", []), "{name}"]}}

        def after(project_dir, answers):
            with (Path(project_dir) / "after.log").open("a") as log:
                log.write("{name} " + ",".join(answers.get("trail", [])) + "\\n")
    """
    for name in ("v0_9_0", "v0_10_0", "v0_2_0")
}


def test_before_runs_oldest_first_and_rewrites_the_answers_file_once(tmp_path, project):
    folder = fake_registry(tmp_path / "registry", TRAIL)
    answers_file = project / "answers.yml"
    ran = run("before", "0.2.0", "0.10.0", answers_file, project, folder)
    assert ran == [Version("0.9.0"), Version("0.10.0")]  # numeric order, not the files' names
    text = answers_file.read_text()
    assert text.startswith(HEADER)
    assert list(yaml.safe_load(text)) == ["_commit", "_src_path", "zeta", "alpha", "trail"]  # order kept
    assert yaml.safe_load(text)["trail"] == ["v0_9_0", "v0_10_0"]
    assert not (project / "after.log").exists()  # the after stage is its own run


def test_after_gets_the_answers_and_the_project_but_cannot_change_the_answers(tmp_path, project):
    folder = fake_registry(tmp_path / "registry", TRAIL)
    answers_file = project / "answers.yml"
    run("before", "0.1.0", "0.10.0", answers_file, project, folder)
    before_after = answers_file.read_text()
    assert run("after", "0.1.0", "0.10.0", answers_file, project, folder) == [Version(v) for v in
                                                                               ("0.2.0", "0.9.0", "0.10.0")]
    trail = "v0_2_0,v0_9_0,v0_10_0"
    assert (project / "after.log").read_text() == f"v0_2_0 {trail}\nv0_9_0 {trail}\nv0_10_0 {trail}\n"
    assert answers_file.read_text() == before_after


def test_nothing_due_touches_nothing(tmp_path, project):
    folder = fake_registry(tmp_path / "registry", TRAIL)
    answers_file = project / "answers.yml"
    text = answers_file.read_text()
    for stage in ("before", "after"):
        assert run(stage, "0.10.0", "0.10.0.post3.dev0+gabc1234", answers_file, project, folder) == []
    assert answers_file.read_text() == text
    assert not (project / "after.log").exists()


def test_a_before_that_changes_nothing_leaves_the_file_as_it_was(tmp_path, project):
    folder = fake_registry(tmp_path / "registry", {"v0_2_0": "def before(answers):\n    return answers\n"})
    answers_file = project / "answers.yml"
    text = answers_file.read_text()
    assert run("before", "0.1.0", "0.2.0", answers_file, project, folder) == [Version("0.2.0")]
    assert answers_file.read_text() == text


@pytest.mark.parametrize(("stage", "source", "message"), [
    ("before", "def before(answers):\n    answers['x'] = 1\n", "returned NoneType"),
    ("before", "def before(answers):\n    return {**answers, '_commit': '9.9.9'}\n", "Copier's own keys"),
    ("after", "def after(project_dir, answers):\n    return {**answers, 'x': 1}\n", "only before"),
    ("before", "def prepare(project_dir, old_release):\n    return 1\n", "prepare\\(\\) returned"),
    ("before", "def prepare(project_dir, old_release):\n    (project_dir / 'answers.yml').write_text('x: 1\\n')\n",
     "prepare\\(\\) rewrote"),
    ("after", "def after(project_dir, answers):\n    (project_dir / 'answers.yml').write_text('x: 1\\n')\n",
     "only before"),
])
def test_a_migration_that_breaks_the_rules_stops_the_update(tmp_path, project, stage, source, message):
    folder = fake_registry(tmp_path / "registry", {"v0_2_0": source})
    with pytest.raises(MigrationError, match=message):
        run(stage, "0.1.0", "0.2.0", project / "answers.yml", project, folder)


def test_an_after_that_edits_its_copy_of_the_answers_changes_nothing(tmp_path, project):
    folder = fake_registry(tmp_path / "registry", {"v0_2_0": "def after(project_dir, answers):\n    answers.clear()\n"})
    text = (project / "answers.yml").read_text()
    run("after", "0.1.0", "0.2.0", project / "answers.yml", project, folder)
    assert (project / "answers.yml").read_text() == text


# --- as Copier runs it ------------------------------------------------------------------------------


def migrate_script(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tasks" / "migrate.py"), *args], cwd=project,
                          capture_output=True, text=True)


def test_the_script_runs_the_real_registry_up_to_an_untagged_build(project):
    answers_file = project / "answers.yml"
    answers_file.write_text(HEADER + "_commit: 0.1.0\nstacks: [go]\nbootstrap_timeout: 1200\n")
    result = migrate_script(project, "before", "0.1.0", "0.3.0.post2.dev0+gabc1234", "answers.yml")
    assert result.returncode == 0, result.stderr
    assert "copier-claude-cloud 0.2.0: bootstrap_timeout removed, step_timeout: 1130" in result.stdout
    assert answers_file.read_text() == HEADER + "_commit: 0.1.0\nstacks:\n- go\nstep_timeout: 1130\n"


def test_the_script_says_what_is_wrong(project):
    result = migrate_script(project, "before", "0.3.0", "0.2.0", "answers.yml")
    assert result.returncode == 1
    assert "copier-claude-cloud migrations: 0.3.0 -> 0.2.0 is a downgrade" in result.stderr
    assert main(["before", "0.1.0"]) == 2
    assert main(["sideways", "0.1.0", "0.2.0", "answers.yml"]) == 1


def test_prepare_runs_after_every_before_and_renders_the_old_release_only_when_asked(tmp_path, project, monkeypatch):
    # A temp folder of this test's own: an update in another test (another xdist worker) may
    # render an old release in the shared one meanwhile.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    registry_files = {
        "v0_2_0": "def before(answers):\n    return {**answers, 'trail': ['v0_2_0']}\n",
        "v0_9_0": ("from pathlib import Path\n"
                   "def prepare(project_dir, old_release):\n"
                   "    (Path(project_dir) / 'prepare.log').write_text((Path(project_dir) / 'answers.yml').read_text())\n"),
        "v0_10_0": "def before(answers):\n    return {**answers, 'trail': [*answers['trail'], 'v0_10_0']}\n",
    }
    folder = fake_registry(tmp_path / "registry", registry_files)
    assert run("before", "0.1.0", "0.10.0", project / "answers.yml", project, folder) == [
        Version("0.2.0"), Version("0.9.0"), Version("0.10.0")]
    assert yaml.safe_load((project / "prepare.log").read_text())["trail"] == ["v0_2_0", "v0_10_0"]
    assert not list(Path(tempfile.gettempdir()).glob("copier-claude-cloud-old-release.*")), \
        "nothing asked for the old release, so nothing may render it"


def test_old_release_renders_the_recorded_commit_with_the_recorded_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("COPIER_CLAUDE_CLOUD_RENDER_CACHE", str(tmp_path / "cache"))
    answers = {"_commit": "0.5.1", "_src_path": "gh:org/t", "project_name": "renamed", "stacks": ["go"]}
    with OldRelease(ROOT, answers) as old:
        folder = old.folder()
        assert old.folder() is folder, "rendered once"
        answers_file = yaml.safe_load((folder / ".copier-answers.claude.yml").read_text())
        assert answers_file["_commit"] == "0.5.1" and answers_file["stacks"] == ["go"]
        assert "step_go()" in (folder / ".claude" / "scripts" / "cloud-init.sh").read_text()
    assert not folder.exists(), "the temporary render is removed when the block ends"
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and (cached[0] / ".claude/settings.json").is_file(), "and kept in the cache"
    with OldRelease(ROOT, answers) as again:
        assert again.folder() == cached[0], "the next update of the same release and answers reads the cache"
    with OldRelease(ROOT, {**answers, "stacks": ["rust"]}) as other:
        assert other.folder() != cached[0], "other answers are another render"


def test_old_release_without_a_commit_says_so():
    with OldRelease(ROOT, {"stacks": []}) as old, pytest.raises(OldReleaseError, match="no _commit"):
        old.folder()
