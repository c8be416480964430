"""Updates under conflict (issue 12, items 6 and 7, and what the property test of item 9 found):

- a settings.json the team reformatted (sorted keys, another indent) is laid out as the
  template writes it before the merge, so its layout never conflicts, and the update says so;
- a file of the team's at a path where a new release adds a template file is kept byte for
  byte, the template's file is written beside it as `<path>.copier-new`, and the update fails
  so that the fleet workflow opens its pull request as conflicted;
- regressions, one per bug the property test (test_update_properties.py) found.

The end-to-end tests run a real `copier update` between two releases built here: 1.0.0 is
this working tree, 1.1.0 adds a deny rule at the end of its list, changes the format-on-edit
hook's timeout and adds a starter command, .claude/commands/review.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import add_team_entries, build_file_tree, git, git_save, snapshot_template
from helpers import release as release_from_patch
from test_update import assert_no_conflicts, copy_at, update
from test_update_properties import (
    check_update,
    json_ownership,
    ownership,
    render,
    simulate_update,
    sides,
    text_of,
)

REVIEW = "---\ndescription: Review the current change\n---\nRead the diff, then list what could break.\n"
NEW_DENY = "Bash(git push --mirror:*)"
CONFLICT_SIDES = re.compile(r"^<{7} .*?\n(.*?)^={7}\n(.*?)^>{7} .*?\n", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> Path:
    """This working tree as 1.0.0, and 1.1.0 with the changes the module docstring lists,
    from tests/data/release-1.1.0-review-command.patch."""
    repo = snapshot_template(tmp_path_factory.mktemp("merge-releases"), tag="1.0.0")
    return release_from_patch(repo, "1.1.0", "release-1.1.0-review-command.patch")


# --- item 6: a reformatted settings.json -------------------------------------------------------

# Indent alone, and sorted keys with another indent (test_update_properties.py tries more).
LAYOUTS = {
    "tabs": {"indent": "\t"},
    "sorted keys, four spaces": {"sort_keys": True, "indent": 4},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_reformatted_settings_file_merges_without_a_conflict_and_the_update_says_so(releases, tmp_path, capfd,
                                                                                      layout):
    project = copy_at(releases, tmp_path / "project", {"stacks": ["python"], "env_vars": {"LOG_LEVEL": "debug"}})
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    settings["env"]["TEAM_FLAG"] = "1"
    settings_file.write_text(json.dumps(settings, ensure_ascii=False, **LAYOUTS[layout]) + "\n")
    git_save(project, f"the team's editor wrote settings.json with {layout}")
    capfd.readouterr()
    update(project)
    assert_no_conflicts(project)
    assert ".claude/settings.json was reformatted before the merge" in capfd.readouterr().err
    text = settings_file.read_text()
    after = json.loads(text)
    assert after["permissions"]["deny"][-1] == NEW_DENY, "the release's new rule arrives"
    assert after["hooks"]["PostToolUse"][0]["hooks"][0]["timeout"] == 45, "the release's change arrives"
    assert after["permissions"]["allow"][-1] == "Bash(make lint:*)" and after["env"]["TEAM_FLAG"] == "1"
    assert text == json.dumps(after, indent=2, ensure_ascii=False) + "\n", "two spaces, as the template writes it"
    assert list(after) == ["$schema", "permissions", "env", "hooks"], "the template's key order"
    assert list(after["permissions"]) == ["allow", "deny", "defaultMode"]
    assert list(after["hooks"]["SessionStart"][0]["hooks"][0]) == ["type", "command", "timeout"]
    assert list(after["env"]) == ["LOG_LEVEL", "TEAM_FLAG"]


def test_a_file_in_the_templates_layout_is_not_reported_as_reformatted(releases, tmp_path, capfd):
    project = copy_at(releases, tmp_path / "project", {"stacks": ["python"]})
    capfd.readouterr()
    update(project)
    assert_no_conflicts(project)
    assert "reformatted" not in capfd.readouterr().err


def test_normalising_keeps_a_team_key_where_the_team_put_it_in_a_template_entry():
    """Only keys out of the template's order move; a key of the team's inside a template
    entry stays where it is, so a file the template wrote round-trips unchanged."""
    document = {"$schema": "x", "permissions": {"allow": [], "deny": [], "defaultMode": "default"}, "env": {},
                "hooks": {"SessionStart": [{"hooks": [{"type": "command", "statusMessage": "Starting",
                                                       "command": "c", "timeout": 60}]}]}}
    assert json.dumps(json_ownership.normalise("settings", document, {}, ownership)) == json.dumps(document)
    shuffled = {"hooks": document["hooks"], "env": {},
                "permissions": {"defaultMode": "default", "deny": [], "allow": []}, "$schema": "x"}
    assert json.dumps(json_ownership.normalise("settings", shuffled, {}, ownership)) == json.dumps(document)


# --- item 7: a team file where a release adds a template file ---------------------------------

def test_a_team_file_where_a_release_adds_one_is_kept_and_the_new_one_written_beside_it(releases, tmp_path, capfd):
    mode = 0o755  # not the template's 0o644: the mode comes back too
    project = copy_at(releases, tmp_path / "project", {})
    ours = project / ".claude" / "commands" / "review.md"
    build_file_tree(project, {".claude/commands/review.md": "---\ndescription: Our review\n---\nOur steps.\n"})
    ours.chmod(mode)
    original = ours.read_bytes()
    git_save(project, "the team's own /review")
    with pytest.raises(Exception) as failure:
        update(project)
    assert "check_update.py" in str(failure.value) or "returned non-zero" in str(failure.value)
    err = capfd.readouterr().err
    assert ours.read_bytes() == original and ours.stat().st_mode & 0o777 == mode, "the team's file, byte for byte"
    beside = project / ".claude" / "commands" / "review.md.copier-new"
    assert beside.read_text() == REVIEW, "the release's file, beside it"
    assert ".claude/commands/review.md.copier-new: this release's new template file" in err
    assert "need attention after the update" in err
    status = git("-C", str(project), "status", "--porcelain", "--", ".claude/commands").splitlines()
    assert status == ["?? .claude/commands/review.md.copier-new"], status
    assert "<<<<<<<" not in ours.read_text()
    assert not (project / ".claude" / "state" / "update-team-files.json").exists()
    assert not (project / ".claude" / "state" / "update-team-files").exists()


def test_a_team_file_equal_to_the_one_a_release_adds_is_no_conflict(releases, tmp_path):
    project = copy_at(releases, tmp_path / "project", {})
    build_file_tree(project, {".claude/commands/review.md": REVIEW})
    git_save(project, "the team already had the release's /review")
    update(project)
    assert_no_conflicts(project)
    assert (project / ".claude" / "commands" / "review.md").read_text() == REVIEW
    assert not (project / ".claude" / "commands" / "review.md.copier-new").exists()
    assert git("-C", str(project), "status", "--porcelain", "--", ".claude/commands") == ""


def test_the_fleet_workflow_opens_a_conflicted_pull_request_for_a_file_beside_the_teams(releases, tmp_path):
    from test_fleet import run_update_step

    project = copy_at(releases, tmp_path / "project", {"update_automation": "github-actions"})
    build_file_tree(project, {".claude/commands/review.md": "our review\n"})
    git_save(project, "the team's own /review")
    result, outputs = run_update_step(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs["conflicts"] == "true" and "review.md.copier-new" in result.stdout
    assert (project / ".claude" / "commands" / "review.md").read_text() == "our review\n"


# --- an end-to-end collision the property test found ---------------------------------------

def test_answers_that_drop_an_mcp_server_the_team_edited_conflict_instead_of_deleting_it(releases, tmp_path, capfd):
    """The team changed the github server's URL; an update that drops every MCP server from
    the answers made Copier delete .mcp.json whole, the team's edit with it, and say nothing."""
    project = copy_at(releases, tmp_path / "project", {"mcp_servers": ["github"]})
    mcp_file = project / ".mcp.json"
    mcp = json.loads(mcp_file.read_text())
    mcp["mcpServers"]["github"]["url"] = "https://github.internal.example.com/mcp/"
    mcp_file.write_text(json.dumps(mcp, indent=2) + "\n")
    git_save(project, "our GitHub Enterprise MCP endpoint")
    with pytest.raises(Exception):
        update(project, data={"mcp_servers": []})
    assert ".mcp.json: conflict markers" in capfd.readouterr().err
    ours, theirs = CONFLICT_SIDES.search(mcp_file.read_text()).groups()
    assert "github.internal.example.com" in ours and "github" not in theirs


def test_answers_that_drop_an_unedited_mcp_server_remove_the_file_quietly(releases, tmp_path):
    project = copy_at(releases, tmp_path / "project", {"mcp_servers": ["github"]})
    update(project, data={"mcp_servers": []})
    assert_no_conflicts(project)
    assert not (project / ".mcp.json").exists()


# --- regressions: each a case the property test found ---------------------------------------

def release(**changes) -> dict:
    base = {"stack_rules": [], "profile": "cautious", "env": {}, "format_hook": False, "bootstrap_timeout": 60,
            "format_timeout": 30, "servers": {}, "dropped_deny": [], "new_rules": []}
    return {**base, **changes}


def project_files(settings_doc: dict, mcp_doc: dict | None, compact: bool = False) -> dict:
    dump = (lambda d: json.dumps(d) + "\n") if compact else text_of
    return {"settings": dump(settings_doc), "mcp": None if mcp_doc is None else dump(mcp_doc)}


def test_a_conflict_whose_side_holds_a_key_twice_stays_a_conflict(tmp_path):
    """The team removed the template's env var; the release added one. Copier's merge left a
    conflict whose "after updating" side has "env" twice, which json.loads reads as the last
    one: both sides then parsed the same, and the markers (and the release's env) vanished."""
    old, new = release(env={"REGION": "a"}), release(profile="autonomous", env={"REGION": "a", "TEAM_FLAG": "a"})
    settings_doc = render(old)[0]
    settings_doc["permissions"]["defaultMode"] = "acceptEdits"
    del settings_doc["env"]["REGION"]
    final, reported, _, _ = simulate_update(tmp_path, old, new, project_files(settings_doc, None, compact=True))
    assert "settings" in reported
    assert final["settings"] is not None and check_update.MARKER.search(final["settings"])


def test_json_with_a_key_twice_is_reported_by_the_check(tmp_path):
    git("init", "--quiet", str(tmp_path))
    build_file_tree(tmp_path, {".claude/settings.json": '{"env": {"A": "1"}, "env": {}}\n'})
    assert "invalid JSON (the key 'env' twice" in check_update.problems(tmp_path).get(".claude/settings.json", "")


def test_a_stash_left_behind_is_reported_by_the_check(tmp_path):
    git("init", "--quiet", str(tmp_path))
    build_file_tree(tmp_path, {".claude/state/update-team-entries.json": "{}\n"})
    assert ".claude/state/update-team-entries.json" in check_update.problems(tmp_path)


def test_a_server_the_team_edited_and_the_release_removed_is_a_conflict(tmp_path):
    """The release removed the server the team edited, and added another whose URL line was
    the team's new line: git took both for one change, and the team's edit went silently."""
    servers = {"search": {"type": "http", "url": "https://b.example.com/mcp"},
               "docs": {"command": "tool-a", "args": []}}
    old = release(servers=servers)
    new = release(servers={"team-tool": {"type": "http", "url": "https://a.example.com/mcp"}})
    settings_doc, mcp_doc = render(old)
    mcp_doc["mcpServers"]["search"]["url"] = "https://a.example.com/mcp"
    final, reported, _, _ = simulate_update(tmp_path, old, new, project_files(settings_doc, mcp_doc))
    assert "mcp" in reported
    ours, _ = sides(final["mcp"])
    assert ours["mcpServers"]["search"]["url"] == "https://a.example.com/mcp", "the team's edit, on its side"


def test_a_server_the_team_deleted_and_the_release_changed_is_a_conflict(tmp_path):
    """Git aligned the release's changed server with another one it removed: the server the
    team had deleted came back, with no conflict."""
    old = release(servers={"tracker": {"type": "http", "url": "https://tracker-a.example.com/mcp"},
                           "docs": {"type": "http", "url": "https://docs-a.example.com/mcp"},
                           "search": {"command": "search-a", "args": []}})
    new = release(servers={"tracker": {"command": "tracker-a", "args": []},
                           "docs": {"type": "http", "url": "https://docs-a.example.com/mcp"}})
    settings_doc, mcp_doc = render(old)
    del mcp_doc["mcpServers"]["tracker"]
    settings_doc["enabledMcpjsonServers"].remove("tracker")
    final, reported, _, _ = simulate_update(tmp_path, old, new, project_files(settings_doc, mcp_doc, compact=True))
    assert "mcp" in reported
    ours, theirs = sides(final["mcp"])
    assert "tracker" not in ours["mcpServers"] and theirs["mcpServers"]["tracker"]["command"] == "tracker-a"


def test_a_team_env_var_the_new_answers_also_set_is_a_conflict_not_overwritten(tmp_path):
    old, new = release(env={"LOG_LEVEL": "a"}), release(env={"LOG_LEVEL": "a", "TEAM_FLAG": "b"})
    settings_doc = render(old)[0]
    settings_doc["env"]["TEAM_FLAG"] = "1"
    final, reported, _, _ = simulate_update(tmp_path, old, new, project_files(settings_doc, None))
    assert "settings" in reported
    ours, theirs = sides(final["settings"])
    assert ours["env"]["TEAM_FLAG"] == "1" and theirs["env"]["TEAM_FLAG"] == "b"


def test_a_release_that_reorders_rules_keeps_a_teams_deletion_of_one(tmp_path):
    """Found by the property test: the release writes two stack rules the other way round; the
    team had deleted one of them; Copier's line merge brought it back silently. The update
    now knows what the old release wrote (rendered again), and keeps the deletion."""
    first, second = "Bash(./gradlew check:*)", "Bash(./mvnw -B test:*)"
    old = release(profile="standard", stack_rules=[first, second])
    new = release(profile="standard", stack_rules=[second, first])
    settings_doc = render(old)[0]
    settings_doc["permissions"]["allow"].remove(first)
    final, reported, _, _ = simulate_update(tmp_path, old, new, project_files(settings_doc, None))
    assert "settings" in reported or first not in json.loads(final["settings"])["permissions"]["allow"]


def test_an_update_stopped_with_a_team_file_set_aside_leaves_the_repository_as_it_was(releases, tmp_path):
    """tasks/update_guard.py restores an update that stops between its stages; the team's file
    set aside comes back with the checkout, and nothing of the set-aside stays behind."""
    import signal

    from test_update_guard import assert_restored, copier_update, snapshot, wait_for

    project = copy_at(releases, tmp_path / "project", {})
    build_file_tree(project, {".claude/commands/review.md": "our review\n"})
    git_save(project, "the team's own /review")
    before = snapshot(project)
    manifest = project / ".claude" / "state" / "update-team-files.json"
    update = copier_update(project)
    wait_for(lambda: manifest.exists() or update.poll() is not None)
    assert update.poll() is None, "the update ended before it could be stopped between its stages"
    update.send_signal(signal.SIGKILL)
    update.communicate(timeout=60)
    assert_restored(project, before)
    assert not manifest.exists() and not (project / ".claude" / "state" / "update-team-files").exists()


@pytest.fixture(scope="module")
def drops_a_rule(tmp_path_factory) -> Path:
    """This working tree as 1.0.0, and 1.1.0 without one allow rule 1.0.0 wrote for uv."""
    repo = snapshot_template(tmp_path_factory.mktemp("drops-a-rule"), tag="1.0.0")
    return release_from_patch(repo, "1.1.0", "release-1.1.0-drops-a-rule.patch")


def test_a_rule_only_the_old_release_wrote_goes_when_a_release_drops_it(drops_a_rule, tmp_path):
    """Issue "Never lose data", update item 2: judged by the new release alone, the dropped
    rule looked like the team's and was kept. The old release, rendered again, says it was
    the template's."""
    project = copy_at(drops_a_rule, tmp_path / "project", {"stacks": ["python"], "python_tool": "uv",
                                                           "permission_profile": "standard"})
    settings_file = project / ".claude" / "settings.json"
    assert "Bash(uv pip list)" in settings_file.read_text()
    add_team_entries(project)
    git_save(project, "the team's rule")
    update(project, vcs_ref="1.1.0")
    assert_no_conflicts(project)
    allow = json.loads(settings_file.read_text())["permissions"]["allow"]
    assert "Bash(uv pip list)" not in allow
    assert "Bash(make lint:*)" in allow
