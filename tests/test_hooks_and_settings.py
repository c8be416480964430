"""The starter hook as Claude Code runs it, the exact starter files per answer set, and the
settings rules that depend on answers."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from answer_sets import ANSWER_SETS
from helpers import build_file_tree, generate, load_schema

DEFAULT_STARTERS = {
    "starter_skills": ["cloud-environment", "add-dependency"],
    "starter_commands": ["check", "bootstrap-status"],
    "starter_hooks": ["format-on-edit"],
    "include_agents": True,
}
FORMATTABLE = {"python", "node", "ruby", "go", "rust", "php"}


def expected_starter_files(answers: dict) -> set[str]:
    chosen = {**DEFAULT_STARTERS, **answers}
    files = {f".claude/skills/{name}/SKILL.md" for name in chosen["starter_skills"]}
    files |= {f".claude/commands/{name}.md" for name in chosen["starter_commands"]}
    files.add(".claude/hooks/guard.sh")  # every project, whatever the answers
    if "format-on-edit" in chosen["starter_hooks"] and FORMATTABLE & set(answers.get("stacks", [])):
        files.add(".claude/hooks/format-on-edit.sh")
    if chosen["include_agents"]:
        files.add(".claude/agents/test-fixer.md")
    return files


def test_exactly_the_chosen_starter_files_are_generated(answer_set):
    name, project = answer_set
    found = {
        str(path.relative_to(project))
        for folder in ("skills", "commands", "hooks", "agents")
        for path in (project / ".claude" / folder).rglob("*")
        if path.is_file()
    }
    assert found == expected_starter_files(ANSWER_SETS[name])


def test_settings_approve_exactly_the_generated_mcp_servers(answer_set):
    _, project = answer_set
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    mcp_file = project / ".mcp.json"
    servers = list(json.loads(mcp_file.read_text())["mcpServers"]) if mcp_file.exists() else []
    assert settings.get("enabledMcpjsonServers", []) == servers


def test_stack_defaults_validate_against_late_2025_schema(template_repo, tmp_path):
    """Default options with stacks (so with the PostToolUse hook) suit older CLIs too."""
    import jsonschema

    project = generate(template_repo, tmp_path, {"stacks": ["python", "node", "go"]})
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    assert "PostToolUse" in settings["hooks"]
    jsonschema.Draft7Validator(load_schema("claude-code-settings.2025-11.schema.json")).validate(settings)


@pytest.fixture
def hook_project(template_repo, tmp_path):
    project = generate(template_repo, tmp_path / "project", {"stacks": ["python", "node", "ruby", "go", "rust", "php"]})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "formatter.log"
    for tool in ("ruff", "black", "prettier", "biome", "rubocop", "standardrb", "gofmt", "rustfmt", "pint", "php-cs-fixer"):
        stub = bin_dir / tool
        stub.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "{tool} $*" >> "{log}"\n')
        stub.chmod(0o755)
    return project, bin_dir, log


def run_hook(project: Path, bin_dir: Path, payload: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(project / ".claude" / "hooks" / "format-on-edit.sh")],
        input=payload if isinstance(payload, str) else json.dumps(payload),
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "CLAUDE_PROJECT_DIR": str(project)},
        capture_output=True, text=True, timeout=30,
    )


def edit_of(path: Path) -> dict:
    return {"hook_event_name": "PostToolUse", "tool_name": "Edit", "tool_input": {"file_path": str(path)}}


def test_format_hook_formats_with_the_projects_own_formatter(hook_project):
    project, bin_dir, log = hook_project
    build_file_tree(project, {"pyproject.toml": "[tool.ruff]\nline-length = 100\n", "app.py": "x=1\n",
                              "Gemfile": "", ".rubocop.yml": "", "main.go": "package main\n",
                              ".claude/hooks/format-on-edit.trusted": "rubocop\n"})
    for name in ("app.py", "Gemfile", "main.go"):
        assert run_hook(project, bin_dir, edit_of(project / name)).returncode == 0
    assert log.read_text().splitlines() == [
        f"ruff format --quiet -- {project}/app.py",
        f"rubocop --autocorrect --format quiet -- {project}/Gemfile",
        f"gofmt -w -- {project}/main.go",
    ]


@pytest.mark.parametrize(("files", "edited", "expected"), [
    ({"frontend/biome.json": "{}", "frontend/node_modules/.bin/prettier": "", "frontend/src/app.ts": "x\n"},
     "frontend/src/app.ts", "biome format --write"),
    ({"Gemfile": 'gem "standard", group: :development\n', ".rubocop.yml": "", "lib/a.rb": "x\n",
      ".claude/hooks/format-on-edit.trusted": "standardrb\nrubocop\n"}, "lib/a.rb", "standardrb --fix"),
    ({"composer.json": '{"require-dev": {"laravel/pint": "^1.18"}}', "app/User.php": "<?php\n"},
     "app/User.php", "pint --quiet"),
    ({"Cargo.toml": '[package]\nname = "a"\nedition = "2018"\n', "src/lib.rs": ""}, "src/lib.rs", "rustfmt --edition 2018"),
    ({"Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n[workspace.package]\nedition = "2024"\n',
      "crates/core/Cargo.toml": '[package]\nname = "core"\nedition.workspace = true\n', "crates/core/src/lib.rs": ""},
     "crates/core/src/lib.rs", "rustfmt --edition 2024"),
    ({"Cargo.toml": '[package]\nname = "a"\nedition = "2021"\n', "rustfmt.toml": 'edition = "2024"\n', "src/lib.rs": ""},
     "src/lib.rs", "rustfmt"),
    ({"Cargo.toml": '[package]\nname = "old"\n', "src/lib.rs": ""}, "src/lib.rs", "rustfmt"),
])
def test_format_hook_uses_the_formatter_and_options_the_files_folder_is_set_up_for(hook_project, files, edited, expected):
    """Config is looked for from the file's folder up; Biome over Prettier, Standard over
    RuboCop, Pint; rustfmt with the crate's edition (or none where rustfmt.toml sets it or the
    crate names none), never a forced one."""
    project, bin_dir, log = hook_project
    build_file_tree(project, files)
    assert run_hook(project, bin_dir, edit_of(project / edited)).returncode == 0
    assert log.read_text().splitlines() == [f"{expected} -- {project}/{edited}"]


def test_format_hook_runs_a_formatter_whose_config_is_code_only_when_trusted(hook_project):
    project, bin_dir, log = hook_project
    build_file_tree(project, {"Gemfile": "", ".rubocop.yml": "require: ./evil.rb\n",
                              "node_modules/.bin/prettier": "", "app.js": "x\n"})
    for name in ("Gemfile", "app.js"):
        assert run_hook(project, bin_dir, edit_of(project / name)).returncode == 0
    assert not log.exists(), "RuboCop or Prettier ran a config that can be code, untrusted"
    (project / ".claude/hooks/format-on-edit.trusted").write_text("prettier\n")
    run_hook(project, bin_dir, edit_of(project / "app.js"))
    assert log.read_text().splitlines() == [f"prettier --write --log-level warn -- {project}/app.js"]


def test_format_hook_formats_nothing_outside_the_project(hook_project, tmp_path):
    project, bin_dir, log = hook_project
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "victim.go").write_text("package x\n")
    (project / "link.go").symlink_to(outside / "victim.go")
    (project / "linked").symlink_to(outside, target_is_directory=True)
    for path in (outside / "victim.go", project / "link.go", project / "linked" / "victim.go",
                 project / ".." / "elsewhere" / "victim.go"):
        assert run_hook(project, bin_dir, edit_of(path)).returncode == 0
    assert not log.exists(), "a file outside the project was formatted"


def test_format_hook_passes_a_dash_named_file_as_a_file(hook_project):
    project, bin_dir, log = hook_project
    (project / "-w.go").write_text("package main\n")
    run_hook(project, bin_dir, edit_of(project / "-w.go"))
    assert log.read_text().splitlines() == [f"gofmt -w -- {project}/-w.go"]


def test_format_hook_stops_a_formatter_that_hangs(hook_project):
    project, bin_dir, _ = hook_project
    (bin_dir / "gofmt").write_text("#!/usr/bin/env bash\nsleep 120\n")
    (project / "main.go").write_text("package main\n")
    started = time.monotonic()
    assert run_hook(project, bin_dir, edit_of(project / "main.go")).returncode == 0
    assert time.monotonic() - started < 20


def test_format_hook_leaves_projects_without_a_formatter_alone(hook_project):
    project, bin_dir, log = hook_project
    build_file_tree(project, {"app.py": "x=1\n", "README.md": "# x\n", "notes.txt": "x"})
    for name in ("app.py", "README.md", "notes.txt", "missing.py"):
        result = run_hook(project, bin_dir, edit_of(project / name))
        assert result.returncode == 0 and result.stdout == ""
    assert not log.exists(), "a formatter ran in a project that is not set up for it"


@pytest.mark.parametrize("payload", ["not json", "{}", json.dumps({"tool_input": {}}), ""])
def test_format_hook_never_blocks_on_odd_input(hook_project, payload):
    project, bin_dir, _ = hook_project
    assert run_hook(project, bin_dir, payload).returncode == 0


@pytest.fixture(scope="module")
def narrowed(template_repo, tmp_path_factory) -> dict:
    """The settings of a project copied as autonomous with python and node, given a team rule,
    then copied over as cautious without starter hooks."""
    project = tmp_path_factory.mktemp("narrowed")
    generate(template_repo, project, {"stacks": ["python", "node"], "permission_profile": "autonomous"})
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["permissions"]["allow"].append("Bash(make docs)")
    settings_file.write_text(json.dumps(settings, indent=2))
    generate(template_repo, project, {"stacks": ["python", "node"], "permission_profile": "cautious",
                                      "starter_hooks": []}, overwrite=True)
    return json.loads(settings_file.read_text())


def test_recopy_with_a_narrower_profile_drops_the_stack_rules(narrowed):
    assert "Bash(uv run pytest)" not in narrowed["permissions"]["allow"]


def test_recopy_with_a_narrower_profile_keeps_the_teams_own_rule(narrowed):
    assert "Bash(make docs)" in narrowed["permissions"]["allow"], "the team's own rule must stay"


def test_recopy_with_a_narrower_profile_asks_again(narrowed):
    assert narrowed["permissions"]["defaultMode"] == "default"


def test_recopy_without_starter_hooks_drops_their_settings(narrowed):
    assert "PostToolUse" not in narrowed["hooks"]


# --- The sandbox: autonomous only, and the team's own block stays the team's --------------

from extensions import claude_json, ownership  # noqa: E402


@pytest.mark.parametrize("profile", ["cautious", "standard", "autonomous"])
def test_only_autonomous_turns_the_sandbox_on_and_never_widens_what_runs(profile):
    settings = claude_json.claude_settings([], profile, {}, [], 60)
    if profile == "autonomous":
        assert settings["sandbox"] == {"enabled": True, "autoAllowBashIfSandboxed": False,
                                       "allowUnsandboxedCommands": False}
    else:
        assert "sandbox" not in settings


@pytest.mark.parametrize("schema", ["claude-code-settings.schema.json", "claude-code-settings.2025-11.schema.json"])
def test_the_sandbox_block_is_valid_for_both_cli_generations(schema):
    import jsonschema

    settings = claude_json.claude_settings([], "autonomous", {}, [], 60)
    jsonschema.Draft7Validator(load_schema(schema)).validate(settings)


def test_a_teams_own_sandbox_settings_survive_a_copy_under_autonomous(template_repo, tmp_path):
    team = {"sandbox": {"enabled": False}, "permissions": {"allow": ["Bash(make docs)"]}}
    build_file_tree(tmp_path / "project", {".claude/settings.json": json.dumps(team)})
    project = generate(template_repo, tmp_path / "project", {"permission_profile": "autonomous"}, overwrite=True)
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    assert settings["sandbox"] == {"enabled": False}
    assert "Bash(make docs)" in settings["permissions"]["allow"]


@pytest.mark.parametrize(("profile", "old_had_it", "owner"), [
    ("autonomous", False, "template"),
    ("standard", True, "template"),   # an update away from autonomous removes the template's block
    ("standard", False, "team"),      # the same block under standard, never the template's: the team's
])
def test_the_sandbox_block_is_the_templates_only_where_a_profile_wrote_it(profile, old_had_it, owner):
    document = {"sandbox": dict(claude_json.SANDBOX)}
    old = {"sandbox": dict(claude_json.SANDBOX)} if old_had_it else None
    template, team = ownership.split_settings(document, {"permission_profile": profile}, old)
    assert ("sandbox" in template, "sandbox" in team) == (owner == "template", owner == "team")


def test_a_changed_sandbox_block_is_the_teams_even_under_autonomous():
    document = {"sandbox": {**claude_json.SANDBOX, "excludedCommands": ["docker"]}}
    template, team = ownership.split_settings(document, {"permission_profile": "autonomous"})
    assert "sandbox" in team and "sandbox" not in template
