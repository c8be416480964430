"""`copier copy` into existing repositories: stacks and tools detected from their files,
their own Claude files kept, and an answers file that sits beside another template's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml
from copier.errors import UserMessageError
from helpers import ANSWERS_FILE, assert_no_conflicts, build_file_tree, copy_at, generate, git_save, update

DETECTION_CASES = [
    ({"pyproject.toml": "", "uv.lock": ""}, ["python"], {"python_tool": "uv"}),
    ({"requirements-dev.txt": ""}, ["python"], {"python_tool": "uv"}),
    ({"pyproject.toml": "", "poetry.lock": ""}, ["python"], {"python_tool": "poetry"}),
    ({"Pipfile": ""}, ["python"], {"python_tool": "pipenv"}),
    ({"package.json": "{}", "package-lock.json": "{}"}, ["node"], {"node_tool": "npm"}),
    ({"package.json": "{}", "pnpm-lock.yaml": ""}, ["node"], {"node_tool": "pnpm"}),
    ({"package.json": "{}", "yarn.lock": ""}, ["node"], {"node_tool": "yarn"}),
    ({"package.json": "{}", "bun.lockb": ""}, ["node"], {"node_tool": "bun"}),
    ({"package.json": "{}"}, ["node"], {"node_tool": "npm"}),
    ({"Gemfile": ""}, ["ruby"], {}),
    ({"go.mod": ""}, ["go"], {}),
    ({"Cargo.toml": ""}, ["rust"], {}),
    ({"pom.xml": ""}, ["java"], {"java_tool": "maven"}),
    ({"build.gradle.kts": ""}, ["java"], {"java_tool": "gradle"}),
    ({"composer.json": "{}"}, ["php"], {}),
    ({"pyproject.toml": "", "package.json": "{}", "go.mod": ""}, ["python", "node", "go"], {}),
    ({"README.md": "# nothing to detect"}, [], {}),
]


@pytest.mark.parametrize(("files", "stacks", "tools"), DETECTION_CASES)
def test_defaults_come_from_the_repositorys_files(template_repo, tmp_path, files, stacks, tools):
    build_file_tree(tmp_path, files)
    generate(template_repo, tmp_path)
    answers = yaml.safe_load((tmp_path / ANSWERS_FILE).read_text())
    assert answers["stacks"] == stacks
    for question, tool in tools.items():
        assert answers[question] == tool
    assert answers["project_name"] == tmp_path.name


@pytest.fixture(scope="module")
def folded_in(template_repo, tmp_path_factory) -> Path:
    """A Python repository with its own CLAUDE.md, settings.json and .mcp.json, with the
    template copied over it (read only)."""
    project = tmp_path_factory.mktemp("folded-in")
    build_file_tree(
        project,
        {
            "pyproject.toml": "",
            "CLAUDE.md": "# Legacy notes\n\nAlways run `make lint` before committing.\n",
            ".claude/settings.json": json.dumps(
                {
                    "permissions": {"allow": ["Bash(make lint)"], "deny": ["Read(./private/**)"]},
                    "env": {"TEAM": "core"},
                    "model": "opus",
                    "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo done"}]}]},
                }
            ),
            ".mcp.json": json.dumps({"mcpServers": {"team-tool": {"type": "stdio", "command": "team-mcp"}}}),
        },
    )
    return generate(template_repo, project, {"mcp_servers": ["github"]}, overwrite=True)


def test_an_existing_claude_md_becomes_the_user_block(folded_in):
    user_block = (folded_in / "CLAUDE.md").read_text().split("BEGIN user block")[1]
    assert "Always run `make lint` before committing." in user_block


def test_existing_permission_rules_are_kept_beside_the_templates(folded_in):
    permissions = json.loads((folded_in / ".claude/settings.json").read_text())["permissions"]
    assert "Bash(make lint)" in permissions["allow"]
    assert "Read(./private/**)" in permissions["deny"]
    assert "Read(./**/.env)" in permissions["deny"]


def test_existing_env_and_keys_the_template_never_writes_are_kept(folded_in):
    settings = json.loads((folded_in / ".claude/settings.json").read_text())
    assert settings["env"]["TEAM"] == "core" and settings["model"] == "opus"


def test_existing_hooks_are_kept_beside_the_templates(folded_in):
    settings = json.loads((folded_in / ".claude/settings.json").read_text())
    assert settings["hooks"]["Stop"] and settings["hooks"]["SessionStart"]


def test_existing_mcp_servers_are_kept_beside_the_chosen_ones(folded_in):
    servers = json.loads((folded_in / ".mcp.json").read_text())["mcpServers"]
    assert set(servers) == {"team-tool", "github"}


def test_recopy_keeps_the_user_block_once(template_repo, tmp_path):
    generate(template_repo, tmp_path)
    claude_md = tmp_path / "CLAUDE.md"
    claude_md.write_text(claude_md.read_text().replace("Add what Claude should know", "Our rule: small PRs. Add what Claude should know"))
    generate(template_repo, tmp_path, overwrite=True)
    text = claude_md.read_text()
    assert text.count("Our rule: small PRs.") == 1
    assert text.count("BEGIN copier-claude-cloud managed block") == 1


def test_invalid_existing_json_stops_with_a_clear_error(template_repo, tmp_path):
    build_file_tree(tmp_path, {".claude/settings.json": "{ not json"})
    with pytest.raises(Exception, match=r"\.claude/settings\.json in the destination is not valid JSON"):
        generate(template_repo, tmp_path, overwrite=True)


OTHER_TEMPLATES_ANSWERS = "_commit: 1.0.0\n_src_path: gh:example/other-template\nname: other\n"


def repository_of_another_template(versions: Path, project: Path) -> Path:
    """A Go repository generated by another template (its .copier-answers.yml), with this
    template copied over it at 1.0.0 and committed."""
    build_file_tree(project, {".copier-answers.yml": OTHER_TEMPLATES_ANSWERS, "go.mod": ""})
    git_save(project, "existing repo")
    generate(versions, project, vcs_ref="1.0.0")
    git_save(project, "add claude layout")
    return project


def test_a_copy_over_another_templates_repository_keeps_its_answers_file(versions, tmp_path):
    project = repository_of_another_template(versions, tmp_path / "project")
    assert (project / ".copier-answers.yml").read_text() == OTHER_TEMPLATES_ANSWERS
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["stacks"] == ["go"]


@pytest.fixture(scope="module")
def updated_beside_another_template(versions, tmp_path_factory) -> Path:
    """That repository after `copier update -a .copier-answers.claude.yml` to 1.1.0 (read only)."""
    project = repository_of_another_template(versions, tmp_path_factory.mktemp("other-template") / "project")
    update(project)
    return project


def test_an_update_beside_another_templates_answers_file_brings_the_new_release(updated_beside_another_template):
    project = updated_beside_another_template
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"] == "1.1.0"
    assert "cache/" in (project / ".claude" / ".gitignore").read_text()


def test_an_update_beside_another_templates_answers_file_leaves_that_file_alone(updated_beside_another_template):
    assert (updated_beside_another_template / ".copier-answers.yml").read_text() == OTHER_TEMPLATES_ANSWERS


def heading_lines(text: str, level: int = 1) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#" * level + " ")]


@pytest.mark.parametrize(
    ("existing", "title"),
    [
        ("# Legacy notes\n\nAlways run `make lint` before committing.\n", "Legacy notes"),
        ("\n#  Legacy notes  #\n\nAlways run `make lint` before committing.\n", "Legacy notes"),
        ("Legacy notes\n============\n\nAlways run `make lint` before committing.\n", "Legacy notes"),
        ("\ufeff# Legacy notes\r\n\r\nAlways run `make lint` before committing.\r\n", "Legacy notes"),
        # No title first: the template's title, and all the text folded in.
        ("Always run `make lint` before committing.\n\n# Legacy notes\n", None),
    ],
    ids=["atx", "atx-closed", "setext", "bom-crlf", "no-title-first"],
)
def test_an_existing_title_becomes_the_title_once(template_repo, tmp_path, existing, title):
    project = tmp_path / "service"
    project.mkdir()
    (project / "CLAUDE.md").write_bytes(existing.encode())
    generate(template_repo, project, overwrite=True)
    text = (project / "CLAUDE.md").read_text()
    user_block = text.split("BEGIN user block", 1)[1]
    assert "Always run `make lint` before committing." in user_block
    if title:
        assert text.startswith(f"# {title}\n\n<!-- BEGIN copier-claude-cloud managed block")
        assert heading_lines(text) == [f"# {title}"]
        assert "Legacy notes" not in user_block and "====" not in user_block
        assert "## Notes for Claude" not in text, "the team's text replaces the placeholder"
    else:
        assert text.startswith("# service\n")
        assert "# Legacy notes" in user_block


def test_recopy_keeps_the_title_and_user_block_once(template_repo, tmp_path):
    generate(template_repo, tmp_path)
    claude_md = tmp_path / "CLAUDE.md"
    text = claude_md.read_text().replace(f"# {tmp_path.name}\n", "# Billing service\n", 1)
    text = text.replace("Add what Claude should know", "Our rule: small PRs. Add what Claude should know")
    claude_md.write_text(text)
    generate(template_repo, tmp_path, overwrite=True)
    again = claude_md.read_text()
    assert again == text, "a re-copy with the same answers changes nothing"
    assert heading_lines(again) == ["# Billing service"]


def test_copying_again_over_an_adopted_claude_md_changes_nothing(template_repo, tmp_path):
    build_file_tree(tmp_path, {"CLAUDE.md": "# Legacy notes\n\n## Conventions\n\nAlways run `make lint`.\n"})
    generate(template_repo, tmp_path, overwrite=True)
    first = (tmp_path / "CLAUDE.md").read_text()
    generate(template_repo, tmp_path, overwrite=True)
    assert (tmp_path / "CLAUDE.md").read_text() == first
    assert heading_lines(first) == ["# Legacy notes"] and first.count("## Conventions") == 1


def test_text_outside_the_blocks_is_kept_on_a_recopy(template_repo, tmp_path):
    generate(template_repo, tmp_path)
    claude_md = tmp_path / "CLAUDE.md"
    claude_md.write_text(claude_md.read_text() + "\nA line someone added after the user block.\n")
    generate(template_repo, tmp_path, overwrite=True)
    text = claude_md.read_text()
    user_block = text.split("BEGIN user block", 1)[1].split("END user block", 1)[0]
    assert "A line someone added after the user block." in user_block
    assert text.count("A line someone added") == 1


def test_an_adopted_title_survives_an_update(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"stacks": ["python"]}, overwrite=True,
                      files={"CLAUDE.md": "# Legacy notes\n\nAlways run `make lint` before committing.\n"})
    update(project)
    assert_no_conflicts(project)
    text = (project / "CLAUDE.md").read_text()
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"] == "1.1.0"
    assert heading_lines(text) == ["# Legacy notes"]
    assert "NEW-IN-1.1: sessions start from a fresh clone." in text.split("BEGIN user block", 1)[0]
    assert text.split("BEGIN user block", 1)[1].count("Always run `make lint` before committing.") == 1


# --- symlinks the team made ------------------------------------------------------------------


@pytest.mark.parametrize("machinery", [".claude/hooks", ".claude/scripts", ".claude"])
def test_a_machinery_folder_linked_out_of_the_repository_stops_the_copy_before_anything_is_written(
        template_repo, tmp_path, machinery):
    shared = tmp_path / "shared"
    shared.mkdir()
    project = tmp_path / "project"
    (project / machinery).parent.mkdir(parents=True, exist_ok=True)
    (project / machinery).symlink_to(shared, target_is_directory=True)
    (project / "README.md").write_text("# team\n")
    with pytest.raises(UserMessageError) as refused:
        generate(template_repo, project, {})
    assert f"{machinery} -> {shared}" in refused.value.message and "Nothing was written" in refused.value.message
    written = sorted(path.relative_to(project).as_posix() for path in project.rglob("*"))
    assert written == sorted({*[p.as_posix() for p in PurePosixPath(machinery).parents if str(p) != "."], machinery,
                              "README.md"}), "the copy wrote something"
    assert list(shared.iterdir()) == [], "the copy wrote through the link"


@pytest.mark.parametrize("shared_folder", ["skills", "commands", "agents"])
def test_a_shared_folder_linked_out_of_the_repository_is_skipped_and_the_copy_says_so(
        template_repo, tmp_path, capsys, shared_folder):
    shared = tmp_path / f"shared-{shared_folder}"
    shared.mkdir()
    (shared / "mine.md").write_text("the team's own\n")
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / shared_folder).symlink_to(shared, target_is_directory=True)
    generate(template_repo, project, {"project_name": "team"}, quiet=False)
    assert sorted(path.name for path in shared.iterdir()) == ["mine.md"], "the copy wrote through the link"
    assert (project / ".claude" / shared_folder).is_symlink()
    assert (project / ".claude" / "settings.json").is_file() and (project / "CLAUDE.md").is_file()
    assert f"Skipped .claude/{shared_folder} -> {shared}" in capsys.readouterr().err  # Copier's messages: stderr


@pytest.fixture(scope="module")
def release_with_review_command(tmp_path_factory) -> Path:
    """This working tree as 1.0.0, and 1.1.0 adding .claude/commands/review.md (among others)."""
    from helpers import snapshot_template
    from test_update_merge import release_from_patch

    repo = snapshot_template(tmp_path_factory.mktemp("review-release"), tag="1.0.0")
    return release_from_patch(repo, "1.1.0", "release-1.1.0-review-command.patch")


def test_an_update_leaves_a_shared_folder_linked_out_as_it_is_and_says_so(release_with_review_command, tmp_path, capfd):
    """The release adds .claude/commands/review.md; the team's commands folder links out."""
    shared = tmp_path / "shared-commands"
    shared.mkdir()
    (shared / "mine.md").write_text("the team's own\n")
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "commands").symlink_to(shared, target_is_directory=True)
    copy_at(release_with_review_command, project, {})
    update(project)
    assert_no_conflicts(project)
    assert (project / ".claude" / "commands").is_symlink() and os.readlink(project / ".claude" / "commands") == str(shared)
    assert sorted(path.name for path in shared.iterdir()) == ["mine.md"], "the update wrote through the link"
    assert ".claude/commands stays a link" in capfd.readouterr().out  # the task's own line
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
    assert ".claude/commands" not in status, status


def test_a_folder_linked_inside_the_repository_is_written_as_usual(template_repo, tmp_path):
    project = tmp_path / "project"
    (project / "shared" / "skills").mkdir(parents=True)
    (project / ".claude").mkdir()
    (project / ".claude" / "skills").symlink_to("../shared/skills", target_is_directory=True)
    generate(template_repo, project, {})
    assert (project / ".claude" / "skills").is_symlink()
    assert (project / "shared" / "skills" / "cloud-environment" / "SKILL.md").is_file()


AGENTS_MD = "# Agents\n\nRun make test before you commit.\n"


def test_a_claude_md_linked_to_agents_md_stays_a_link_and_the_block_goes_into_agents_md(template_repo, tmp_path):
    project = tmp_path / "project"
    build_file_tree(project, {"AGENTS.md": AGENTS_MD})
    (project / "CLAUDE.md").symlink_to("AGENTS.md")
    generate(template_repo, project, {"project_name": "team"}, overwrite=True)
    assert (project / "CLAUDE.md").is_symlink() and os.readlink(project / "CLAUDE.md") == "AGENTS.md"
    text = (project / "AGENTS.md").read_text()
    assert text.startswith("# Agents\n") and "BEGIN copier-claude-cloud managed block" in text
    assert "Run make test before you commit." in text


def test_a_claude_md_linked_out_of_the_repository_is_replaced_never_written_through(template_repo, tmp_path):
    outside = tmp_path / "shared" / "AGENTS.md"
    build_file_tree(tmp_path / "shared", {"AGENTS.md": AGENTS_MD})
    project = tmp_path / "project"
    project.mkdir()
    (project / "CLAUDE.md").symlink_to(outside)
    generate(template_repo, project, {"project_name": "team"}, overwrite=True)
    assert not (project / "CLAUDE.md").is_symlink() and "managed block" in (project / "CLAUDE.md").read_text()
    assert outside.read_text() == AGENTS_MD, "the copy wrote through a link out of the repository"


def test_an_update_keeps_claude_md_a_link_and_merges_into_the_file_it_leads_to(versions, tmp_path):
    project = tmp_path / "project"
    build_file_tree(project, {"docs/AGENTS.md": AGENTS_MD})
    (project / "CLAUDE.md").symlink_to("docs/AGENTS.md")
    copy_at(versions, project, {"stacks": ["python"]}, overwrite=True)
    agents = project / "docs" / "AGENTS.md"
    agents.write_text(agents.read_text().replace("Run make test before you commit.", "TEAM: run make test first."))
    git_save(project, "team edit")
    update(project)
    assert_no_conflicts(project)
    assert (project / "CLAUDE.md").is_symlink() and os.readlink(project / "CLAUDE.md") == "docs/AGENTS.md"
    text = agents.read_text()
    assert "TEAM: run make test first." in text and "Run make test before you commit." not in text
    assert "NEW-IN-1.1: sessions start from a fresh clone." in text, "the release's line did not arrive"
    status = subprocess.run(["git", "status", "--porcelain", "--", "CLAUDE.md"], cwd=project, capture_output=True, text=True)
    assert status.stdout == "", "CLAUDE.md must be the link HEAD has"
