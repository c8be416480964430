"""One ownership model: which JSON entries are the template's is decided in one place
(extensions/ownership.py), and a copy over a repository and an update agree on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from copier import run_recopy

from helpers import ANSWERS_FILE, assert_no_conflicts, build_file_tree, copy_at, generate, git_save, update

# A team's own hook, anchored at the project exactly as the template anchors its hooks: the
# command starts like the template's, but no template release ever generates it.
TEAM_LINT = '"${CLAUDE_PROJECT_DIR:-.}"/.claude/hooks/team-lint.sh'
TEAM_LINT_GROUP = {"matcher": "Edit|Write", "hooks": [{"type": "command", "command": TEAM_LINT, "timeout": 20}]}


def add_team_lint_hook(project: Path) -> None:
    settings_file = project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["hooks"].setdefault("PostToolUse", []).append(TEAM_LINT_GROUP)
    settings_file.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    build_file_tree(project, {".claude/hooks/team-lint.sh": "#!/usr/bin/env bash\nexit 0\n"})


def post_tool_use(project: Path) -> list[dict]:
    return json.loads((project / ".claude" / "settings.json").read_text())["hooks"]["PostToolUse"]


@pytest.mark.parametrize("how", ["recopy", "copy-overwrite"])
def test_a_team_hook_that_starts_like_the_templates_survives_a_copy_over_the_repo(template_repo, tmp_path, how):
    answers = {"stacks": ["python"]}
    project = generate(template_repo, tmp_path / "project", answers)
    add_team_lint_hook(project)
    if how == "recopy":
        git_save(project, "generated, with the team's hook")
        run_recopy(str(project), answers_file=ANSWERS_FILE, defaults=True, overwrite=True, unsafe=True, quiet=True)
    else:
        generate(template_repo, project, answers, overwrite=True)
    groups = post_tool_use(project)
    assert groups.count(TEAM_LINT_GROUP) == 1, "the team's hook must stay, once"
    assert [group["hooks"][0]["command"] for group in groups] == [
        '"${CLAUDE_PROJECT_DIR:-.}"/.claude/hooks/format-on-edit.sh', TEAM_LINT]


@pytest.fixture(scope="module")
def updated_with_team_hook(versions, tmp_path_factory) -> Path:
    """A repository copied at 1.0.0 with the team's hook and a key the template never writes
    (`model`, put first), updated to 1.1.0 (read only)."""
    project = copy_at(versions, tmp_path_factory.mktemp("ownership") / "project", {"stacks": ["python"]})
    add_team_lint_hook(project)
    settings_file = project / ".claude" / "settings.json"
    settings_file.write_text(json.dumps({"model": "opus", **json.loads(settings_file.read_text())}, indent=2) + "\n")
    git_save(project, "the team's hook, and a key the template never writes")
    update(project)
    return project


def test_an_update_over_a_team_hook_leaves_no_conflicts(updated_with_team_hook):
    assert_no_conflicts(updated_with_team_hook)


def test_a_team_hook_that_starts_like_the_templates_survives_an_update(updated_with_team_hook):
    groups = post_tool_use(updated_with_team_hook)
    assert groups[-1] == TEAM_LINT_GROUP and groups.count(TEAM_LINT_GROUP) == 1


def test_a_key_the_template_never_writes_is_set_aside_and_back_at_the_end(updated_with_team_hook):
    settings = json.loads((updated_with_team_hook / ".claude" / "settings.json").read_text())
    assert settings["model"] == "opus" and list(settings)[-1] == "model", "set aside, and back at the end"


def test_the_releases_change_to_the_templates_hook_arrives_beside_the_teams(updated_with_team_hook):
    groups = post_tool_use(updated_with_team_hook)
    assert groups[0]["hooks"][0]["timeout"] == 45, "the release's change to the template's hook arrives"


# --- one table, both code paths ---------------------------------------------------------------
#
# Each row: an entry a repository's file holds, the answers, and who owns the entry. The copy
# path (ownership.fold_settings / fold_mcp, what a copy over a repository writes) and the
# update path (tasks/json_ownership.py before, run as Copier runs it) must both agree with it.

BROAD = {"stacks": ["python"], "python_tool": "uv", "permission_profile": "standard",
         "starter_hooks": ["format-on-edit"],
         "env_vars": {"LOG_LEVEL": "debug"}, "mcp_servers": ["github"],
         "custom_mcp_servers": {"docs": {"type": "http", "url": "https://docs.example.com/mcp"}}}
NARROW = {"stacks": [], "permission_profile": "cautious", "starter_hooks": [], "env_vars": {}, "mcp_servers": [],
          "custom_mcp_servers": {}}
BOOTSTRAP = '"${CLAUDE_PROJECT_DIR:-.}"/.claude/scripts/cloud-init.sh'
FORMAT = '"${CLAUDE_PROJECT_DIR:-.}"/.claude/hooks/format-on-edit.sh'


def group(*commands: str, **extra) -> dict:
    return {**extra, "hooks": [{"type": "command", "command": command} for command in commands]}


# (id, file, "item" of a list or "value" of a key, path, entry, answers, owner)
OWNERSHIP = [
    ("team rule", "settings", "item", ("permissions", "allow"), "Bash(make lint:*)", BROAD, "team"),
    ("stack rule, stack not chosen", "settings", "item", ("permissions", "allow"), "Bash(uv run pytest)", NARROW,
     "template"),
    ("deny rule", "settings", "item", ("permissions", "deny"), "Read(./**/.env)", NARROW, "template"),
    # A rule is the template's in the list it writes it in: the same string in ask is the team's.
    ("template allow rule in ask", "settings", "item", ("permissions", "ask"), "Bash(git add:*)", NARROW, "team"),
    ("template allow rule in deny", "settings", "item", ("permissions", "deny"), "Bash(git add:*)", BROAD, "team"),
    ("team rule in ask", "settings", "item", ("permissions", "ask"), "Bash(rm:*)", BROAD, "team"),
    ("env var the answers set", "settings", "value", ("env", "LOG_LEVEL"), "trace", BROAD, "template"),
    ("env var the answers do not set", "settings", "value", ("env", "LOG_LEVEL"), "trace", NARROW, "team"),
    ("team env var", "settings", "value", ("env", "TEAM_FLAG"), "1", BROAD, "team"),
    ("bootstrap hook, edited", "settings", "item", ("hooks", "SessionStart"), group(BOOTSTRAP), NARROW, "template"),
    ("starter hook, not chosen", "settings", "item", ("hooks", "PostToolUse"),
     group(FORMAT, matcher="Edit|Write|MultiEdit"), NARROW, "template"),
    ("team hook anchored like the template's", "settings", "item", ("hooks", "PostToolUse"),
     group(TEAM_LINT, matcher="Edit|Write"), BROAD, "team"),
    ("team hook script named like the template's", "settings", "item", ("hooks", "PostToolUse"),
     group('"${CLAUDE_PROJECT_DIR:-.}"/.claude/hooks/format-on-edit.sh --all'), BROAD, "team"),
    ("team hook", "settings", "item", ("hooks", "Stop"), group("echo done"), BROAD, "team"),
    ("team hook added to a template group", "settings", "item", ("hooks", "SessionStart"),
     group(BOOTSTRAP, "echo started"), BROAD, "template"),
    ("approval of a chosen server", "settings", "item", ("enabledMcpjsonServers",), "github", BROAD, "template"),
    ("approval of a custom server", "settings", "item", ("enabledMcpjsonServers",), "docs", BROAD, "template"),
    ("approval of a team server", "settings", "item", ("enabledMcpjsonServers",), "team-tool", BROAD, "team"),
    ("approval of a server the answers drop", "settings", "item", ("enabledMcpjsonServers",), "github", NARROW, "team"),
    ("$schema", "settings", "value", ("$schema",), "https://example.com/schema.json", BROAD, "template"),
    ("defaultMode", "settings", "value", ("permissions", "defaultMode"), "bypassPermissions", BROAD, "template"),
    ("a key the template never writes", "settings", "value", ("model",), "opus", BROAD, "team"),
    ("a permissions key the template never writes", "settings", "value", ("permissions", "additionalDirectories"),
     ["../shared"], BROAD, "team"),
    ("chosen server", "mcp", "value", ("mcpServers", "github"), {"type": "http", "url": "https://old.example.com"},
     BROAD, "template"),
    ("custom server", "mcp", "value", ("mcpServers", "docs"), {"type": "http", "url": "https://old.example.com"},
     BROAD, "template"),
    ("team server", "mcp", "value", ("mcpServers", "team-tool"), {"command": "team-mcp"}, BROAD, "team"),
    ("a key .mcp.json never has from the template", "mcp", "value", ("note",), "ours", BROAD, "team"),
]


def generated(file: str, answers: dict) -> dict:
    """What the template writes for `answers`, as the file templates call it."""
    from extensions.claude_json import bootstrap_hook_timeout, claude_settings
    from extensions.mcp import mcp_document
    from extensions.stacks import active_hooks, stack_view

    mcp = mcp_document(answers["mcp_servers"], answers["custom_mcp_servers"])
    if file == "mcp":
        return mcp
    view = stack_view(answers["stacks"], {"python": answers.get("python_tool")})
    return claude_settings(view, answers["permission_profile"], answers["env_vars"],
                           active_hooks(answers["starter_hooks"], answers["stacks"]),
                           bootstrap_hook_timeout(True, 600), mcp_names=list(mcp["mcpServers"]))


def with_entry(document: dict, kind: str, path: tuple, *entry) -> dict:
    """A copy of `document` with `entry` at `path`; without one, with just its list."""
    document = json.loads(json.dumps(document))
    *parents, last = path
    container = document
    for key in parents:
        container = container.setdefault(key, {})
    if kind == "item":
        container.setdefault(last, []).extend(entry)
    elif entry:
        container[last] = entry[0]
    return document


def holds(document: dict | None, kind: str, path: tuple, entry) -> bool:
    found = document or {}
    for key in path:
        if not isinstance(found, dict) or key not in found:
            return False
        found = found[key]
    return entry in found if kind == "item" else found == entry


def owner_on_copy(file: str, kind: str, path: tuple, entry, answers: dict) -> str:
    """The team's when the entry changes what a copy over the repository writes."""
    from extensions.ownership import fold_mcp, fold_settings

    fold = fold_mcp if file == "mcp" else fold_settings
    ours = generated(file, answers)
    with_it, without_it = with_entry(ours, kind, path, entry), with_entry(ours, kind, path)
    return "template" if fold(ours, with_it, answers) == fold(ours, without_it, answers) else "team"


def owner_on_update(project: Path, file: str, kind: str, path: tuple, entry, answers: dict) -> str:
    """The team's when the update's before stage sets the entry aside for the merge."""
    import subprocess
    import sys

    import yaml

    from helpers import ROOT

    names = {"settings": ".claude/settings.json", "mcp": ".mcp.json"}
    for name, relative in names.items():
        document = generated(name, answers) if name != "mcp" or answers["mcp_servers"] else {"mcpServers": {}}
        if name == file:
            document = with_entry(document, kind, path, entry)
        build_file_tree(project, {relative: json.dumps(document, indent=2) + "\n"})
    build_file_tree(project, {ANSWERS_FILE: yaml.safe_dump(answers)})
    git_save(project)
    subprocess.run([sys.executable, str(ROOT / "tasks" / "json_ownership.py"), "before", ANSWERS_FILE],
                   cwd=project, check=True)
    stash = json.loads((project / ".claude" / "state" / "update-team-entries.json").read_text())
    left = project / names[file]
    in_file = holds(json.loads(left.read_text()) if left.exists() else None, kind, path, entry)
    set_aside = holds(stash.get(file), kind, path, entry)
    assert in_file != set_aside, f"the entry must be in exactly one place (file: {in_file}, set aside: {set_aside})"
    return "team" if set_aside else "template"


@pytest.mark.parametrize(("file", "kind", "path", "entry", "answers", "owner"),
                         [row[1:] for row in OWNERSHIP], ids=[row[0] for row in OWNERSHIP])
def test_a_copy_and_an_update_agree_on_who_owns_each_entry(tmp_path, file, kind, path, entry, answers, owner):
    on_copy = owner_on_copy(file, kind, path, entry, answers)
    on_update = owner_on_update(tmp_path, file, kind, path, entry, answers)
    assert (on_copy, on_update) == (owner, owner)


def team_entries_at_the_ends(settings: dict, mcp: dict) -> tuple[dict, dict]:
    """A generated repository after a team added its own entries where editors append them."""
    settings, mcp = json.loads(json.dumps(settings)), json.loads(json.dumps(mcp))
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    settings["permissions"]["ask"] = ["Bash(rm:*)"]
    settings["permissions"]["additionalDirectories"] = ["../shared"]
    settings["env"]["TEAM_FLAG"] = "1"
    settings["hooks"].setdefault("PostToolUse", []).append(TEAM_LINT_GROUP)
    settings["hooks"]["Stop"] = [group("echo done")]
    settings.setdefault("enabledMcpjsonServers", []).append("team-tool")
    settings["model"] = "opus"
    mcp["mcpServers"]["team-tool"] = {"command": "team-mcp"}
    return settings, mcp


def test_an_update_that_merges_nothing_gives_the_team_entries_back_where_they_were(tmp_path):
    import subprocess
    import sys

    import yaml

    from helpers import ROOT

    settings, mcp = team_entries_at_the_ends(generated("settings", BROAD), generated("mcp", BROAD))
    files = {".claude/settings.json": json.dumps(settings, indent=2) + "\n",
             ".mcp.json": json.dumps(mcp, indent=2) + "\n"}
    build_file_tree(tmp_path, {**files, ANSWERS_FILE: yaml.safe_dump(BROAD)})
    git_save(tmp_path)
    for stage in ("before", "after"):
        subprocess.run([sys.executable, str(ROOT / "tasks" / "json_ownership.py"), stage, ANSWERS_FILE],
                       cwd=tmp_path, check=True)
    assert {relative: (tmp_path / relative).read_text() for relative in files} == files
    assert not (tmp_path / ".claude" / "state" / "update-team-entries.json").exists()


def test_a_copy_over_its_own_result_changes_nothing():
    from extensions.ownership import fold_mcp, fold_settings

    ours_settings, ours_mcp = generated("settings", BROAD), generated("mcp", BROAD)
    theirs_settings, theirs_mcp = team_entries_at_the_ends(generated("settings", NARROW), {"mcpServers": {}})
    once = fold_settings(ours_settings, theirs_settings, BROAD)
    assert fold_settings(ours_settings, once, BROAD) == once
    assert once["hooks"]["PostToolUse"] == [*ours_settings["hooks"]["PostToolUse"], TEAM_LINT_GROUP]
    assert once["permissions"]["allow"] == [*ours_settings["permissions"]["allow"], "Bash(make lint:*)"]
    once = fold_mcp(ours_mcp, theirs_mcp, BROAD)
    assert fold_mcp(ours_mcp, once, BROAD) == once
    assert list(once["mcpServers"]) == ["team-tool", "github", "docs"], "the file's order is kept, new servers after"


def test_a_rule_is_the_templates_only_in_the_list_the_template_writes_it_in():
    """A team that denies (or asks before) a command the template allows keeps that rule:
    the same string in another list is another rule."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ownership_lists", Path(__file__).parent.parent / "extensions" / "ownership.py")
    ownership = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ownership)
    document = {"permissions": {"allow": ["Bash(git add:*)", "Bash(make docs)"],
                                "deny": ["Bash(git add:*)", "Read(./**/.env)"],
                                "ask": ["Bash(git commit:*)"]}}
    template, team = ownership.split_settings(document, {"permission_profile": "standard"})
    assert template["permissions"] == {"allow": ["Bash(git add:*)"], "deny": ["Read(./**/.env)"], "ask": []}
    assert team["permissions"] == {"allow": ["Bash(make docs)"], "deny": ["Bash(git add:*)"],
                                   "ask": ["Bash(git commit:*)"]}
    joined = ownership.join_settings(template, team)
    assert joined["permissions"]["deny"] == ["Read(./**/.env)", "Bash(git add:*)"]
