"""`copier copy` into existing repositories: stacks and tools detected from their files,
their own Claude files kept, and an answers file that sits beside another template's."""

from __future__ import annotations

import json

import pytest
import yaml
from copier import run_update
from plumbum import local

from helpers import ANSWERS_FILE, build_file_tree, generate, git_save, snapshot_template

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


def test_existing_claude_files_are_folded_in(template_repo, tmp_path):
    build_file_tree(
        tmp_path,
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
    generate(template_repo, tmp_path, {"mcp_servers": ["github"]}, overwrite=True)
    claude_md = (tmp_path / "CLAUDE.md").read_text()
    user_block = claude_md.split("BEGIN user block")[1]
    assert "Always run `make lint` before committing." in user_block
    settings = json.loads((tmp_path / ".claude/settings.json").read_text())
    assert "Bash(make lint)" in settings["permissions"]["allow"]
    assert "Read(./private/**)" in settings["permissions"]["deny"]
    assert "Read(./**/.env)" in settings["permissions"]["deny"]
    assert settings["env"]["TEAM"] == "core" and settings["model"] == "opus"
    assert settings["hooks"]["Stop"] and settings["hooks"]["SessionStart"]
    servers = json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]
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


def test_overlays_a_repository_generated_by_another_template(tmp_path):
    template = snapshot_template(tmp_path / "template", tag="1.0.0")
    project = tmp_path / "project"
    other_answers = "_commit: 1.0.0\n_src_path: gh:example/other-template\nname: other\n"
    build_file_tree(project, {".copier-answers.yml": other_answers, "go.mod": ""})
    git_save(project, "existing repo")
    generate(template, project)
    assert (project / ".copier-answers.yml").read_text() == other_answers
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["stacks"] == ["go"]
    git_save(project, "add claude layout")

    # A new release changes a generated file; `copier update -a .copier-answers.claude.yml` brings it.
    gitignore = template / "template" / ".claude" / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "cache/\n")
    git_save(template, "ignore cache/", tag="1.0.1")
    with local.cwd(project):
        run_update(answers_file=ANSWERS_FILE, defaults=True, overwrite=True, unsafe=True, quiet=True)
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"] == "1.0.1"
    assert "cache/" in (project / ".claude" / ".gitignore").read_text()
    assert (project / ".copier-answers.yml").read_text() == other_answers


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
    from test_update import assert_no_conflicts, update

    project = tmp_path / "project"
    build_file_tree(project, {"CLAUDE.md": "# Legacy notes\n\nAlways run `make lint` before committing.\n"})
    generate(versions, project, {"project_name": "team", "stacks": ["python"]}, vcs_ref="1.0.0", overwrite=True)
    git_save(project, "copier copy at 1.0.0")
    update(project)
    assert_no_conflicts(project)
    text = (project / "CLAUDE.md").read_text()
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"] == "1.1.0"
    assert heading_lines(text) == ["# Legacy notes"]
    assert "NEW-IN-1.1: sessions start from a fresh clone." in text.split("BEGIN user block", 1)[0]
    assert text.split("BEGIN user block", 1)[1].count("Always run `make lint` before committing.") == 1
