"""Build .claude/settings.json from answers, and print JSON the way it merges best.

JSON is always rendered from data, never by joining strings: answer values cannot
break out of their string, and one entry per line with a fixed key order lets
`copier update` merge a team's additions line by line.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path

from jinja2.ext import Extension

# Copier runs extension files as modules of their own: the catalogue is loaded by its path.
_spec = importlib.util.spec_from_file_location("copier_claude_cloud_catalogue", Path(__file__).with_name("catalogue.py"))
catalogue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogue)

SCHEMA_URL = "https://json.schemastore.org/claude-code-settings.json"
# Every command the template registers starts here: anchored at the project, and still
# working when CLAUDE_PROJECT_DIR is empty. A team's hooks may start the same way, so
# extensions/ownership.py tells the template's by the whole command (template_commands()).
COMMAND_PREFIX = '"${CLAUDE_PROJECT_DIR:-.}"/.claude/'
BOOTSTRAP_COMMAND = COMMAND_PREFIX + "scripts/cloud-init.sh"
HOOK_COMMANDS = {
    # hook name -> (event, matcher, script, timeout in seconds)
    "format-on-edit": ("PostToolUse", "Edit|Write|MultiEdit", "format-on-edit.sh", 30),
}
# Hooks every project gets, whatever the answers: the guard refuses secret paths, writes into
# .claude/ and .git/ configuration, git --output/-c/config writes and force-pushes, in every
# profile (template/.claude/hooks/guard.sh; the team's override is .claude/guard-allow).
GUARD_HOOK = ("PreToolUse", "Bash|Read|Edit|Write|MultiEdit|NotebookEdit|Grep|Glob", "guard.sh", 10)

# Rules every profile shares: read the repository's state, and run the bootstrap by hand.
# Exact commands only: a prefix rule such as `git log:*` also allows `git log --output=FILE`,
# which writes anywhere (.claude/scripts/cloud-init.sh included).
BASE_ALLOW = [
    "Bash(git status)",
    "Bash(git diff)",
    "Bash(git diff --staged)",
    "Bash(git log)",
    "Bash(git log --oneline)",
    "Bash(git show)",
    "Bash(git branch)",
    "Bash(.claude/scripts/cloud-init.sh:*)",
]
EVERYDAY_GIT = ["Bash(git add:*)", "Bash(git commit:*)", "Bash(git switch:*)", "Bash(git checkout -b:*)", "Bash(git stash:*)"]
# Files that hold credentials: neither read nor written in any mode, bypassPermissions
# included. Read rules govern Claude's Read tool and what Grep searches (and, in 2.1 CLIs,
# `cat` of the path), not Bash as a whole: guard.sh refuses the same paths in Bash commands.
# `.env.*` takes `.env.example` too: a deny rule has no exception, and a project-wide Grep
# in CLI 2.0.55 reads every hidden file no deny rule names (tests/e2e/test_escapes.py, with
# `.env.qa`). The guard still lets a Bash command read an example.
SECRET_PATHS = [
    "./**/.env",
    "./**/.env.*",
    "./**/.npmrc",
    "./**/.pypirc",
    "./**/.netrc",
    "./**/.git-credentials",
    "./**/*.pem",
    "./**/*.key",
    "./**/*.p12",
    "./**/*.pfx",
    "./**/*.tfvars",
    "./**/id_rsa",
    "./**/id_dsa",
    "./**/id_ecdsa",
    "./**/id_ed25519",
    "./secrets/**",
    "~/.ssh/**",
    "~/.aws/**",
    "~/.azure/**",
    "~/.config/gcloud/**",
    "~/.config/gh/**",
    "~/.docker/config.json",
    "~/.kube/**",
    "~/.npmrc",
    "~/.pypirc",
    "~/.netrc",
    "~/.git-credentials",
]
# What a session runs later without asking: its settings, scripts and hooks.
SESSION_CONFIG = [
    "./.claude/settings.json",
    "./.claude/settings.local.json",
    "./.claude/scripts/**",
    "./.claude/hooks/**",
    "./.claude/guard-allow",
]
# git forms that write files or run configured code (guard.sh also refuses `--output`
# anywhere in a git command, which a prefix rule cannot say).
DENY_BASH = [
    "Bash(git -c:*)",
    "Bash(git config:*)",
    "Bash(git push --force:*)",
    "Bash(git push -f:*)",
    "Bash(git log --output:*)",
    "Bash(git diff --output:*)",
    "Bash(git show --output:*)",
]
DENY = (
    [f"Read({path})" for path in SECRET_PATHS]
    + [f"Edit({path})" for path in SECRET_PATHS + SESSION_CONFIG]
    + DENY_BASH
)
PROFILES = {
    # profile -> (defaultMode, include the stacks' rules, include everyday git, turn on the sandbox)
    "cautious": ("default", False, False, False),
    "standard": ("default", True, True, False),
    "autonomous": ("acceptEdits", True, True, True),
}
# Under autonomous, file edits need no approval, so code Claude writes runs through an allowed
# command (the test command runs the tests it just wrote), and no permission rule sees what that
# code does. Claude Code's sandbox confines it: with CLI 2.1 and bubblewrap (tests/e2e saw it with
# 2.1.332), the Read and Edit deny rules hold for every process the command starts, writes stay in
# the project, and a new host asks. `autoAllowBashIfSandboxed: false`: the sandbox never widens
# what runs without asking (its default would allow every sandboxed command); and
# `allowUnsandboxedCommands: false`: a command cannot ask to leave it. The other profiles do
# not need it: there nothing Claude writes runs without a person's approval.
SANDBOX = {"enabled": True, "autoAllowBashIfSandboxed": False, "allowUnsandboxedCommands": False}
# Rules older releases wrote and this one no longer does: still the template's, so an update
# removes them instead of keeping them as the team's (extensions/ownership.py). The git
# prefixes allowed `--output`; the stacks' retired rules are the catalogue's `retired_allow`.
RETIRED_RULES = [
    "Bash(git status:*)",
    "Bash(git diff:*)",
    "Bash(git log:*)",
    "Bash(git show:*)",
    "Read(./**/.env)",
    "Read(./**/.env.local)",
    "Read(./**/.env.*.local)",
    "Read(./**/.env.production)",
    "Read(./**/*.pem)",
    "Read(./**/*.key)",
    "Read(./secrets/**)",
    "Read(~/.ssh/**)",
    "Read(~/.aws/**)",
    "Edit(./**/.env)",
    "Edit(./**/.env.production)",
]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def permissions(view: list[dict], profile: str) -> dict:
    """Rules that change with the answers come first and the stable ones last, so a rule a
    team appends at the end of a list sits beside lines no template update touches, and
    `copier update` merges both without a conflict."""
    mode, with_stacks, with_git, _ = PROFILES[profile]
    allow: list[str] = []
    if with_stacks:
        for stack in view:
            allow += stack_rules(stack["commands"], stack["install"], stack["allow"])
    if with_git:
        allow += EVERYDAY_GIT
    allow += BASE_ALLOW
    return {"allow": _unique(allow), "deny": list(DENY), "defaultMode": mode}


def stack_rules(commands: Mapping, install, extra) -> list[str]:
    """A stack's allow rules: its test, lint and format commands and its locked install, each
    as an exact command (no `:*`: `uv run:*` or `npx:*` would run anything), then the
    catalogue's own exact rules. Only the install form that runs from a lock file (its `if`
    names one) installs exactly what the repository pinned; the others, and multi-line
    ones, are left to ask."""
    rules = [f"Bash({command})" for command in commands.values() if command]
    rules += [f"Bash({form['run']})" for form in install
              if any("lock" in name for name in form.get("if", ())) and "\n" not in form["run"]]
    return rules + list(extra)


def all_stack_rules() -> list[str]:
    """Every rule stack_rules() can write, for any stack and tool of the catalogue."""
    rules = []
    for stack in catalogue.stacks().values():
        for tool in stack["tools"].values():
            commands = tool.get("commands") or stack["commands"]
            commands = {key: value.format(run=tool["run"]) for key, value in commands.items()}
            rules += stack_rules(commands, tool["install"], [*stack.get("allow", ()), *tool.get("allow", ())])
    return list(dict.fromkeys(rules))


def bootstrap_hook_timeout(background: bool, step_timeout: int) -> int:
    """Seconds Claude Code gives the SessionStart hook: more than all that can block it.

    In the background the hook only hashes, writes exports and starts a worker. In the
    foreground it runs two batches, the template's steps and then the team's (from
    .claude/scripts/cloud-init.d/), each batch in parallel and each step at most
    step_timeout plus timeout's 10 s kill grace; a run that overlaps it waits for its lock
    no longer than one step."""
    return 60 if background else 2 * (step_timeout + 10) + 60


def hook_command(script: str) -> str:
    return f"{COMMAND_PREFIX}hooks/{script}"


def hooks(starter_hooks: list[str], bootstrap_timeout: int) -> dict:
    events: dict[str, list] = {
        # No matcher: the bootstrap must re-export env on startup, resume, clear and compact.
        "SessionStart": [{"hooks": [{"type": "command", "command": BOOTSTRAP_COMMAND, "timeout": bootstrap_timeout}]}]
    }
    for event, matcher, script, timeout in [GUARD_HOOK, *(HOOK_COMMANDS[name] for name in starter_hooks or [])]:
        events.setdefault(event, []).append(
            {"matcher": matcher, "hooks": [{"type": "command", "command": hook_command(script), "timeout": timeout}]}
        )
    return events


def claude_settings(
    view: list[dict],
    profile: str,
    env_vars: Mapping | None,
    starter_hooks: list[str],
    bootstrap_timeout: int,
    mcp_names: list[str] | None = None,
) -> dict:
    """The whole settings.json for these answers. On a copy over a repository, the template
    folds the team's part of the file that was there into it (extensions/ownership.py)."""
    settings = {
        "$schema": SCHEMA_URL,
        "permissions": permissions(view, profile),
        "env": {name: _env_value(value) for name, value in (env_vars or {}).items()},
        "hooks": hooks(starter_hooks, bootstrap_timeout),
    }
    if PROFILES[profile][3]:
        settings["sandbox"] = dict(SANDBOX)
    if mcp_names:
        # The servers the team chose are approved: CLIs before 2.1 skip unapproved
        # .mcp.json servers even in -p mode (seen with 2.0.55 in tests/e2e).
        settings["enabledMcpjsonServers"] = list(mcp_names)
    return settings


def template_owned_rules(kind: str | None = None) -> set[str]:
    """Every permission rule any answer can make the template write in the list `kind`
    (allow, deny or ask), or in any list. A rule is the template's in the list it writes it
    in: a team's deny of a command the template allows stays the team's."""
    retired = set(RETIRED_RULES) | set(catalogue.load().get("retired_allow", ()))
    allow = set(BASE_ALLOW) | set(EVERYDAY_GIT) | set(all_stack_rules()) | set(catalogue.all_allow_rules())
    owned = {"allow": allow | retired, "deny": set(DENY) | retired, "ask": set()}
    return owned[kind] if kind else owned["allow"] | owned["deny"]


def template_commands() -> set[str]:
    """Every hook command any answer can make the template register."""
    scripts = [GUARD_HOOK[2], *(script for _, _, script, _ in HOOK_COMMANDS.values())]
    return {BOOTSTRAP_COMMAND} | {hook_command(script) for script in scripts}


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_document(data: object) -> str:
    """Two-space JSON, one entry per line, keys in the order given, UTF-8 kept readable.
    No trailing newline: the template file supplies it."""
    return json.dumps(data, indent=2, ensure_ascii=False)


class ClaudeJson(Extension):
    """Global `claude_settings(...)` and filter `json_document`."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["claude_settings"] = claude_settings
        environment.globals["bootstrap_hook_timeout"] = bootstrap_hook_timeout
        environment.filters["json_document"] = json_document
