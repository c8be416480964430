"""Real copies with `import_user_config`: a person's ~/.claude (a fake HOME, tests/user_home.py)
imported into a new repository, a dry run, an empty home, and an update that keeps it all.
The reader's own rules are unit-tested in tests/test_user_config.py."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from copier import run_copy
from helpers import (ANSWERS_FILE, ROOT, assert_no_conflicts, build_file_tree, copy_at, generate, git_save, load_schema,
                     update)
from user_home import TOKENS, assert_no_token, make_home, tree_hash, use_home

from extensions.user_config import KINDS

VARIABLES = ["CHAT_ACCESS_TOKEN", "CHAT_TOKEN", "GITLAB_TOKEN", "TRACKER_API_KEY", "TRACKER_TOKEN"]


@pytest.fixture
def person(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """(HOME with a full Claude Code setup, the project folder it has a local MCP server for)."""
    home, project = tmp_path / "home", tmp_path / "project"
    use_home(monkeypatch, home)
    make_home(home, project)
    project.mkdir()
    return home, project


def validate(instance: object, schema: dict) -> None:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class(schema, format_checker=validator_class.FORMAT_CHECKER).validate(instance)


def test_a_copy_imports_the_setup_without_a_secret_and_without_touching_the_home(template_repo, person, capfd):
    home, project = person
    before = tree_hash(home)
    generate(template_repo, project, {"import_user_config": list(KINDS)}, quiet=False)
    output = capfd.readouterr().err
    claude = project / ".claude"

    # Files: the skill with its script, the command in its subfolder, the agent, the hook script.
    assert (claude / "skills" / "release-notes" / "SKILL.md").is_file()
    assert os.access(claude / "skills" / "release-notes" / "scripts" / "run.sh", os.X_OK)
    assert not (claude / "skills" / "release-notes" / ".env").exists()
    assert not (claude / "skills" / "release-notes" / "notes.txt").exists()
    assert (claude / "commands" / "frontend" / "component.md").is_file()
    assert (claude / "agents" / "reviewer.md").is_file()
    assert os.access(claude / "hooks" / "notify.sh", os.X_OK)
    # The template's own files of the same names stay the template's.
    assert "Mine." not in (claude / "agents" / "test-fixer.md").read_text()
    assert "Mine." not in (claude / "skills" / "cloud-environment" / "SKILL.md").read_text()
    assert "My own check" not in (claude / "commands" / "check.md").read_text()

    # settings.json: valid, with the hooks rewritten, the plugins and the kept rules.
    settings = json.loads((claude / "settings.json").read_text())
    validate(settings, load_schema("claude-code-settings.schema.json"))
    commands = [hook["command"] for groups in settings["hooks"].values() for group in groups for hook in group["hooks"]]
    assert '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh stop' in commands
    assert '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh edit' in commands
    assert not any("my-formatter" in command or "whoami" in command for command in commands)
    assert settings["enabledPlugins"] == {"formatter@team-tools": True}
    assert list(settings["extraKnownMarketplaces"]) == ["team-tools"]
    assert settings["enabledMcpjsonServers"] == ["tracker", "chat", "gitlab"]
    allow = settings["permissions"]["allow"]
    assert {"Bash(make test)", "Read(docs/**)", "WebFetch(domain:docs.python.org)", "mcp__tracker"} <= set(allow)
    assert not {"Bash(*)", "Bash(npx:*)", "Edit(.claude/settings.json)", "Bash(curl https://example.com)"} & set(allow)
    assert "Bash(git push:*)" in settings["permissions"]["ask"]
    assert "Read(./private/**)" in settings["permissions"]["deny"]

    # .mcp.json: the user's two servers and this folder's local one, secrets as references.
    servers = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert servers["tracker"]["env"] == {"TRACKER_TOKEN": "${TRACKER_TOKEN}"}
    assert servers["tracker"]["args"][-2:] == ["--api-key", "${TRACKER_API_KEY}"]
    assert servers["chat"]["url"] == "https://chat.example.com/mcp?team=core&access_token=${CHAT_ACCESS_TOKEN}"
    assert servers["chat"]["headers"] == {"Authorization": "Bearer ${CHAT_TOKEN}"}
    assert servers["gitlab"]["env"] == {"GITLAB_TOKEN": "${GITLAB_TOKEN}"}
    assert "other" not in servers

    # The variables: in the closing message, in CLAUDE.md and in the record, never a value.
    assert f"{', '.join(VARIABLES)}" in output
    assert ".mcp.json" in next(line for line in output.splitlines() if "git add" in line)
    assert "import: skills/release-notes: .env left out" in output  # the task reports what it left out
    assert "changed while the copy ran" not in output  # the task's plan is the questions' plan
    claude_md = (project / "CLAUDE.md").read_text()
    assert "## Imported from a personal setup" in claude_md and ", ".join(VARIABLES) in claude_md
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert answers["imported_user_config"]["variables"] == VARIABLES
    assert_no_token(project)
    assert tree_hash(home) == before, "the copy changed the home"


@pytest.mark.parametrize("global_config", [None, "[" * 100_000 + "]" * 100_000])
def test_with_an_empty_home_the_question_is_not_asked_or_recorded(template_repo, tmp_path, monkeypatch, global_config):
    """A ~/.claude.json nested 100000 deep is an empty home too: a note, not a RecursionError."""
    use_home(monkeypatch, tmp_path / "home")
    if global_config is not None:
        (tmp_path / "home").mkdir()
        (tmp_path / "home" / ".claude.json").write_text(global_config)
    project = generate(template_repo, tmp_path / "project")
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert "import_user_config" not in answers and "imported_user_config" not in answers
    assert "Imported from a personal setup" not in (project / "CLAUDE.md").read_text()


def test_an_update_keeps_every_imported_file_and_entry_and_never_reads_the_home(versions, person):
    home, project = person
    copy_at(versions, project, {"import_user_config": list(KINDS)})
    imported = {path.relative_to(project): path.read_bytes() for path in (project / ".claude").rglob("*")
                if path.is_file() and {"release-notes", "frontend", "reviewer.md", "notify.sh"} & set(path.parts)}
    assert len(imported) == 5
    settings_before = json.loads((project / ".claude" / "settings.json").read_text())
    servers_before = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    answers_before = yaml.safe_load((project / ANSWERS_FILE).read_text())["imported_user_config"]
    section = (project / "CLAUDE.md").read_text().split("## Imported from a personal setup")[1]

    # A home that has changed, and one the update cannot read: it must not matter.
    shutil.rmtree(home / ".claude")
    build_file_tree(home / ".claude", {"agents/fresh.md": "---\nname: fresh\ndescription: New.\n---\nNew.\n",
                                       "settings.json": "{broken"})
    (home / ".claude.json").write_text(json.dumps({"mcpServers": {"fresh": {"command": "fresh-mcp"}}}))

    update(project)
    assert_no_conflicts(project)
    for path, data in imported.items():
        assert (project / path).read_bytes() == data, f"the update changed {path}"
    assert not (project / ".claude" / "agents" / "fresh.md").exists()
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    assert "Bash(git blame:*)" in settings["permissions"]["allow"], "the update did not bring 1.1.0"
    for key in ("enabledPlugins", "extraKnownMarketplaces"):
        assert settings[key] == settings_before[key]
    for kind in ("allow", "ask", "deny"):
        for rule in settings_before["permissions"].get(kind, []):
            if rule in ("Bash(make test)", "Read(docs/**)", "WebFetch(domain:docs.python.org)", "mcp__tracker",
                        "Bash(git push:*)", "Read(./private/**)"):
                assert rule in settings["permissions"][kind], f"the update dropped the imported rule {rule}"
    assert settings["hooks"]["Stop"] == settings_before["hooks"]["Stop"]
    assert [group for group in settings["hooks"]["PostToolUse"] if group.get("matcher") == "Edit"] == \
        [group for group in settings_before["hooks"]["PostToolUse"] if group.get("matcher") == "Edit"]
    assert set(settings["enabledMcpjsonServers"]) >= {"tracker", "chat", "gitlab"}
    servers = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert {name: servers[name] for name in servers_before} == servers_before and "fresh" not in servers
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert answers["imported_user_config"] == answers_before and answers["import_user_config"] == list(KINDS)
    assert (project / "CLAUDE.md").read_text().split("## Imported from a personal setup")[1] == section
    git_save(project, "update")
    assert_no_token(project)



def test_the_question_shows_what_the_home_holds_and_a_dry_run_writes_nothing(template_repo, person, monkeypatch, capfd):
    """The prompt Copier would show, caught: it renders `help` with Jinja and asks by `when`.
    Here the home is $CLAUDE_CONFIG_DIR, with its .claude.json inside, and HOME is empty. The
    answer chooses everything; under --pretend no task runs, and the message lists the plan."""
    home, project = person
    shutil.copy(home / ".claude.json", home / ".claude" / ".claude.json")
    use_home(monkeypatch, home.parent / "nobody", home / ".claude")
    before = tree_hash(home)
    shown = {}

    def prompt(questions, answers):
        for question in questions:
            if question.get("when", lambda _: True)(answers):
                shown[question["name"]] = question["message"]
                if question["name"] == "import_user_config":
                    answers = {**answers, "import_user_config": list(KINDS)}
        return answers

    monkeypatch.setattr("copier._main.unsafe_prompt", prompt)
    run_copy(str(template_repo), str(project), data={"project_name": "x"}, unsafe=True, vcs_ref="HEAD", pretend=True)
    help_text = shown["import_user_config"]
    assert "Bring your own setup" in help_text and str(home / ".claude") in help_text
    assert "skills: release-notes" in help_text and "mcp_servers: tracker, chat, gitlab" in help_text
    assert "imported_user_config" not in shown, "the record is never asked"

    output = capfd.readouterr().err
    assert list(project.iterdir()) == [], "--pretend wrote into the destination"
    assert "Would import skills: release-notes" in output
    assert "Would import mcp_servers: tracker, chat, gitlab" in output
    assert "Would not import commands/check.md: left out" in output
    assert ", ".join(VARIABLES) in output
    assert tree_hash(home) == before
    assert not any(token in output + help_text for token in TOKENS.values())


def _task():
    spec = importlib.util.spec_from_file_location("import_task", ROOT / "tasks" / "import_user_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_task_adds_only_what_is_not_there_and_never_writes_through_a_link(tmp_path):
    task = _task()
    settings = {"permissions": {"allow": ["Bash(make test)"]}, "enabledPlugins": {"x@m": False},
                "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}
    planned = {"permissions": {"allow": ["Bash(make test)", "Read(docs/**)"], "deny": ["Bash(rm:*)"]},
               "enabledPlugins": {"x@m": True, "y@m": True},
               "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]},
               "enabledMcpjsonServers": ["a"]}
    notes = task.merge_settings(settings, planned)
    assert settings["permissions"] == {"allow": ["Bash(make test)", "Read(docs/**)"], "deny": ["Bash(rm:*)"]}
    assert settings["enabledPlugins"] == {"x@m": False, "y@m": True} and notes == [
        "enabledPlugins.x@m: the repository's own entry kept"]
    assert len(settings["hooks"]["Stop"]) == 1 and settings["enabledMcpjsonServers"] == ["a"]

    outside = tmp_path / "outside.json"
    outside.write_text('{"mcpServers": {}}')
    root = tmp_path / "project"
    (root / ".claude").mkdir(parents=True)
    (root / ".claude" / "settings.json").write_text("{}")
    (root / ".mcp.json").symlink_to(outside)
    lines = task.apply({"files": [], "settings": {}, "mcp": {"a": {"type": "stdio", "command": "x"}}}, root,
                       task._reader())
    assert outside.read_text() == '{"mcpServers": {}}' and "symlink" in lines[0]


@pytest.mark.parametrize("existing", ["{not json", "[]", '{"mcpServers": []}', "[" * 100_000 + "]" * 100_000])
def test_the_task_writes_nothing_to_an_mcp_json_or_settings_it_cannot_read_and_says_so(tmp_path, existing):
    task = _task()
    root = tmp_path / "project"
    (root / ".claude").mkdir(parents=True)
    settings = existing if existing.startswith(("{not", "[")) else '{"permissions": []}'  # an object of the wrong shape
    (root / ".claude" / "settings.json").write_text(settings)
    (root / ".mcp.json").write_text(existing)
    lines = task.apply({"files": [], "settings": {"enabledMcpjsonServers": ["a"], "permissions": {"allow": ["Glob"]}},
                        "mcp": {"a": {"type": "stdio", "command": "x"}}}, root, task._reader())
    assert (root / ".mcp.json").read_text() == existing and (root / ".claude" / "settings.json").read_text() == settings
    assert len(lines) == 2 and all("wrote nothing to it" in line and "\n" not in line for line in lines)
