"""What a first `copier copy` prints: the requirement before it, and after it one `git add`
line that stages every path the copy wrote and nothing else. The template itself never
stages anything."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from answer_sets import ANSWER_SETS
from helpers import ANSWERS_FILE, ROOT, build_file_tree, generate, generated_files, git

# Every answer set, and the update_automation choices none of them covers.
FIRST_RUN_SETS = {
    **ANSWER_SETS,
    "github-actions": {"stacks": ["python"], "update_automation": "github-actions"},
    "renovate-and-mcp": {"update_automation": "renovate",
                         "custom_mcp_servers": {"docs": {"type": "http", "url": "https://docs.example.com/mcp"}}},
}
GIT_ADD_PREFIX = "Review and commit:  "


def copy_with_messages(template: Path, destination: Path, answers: dict, capsys) -> str:
    """Copy as the CLI does, messages on, and return what Copier printed to stderr."""
    capsys.readouterr()
    generate(template, destination, answers, quiet=False, overwrite=True)
    return capsys.readouterr().err


def git_add_line(stderr: str) -> list[str]:
    """The words of the after-copy message's `git add ... && git commit` line."""
    (line,) = [line for line in stderr.splitlines() if line.startswith(GIT_ADD_PREFIX)]
    words = shlex.split(line.removeprefix(GIT_ADD_PREFIX))
    assert words[:2] == ["git", "add"] and words[-3:] == ["&&", "git", "commit"], line
    return words[:-3]


def status(project: Path) -> list[str]:
    return git("-C", str(project), "status", "--porcelain=v1", "--untracked-files=all").splitlines()


@pytest.mark.parametrize("name", sorted(FIRST_RUN_SETS))
def test_the_git_add_line_names_every_path_the_copy_wrote(template_repo, tmp_path, capsys, name):
    project = tmp_path / "project"
    stderr = copy_with_messages(template_repo, project, FIRST_RUN_SETS[name], capsys)
    named = git_add_line(stderr)[2:]
    assert len(named) == len(set(named)), named
    for path in named:
        assert (project / path).exists(), f"the message names {path}, which the copy did not write"
    for path in generated_files(project):
        relative = path.relative_to(project).as_posix()
        assert any(relative == n or relative.startswith(f"{n}/") for n in named), f"{relative} is not in {named}"
    assert ANSWERS_FILE in named


def test_the_printed_line_stages_the_copy_and_nothing_of_the_team(template_repo, tmp_path, capsys):
    project = tmp_path / "project"
    teams = {"README.md": "# Our service\n", ".github/workflows/ci.yml": "name: ci\n", "pyproject.toml": ""}
    build_file_tree(project, teams)
    git("-C", str(project), "init", "--quiet", "--initial-branch=main")
    stderr = copy_with_messages(template_repo, project, {"update_automation": "github-actions",
                                                         "mcp_servers": ["github"]}, capsys)
    subprocess.run(git_add_line(stderr), cwd=project, check=True)  # as printed
    lines = status(project)
    staged = {line[3:] for line in lines if line.startswith("A  ")}
    untracked = {line[3:] for line in lines if line.startswith("?? ")}
    assert len(staged) + len(untracked) == len(lines), lines
    assert untracked == set(teams)
    assert staged == {path.relative_to(project).as_posix() for path in generated_files(project)} - set(teams)
    assert {".github/workflows/copier-claude-cloud-update.yml", ".mcp.json", "CLAUDE.md", ANSWERS_FILE} <= staged


def test_before_copy_names_what_the_template_needs(template_repo, tmp_path, capsys):
    stderr = copy_with_messages(template_repo, tmp_path / "project", {}, capsys)
    before = stderr.split("Copying from template version", 1)[0]
    assert "Copier 9.19 or newer and the copier-template-extensions package" in before


def test_before_copy_prints_the_one_line_that_copies_with_the_package(template_repo, tmp_path, capsys):
    project = tmp_path / "project"
    stderr = copy_with_messages(template_repo, project, {}, capsys)
    before = stderr.split("Copying from template version", 1)[0]
    (line,) = [line.strip() for line in before.splitlines() if line.strip().startswith("uvx ")]
    assert shlex.split(line) == ["uvx", "--with", "copier-template-extensions", "copier", "copy", "--trust",
                                 str(template_repo), str(project)]


def test_after_copy_prints_the_update_command_with_the_package(template_repo, tmp_path, capsys):
    stderr = copy_with_messages(template_repo, tmp_path / "project", {}, capsys)
    after = stderr.split("Copying from template version", 1)[1]
    assert f"uvx --with copier-template-extensions copier update --trust -a {ANSWERS_FILE}" in after


def test_without_the_package_copier_stops_before_any_template_text(template_repo, tmp_path):
    """Copier loads _jinja_extensions before it renders a message or asks a question, so
    the template cannot speak here: README.md is where the requirement must stand. This
    pins Copier's own words, which name the module to install."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('copier_template_extensions', 'copier_templates_extensions'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Missing())\n"
    )
    destination = tmp_path / "project"
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    result = subprocess.run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD",
                             str(template_repo), str(destination)], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert "Copier could not load some Jinja extensions:\nNo module named 'copier_template_extensions'" in result.stderr
    assert "copier-claude-cloud needs" not in result.stderr
    assert not destination.exists()
