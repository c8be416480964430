"""extensions/user_config.py on its own: what an import of a person's ~/.claude would bring, and
what it leaves out. No copy here (tests/test_import_user_config.py makes the real ones)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import frontmatter
import pytest

from extensions import user_config
from helpers import build_file_tree
from user_home import HOSTILE, TOKENS, make_hostile_home, make_home


def locations(home: Path) -> dict:
    return user_config.home_locations({"HOME": str(home)})


@pytest.fixture
def home(tmp_path) -> Path:
    make_home(tmp_path / "home", tmp_path / "project")
    return tmp_path / "home"


@pytest.fixture
def plan(home, tmp_path) -> dict:
    return user_config.build_plan(user_config.KINDS, tmp_path / "project", [], locations(home))


# --- the home ------------------------------------------------------------------------------


def test_the_home_is_claude_config_dir_when_set_with_its_claude_json(tmp_path):
    """As CLIs 2.0.55 and 2.1.332 find it: `${CLAUDE_CONFIG_DIR || homedir}/.claude.json`."""
    found = user_config.home_locations({"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")})
    assert found["folder"] == tmp_path / "cfg" and found["global"] == tmp_path / "cfg" / ".claude.json"
    found = user_config.home_locations({"HOME": str(tmp_path)})
    assert found["folder"] == tmp_path / ".claude" and found["global"] == tmp_path / ".claude.json"
    build_file_tree(tmp_path / ".claude", {".config.json": "{}"})  # the legacy file wins, as in the CLIs
    assert user_config.home_locations({"HOME": str(tmp_path)})["global"] == tmp_path / ".claude" / ".config.json"


def test_nothing_is_planned_for_no_choice_or_an_empty_home(tmp_path, home):
    assert user_config.build_plan([], tmp_path, [], locations(home))["record"] == {}
    assert user_config.found(locations(tmp_path / "empty"), tmp_path) == {}


def test_the_plan_brings_one_of_each_and_leaves_out_the_rest(plan):
    record = plan["record"]
    assert record["skills"] == ["release-notes"]
    assert record["commands"] == ["frontend/component"]
    assert record["agents"] == ["reviewer"]
    assert record["mcp_servers"] == ["tracker", "chat", "gitlab"]  # not the other project's server
    assert record["plugins"] == ["formatter@team-tools", "marketplace team-tools"]
    targets = {entry["target"] for entry in plan["files"]}
    assert targets == {".claude/skills/release-notes/SKILL.md", ".claude/skills/release-notes/scripts/run.sh",
                       ".claude/commands/frontend/component.md", ".claude/agents/reviewer.md",
                       ".claude/hooks/notify.sh"}
    notes = "\n".join(plan["notes"])
    for left_out in ("skills/cloud-environment", "skills/Bad Name", "skills/wrong-name", "release-notes: .env",
                     "notes.txt", "commands/check.md", "commands/no-front.md", "agents/test-fixer.md",
                     "/usr/local/bin/my-formatter", "$(whoami)", "local-dev", "Bash(*)", "Bash(npx:*)"):
        assert left_out in notes
    assert not any(token in notes for token in TOKENS.values()), "a report never quotes a secret"


def test_the_files_it_brings_pass_the_templates_own_frontmatter_checks(plan):
    for entry in plan["files"]:
        if entry["target"].endswith(".md"):
            meta = frontmatter.loads(Path(entry["source"]).read_text()).metadata
            assert isinstance(meta["description"], str) and meta["description"]


def test_executable_scripts_stay_executable(plan):
    executable = {entry["target"] for entry in plan["files"] if entry["executable"]}
    assert executable == {".claude/skills/release-notes/scripts/run.sh", ".claude/hooks/notify.sh"}


# --- hostile homes -----------------------------------------------------------------------------


def test_invalid_json_in_the_home_is_reported_and_nothing_is_read_from_it(tmp_path):
    build_file_tree(tmp_path / ".claude", {"settings.json": "{not json",
                                           "agents/a.md": "---\nname: a\ndescription: A.\n---\nx\n"})
    (tmp_path / ".claude.json").write_text("[1, 2]")
    plan = user_config.build_plan(user_config.KINDS, tmp_path / "p", [], locations(tmp_path))
    assert plan["record"] == {"agents": ["a"]}
    assert any("settings.json: not valid JSON" in note for note in plan["notes"])
    assert any(".claude.json: not a JSON object" in note for note in plan["notes"])


@pytest.mark.parametrize("nested", ["[" * 100_000 + "]" * 100_000, '{"mcpServers": {"a": {"command": "x", "env": '
                                    '{"K": ' + "[" * 900 + "]" * 900 + "}}}}"])
def test_a_deeply_nested_global_config_is_reported_not_a_recursion_error(tmp_path, nested):
    (tmp_path / ".claude.json").write_text(nested)
    build_file_tree(tmp_path / ".claude", {"settings.json": "[" * 100_000 + "]" * 100_000})
    plan = user_config.build_plan(user_config.KINDS, tmp_path / "p", [], locations(tmp_path))
    assert plan["mcp"] == {} and plan["record"] == {}
    assert any(note.startswith(".claude.json: nested") for note in plan["notes"])
    assert any(note.startswith("settings.json: nested") for note in plan["notes"])


@pytest.mark.parametrize("settings", [
    {"hooks": []}, {"hooks": {"Stop": {"x": 1}}}, {"hooks": {"Stop": [None, 3, {"hooks": "x"}]}},
    {"enabledPlugins": ["x"]}, {"permissions": {"allow": "Bash(ls)"}}, {"permissions": []},
    {"extraKnownMarketplaces": {"m": "github"}},
])
def test_values_of_the_wrong_type_import_nothing_and_break_nothing(tmp_path, settings):
    build_file_tree(tmp_path / ".claude", {"settings.json": json.dumps(settings)})
    plan = user_config.build_plan(user_config.KINDS, tmp_path / "p", [], locations(tmp_path))
    assert plan["record"] == {} and plan["settings"] == {}


@pytest.mark.parametrize("config", [
    {"mcpServers": ["x"]}, {"mcpServers": {"a": "x"}}, {"mcpServers": {"a": {"command": ["x"]}}},
    {"mcpServers": {"a": {"command": "x", "env": ["A"]}}}, {"mcpServers": {"a": {"command": "x", "args": "y"}}},
    {"mcpServers": {"a": {"type": "http"}}}, {"mcpServers": {"a": {"type": 3, "url": "https://x.example.com"}}},
    {"projects": []}, {"projects": {"/p": "x"}}, {"projects": {"/p": {"mcpServers": 3}}},
])
def test_a_global_config_of_the_wrong_shape_imports_nothing(tmp_path, config):
    (tmp_path / ".claude.json").write_text(json.dumps(config))
    plan = user_config.build_plan(["mcp_servers"], "/p", [], locations(tmp_path))
    assert plan["mcp"] == {} and plan["record"] == {}


def test_hostile_names_never_become_paths(tmp_path):
    folder = tmp_path / ".claude"
    skill = "---\nname: {0}\ndescription: x\n---\nx\n"
    build_file_tree(folder, {
        "skills/$(touch pwned)/SKILL.md": skill.format("x"),
        "skills/line\nbreak/SKILL.md": skill.format("x"),
        "commands/$(id).md": "---\ndescription: x\n---\nx\n",
        "commands/a b/c.md": "---\ndescription: x\n---\nx\n",
        "agents/`id`.md": "---\nname: x\ndescription: x\n---\nx\n",
    })
    (tmp_path / ".claude.json").write_text(json.dumps({"mcpServers": {"../evil": {"command": "x"},
                                                                     "a\nb": {"command": "x"}}}))
    plan = user_config.build_plan(user_config.KINDS, tmp_path / "p", [], locations(tmp_path))
    assert plan["files"] == [] and plan["mcp"] == {} and plan["record"] == {}
    assert all("\n" not in note for note in plan["notes"])


def test_symlinks_out_of_the_home_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    build_file_tree(outside, {"secret.txt": "private\n",
                              "skill/SKILL.md": "---\nname: linked\ndescription: x\n---\nx\n",
                              "agent.md": "---\nname: linked\ndescription: x\n---\nx\n"})
    folder = tmp_path / "home" / ".claude"
    build_file_tree(folder, {"skills/mine/SKILL.md": "---\nname: mine\ndescription: x\n---\nx\n",
                             "skills/other/SKILL.md": "---\nname: other\ndescription: x\n---\nx\n"})
    (folder / "skills" / "mine" / "data.txt").symlink_to(outside / "secret.txt")
    (folder / "skills" / "linked").symlink_to(outside / "skill")
    (folder / "agents").mkdir()
    (folder / "agents" / "linked.md").symlink_to(outside / "agent.md")
    plan = user_config.build_plan(user_config.KINDS, tmp_path / "p", [], locations(tmp_path / "home"))
    assert plan["record"] == {"skills": ["other"]}
    assert not any("outside" in entry["source"] for entry in plan["files"])


def test_huge_files_are_left_out(tmp_path):
    build_file_tree(tmp_path / ".claude", {"agents/big.md": "---\nname: big\ndescription: x\n---\n" + "x" * 300_000})
    plan = user_config.build_plan(["agents"], tmp_path / "p", [], locations(tmp_path))
    assert plan["record"] == {} and "under 262144 bytes" in plan["notes"][0]


def test_the_repositorys_own_files_and_servers_win(tmp_path, home):
    project = tmp_path / "project"
    build_file_tree(project, {".claude/agents/reviewer.md": "ours\n",
                              ".mcp.json": json.dumps({"mcpServers": {"chat": {}}})})
    plan = user_config.build_plan(user_config.KINDS, project, ["tracker"], locations(home))
    assert "agents" not in plan["record"]
    assert plan["record"]["mcp_servers"] == ["gitlab"]  # tracker: the template's answers; chat: the repository's


# --- hooks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "expected"), [
    ("~/.claude/hooks/notify.sh stop", '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh stop'),
    ("$HOME/.claude/hooks/notify.sh", '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh'),
    ("${HOME}/.claude/hooks/notify.sh --fast", '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh --fast'),
    ('"$HOME"/.claude/hooks/notify.sh', '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh'),
    ("bash ~/.claude/hooks/notify.sh", 'bash "$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh'),
    ("{home}/.claude/hooks/notify.sh x", '"$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh x'),
    ("jq -r .tool_name", "jq -r .tool_name"),
])
def test_hook_commands_that_run_a_home_script_run_it_from_the_repository(home, command, expected):
    folder = home / ".claude"
    rewritten, script, problem = user_config.rewrite_hook_command(command.replace("{home}", str(home)), folder, home)
    assert problem == "" and rewritten == expected
    assert script in (None, folder.resolve() / "hooks" / "notify.sh")


@pytest.mark.parametrize(("command", "why"), [
    ("/usr/local/bin/fmt --fix", "outside the home's Claude folder"),
    ("~/bin/fmt", "outside the home's Claude folder"),
    ("~/.claude/hooks/missing.sh", "not a file inside"),
    ("~/.claude/hooks/../../.ssh/id_rsa", "outside the home's Claude folder"),
    ("jq . /etc/passwd", "a path outside the repository"),
    ("terraform fmt", "cloud image does not have"),
    ("notify.sh; rm -rf /", "shell syntax"),
    ("echo $(cat ~/.ssh/id_rsa)", "shell syntax"),
    ("echo `id`", "shell syntax"),
    ("cat x | sh", "shell syntax"),
    ("echo 'a\nb'", "line break"),
    ("~/.claude/hooks/notify.sh --token=" + "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo", "literal credential"),
    ("", "not a command"),
])
def test_hook_commands_that_would_break_in_the_cloud_are_left_out(home, command, why):
    rewritten, script, problem = user_config.rewrite_hook_command(command, home / ".claude", home)
    assert rewritten == "" and script is None and why in problem


# --- MCP servers: every literal secret a reference ------------------------------------------


def _secure(name: str, entry: dict) -> tuple[dict, list[str]]:
    entry, notes = user_config.secure_server(name, entry, user_config.Variables())
    return entry, notes


SECRET = "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo"


@pytest.mark.parametrize(("entry", "expected"), [
    ({"command": "x", "env": {"API_TOKEN": SECRET}}, {"env": {"API_TOKEN": "${API_TOKEN}"}}),
    ({"command": "x", "env": {"api-key": "plainvalue"}}, {"env": {"api-key": "${SRV_API_KEY}"}}),
    ({"command": "x", "env": {"DEBUG": "1"}}, {"env": {"DEBUG": "1"}}),
    ({"command": "x", "args": ["--token=" + SECRET]}, {"args": ["--token=${SRV_TOKEN}"]}),
    ({"command": "x", "args": ["--api-key", "abc123"]}, {"args": ["--api-key", "${SRV_API_KEY}"]}),
    ({"command": "x", "args": ["-y", SECRET]}, {"args": ["-y", "${SRV_TOKEN}"]}),
    ({"command": "x", "args": ["-e", "GITHUB_TOKEN=" + SECRET]}, {"args": ["-e", "GITHUB_TOKEN=${GITHUB_TOKEN}"]}),
    ({"command": "x", "args": ["postgres://app:hunter2@db.example.com/app"]},
     {"args": ["postgres://app:${SRV_PASSWORD}@db.example.com/app"]}),
    ({"command": "x", "args": [f"https://{SECRET}@github.com/o/r.git"]},
     {"args": ["https://${SRV_TOKEN}@github.com/o/r.git"]}),
    ({"command": "npx",
      "args": ["mcp-remote", "https://x.example.com/mcp", "--header", "Authorization: Bearer abc123"]},
     {"args": ["mcp-remote", "https://x.example.com/mcp", "--header", "Authorization: Bearer ${SRV_TOKEN}"]}),
    ({"command": "x", "args": ["--header", "X-Api-Key:k9"]}, {"args": ["--header", "X-Api-Key:${SRV_X_API_KEY}"]}),
    ({"type": "http", "url": "https://x.example.com/mcp?api_key=abc&v=2"},
     {"url": "https://x.example.com/mcp?api_key=${SRV_API_KEY}&v=2"}),
    ({"type": "http", "url": "https://x.example.com/mcp", "headers": {"Authorization": "Bearer " + SECRET}},
     {"headers": {"Authorization": "Bearer ${SRV_TOKEN}"}}),
    ({"type": "http", "url": "https://x.example.com/mcp", "headers": {"X-Api-Key": "k1"}},
     {"headers": {"X-Api-Key": "${SRV_X_API_KEY}"}}),
    ({"type": "http", "url": "https://x.example.com/mcp", "headers": {"Authorization": "Bearer ${MINE}"}},
     {"headers": {"Authorization": "Bearer ${MINE}"}}),
])
def test_every_literal_secret_becomes_a_reference(entry, expected):
    secured, _ = _secure("srv", entry)
    for key, value in expected.items():
        assert secured[key] == value
    assert user_config.mcp._entry_problem("srv", secured) == ""


@pytest.mark.parametrize(("entry", "leaked"), [
    ({"command": "x", "env": {"DB_PASS": "dbpass1"}}, "dbpass1"),
    ({"command": "x", "env": {"PASSPHRASE": "phrase2"}}, "phrase2"),
    ({"command": "x", "env": {"GH_PAT": "patvalue3"}}, "patvalue3"),
    ({"command": "x", "env": {"CONNECTION_STRING": "Server=db;Password=connpw4"}}, "connpw4"),
    ({"command": "x", "env": {"ENC_KEY_B64": "c2VjcmV0NQ=="}}, "c2VjcmV0NQ=="),
    ({"command": "x", "env": {"USER_PIN": "4321"}}, "4321"),
    ({"command": "x", "args": ["--header=Authorization: Bearer hdrtok6"]}, "hdrtok6"),
    ({"command": "x", "args": ['--config={"apiKey":"jsonkey7"}']}, "jsonkey7"),
    ({"command": "x", "args": ["-p", "shortpw8"]}, "shortpw8"),
    ({"command": "x", "args": ["--pass", "passpw9"]}, "passpw9"),
    ({"command": "x", "args": ["--password", "longpw10"]}, "longpw10"),
    ({"command": "x", "args": ["-e", "DB_PASS=envpw11"]}, "envpw11"),
    ({"type": "http", "url": "https://x.example.com/mcp#access_token=frag12"}, "frag12"),
    ({"type": "http", "url": "https://x.example.com/mcp?k=aZ3kQ9pL2mX7wR4t"}, "aZ3kQ9pL2mX7wR4t"),
    ({"type": "http", "url": "https://x.example.com/mcp", "headers": {"X-Pass": "xpass13"}}, "xpass13"),
])
def test_secrets_under_other_names_and_shapes_become_references(entry, leaked):
    secured, _ = _secure("srv", entry)
    assert leaked not in json.dumps(secured)


def test_a_port_after_dash_p_stays():
    secured, _ = _secure("srv", {"command": "docker", "args": ["run", "-p", "8080:80", "img"]})
    assert secured["args"] == ["run", "-p", "8080:80", "img"]


@pytest.mark.parametrize(("args", "expected"), [
    (["-c", "TOKEN=cmdsecret17 node srv.js"], ["-c", "TOKEN=${TOKEN} node srv.js"]),
    (["--header", "Authorization:token abc123"], ["--header", "Authorization:token ${SRV_TOKEN}"]),
    (["--header", "Authorization: bearer abc123"], ["--header", "Authorization: bearer ${SRV_TOKEN}"]),
])
def test_a_reference_keeps_the_command_and_the_scheme_around_it(args, expected):
    secured, _ = _secure("srv", {"command": "sh", "args": args})
    assert secured["args"] == expected


def test_one_secret_is_one_variable_and_two_secrets_two(tmp_path):
    variables = user_config.Variables()
    first, _ = user_config.secure_server("a", {"command": "x", "env": {"TOKEN": "v1"}, "args": ["--token", "v1"]},
                                         variables)
    second, _ = user_config.secure_server("b", {"command": "x", "env": {"TOKEN": "v2"}}, variables)
    assert first["env"]["TOKEN"] == "${TOKEN}" and first["args"][1] == "${TOKEN}"
    assert second["env"]["TOKEN"] == "${TOKEN_2}"


def test_a_server_that_still_fails_the_templates_checks_is_left_out(tmp_path):
    """A password before the host of an http URL cannot stay there even as a reference."""
    (tmp_path / ".claude.json").write_text(json.dumps({"mcpServers": {
        "basic": {"type": "http", "url": "https://me:hunter22@x.example.com/mcp"},
        "plain": {"type": "http", "url": "http://x.example.com/mcp"},
        "ws": {"type": "ws", "url": "wss://x.example.com"},
        "keys": {"command": "x", "oauth": {"clientId": "c"}, "headersHelper": "get-token"},
    }}))
    plan = user_config.build_plan(["mcp_servers"], tmp_path / "p", [], locations(tmp_path))
    assert list(plan["mcp"]) == ["keys"] and plan["mcp"]["keys"] == {"type": "stdio", "command": "x"}
    assert plan["record"].get("variables") is None  # the variables of left-out servers are not listed
    assert not any("hunter22" in note for note in plan["notes"])


def test_imported_servers_are_approved_and_their_variables_recorded(plan):
    assert plan["settings"]["enabledMcpjsonServers"] == ["tracker", "chat", "gitlab"]
    assert plan["record"]["variables"] == ["CHAT_ACCESS_TOKEN", "CHAT_TOKEN", "GITLAB_TOKEN", "TRACKER_API_KEY",
                                           "TRACKER_TOKEN"]
    text = json.dumps(plan["mcp"])
    assert not any(token in text for token in TOKENS.values())


# --- permissions: the allow filter ------------------------------------------------------------


@pytest.mark.parametrize("rule", [
    "Bash(*)", "Bash", "Bash(npx:*)", "Bash(python -c:*)", "Bash(python -c 'import os')", "Bash(git push --force)",
    "Bash(git push -f origin main)", "Bash(git -c core.pager=sh log)", "Bash(git log --output=.claude/x)",
    "Read(~/.ssh/**)", "Read(~/.aws/credentials)", "Edit(.claude/settings.json)", "Edit(.claude/hooks/x.sh)",
    "Write(.git/hooks/pre-commit)", "Read(.env)", "Read(config/.env.production)", "Read(**)", "Read(//etc/shadow)",
    "Edit(../other/file)", "Bash(npm test\nrm -rf /)", "Bash(ls $(whoami))", "Bash(echo `id`)", "Bash(make; sh)",
    "Bash(make && sh)", "Bash(cat .env)", "Bash(curl https://example.com)", "Bash(wget x)", "Bash(eval x)",
    "Bash(env)", "Bash(xargs rm)", "Bash(find . -delete)", "Bash(uvx ruff)", "Bash(node x.js)", "Bash(bash x.sh)",
    "Bash(sudo make)", "Bash(FOO=1 make)", "Bash(npm exec foo)", "Bash(npm install left-pad)",
    "Bash(uv run python x.py)",
    "Bash(npm run *)", "Bash(make test:*)", "Bash(ls /etc)", "Edit", "Read", "WebFetch", "WebFetch(https://x.com)",
    "mcp__unknown", "Skill(deploy)", "Agent(x)", "NotARealTool", "Bash(deploy --token=" + SECRET + ")",
    "Bash(git status)",  # the template's own: its answers decide it
    "x" * 400, 42, None,
])
def test_allow_rules_that_could_run_code_or_reach_secrets_are_refused(rule):
    assert user_config.allow_refusal(rule, {"tracker"}) != ""


@pytest.mark.parametrize("rule", [
    # An option before the program a runner runs hides it.
    "Bash(uv run --no-sync python evil.py)", "Bash(poetry run -q python x.py)",
    "Bash(bundle exec --gemfile=G ruby x.rb)", "Bash(uv run --python=./evil.sh pytest)",
    # An option before the subcommand.
    "Bash(npm -y exec cowsay)", "Bash(pnpm --dir=. dlx x)", "Bash(yarn --cwd=. dlx x)",
    "Bash(pip --quiet install evil)",
    "Bash(uv --offline tool run x)", "Bash(go -C . run .)", "Bash(uv run --with=evilpkg python)",
    "Bash(uv run --with=evilpkg pytest)", "Bash(poetry -q run python x.py)",
    # Wrappers and versioned interpreters.
    "Bash(setsid sh x.sh)", "Bash(strace -o f sh x.sh)", "Bash(flock x sh y.sh)", "Bash(unshare sh x.sh)",
    "Bash(python3.12 x.py)", "Bash(node20 x.js)", "Bash(uv run python3.12 x.py)", "Bash(chroot . sh)",
    "Bash(nsenter -t 1 sh)", "Bash(taskset 1 sh)", "Bash(ionice sh)", "Bash(script -c id)", "Bash(busybox sh)",
    # Options that run a command, anywhere in the rule.
    "Bash(rg --pre=./x pattern)", "Bash(rg --pre ./x pattern)", "Bash(tar --to-command=id -xf a.tar)",
    "Bash(npm test --script-shell=./x)", "Bash(git fetch --upload-pack=./evil.sh .)", "Bash(git difftool -x ./evil)",
    "Bash(git difftool --extcmd=./evil)", "Bash(make SHELL=./evil.sh)", "Bash(git log --ext-diff)",
    "Bash(git push --receive-pack=./x)", "Bash(git rebase --exec ./x main)", "Bash(git -C ../other log)",
    "Bash(git --config-env=core.pager=X log)", "Bash(git log -c)", "Bash(make test CC=./evil)",
    "Bash(go test -exec ./evil ./...)", "Bash(go vet -vettool=./x)", "Bash(cargo test --config target.x.runner=./e)",
    "Bash(git --git-dir=../o/.git log)", "Bash(git grep -O./x main)", "Bash(git submodule foreach make)",
    "Bash(git bisect run make)", "Bash(npm explore pkg)", "Bash(npm init evil)", "Bash(ssh-agent sh)",
    "Bash(yarn node x.js)", "Bash(pdm run python x.py)", "Bash(man -P ./x ls)", "Bash(eslint --plugin x .)",
    # date prints any file (-f) and sets the clock (-s).
    "Bash(date:*)", "Bash(date -f .env)",
])
def test_allow_rules_that_hide_a_program_or_run_a_command_through_an_option_are_refused(rule):
    assert user_config.allow_refusal(rule, set()) != ""


@pytest.mark.parametrize("rule", [
    "Bash(make test)", "Bash(npm test)", "Bash(cargo test --all)", "Bash(ls:*)", "Bash(pwd)", "Read(docs/**)",
    "Bash(uv run pytest -q)", "Bash(npm run build)", "Bash(go test -v ./...)", "Bash(make lint)",
    "Bash(cargo test -p core)", "Bash(pwd:*)",
    "Read(src/**)", "Edit(src/app.py)", "Write(docs/notes.md)", "WebFetch(domain:docs.python.org)", "mcp__tracker",
    "mcp__tracker__search", "Glob", "Grep", "WebSearch",
])
def test_allow_rules_that_only_do_what_they_spell_are_kept(rule):
    assert user_config.allow_refusal(rule, {"tracker"}) == ""


def test_ask_and_deny_rules_are_kept_when_well_formed(tmp_path):
    build_file_tree(tmp_path / ".claude", {"settings.json": json.dumps({"permissions": {
        "ask": ["Bash(git push:*)", "Bash(\n)"],
        "deny": ["Bash(rm:*)", "Read(./secrets.txt)", "Weird(thing)", "Read(./**/.env)", "Bash(git add:*)"]}})})
    plan = user_config.build_plan(["permissions"], tmp_path / "p", [], locations(tmp_path))
    # Read(./**/.env) is the template's own deny, in every profile; Bash(git add:*), which the
    # template allows under standard, is a deny of the person's own, and kept.
    assert plan["settings"]["permissions"] == {"ask": ["Bash(git push:*)"],
                                               "deny": ["Bash(rm:*)", "Read(./secrets.txt)", "Bash(git add:*)"]}


# --- the recorded answer --------------------------------------------------------------------------


def test_the_record_passes_its_validator_and_holds_no_value(plan):
    assert user_config.record_problem(plan["record"]) == ""
    text = json.dumps(plan["record"])
    assert not any(token in text for token in TOKENS.values())


@pytest.mark.parametrize("value", [[], "x", {"skills": "x"}, {"other": []}, {"skills": ["a\nb"]},
                                   {"variables": ["lower"]}, {"skills": [1]}, {"skills": ["x -->"]}])
def test_the_validator_refuses_what_the_copy_never_records(value):
    assert user_config.record_problem(value) != ""


def test_a_render_inside_an_updates_migration_counts_as_the_update(monkeypatch):
    """tasks/old_release.py renders the old release with run_copy inside a migration: Copier sets
    COPIER_OPERATION=update for migrations, and the question neither asks nor reads the home."""
    monkeypatch.setenv("COPIER_OPERATION", "update")
    assert user_config._operation() == "update"


def test_reading_never_writes_to_the_home(home, tmp_path):
    before = {path: path.stat().st_mtime_ns for path in home.rglob("*")}
    os.chmod(home / ".claude.json", 0o444)
    user_config.build_plan(user_config.KINDS, tmp_path / "project", [], locations(home))
    assert {path: path.stat().st_mtime_ns for path in home.rglob("*")} == before


# --- a hostile home: secrets under other names and shapes ----------------------------------------


def test_no_secret_of_a_hostile_home_is_in_anything_the_import_writes_or_reports(tmp_path):
    make_hostile_home(tmp_path)
    plan = user_config.build_plan(user_config.KINDS, tmp_path / "p", [], locations(tmp_path))
    written = json.dumps([plan["settings"], plan["mcp"], plan["record"], plan["notes"],
                          user_config.summary_lines(plan["record"])])
    assert not [where for where, value in HOSTILE.items() if value in written]
    assert plan["record"]["mcp_servers"] == ["env", "args", "frag", "query", "head"]  # kept, with references
    assert plan["settings"]["hooks"]["Stop"] == [{"hooks": [{"type": "command", "command": "echo done"}]}]
    assert plan["settings"]["permissions"] == {"allow": ["Bash(make test)"], "deny": ["Bash(rm:*)"]}
    assert "extraKnownMarketplaces" not in plan["settings"]
    notes = "\n".join(plan["notes"])
    assert notes.count("hooks.Stop: a command left out: it holds") == 3
    assert "permissions.deny: a Bash rule left out: it holds" in notes and "a deny rule is left out too" in notes


@pytest.mark.parametrize(("command", "why"), [
    ("curl -u admin:pw1 https://x.example.com", "user:password"),
    ("curl -uadmin:pw1 https://x.example.com", "user:password"),
    ("curl -H X-Api-Key:pw2 https://x.example.com", "credential header"),
    ("curl -H Authorization:abc123 https://x.example.com", "credential header"),
    ("echo --token=abc", "--token"),
    ("echo --password abc", "--password"),
    ("mysql -ppw3 db", "glued to -p"),
    ("deploy DB_PASS=pw4", "DB_PASS"),
])
def test_a_hook_command_holding_a_secret_is_left_out(home, command, why):
    rewritten, script, problem = user_config.rewrite_hook_command(command, home / ".claude", home)
    assert rewritten == "" and problem.startswith("holds") and why in problem


def test_the_record_of_a_hook_is_its_script_or_program_never_its_command(plan):
    assert plan["record"]["hooks"] == ["Stop: notify.sh", "PostToolUse: notify.sh"]
    assert "hooks: 2 (Stop: notify.sh; PostToolUse: notify.sh)" in user_config.summary_lines(plan["record"])


@pytest.mark.parametrize("rule", ["Bash(mysql -ppw db)", "Bash(mysql -u root -ppw db)", "Bash(curl -u a:pw x)",
                                  "Bash(deploy --token=abc)", "Bash(tool --password abc)", "Bash(run DB_PASS=x)"])
def test_a_rule_holding_a_secret_is_refused_in_every_list(rule):
    assert user_config.rule_shape_problem(rule).startswith("holds")
    assert user_config.allow_refusal(rule).startswith("holds")


@pytest.mark.parametrize("rule", ["Bash(mysql -p db)", "Bash(git push:*)", "Bash(pwd:*)", "Bash(curl -u admin x)",
                                  "Bash(deploy --token=${TOKEN})"])
def test_rules_without_a_literal_secret_pass_the_secret_check(rule):
    assert not user_config.rule_shape_problem(rule).startswith("holds")


@pytest.mark.parametrize("source", [
    {"source": "url", "url": "https://m.example.com/market.json?k=mK7qP2zR9xL4wT8v"},
    {"source": "url", "url": "https://m.example.com/market.json#access_token=abc"},
    {"source": "git", "url": "https://m.example.com/m.git", "ref": "ghp_" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo"},
    {"source": "git", "url": "https://mK7qP2zR9xL4wT8v@m.example.com/m.git"},
])
def test_a_marketplace_with_a_secret_in_its_url_or_ref_is_left_out(source):
    assert "secret" in user_config._marketplace_problem({"source": source})
