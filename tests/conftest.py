from __future__ import annotations

import sys
from pathlib import Path

import pytest
from plumbum import local

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from answer_sets import ANSWER_SETS  # noqa: E402
from helpers import build_file_tree, generate, release, snapshot_template  # noqa: E402

# pytester runs pytest inside a test (test_no_silent_skips.py); no_silent_skips makes a
# skip a failure under CI, so a CI run never passes by skipping.
pytest_plugins = ["pytester", "no_silent_skips"]


@pytest.fixture(scope="session", autouse=True)
def isolated_copier(tmp_path_factory):
    """Copier reads no user settings and caches nothing outside the test's tmp dirs."""
    folder = tmp_path_factory.mktemp("copier-home")
    settings = folder / "settings.yml"
    settings.write_text("{}\n")
    patch = pytest.MonkeyPatch()
    patch.setenv("COPIER_SETTINGS_PATH", str(settings))
    patch.setenv("COPIER_CACHE_DIR", str(folder / "cache"))
    # The old releases an update renders again (tasks/old_release.py), shared by the session.
    patch.setenv("COPIER_CLAUDE_CLOUD_RENDER_CACHE", str(folder / "old-releases"))
    # An empty Claude Code home: a copy reads the person's ~/.claude for import_user_config,
    # and no test should depend on (or read) the machine's own.
    (folder / "claude-home").mkdir()
    patch.setenv("CLAUDE_CONFIG_DIR", str(folder / "claude-home"))
    # Copier runs tasks with plumbum's copy of the environment, taken when plumbum was imported.
    patch.setitem(local.env, "CLAUDE_CONFIG_DIR", str(folder / "claude-home"))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory) -> Path:
    """This template's working tree as a clean, tagged git repository."""
    return snapshot_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def generated_sets(template_repo, tmp_path_factory) -> dict[str, Path]:
    """Every answer set of the matrix, generated once per test session."""
    projects = {}
    for name, answers in ANSWER_SETS.items():
        projects[name] = generate(template_repo, tmp_path_factory.mktemp(name), answers)
    return projects


@pytest.fixture(params=sorted(ANSWER_SETS))
def answer_set(request, generated_sets) -> tuple[str, Path]:
    return request.param, generated_sets[request.param]


@pytest.fixture(scope="session")
def versions(tmp_path_factory) -> Path:
    """A template repository: this working tree tagged 1.0.0, then release 1.1.0 committed on
    top of it from tests/data/release-1.1.0.patch (the patch's header lists its changes)."""
    repo = snapshot_template(tmp_path_factory.mktemp("versions"), tag="1.0.0")
    return release(repo, "1.1.0", "release-1.1.0.patch")


@pytest.fixture
def project(template_repo, tmp_path):
    """make(answers, files) -> a generated project with `files` already in it (a module may
    define its own `project`, as test_migrate.py does)."""

    def make(answers: dict, files: dict[str, str] | None = None) -> Path:
        destination = tmp_path / "project"
        destination.mkdir(exist_ok=True)
        build_file_tree(destination, files or {})
        return generate(template_repo, destination, {"project_name": "demo", **answers})

    return make
