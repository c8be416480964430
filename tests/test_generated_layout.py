"""The generated layout, read the way Claude Code reads it, for every answer set."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from answer_sets import ANSWER_SETS, DEFAULT_OPTION_SETS
from helpers import ROOT, generate, generated_files, load_schema, read_frontmatter, shellcheck

SKILL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
AGENT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def settings_of(project: Path) -> dict:
    return json.loads((project / ".claude" / "settings.json").read_text(encoding="utf-8"))


def validate(instance: object, schema: dict) -> None:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class(schema, format_checker=validator_class.FORMAT_CHECKER).validate(instance)


def test_settings_validate_against_current_schema(answer_set):
    _, project = answer_set
    validate(settings_of(project), load_schema("claude-code-settings.schema.json"))


@pytest.mark.parametrize("name", DEFAULT_OPTION_SETS)
def test_default_options_validate_against_late_2025_schema(generated_sets, name):
    validate(settings_of(generated_sets[name]), load_schema("claude-code-settings.2025-11.schema.json"))


def test_settings_name_their_schema(answer_set):
    _, project = answer_set
    assert settings_of(project)["$schema"] == "https://json.schemastore.org/claude-code-settings.json"


def test_settings_run_the_bootstrap_as_the_one_session_start_hook(answer_set):
    _, project = answer_set
    (group,) = settings_of(project)["hooks"]["SessionStart"]
    (hook,) = group["hooks"]
    assert hook["type"] == "command"
    assert hook["command"] == '"${CLAUDE_PROJECT_DIR:-.}"/.claude/scripts/cloud-init.sh'
    assert isinstance(hook["timeout"], int) and hook["timeout"] >= 60


def test_settings_deny_reading_env_files(answer_set):
    _, project = answer_set
    assert "Read(./**/.env)" in settings_of(project)["permissions"]["deny"]


def test_settings_env_is_the_env_vars_answer_as_strings(answer_set):
    name, project = answer_set
    expected_env = {k: ("true" if v is True else str(v)) for k, v in ANSWER_SETS[name].get("env_vars", {}).items()}
    assert settings_of(project)["env"] == expected_env


def test_every_registered_hook_script_exists_and_every_hook_script_is_registered(answer_set):
    _, project = answer_set
    settings = settings_of(project)
    registered = set()
    for groups in settings["hooks"].values():
        for group in groups:
            for hook in group["hooks"]:
                match = re.fullmatch(r'"\$\{CLAUDE_PROJECT_DIR:-\.\}"/(\S+)', hook["command"])
                assert match, f"hook command is not anchored at the project dir: {hook['command']}"
                assert (project / match.group(1)).is_file(), f"{match.group(1)} is registered but missing"
                registered.add(match.group(1))
    hook_dir = project / ".claude" / "hooks"
    on_disk = {f".claude/hooks/{p.name}" for p in hook_dir.glob("*")} if hook_dir.exists() else set()
    assert on_disk <= registered, f"hook scripts nobody registered: {on_disk - registered}"


WITH_MCP = sorted(name for name, answers in ANSWER_SETS.items()
                  if answers.get("mcp_servers") or answers.get("custom_mcp_servers"))
WITHOUT_MCP = sorted(set(ANSWER_SETS) - set(WITH_MCP))


@pytest.mark.parametrize("name", WITHOUT_MCP)
def test_no_mcp_file_unless_an_mcp_server_is_chosen(generated_sets, name):
    assert not (generated_sets[name] / ".mcp.json").exists(), "no MCP server was chosen, yet .mcp.json was written"


@pytest.mark.parametrize("name", WITH_MCP)
def test_the_mcp_file_holds_exactly_the_chosen_servers(generated_sets, name):
    answers = ANSWER_SETS[name]
    document = json.loads((generated_sets[name] / ".mcp.json").read_text(encoding="utf-8"))
    assert set(document) == {"mcpServers"}
    assert set(document["mcpServers"]) == set(answers.get("mcp_servers", [])) | set(answers.get("custom_mcp_servers", {}))


@pytest.mark.parametrize("name", WITH_MCP)
def test_mcp_entries_validate_against_plugin_manifest_definition(generated_sets, name):
    servers = json.loads((generated_sets[name] / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]
    manifest = load_schema("claude-code-plugin-manifest.schema.json")
    definition = manifest["properties"]["mcpServers"]
    # Validate as the manifest would: the definition resolves refs against the whole schema.
    validate({"mcpServers": servers}, {**manifest, "properties": {"mcpServers": definition}, "required": []})
    for server_name, entry in servers.items():
        assert "type" in entry, f"{server_name} has no type"
        if "url" in entry:
            assert entry["type"] in ("http", "sse"), f"remote server {server_name} must say http or sse"


@pytest.mark.parametrize("name", WITH_MCP)
def test_mcp_secrets_are_only_variable_references(generated_sets, name):
    mcp_file = generated_sets[name] / ".mcp.json"
    for server_name, entry in json.loads(mcp_file.read_text())["mcpServers"].items():
        for table in ("headers", "env"):
            for key, value in entry.get(table, {}).items():
                if re.search(r"(?i)auth|token|key|secret|password", key):
                    assert re.search(r"\$\{[A-Z_][A-Z0-9_]*(:-[^}]*)?\}", value), f"{server_name}.{table}.{key} is literal"


def test_skills_have_valid_frontmatter(answer_set):
    _, project = answer_set
    for skill_file in (project / ".claude" / "skills").glob("*/SKILL.md"):
        meta, body = read_frontmatter(skill_file)
        name = meta.get("name")
        assert name == skill_file.parent.name
        assert SKILL_NAME.match(name) and len(name) <= 64
        assert "claude" not in name and "anthropic" not in name
        assert isinstance(meta.get("description"), str) and 1 <= len(meta["description"]) <= 1024
        assert "<" not in meta["description"], "no XML tags in a skill description"
        assert body.strip(), f"{skill_file} has no instructions"


def test_commands_have_valid_frontmatter(answer_set):
    _, project = answer_set
    for command in (project / ".claude" / "commands").glob("*.md"):
        meta, body = read_frontmatter(command)
        assert isinstance(meta.get("description"), str) and meta["description"].strip()
        assert set(meta) <= {"description", "argument-hint", "allowed-tools", "model", "disable-model-invocation"}
        assert body.strip()


def test_agents_have_valid_frontmatter(answer_set):
    _, project = answer_set
    for agent in (project / ".claude" / "agents").glob("*.md"):
        meta, body = read_frontmatter(agent)
        assert AGENT_NAME.match(meta.get("name", "")), f"{agent} needs a lowercase-hyphen name"
        assert isinstance(meta.get("description"), str) and meta["description"].strip()
        assert body.strip()


def test_skill_and_command_names_do_not_clash(answer_set):
    _, project = answer_set
    skills = {p.parent.name for p in (project / ".claude" / "skills").glob("*/SKILL.md")}
    commands = {p.stem for p in (project / ".claude" / "commands").glob("*.md")}
    assert not skills & commands


def scripts_of(project: Path) -> list[Path]:
    return [p for p in generated_files(project) if p.suffix == ".sh"]


def test_the_bootstrap_script_is_generated(answer_set):
    _, project = answer_set
    assert project / ".claude" / "scripts" / "cloud-init.sh" in scripts_of(project)


def test_scripts_are_executable_bash_scripts(answer_set):
    _, project = answer_set
    for script in scripts_of(project):
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert script.read_text().startswith("#!/usr/bin/env bash\n")


def test_scripts_pass_bash_n(answer_set):
    _, project = answer_set
    for script in scripts_of(project):
        syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr


def test_scripts_pass_shellcheck(answer_set):
    _, project = answer_set
    result = shellcheck(*scripts_of(project))
    assert result.returncode == 0, result.stdout


def test_no_generated_file_is_empty(answer_set):
    _, project = answer_set
    for path in generated_files(project):
        assert path.read_text(encoding="utf-8").strip(), f"{path} is empty"


def test_no_generated_file_holds_unrendered_jinja(answer_set):
    _, project = answer_set
    for path in generated_files(project):
        assert not re.search(r"\{\{|\{%|%\}", path.read_text(encoding="utf-8")), f"{path} holds unrendered Jinja"


def test_no_generated_folder_is_empty(answer_set):
    _, project = answer_set
    for folder in (p for p in project.rglob("*") if p.is_dir() and ".git" not in p.parts):
        assert any(folder.iterdir()), f"{folder} is an empty folder"


def test_gitignore_keeps_personal_and_generated_files_out(answer_set):
    _, project = answer_set
    ignored = (project / ".claude" / ".gitignore").read_text().split()
    assert {"settings.local.json", "logs/", "state/"} <= set(ignored)


def test_claude_md_has_one_managed_block_then_one_user_block(answer_set):
    _, project = answer_set
    text = (project / "CLAUDE.md").read_text(encoding="utf-8")
    for marker in ("BEGIN copier-claude-cloud managed block", "END copier-claude-cloud managed block",
                   "BEGIN user block", "END user block"):
        assert text.count(marker) == 1, marker
    assert text.index("END copier-claude-cloud managed block") < text.index("BEGIN user block")


def test_claude_md_points_to_the_bootstrap_log(answer_set):
    _, project = answer_set
    assert ".claude/logs/cloud-init.log" in (project / "CLAUDE.md").read_text(encoding="utf-8")


def test_claude_md_lists_each_chosen_stack(answer_set):
    name, project = answer_set
    text = (project / "CLAUDE.md").read_text(encoding="utf-8")
    labels = yaml.safe_load((ROOT / "extensions" / "data" / "catalogue.yml").read_text())["stacks"]
    for stack in ANSWER_SETS[name].get("stacks", []):
        assert re.search(rf"^{re.escape(labels[stack]['label'])}( in `[^`]+/`)? \(", text, flags=re.MULTILINE), stack


def test_answers_file_records_every_answer(answer_set):
    name, project = answer_set
    recorded = yaml.safe_load((project / ".copier-answers.claude.yml").read_text())
    assert recorded["_src_path"] and recorded["_commit"]
    for key, value in ANSWER_SETS[name].items():
        assert recorded[key] == value, key


def test_same_answers_give_the_same_bytes(template_repo, tmp_path):
    # project_name defaults to the folder's name, so pin it: the folders differ.
    answers = {**ANSWER_SETS["python-uv-node-npm-services"], "project_name": "same"}
    first = generate(template_repo, tmp_path / "first", answers)
    second = generate(template_repo, tmp_path / "second", answers)
    first_files = {p.relative_to(first): p.read_bytes() for p in generated_files(first)}
    second_files = {p.relative_to(second): p.read_bytes() for p in generated_files(second)}
    assert first_files == second_files
