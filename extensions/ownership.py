"""Which entries of .claude/settings.json and .mcp.json are the template's, and which the team's.

The one place that decides it, for both times the template meets a file it wrote before:

- a copy over a repository (`copier copy --overwrite`, `copier recopy`): the team's part of
  the file that was there is folded into the new one (`fold_settings`, `fold_mcp`);
- every `copier update`: the team's part steps aside for Copier's merge and comes back
  after it (tasks/json_ownership.py, with `split_*` and `join_*`).

For a set of answers, the template owns:

- a permission rule that the template writes, for some answers, in that list (allow or deny;
  claude_json.template_owned_rules(kind)): the same string in the same list is the same rule,
  whoever added it; a team's deny (or ask) of a command the template allows is the team's;
- a hook group that runs a command the template registers, compared exactly: the bootstrap,
  the guard hook, or a starter hook's script (claude_json.template_commands()). A team's hook anchored the
  same way, `"${CLAUDE_PROJECT_DIR:-.}"/.claude/hooks/team-lint.sh`, is the team's, and so
  is a template group whose command the team rewrote; a team's hook added to a template
  group goes with the group;
- an env var that the answers' `env_vars` names;
- an approval (enabledMcpjsonServers) and an .mcp.json server that the answers name
  (`mcp_servers`, `custom_mcp_servers`);
- the keys it writes: `$schema` and `permissions.defaultMode`.

Everything else is the team's: other rules, env vars, hook groups, approvals and servers,
and every other key (`model`, `permissions.additionalDirectories`, ...).

Which answers: an update splits the file with the answers that wrote it (the answers file
before the update). A copy can only use the answers it is rendering: it cannot see the old
ones. So on a recopy an env var, approval or MCP server that the old answers wrote and the
new ones drop looks like the team's, and stays (as before this module); `copier update`
with the new answers removes it. Rules and hook commands do not depend on the answers, so
a recopy with narrower answers narrows those.

This release decides for files older releases wrote. A release that stops generating a
rule, hook command or key must keep claiming it (template_owned_rules(), template_commands(),
TEMPLATE_KEYS), or an update will take what an older release wrote for the team's, and keep it.

Copier loads this file by path (copier_template_extensions.<stem>), and tasks load it with
importlib, so it loads claude_json.py by path too: the one of the same template version.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path

from jinja2 import pass_context
from jinja2.ext import Extension

# The answers ownership depends on.
ANSWERS = ("env_vars", "mcp_servers", "custom_mcp_servers", "permission_profile")
RULE_LISTS = ("allow", "deny", "ask")
# Keys the template writes whatever the answers, at the top level and in `permissions`.
TEMPLATE_KEYS = {"$schema"}
TEMPLATE_PERMISSION_KEYS = {"defaultMode"}
# The template's key order at the top of each file.
SETTINGS_ORDER = ("$schema", "permissions", "env", "hooks", "sandbox", "enabledMcpjsonServers")
MCP_ORDER = ("mcpServers",)


def _load_sibling(name: str):
    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"copier_claude_cloud_ownership_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_claude_json = _load_sibling("claude_json")


class Owned:
    """What the template owns for `answers` (a mapping with the keys in ANSWERS). On an
    update, `old` is the settings.json the old release wrote for the answers (rendered
    again, tasks/old_release.py): its rules and hook commands are the template's too, so a
    rule or hook that a release removes is not mistaken for the team's and kept."""

    def __init__(self, answers: Mapping, old: Mapping | None = None):
        self.rules = {kind: _claude_json.template_owned_rules(kind) | old_rules(old, kind) for kind in RULE_LISTS}
        self.commands = set(_claude_json.template_commands()) | old_commands(old)
        self.env = set(answers.get("env_vars") or {})
        self.servers = set(answers.get("mcp_servers") or []) | set(answers.get("custom_mcp_servers") or {})
        # The sandbox block is the template's when this profile, or the old release, wrote it
        # exactly so; a team's own sandbox settings (any other value) stay the team's.
        profile = _claude_json.PROFILES.get(answers.get("permission_profile"))
        self.sandbox = bool(profile and profile[3]) or (old or {}).get("sandbox") == _claude_json.SANDBOX

    def rule(self, rule: object, kind: str) -> bool:
        return isinstance(rule, str) and rule in self.rules[kind]

    def sandbox_block(self, value: object) -> bool:
        return self.sandbox and value == _claude_json.SANDBOX

    def env_var(self, name: str) -> bool:
        return name in self.env

    def server(self, name: object) -> bool:
        return isinstance(name, str) and name in self.servers

    def hook_group(self, group: object) -> bool:
        """Whether one of the group's hooks runs a template command, exactly."""
        hooks = group.get("hooks") if isinstance(group, Mapping) else None
        return isinstance(hooks, list) and any(
            isinstance(hook, Mapping) and isinstance(hook.get("command"), str) and hook["command"] in self.commands
            for hook in hooks
        )


def old_rules(old: Mapping | None, kind: str | None = None) -> set[str]:
    """Every permission rule of a settings.json document's list `kind`, or of all its lists."""
    permissions = old.get("permissions") if isinstance(old, Mapping) else None
    if not isinstance(permissions, Mapping):
        return set()
    return {rule for name in ((kind,) if kind else RULE_LISTS) if isinstance(permissions.get(name), list)
            for rule in permissions[name] if isinstance(rule, str)}


def old_commands(old: Mapping | None) -> set[str]:
    """Every hook command of a settings.json document."""
    hooks = old.get("hooks") if isinstance(old, Mapping) else None
    if not isinstance(hooks, Mapping):
        return set()
    return {hook["command"] for groups in hooks.values() if isinstance(groups, list) for group in groups
            if isinstance(group, Mapping) and isinstance(group.get("hooks"), list)
            for hook in group["hooks"] if isinstance(hook, Mapping) and isinstance(hook.get("command"), str)}


def _split(items, is_template: Callable[[object], bool]):
    """(the template's part, the team's part) of a list, or of a mapping by its keys."""
    if isinstance(items, Mapping):
        return ({k: v for k, v in items.items() if is_template(k)},
                {k: v for k, v in items.items() if not is_template(k)})
    return [i for i in items if is_template(i)], [i for i in items if not is_template(i)]


def split_settings(document: Mapping, answers: Mapping, old: Mapping | None = None) -> tuple[dict, dict]:
    """(template part, team part) of a parsed settings.json, each in the document's key order.

    Both parts keep the containers the document has (`permissions`, its rule lists, `env`,
    `hooks`), empty where they own nothing; a hook event, and `enabledMcpjsonServers`, only
    where the part has entries in it (an empty `enabledMcpjsonServers` is the team's).
    `old`: what the old release wrote, on an update (see Owned)."""
    owned = Owned(answers, old)
    template: dict = {}
    team: dict = {}
    for key, value in document.items():
        if key == "permissions" and isinstance(value, Mapping):
            template[key], team[key] = {}, {}
            for name, item in value.items():
                if name in RULE_LISTS and isinstance(item, list):
                    template[key][name], team[key][name] = _split(item, lambda rule, kind=name: owned.rule(rule, kind))
                elif name in TEMPLATE_PERMISSION_KEYS:
                    template[key][name] = item
                else:
                    team[key][name] = item
        elif key == "env" and isinstance(value, Mapping):
            template[key], team[key] = _split(value, owned.env_var)
        elif key == "hooks" and isinstance(value, Mapping):
            template[key], team[key] = {}, {}
            for event, groups in value.items():
                if not isinstance(groups, list):
                    team[key][event] = groups
                    continue
                mine, theirs = _split(groups, owned.hook_group)
                if mine:
                    template[key][event] = mine
                if theirs:
                    team[key][event] = theirs
        elif key == "enabledMcpjsonServers" and isinstance(value, list):
            mine, theirs = _split(value, owned.server)
            if mine:
                template[key] = mine
            if theirs or not mine:
                team[key] = theirs
        elif key == "sandbox" and owned.sandbox_block(value):
            template[key] = value
        elif key in TEMPLATE_KEYS:
            template[key] = value
        else:
            team[key] = value
    return template, team


def split_mcp(document: Mapping, answers: Mapping) -> tuple[dict, dict]:
    """(template part, team part) of a parsed .mcp.json. Both have `mcpServers`, maybe empty;
    every other key is the team's."""
    owned = Owned(answers)
    servers = document.get("mcpServers")
    template, theirs = _split(servers if isinstance(servers, Mapping) else {}, owned.server)
    team = {key: theirs if key == "mcpServers" else value for key, value in document.items()}
    team.setdefault("mcpServers", theirs)
    return {"mcpServers": template}, team


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _appended(ours: object, theirs: object) -> object:
    """`ours` and then each of `theirs` it does not hold yet (lists; otherwise `ours`)."""
    if not (isinstance(ours, list) and isinstance(theirs, list)):
        return ours
    joined = list(ours)
    for item in theirs:
        if item not in joined:
            joined.append(item)
    return joined


def _joined(template: Mapping, team: Mapping, layout: Mapping, prefer_team: bool = False) -> dict:
    """The keys of both, in `layout`'s order where it has them, the template's next, the
    team's last; the template's value where both have a key (the team's, with prefer_team)."""
    keys = [k for k in layout if k in template or k in team] + [*template] + [*team]
    first, second = (team, template) if prefer_team else (template, team)
    return {key: first[key] if key in first else second[key] for key in dict.fromkeys(keys)}


def join_settings(template: Mapping, team: Mapping, layout: Mapping | None = None, prefer_team: bool = False) -> dict:
    """One settings.json from a template part and a team part: in each list the template's
    entries first, then the team's it lacks; mappings in `layout`'s key order (the file
    the team part came from; the template part by default), new keys after; the top level
    in the template's order. Where both have an env var of the same name, the template's
    value (the team's, with prefer_team: an update shows both sides of that conflict)."""
    layout = template if layout is None else layout
    joined = _joined(template, team, layout)
    if "permissions" in joined:
        ours, theirs = _mapping(template.get("permissions")), _mapping(team.get("permissions"))
        permissions = _joined(ours, theirs, _mapping(layout.get("permissions")))
        for key in RULE_LISTS:
            if key in ours and key in theirs:
                permissions[key] = _appended(ours[key], theirs[key])
        joined["permissions"] = permissions
    if "env" in joined:
        joined["env"] = _joined(_mapping(template.get("env")), _mapping(team.get("env")), _mapping(layout.get("env")),
                                prefer_team)
    if "hooks" in joined:
        hooks = dict(_mapping(template.get("hooks")))
        for event, groups in _mapping(team.get("hooks")).items():
            hooks[event] = _appended(hooks[event], groups) if event in hooks else groups
        joined["hooks"] = hooks
    if "sandbox" in team:  # the team's own sandbox settings win over the profile's
        joined["sandbox"] = team["sandbox"]
    if "enabledMcpjsonServers" in template and "enabledMcpjsonServers" in team:
        joined["enabledMcpjsonServers"] = _appended(template["enabledMcpjsonServers"], team["enabledMcpjsonServers"])
    return {key: joined[key] for key in [*SETTINGS_ORDER, *joined] if key in joined}


def join_mcp(template: Mapping, team: Mapping, layout: Mapping | None = None, prefer_team: bool = False) -> dict:
    """One .mcp.json from a template part and a team part, ordered as in join_settings; a
    server of the same name in both is the template's (the team's, with prefer_team)."""
    layout = template if layout is None else layout
    joined = _joined(template, team, layout)
    joined["mcpServers"] = _joined(_mapping(template.get("mcpServers")), _mapping(team.get("mcpServers")),
                                   _mapping(layout.get("mcpServers")), prefer_team)
    return {key: joined[key] for key in [*MCP_ORDER, *joined] if key in joined}


def fold_settings(generated: dict, existing: Mapping | None, answers: Mapping) -> dict:
    """The settings a copy writes: `generated`, and the team's part of `existing` (the
    destination's own file, on a copy) where it was."""
    if not existing:
        return generated
    return join_settings(generated, split_settings(existing, answers)[1], layout=existing)


def fold_mcp(generated: dict, existing: Mapping | None, answers: Mapping) -> dict:
    """The .mcp.json a copy writes: `generated`, and the team's part of `existing`."""
    if not existing:
        return generated
    return join_mcp(generated, split_mcp(existing, answers)[1], layout=existing)


def _answers(context) -> dict:
    return {name: context.get(name) for name in ANSWERS}


@pass_context
def _fold_settings_with_answers(context, generated: dict, existing: Mapping | None) -> dict:
    return fold_settings(generated, existing, _answers(context))


@pass_context
def _fold_mcp_with_answers(context, generated: dict, existing: Mapping | None) -> dict:
    return fold_mcp(generated, existing, _answers(context))


class Ownership(Extension):
    """Globals `fold_settings(generated, existing)` and `fold_mcp(generated, existing)`,
    which decide ownership with the answers being rendered."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["fold_settings"] = _fold_settings_with_answers
        environment.globals["fold_mcp"] = _fold_mcp_with_answers
