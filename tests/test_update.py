"""`copier update` keeps every team edit, brings the template's changes, equals a fresh copy
when nothing was edited, and never hides a conflict.

The template versions are built in tmp folders (tests/conftest.py, `versions`): 1.0.0 is this
working tree, 1.1.0 a commit on top of it of tests/data/release-1.1.0.patch, which changes
the same generated files a team edits, elsewhere in them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extensions.layout import LAYOUT, UPDATE_WORKFLOW
from helpers import (
    ANSWERS_FILE,
    ROOT,
    assert_no_conflicts,
    build_file_tree,
    copy_at,
    generate,
    generated_files,
    git,
    git_save,
    snapshot_template,
    update,
)
from scripts.release import recorded
from test_migrations import release_from_history

UPDATE_SETS = {
    "python-node-mcp": {"stacks": ["python", "node"], "mcp_servers": ["github"], "env_vars": {"LOG_LEVEL": "debug"},
                        "update_automation": "github-actions"},
    "go-services-tools": {"stacks": ["go"], "services": ["postgresql", "redis"], "cli_tools": ["apt:jq"]},
    "python-only-foreground": {"stacks": ["python"], "background_install": False,
                               "custom_mcp_servers": {"docs": {"type": "http", "url": "https://docs.example.com/mcp"}}},
    "defaults": {},
}


def team_edits(project: Path) -> None:
    """The edits a team typically makes after the first copy."""
    claude_md = project / "CLAUDE.md"
    claude_md.write_text(claude_md.read_text().replace(
        "Add what Claude should know about this project: architecture, conventions, gotchas.",
        "TEAM: services talk through the queue; never call the billing API directly.\nTEAM: run make lint first.",
    ))
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    settings["env"]["TEAM_FLAG"] = "1"
    settings["hooks"]["Stop"] = [{"hooks": [{"type": "command", "command": '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh'}]}]
    settings_file.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    mcp_file = project / ".mcp.json"
    mcp = json.loads(mcp_file.read_text()) if mcp_file.exists() else {"mcpServers": {}}
    mcp["mcpServers"]["team-tool"] = {"type": "stdio", "command": "team-mcp", "args": ["--ro"]}
    mcp_file.write_text(json.dumps(mcp, indent=2) + "\n")
    build_file_tree(project, {
        ".claude/skills/team-release/SKILL.md": "---\nname: team-release\ndescription: How we release.\n---\nTag, then push.\n",
        ".claude/commands/deploy.md": "---\ndescription: Deploy to staging\n---\nRun make deploy.\n",
        ".claude/hooks/notify.sh": "#!/usr/bin/env bash\necho done\n",
    })
    script = project / ".claude" / "scripts" / "cloud-init.sh"
    text = script.read_text()
    anchor = 'cd "$project_dir" || exit 0\n'
    assert anchor in text
    script.write_text(text.replace(anchor, anchor + "export TEAM_PROXY=internal  # TEAM: our local tweak\n", 1))
    git_save(project, "team edits")


@pytest.fixture(scope="module")
def updated_over_team_edits(versions, tmp_path_factory):
    """The project of an UPDATE_SETS name, copied at 1.0.0, edited as a team does (team_edits)
    and updated to 1.1.0: made once per name and module, then only read by the tests."""
    projects: dict[str, Path] = {}

    def updated(name: str) -> Path:
        if name not in projects:
            project = copy_at(versions, tmp_path_factory.mktemp(name) / "project", UPDATE_SETS[name])
            team_edits(project)
            update(project)
            projects[name] = project
        return projects[name]

    return updated


def settings_of(project: Path) -> dict:
    return json.loads((project / ".claude" / "settings.json").read_text())


def claude_md_blocks(project: Path) -> tuple[str, str]:
    """CLAUDE.md before and after its `BEGIN user block` marker: the template's part, the team's."""
    managed, user = (project / "CLAUDE.md").read_text().split("BEGIN user block", 1)
    return managed, user


WITH_GITHUB_MCP = sorted(name for name, answers in UPDATE_SETS.items() if "github" in answers.get("mcp_servers", []))
WITH_FORMAT_HOOK = sorted(name for name, answers in UPDATE_SETS.items() if answers.get("stacks"))


# --- an update over a team's edits: no conflict, and the new release recorded ----------------


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_an_update_over_team_edits_leaves_no_conflicts(updated_over_team_edits, name):
    assert_no_conflicts(updated_over_team_edits(name))


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_an_update_over_team_edits_records_the_new_release(updated_over_team_edits, name):
    assert yaml.safe_load((updated_over_team_edits(name) / ANSWERS_FILE).read_text())["_commit"] == "1.1.0"


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_an_update_over_team_edits_leaves_no_team_entries_set_aside(updated_over_team_edits, name):
    assert not (updated_over_team_edits(name) / ".claude" / "state" / "update-team-entries.json").exists()


# --- the team's edits survive -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_teams_claude_md_text_survives_an_update(updated_over_team_edits, name):
    _, user_block = claude_md_blocks(updated_over_team_edits(name))
    assert "TEAM: services talk through the queue" in user_block and "TEAM: run make lint first." in user_block


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_teams_settings_entries_survive_an_update(updated_over_team_edits, name):
    settings = settings_of(updated_over_team_edits(name))
    assert "Bash(make lint:*)" in settings["permissions"]["allow"]
    assert settings["env"]["TEAM_FLAG"] == "1"
    assert settings["hooks"]["Stop"][0]["hooks"][0]["command"].endswith("/.claude/hooks/notify.sh")


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_teams_mcp_server_survives_an_update(updated_over_team_edits, name):
    assert "team-tool" in json.loads((updated_over_team_edits(name) / ".mcp.json").read_text())["mcpServers"]


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_teams_own_skill_command_and_hook_survive_an_update(updated_over_team_edits, name):
    project = updated_over_team_edits(name)
    for added in (".claude/skills/team-release/SKILL.md", ".claude/commands/deploy.md", ".claude/hooks/notify.sh"):
        assert (project / added).is_file(), added


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_teams_tweak_to_the_bootstrap_script_survives_an_update(updated_over_team_edits, name):
    assert "# TEAM: our local tweak" in (updated_over_team_edits(name) / ".claude" / "scripts" / "cloud-init.sh").read_text()


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_releases_change_to_the_engine_arrives_beside_the_teams_tweak(updated_over_team_edits, name):
    assert "# NEW-IN-1.1: a comment." in (updated_over_team_edits(name) / ".claude" / "scripts" / "cloud-init.sh").read_text()


# --- the release's changes arrive -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_releases_claude_md_line_arrives_in_the_managed_block(updated_over_team_edits, name):
    managed, _ = claude_md_blocks(updated_over_team_edits(name))
    assert "NEW-IN-1.1: sessions start from a fresh clone." in managed


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_releases_gitignore_line_arrives(updated_over_team_edits, name):
    assert "cache/" in (updated_over_team_edits(name) / ".claude" / ".gitignore").read_text()


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_releases_deny_rule_inside_the_list_arrives(updated_over_team_edits, name):
    assert "Read(./**/*.jks)" in settings_of(updated_over_team_edits(name))["permissions"]["deny"]


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_releases_deny_rule_at_the_end_of_the_list_arrives_last(updated_over_team_edits, name):
    assert settings_of(updated_over_team_edits(name))["permissions"]["deny"][-1] == "Bash(git push --mirror:*)"


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_releases_allow_rule_at_the_end_of_the_list_lands_before_the_teams_own(updated_over_team_edits, name):
    allow = settings_of(updated_over_team_edits(name))["permissions"]["allow"]
    assert allow[-2:] == ["Bash(git blame:*)", "Bash(make lint:*)"]


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_the_releases_stack_allow_rule_arrives_only_with_its_stack(updated_over_team_edits, name):
    allow = settings_of(updated_over_team_edits(name))["permissions"]["allow"]
    assert ("Bash(uv tree)" in allow) == ("python" in UPDATE_SETS[name].get("stacks", []))


@pytest.mark.parametrize("name", WITH_GITHUB_MCP)
def test_the_releases_mcp_server_url_arrives(updated_over_team_edits, name):
    servers = json.loads((updated_over_team_edits(name) / ".mcp.json").read_text())["mcpServers"]
    assert servers["github"]["url"].endswith("/mcp/x/all")


@pytest.mark.parametrize("name", WITH_GITHUB_MCP)
def test_the_teams_mcp_server_stays_after_the_templates(updated_over_team_edits, name):
    servers = json.loads((updated_over_team_edits(name) / ".mcp.json").read_text())["mcpServers"]
    assert list(servers)[-1] == "team-tool"


@pytest.mark.parametrize("name", WITH_FORMAT_HOOK)
def test_the_releases_hook_timeout_arrives(updated_over_team_edits, name):
    project = updated_over_team_edits(name)
    assert (project / ".claude" / "hooks" / "format-on-edit.sh").exists()
    assert settings_of(project)["hooks"]["PostToolUse"][0]["hooks"][0]["timeout"] == 45


@pytest.mark.parametrize("name", sorted(UPDATE_SETS))
def test_an_update_without_edits_equals_a_fresh_copy(versions, tmp_path, name):
    answers = {"project_name": "team", **UPDATE_SETS[name]}
    updated = copy_at(versions, tmp_path / "updated", answers)
    update(updated)
    fresh = generate(versions, tmp_path / "fresh", answers, vcs_ref="1.1.0")
    tree = {p.relative_to(updated): p.read_bytes() for p in generated_files(updated)}
    assert tree == {p.relative_to(fresh): p.read_bytes() for p in generated_files(fresh)}
    for path in generated_files(updated):
        assert path.stat().st_mode == (fresh / path.relative_to(updated)).stat().st_mode, path


def test_a_real_conflict_fails_the_update_and_names_the_file(versions, tmp_path, capfd):
    project = copy_at(versions, tmp_path / "project", {"stacks": ["python"]})
    claude_md = project / "CLAUDE.md"
    # The team rewrote the very line 1.1.0 changes: no merge can keep both.
    claude_md.write_text(claude_md.read_text().replace("## Cloud sessions\n\n", "## Cloud sessions (ours)\n\nOur text.\n", 1))
    git_save(project, "team rewrote a managed heading")
    with pytest.raises(Exception) as failure:
        update(project)
    assert "check_update.py" in str(failure.value) or "returned non-zero" in str(failure.value)
    err = capfd.readouterr().err
    assert "need attention after the update" in err and "CLAUDE.md: " in err
    assert "<<<<<<< " in claude_md.read_text()


def run_the_check(versions: Path, folder: Path) -> subprocess.CompletedProcess:
    """tasks/check_update.py, the check an update runs last, in `folder`."""
    return subprocess.run(["python3", str(versions / "tasks" / "check_update.py")], cwd=folder, capture_output=True,
                          text=True)


def test_the_check_passes_a_clean_project_silently_every_time(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"mcp_servers": ["github"]})
    first, second = run_the_check(versions, project), run_the_check(versions, project)
    assert first.returncode == 0 and second.stderr == "", "a clean project passes, silently, every time"


def test_the_check_finds_each_kind_of_problem_in_one_run(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"mcp_servers": ["github"]})
    (project / ".mcp.json").write_text('{"mcpServers": {,}}')
    (project / "notes.txt.rej").write_text("@@ -1 +1 @@\n")
    (project / "README.md").write_text("a\n<<<<<<< before updating\nb\n=======\nc\n>>>>>>> after updating\n")
    result = run_the_check(versions, project)
    assert result.returncode == 1
    for expected in (".mcp.json: invalid JSON", "notes.txt.rej: rejected hunk", "README.md: conflict markers"):
        assert expected in result.stderr


def test_the_check_passes_outside_a_git_repository(versions, tmp_path):
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    assert run_the_check(versions, outside).returncode == 0


@pytest.fixture(scope="module")
def options_turned_off(versions, tmp_path_factory) -> Path:
    """A python project copied at 1.0.0 with the team's edits, updated to 1.1.0 with starter
    skills, agents and starter hooks turned off (read only)."""
    project = copy_at(versions, tmp_path_factory.mktemp("options-off") / "project", {"stacks": ["python"]})
    team_edits(project)
    update(project, data={"starter_skills": [], "include_agents": False, "starter_hooks": []})
    return project


def test_turning_options_off_in_an_update_leaves_no_conflicts(options_turned_off):
    assert_no_conflicts(options_turned_off)


def test_turning_an_option_off_removes_its_files(options_turned_off):
    project = options_turned_off
    assert not (project / ".claude" / "skills" / "cloud-environment").exists()
    assert not (project / ".claude" / "skills" / "add-dependency").exists()
    assert not (project / ".claude" / "agents").exists()
    assert not (project / ".claude" / "hooks" / "format-on-edit.sh").exists()


def test_turning_an_option_off_keeps_the_files_the_team_added_beside_its_own(options_turned_off):
    assert (options_turned_off / ".claude" / "skills" / "team-release" / "SKILL.md").is_file()
    assert (options_turned_off / ".claude" / "hooks" / "notify.sh").is_file()


def test_turning_an_option_off_keeps_what_other_options_generate(options_turned_off):
    assert (options_turned_off / ".claude" / "commands" / "check.md").is_file()


def test_turning_the_starter_hooks_off_removes_their_settings_and_keeps_the_teams(options_turned_off):
    settings = json.loads((options_turned_off / ".claude" / "settings.json").read_text())
    assert "PostToolUse" not in settings["hooks"] and "Stop" in settings["hooks"]


# Each optional file of LAYOUT (extensions/layout.py): answers that write it, and answers
# that leave it out, on top of TOGGLE_BASE. Between the two, nothing else changes.
TOGGLE_BASE = {"stacks": ["python"], "python_tool": "uv"}
BOTH_SKILLS = ["cloud-environment", "add-dependency"]
BOTH_COMMANDS = ["check", "bootstrap-status"]
TOGGLES = {
    ".claude/hooks/format-on-edit.sh": ({"starter_hooks": ["format-on-edit"]}, {"starter_hooks": []}),
    ".claude/skills/cloud-environment/SKILL.md": ({"starter_skills": BOTH_SKILLS},
                                                  {"starter_skills": ["add-dependency"]}),
    ".claude/skills/add-dependency/SKILL.md": ({"starter_skills": BOTH_SKILLS}, {"starter_skills": ["cloud-environment"]}),
    ".claude/commands/check.md": ({"starter_commands": BOTH_COMMANDS}, {"starter_commands": ["bootstrap-status"]}),
    ".claude/commands/bootstrap-status.md": ({"starter_commands": BOTH_COMMANDS}, {"starter_commands": ["check"]}),
    ".claude/agents/test-fixer.md": ({"include_agents": True}, {"include_agents": False}),
    ".mcp.json": ({"mcp_servers": ["github"]}, {"mcp_servers": []}),
    UPDATE_WORKFLOW: ({"update_automation": "github-actions"}, {"update_automation": "none"}),
    "renovate.json": ({"update_automation": "renovate"}, {"update_automation": "none"}),
}
# Two answer sets between which every optional file flips, off to on or on to off.
FLIP = {**TOGGLE_BASE, "starter_skills": BOTH_SKILLS, "starter_commands": BOTH_COMMANDS,
        "starter_hooks": ["format-on-edit"], "include_agents": True, "mcp_servers": ["github"],
        "update_automation": "github-actions"}
FLOP = {**TOGGLE_BASE, "python_tool": "pip", "starter_skills": [], "starter_commands": [], "starter_hooks": [],
        "include_agents": False, "mcp_servers": [], "update_automation": "renovate"}


def tree(project: Path) -> dict[str, bytes]:
    """Every file of a project, by path. No folder is left empty (Copier removes the ones it
    empties) but the gitignored .claude/state/, where the update's own migrations work."""
    folders = [p for p in project.rglob("*") if p.is_dir() and ".git" not in p.relative_to(project).parts]
    empty = {folder.relative_to(project).as_posix() for folder in folders if not any(folder.iterdir())}
    assert empty <= {".claude/state"}, f"empty folders: {sorted(empty)}"
    return {p.relative_to(project).as_posix(): p.read_bytes() for p in generated_files(project)}


def test_the_toggles_cover_every_optional_file():
    assert set(TOGGLES) == {path for path, condition in LAYOUT.items() if condition is not None}


@pytest.mark.parametrize("path", sorted(TOGGLES))
def test_turning_one_option_off_removes_exactly_its_file(versions, tmp_path, path):
    on, off = TOGGLES[path]
    project = copy_at(versions, tmp_path / "project", {**TOGGLE_BASE, **on})
    written = set(tree(project))
    update(project, data=off)
    assert_no_conflicts(project)
    assert set(tree(project)) == written - {path}


def test_turning_every_option_on_adds_exactly_their_files(versions, tmp_path):
    """The other direction, for every option in one update (one update per option cost about
    a minute of a suite that must stay under 10): each file appears, and nothing else does."""
    every_off = {"starter_skills": [], "starter_commands": [], "starter_hooks": [], "include_agents": False,
                 "mcp_servers": [], "update_automation": "none"}
    every_on = {"starter_skills": BOTH_SKILLS, "starter_commands": BOTH_COMMANDS, "starter_hooks": ["format-on-edit"],
                "include_agents": True, "mcp_servers": ["github"], "update_automation": "github-actions"}
    project = copy_at(versions, tmp_path / "project", {**TOGGLE_BASE, **every_off})
    written = set(tree(project))
    update(project, data=every_on)
    assert_no_conflicts(project)
    # renovate.json is the other update_automation choice: it stays off with github-actions.
    assert set(tree(project)) - written == set(TOGGLES) - {"renovate.json"}
    assert written - set(tree(project)) == set()


@pytest.fixture(scope="module")
def from_last_release(tmp_path_factory) -> Path:
    """0.3.0, the last release whose file names held the conditions, rebuilt from history, and
    this working tree as 99.0.0. Copier renders the new `_exclude` in its replay of 0.3.0 too,
    with 0.3.0's extensions, which have no `excluded_paths()`."""
    repo = release_from_history(recorded(ROOT)["0.3.0"], tmp_path_factory.mktemp("last-release") / "template", "0.3.0")
    git("-C", str(repo), "rm", "-r", "--quiet", ".")
    return snapshot_template(repo, tag="99.0.0")


@pytest.mark.parametrize(("before", "after"), [(FLIP, FLOP), (FLOP, FLIP)], ids=["flip-to-flop", "flop-to-flip"])
def test_options_turned_off_and_on_in_an_update_from_the_last_release(from_last_release, tmp_path, before, after):
    project = tmp_path / "project"
    generate(from_last_release, project, {"project_name": "team", **before}, vcs_ref="0.3.0")
    git_save(project, "copy at 0.3.0")
    old = set(tree(project))
    update(project, data=after)
    assert_no_conflicts(project)
    # Since 0.6.0 every copy also has the bootstrap's data file, after it the guard hook, and
    # since 0.9.0 the reader of .mcp.json and settings.json and the setup script that runs it.
    always_now = {".claude/scripts/cloud-setup.sh", ".claude/scripts/cloud-config.py"}
    assert old ^ set(tree(project)) == (set(TOGGLES) | {".claude/scripts/cloud-init.steps", ".claude/hooks/guard.sh"}
                                        | (always_now - old))
    fresh = generate(from_last_release, tmp_path / "fresh", {"project_name": "team", **after}, vcs_ref="99.0.0")
    assert tree(project) == tree(fresh)


def test_check_update_reports_the_new_release(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {})
    copier = shutil.which("copier", path=str(Path(sys.executable).parent))
    result = subprocess.run([copier, "check-update", "-a", ANSWERS_FILE, "--output-format", "json"], cwd=project,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"update_available": True, "current_version": "1.0.0", "latest_version": "1.1.0"}


@pytest.fixture(scope="module")
def template_starts_writing(versions, tmp_path_factory) -> Path:
    """A go project copied at 1.0.0 without .mcp.json and env vars, to which the team added
    its own .mcp.json and env var, updated to 1.1.0 with an MCP server and an env var chosen
    (read only)."""
    project = copy_at(versions, tmp_path_factory.mktemp("starts-writing") / "project", {"stacks": ["go"]})
    assert not (project / ".mcp.json").exists()
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"team-tool": {"command": "team-mcp"}}}, indent=2) + "\n")
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["env"]["TEAM_FLAG"] = "1"  # into the empty env object
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    git_save(project, "the team's own MCP server and env var")
    update(project, data={"mcp_servers": ["github"], "env_vars": {"LOG_LEVEL": "info"}})
    return project


def test_an_update_that_starts_writing_the_teams_files_leaves_no_conflicts(template_starts_writing):
    assert_no_conflicts(template_starts_writing)


def test_a_teams_own_mcp_file_merges_with_one_the_template_starts_writing(template_starts_writing):
    servers = json.loads((template_starts_writing / ".mcp.json").read_text())["mcpServers"]
    assert list(servers) == ["github", "team-tool"]


def test_a_teams_env_var_merges_with_the_env_vars_the_template_starts_writing(template_starts_writing):
    after = json.loads((template_starts_writing / ".claude" / "settings.json").read_text())
    assert after["env"] == {"LOG_LEVEL": "info", "TEAM_FLAG": "1"}


def test_the_settings_approve_the_mcp_server_the_template_starts_writing(template_starts_writing):
    after = json.loads((template_starts_writing / ".claude" / "settings.json").read_text())
    assert after["enabledMcpjsonServers"] == ["github"]


def with_a_settings_conflict(versions: Path, destination: Path) -> Path:
    """A team's repository at 1.0.0 that edits the format-on-edit timeout 1.1.0 also changes
    (30 -> 45), a real collision, and adds entries of its own to settings.json and .mcp.json."""
    project = copy_at(versions, destination, {"stacks": ["python"], "mcp_servers": ["github"]})
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["hooks"]["PostToolUse"][0]["hooks"][0]["timeout"] = 60  # the template's entry
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    settings["env"]["TEAM_FLAG"] = "1"
    settings["hooks"]["Stop"] = [{"hooks": [{"type": "command", "command": "notify.sh"}]}]
    settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    mcp_file = project / ".mcp.json"
    mcp = json.loads(mcp_file.read_text())
    mcp["mcpServers"]["team-tool"] = {"command": "team-mcp"}
    mcp_file.write_text(json.dumps(mcp, indent=2) + "\n")
    git_save(project, "team edits, one to the template's hook timeout")
    return project


@pytest.fixture(scope="module")
def settings_conflict(versions, tmp_path_factory) -> Path:
    """That repository after its update to 1.1.0 failed on the conflict (read only)."""
    project = with_a_settings_conflict(versions, tmp_path_factory.mktemp("settings-conflict") / "project")
    with pytest.raises(Exception):
        update(project)
    return project


def conflict_sides(project: Path) -> tuple[str, str]:
    """(ours, theirs) of the one conflict in settings.json."""
    text = (project / ".claude" / "settings.json").read_text()
    ours, theirs = re.search(r"^<{7} .*?\n(.*?)^={7}\n(.*?)^>{7} ", text, flags=re.MULTILINE | re.DOTALL).groups()
    return ours, theirs


def test_a_conflict_in_settings_fails_the_update_and_names_the_file(versions, tmp_path, capfd):
    project = with_a_settings_conflict(versions, tmp_path / "project")
    with pytest.raises(Exception):
        update(project)
    err = capfd.readouterr().err
    assert ".claude/settings.json: conflict markers; your own entries were kept in the file" in err


def test_a_conflict_in_settings_shows_the_teams_side_and_the_releases(settings_conflict):
    ours, theirs = conflict_sides(settings_conflict)
    assert '"timeout": 60' in ours and '"timeout": 45' in theirs


@pytest.mark.parametrize("side", ["ours", "theirs"])
def test_either_side_of_a_settings_conflict_taken_whole_is_the_teams_file(settings_conflict, side):
    text = (settings_conflict / ".claude" / "settings.json").read_text()
    chosen = re.sub(r"^<{7} .*?\n(.*?)^={7}\n(.*?)^>{7} .*?\n",
                    lambda m: m.group(1 if side == "ours" else 2), text, flags=re.MULTILINE | re.DOTALL)
    resolved = json.loads(chosen)
    assert "Bash(make lint:*)" in resolved["permissions"]["allow"]
    assert "Read(./**/*.jks)" in resolved["permissions"]["deny"]
    assert resolved["env"]["TEAM_FLAG"] == "1"
    assert resolved["hooks"]["Stop"][0]["hooks"][0]["command"] == "notify.sh"


def test_no_conflict_marker_line_holds_a_team_entry(settings_conflict):
    text = (settings_conflict / ".claude" / "settings.json").read_text()
    for marker_line in re.findall(r"^(?:<{7}|={7}|>{7}).*$", text, flags=re.MULTILINE):
        assert "make lint" not in marker_line


def test_the_teams_mcp_server_survives_a_settings_conflict(settings_conflict):
    assert "team-tool" in json.loads((settings_conflict / ".mcp.json").read_text())["mcpServers"]


def test_a_settings_conflict_leaves_no_team_entries_set_aside(settings_conflict):
    assert not (settings_conflict / ".claude" / "state" / "update-team-entries.json").exists()


def test_a_team_only_mcp_file_is_not_staged_as_deleted(versions, tmp_path):
    project = copy_at(versions, tmp_path / "project", {"stacks": ["go"]})
    mcp_file = project / ".mcp.json"
    mcp_file.write_text(json.dumps({"mcpServers": {"team-tool": {"command": "team-mcp"}}}, indent=2) + "\n")
    git_save(project, "the team's own .mcp.json, no template servers")
    original = mcp_file.read_bytes()
    update(project)
    assert_no_conflicts(project)
    assert mcp_file.read_bytes() == original
    status = git("-C", str(project), "status", "--porcelain", "--", ".mcp.json")
    assert status == "", f".mcp.json shows in git status: {status!r}"
