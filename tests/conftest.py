from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from answer_sets import ANSWER_SETS  # noqa: E402
from helpers import generate, git_save, snapshot_template  # noqa: E402

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


# What release 1.1.0 changes in the template, each far from where teams edit.
TEMPLATE_CHANGES = {
    "template/CLAUDE.md.jinja": ("## Cloud sessions\n", "## Cloud sessions\n\nNEW-IN-1.1: sessions start from a fresh clone.\n"),
    "extensions/data/catalogue.yml": ('"Bash(uv lock:*)"', '"Bash(uv lock:*)", "Bash(uv tree:*)"'),
    "extensions/claude_json.py": ('    "Read(./**/*.key)",\n', '    "Read(./**/*.key)",\n    "Read(./**/*.p12)",\n'),
    # At the very ends of lists, where a team appends its own entries.
    "extensions/claude_json.py#end": ('    "Bash(.claude/scripts/cloud-init.sh:*)",\n]', '    "Bash(.claude/scripts/cloud-init.sh:*)",\n    "Bash(git blame:*)",\n]'),
    "extensions/claude_json.py#deny-end": ('    "Edit(./**/.env.production)",\n]', '    "Edit(./**/.env.production)",\n    "Edit(./**/.env.local)",\n]'),
    "extensions/claude_json.py#hooks": ('"format-on-edit.sh", 30)', '"format-on-edit.sh", 45)'),
    "extensions/data/mcp_catalog.yml": ("url: https://api.githubcopilot.com/mcp/\n", "url: https://api.githubcopilot.com/mcp/x/all\n"),
    "template/.claude/scripts/cloud-init.sh": ("set -uo pipefail\n", "set -uo pipefail\n# NEW-IN-1.1: a comment.\n"),
    "template/.claude/.gitignore": ("state/\n", "state/\ncache/\n"),
}


@pytest.fixture(scope="session")
def versions(tmp_path_factory) -> Path:
    """A template repository tagged 1.0.0 (this working tree) and 1.1.0 (TEMPLATE_CHANGES)."""
    repo = snapshot_template(tmp_path_factory.mktemp("versions"), tag="1.0.0")
    for key, (old, new) in TEMPLATE_CHANGES.items():
        path = repo / key.split("#")[0]
        text = path.read_text()
        assert old in text, f"{key} no longer contains {old!r}: update TEMPLATE_CHANGES"
        path.write_text(text.replace(old, new, 1))
    git_save(repo, "release 1.1.0", tag="1.1.0")
    return repo
