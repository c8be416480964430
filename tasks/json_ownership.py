"""On every update, the team's own entries in the JSON files step aside for Copier's merge.

Copier merges text. In JSON a team's addition at the end of a list or object edits the line
before it (a comma), so a template release that changes the same end of the list conflicts
with it, though the two never touch the same entry. So, per file, the team's part (the
entries this template never writes: permission rules, env vars not in the answers, hook
groups that run no template command, approvals and MCP servers not in the answers, other
keys; extensions/ownership.py decides, as it does for a copy over a repository) is:

before: set aside in the gitignored .claude/state/ and taken out of the files (and the
        index, which Copier diffs), so the merge sees only template-owned content. What is
        left is written as the template writes it (2-space indent, the template's key
        order), so a file the team's editor reformatted does not conflict by its layout;
        the update says when it did that.
after:  appended again at the end of their lists and objects. Where the merge left conflict
        markers (the team and the release changed the same template-owned entry), they are
        appended to each side of the conflict, and the markers kept around what differs, so
        no team entry stays behind in the stash; check_update.py then fails the update.

Ownership is decided with the answers that wrote the files (the answers file before the
update). The team's edits to template-owned entries stay in the merge, as with any file;
but a line merge can settle a collision on one without a conflict (two JSON blocks look
alike), so the team's edits and deletions of the template's env vars and MCP servers, which
the old answers say the values of, are recorded too, and `after` shows a conflict where the
merge did not keep one. So does a team entry whose name the new answers write too.
tests/test_update_properties.py holds all of it to: no team entry lost, every collision shown.
Usage: json_ownership.py before|after ANSWERS_FILE (run by Copier in the project's folder).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import old_release  # noqa: E402  (a sibling: tasks/ is not a package in Copier's checkout)

TEMPLATE = Path(__file__).resolve().parent.parent  # Copier's checkout of the template

SETTINGS = Path(".claude/settings.json")
MCP = Path(".mcp.json")
STASH = Path(".claude/state/update-team-entries.json")


def _ownership():
    """This release's extensions/ownership.py: which entries the template owns."""
    path = Path(__file__).resolve().parent.parent / "extensions" / "ownership.py"
    spec = importlib.util.spec_from_file_location("copier_claude_cloud_ownership", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unique_keys(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def loads(text: str) -> object:
    """json.loads, but a key twice in one object is an error, not the last one winning: a
    merge can leave a key twice (both sides of a conflict, say), and reading that as one
    would drop the other silently."""
    return json.loads(text, object_pairs_hook=_unique_keys)


def load_object(text: str) -> dict | None:
    """The JSON object `text` holds (by `loads`), or None when it holds none."""
    try:
        data = loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _order_like(value: object, reference: object) -> object:
    """`value` with each mapping's keys in `reference`'s order, recursively; a list's items
    each ordered like the union of the reference list's items. A mapping whose keys that
    the reference knows are already in its order is kept as it is (a team's own key inside
    a template entry stays where the team put it); otherwise the reference's keys come
    first, in its order, and the others after them, in their own order."""
    if isinstance(value, dict):
        ref = reference if isinstance(reference, dict) else {}
        known = [key for key in value if key in ref]
        if known == [key for key in ref if key in value]:
            keys = list(value)
        else:
            keys = [key for key in ref if key in value] + [key for key in value if key not in ref]
        return {key: _order_like(value[key], ref.get(key)) for key in keys}
    if isinstance(value, list):
        union: object = None
        for item in reference if isinstance(reference, list) else []:
            union = _union(union, item)
        return [_order_like(item, union) for item in value]
    return value


def _union(a: object, b: object) -> object:
    """One reference shape with the keys of both, `a`'s order first."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b if a is None else a
    return {key: _union(a.get(key), b.get(key)) for key in [*a, *(k for k in b if k not in a)]}


def _mcp_module(ownership):
    """extensions/mcp.py of this release, loaded once per ownership module."""
    if not hasattr(ownership, "mcp_module"):
        ownership.mcp_module = ownership._load_sibling("mcp")
    return ownership.mcp_module


def _reference(kind: str, answers: dict, ownership) -> dict:
    """A document in the template's own key order for these answers: the bootstrap hook and
    every starter hook, the profile's keys, the answers' env vars and MCP servers."""
    claude_json = ownership._claude_json
    servers: dict = {}
    try:
        mcp = _mcp_module(ownership)
        document = mcp.mcp_document(answers.get("mcp_servers") or [], answers.get("custom_mcp_servers") or {})
        servers = document["mcpServers"]
    except Exception:  # noqa: BLE001 (an answer this release's catalog lacks: no order for servers)
        servers = {}
    if kind == "mcp":
        return {"mcpServers": servers}
    return claude_json.claude_settings([], "autonomous", answers.get("env_vars") or {},
                                       list(claude_json.HOOK_COMMANDS), 60, mcp_names=list(servers))


def normalise(kind: str, document: dict, answers: dict, ownership=None) -> dict:
    """`document` in the template's key order where the template's keys are out of it (a
    file the team's editor sorted, say); already in order, it is returned unchanged."""
    ownership = ownership or _ownership()
    return _order_like(document, _reference(kind, answers, ownership))


def split_text(kind: str, text: str, answers: dict, ownership=None, old: dict | None = None
               ) -> tuple[dict, dict, bool] | None:
    """(template part, team part, reformatted) of one file's text, the part to merge laid out
    as the template writes it: 2-space indent, the template's key order. `reformatted` says
    whether the file was laid out otherwise (other indent, sorted keys). None when the text
    is not a JSON object (then the file goes through the merge as it is)."""
    ownership = ownership or _ownership()
    document = load_object(text)
    if document is None:
        return None
    document = normalise(kind, document, answers, ownership)
    reformatted = _dumps(document) != text
    if kind == "settings":
        template, team = ownership.split_settings(document, answers, old)
    else:
        template, team = ownership.split_mcp(document, answers)
    return template, team, reformatted


FILES = {"settings": SETTINGS, "mcp": MCP}


def before_texts(texts: dict, answers: dict, ownership=None, old_settings: dict | None = None
                 ) -> tuple[dict, dict, list[str]]:
    """The before stage on the files' texts ({"settings": text or None, "mcp": ...}, None for
    no file): (the texts Copier's merge is to see, None for no file; the team's part to set
    aside; lines to print). A file that is not a JSON object goes through the merge as it is.
    `old_settings`: the settings.json the old release wrote for these answers, when known:
    its rules and hooks are the template's, and a rule of it the team deleted stays deleted."""
    ownership = ownership or _ownership()
    merge, team, lines = dict(texts), {}, []
    for kind, text in texts.items():
        split = None if text is None else split_text(kind, text, answers, ownership, old_settings)
        if split is None:
            continue
        template, theirs, reformatted = split
        if reformatted:
            lines.append(f"copier-claude-cloud: {FILES[kind]} was reformatted before the merge: 2-space indent and "
                         "the template's key order, as the template writes it, so its layout does not conflict. "
                         "No entry changed.")
        changes = _team_changes(kind, template, answers, ownership)
        if kind == "settings" and old_settings is not None:
            # Rules the old release wrote that the team deleted: a release that writes them
            # again (in another order, say) must not bring them back through the line merge.
            deleted = sorted(ownership.old_rules(old_settings) - ownership.old_rules(template))
            if deleted:
                changes["deleted_rules"] = deleted
        if changes:
            team.setdefault("changes", {})[kind] = changes
        if kind == "settings":
            team["settings"] = theirs
            merge[kind] = _dumps(template)
            continue
        if theirs != {"mcpServers": {}}:
            team["mcp"] = theirs
        if template["mcpServers"] or _names_servers(answers):
            # The old release wrote this file: what is left of the template's part (maybe
            # no server, if the team removed them all) goes through the merge.
            merge[kind] = _dumps(template)
        else:  # only the team's servers: the file was theirs; it comes back after the merge
            merge[kind] = None
            team["mcp_unstaged"] = True  # so `after` gives the index its entry back
    return merge, team, lines


def after_texts(texts: dict, team: dict, ownership=None) -> tuple[dict, set, set]:
    """The after stage on the merged texts: (the new texts of the files the team had entries
    in, the kinds with conflicts, the kinds whose team part could not go back)."""
    ownership = ownership or _ownership()
    joins = {"settings": ownership.join_settings, "mcp": ownership.join_mcp}
    out, conflicted, failed = {}, set(), set()
    for kind in ("settings", "mcp"):
        changes = team.get("changes", {}).get(kind)
        if kind not in team and not changes:
            continue
        joined = rejoin_text(texts.get(kind), team.get(kind, EMPTY[kind]), joins[kind],
                             lambda data, kind=kind, changes=changes: _redo(kind, data, changes))
        if joined is None:
            failed.add(kind)
            continue
        text, conflict = joined
        if kind not in team and not conflict:
            continue  # nothing to put back, and nothing collided: the merged file as it is
        out[kind] = text
        if conflict:
            conflicted.add(kind)
    return out, conflicted, failed


def before(answers: dict) -> None:
    texts = {}
    for kind, path in FILES.items():
        try:
            texts[kind] = path.read_text(encoding="utf-8")
        except OSError:
            texts[kind] = None
    merge, team, lines = before_texts(texts, answers, old_settings=_old_settings(answers))
    for line in lines:
        print(line, file=sys.stderr)
    for kind, path in FILES.items():
        if merge[kind] == texts[kind]:
            continue
        if merge[kind] is None:
            subprocess.run(["git", "rm", "--quiet", "--cached", "--", str(path)], check=False)
            path.unlink()
        else:
            path.write_text(merge[kind], encoding="utf-8")
            subprocess.run(["git", "add", "--", str(path)], check=True)
    STASH.parent.mkdir(parents=True, exist_ok=True)
    _write(STASH, team)


def _old_settings(answers: dict) -> dict | None:
    """The settings.json the old release wrote for these answers, rendered again from its
    `_commit` (tasks/old_release.py); None when it cannot be (the update then judges by this
    release alone, and says so)."""
    try:
        with old_release.OldRelease(TEMPLATE, answers) as old:
            return load_object((old.folder() / SETTINGS).read_text(encoding="utf-8"))
    except Exception as error:  # noqa: BLE001 - any failure: judge by this release alone
        print(f"copier-claude-cloud: could not render the release this project was generated from ({error}); "
              "a rule only that release wrote will look like yours.", file=sys.stderr)
        return None


def _at_old_release(path: str, answers: dict) -> str | None:
    """A file of the template at the release the answers record (`_commit`: a tag, or an
    untagged build such as 0.3.0-2-g1a2b3c4), from the template clone Copier runs this
    from; None when it cannot be read."""
    commit = str(answers.get("_commit") or "")
    source = Path(__file__).resolve().parent.parent
    for ref in dict.fromkeys([commit, re.sub(r"^.*-g([0-9a-f]{7,40})$", r"\1", commit)]):
        if not ref:
            continue
        shown = subprocess.run(["git", "-C", str(source), "show", f"{ref}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            return shown.stdout
    return None


def _old_servers(answers: dict, ownership) -> dict:
    """The servers the old release wrote for these answers, by name: custom ones as the
    answers hold them, catalog ones from the old release's catalog (None where unknown)."""
    mcp = _mcp_module(ownership)
    servers: dict = {}
    catalog = None
    if answers.get("mcp_servers"):
        try:
            catalog = yaml.safe_load(_at_old_release("extensions/data/mcp_catalog.yml", answers) or "")
        except yaml.YAMLError:
            catalog = None
    for name in answers.get("mcp_servers") or []:
        item = catalog.get(name) if isinstance(catalog, dict) else None
        servers[name] = dict(item["entry"]) if isinstance(item, dict) and isinstance(item.get("entry"), dict) else None
    for name, entry in (answers.get("custom_mcp_servers") or {}).items():
        try:
            servers[name] = mcp._clean_entry(entry)
        except Exception:  # noqa: BLE001 (an entry this release cannot read: unknown)
            servers[name] = None
    return servers


EMPTY = {"settings": {}, "mcp": {"mcpServers": {}}}
# Where the entries are whose old values the answers give: env vars and MCP servers.
CHANGEABLE = {"settings": "env", "mcp": "mcpServers"}


def _team_changes(kind: str, template: dict, answers: dict, ownership) -> dict:
    """The team's own changes to the template's env vars or MCP servers, judged against what
    the old release wrote for these answers: {"deleted": [names], "edited": {name: value}}.
    Copier's line merge may settle a change of the release's to the same entry without a
    conflict (a deleted entry comes back, or an edited one goes); `after` then shows both."""
    if kind == "settings":
        env_value = ownership._claude_json._env_value
        old = {name: env_value(value) for name, value in (answers.get("env_vars") or {}).items()}
    else:
        old = _old_servers(answers, ownership)
    current = template.get(CHANGEABLE[kind])
    current = current if isinstance(current, dict) else {}
    changes: dict = {}
    deleted = [name for name in old if name not in current]
    edited = {name: value for name, value in current.items() if old.get(name) is not None and old[name] != value}
    if deleted:
        changes["deleted"] = deleted
    if edited:
        changes["edited"] = edited
    return changes


def _redo(kind: str, data: dict, changes: dict | None) -> dict:
    """`data` (a merged file) with the team's changes to template entries made again."""
    if not changes:
        return data
    if changes.get("deleted_rules") and isinstance(data.get("permissions"), dict):
        permissions = dict(data["permissions"])
        for name, rules in permissions.items():
            if isinstance(rules, list):
                permissions[name] = [rule for rule in rules if rule not in changes["deleted_rules"]]
        data = {**data, "permissions": permissions}
    key = CHANGEABLE[kind]
    entries = data.get(key)
    if not isinstance(entries, dict):
        if not changes.get("edited"):
            return data
        entries = {}
    entries = dict(entries)
    for name in changes.get("deleted", []):
        entries.pop(name, None)
    entries.update(changes.get("edited", {}))
    return {**data, key: entries}


def _names_servers(answers: dict) -> bool:
    """Whether these answers make the template write .mcp.json (extensions/layout.py)."""
    return bool(answers.get("mcp_servers") or answers.get("custom_mcp_servers"))


# A conflict as Copier writes it (git merge-file, maybe with a diff3 base section).
CONFLICT = re.compile(r"^<{7}(?: ([^\n]*))?\n(.*?)(?:^\|{7}[^\n]*\n.*?)?^={7}\n(.*?)^>{7}(?: ([^\n]*))?\n",
                      re.MULTILINE | re.DOTALL)


def _side(text: str, side: int) -> str:
    """The text with each conflict resolved to one side (1: before updating, 2: after)."""
    return CONFLICT.sub(lambda match: match.group(1 + side), text)


def _labels(text: str) -> tuple[str, str]:
    match = CONFLICT.search(text)
    return match.group(1) or "before updating", match.group(4) or "after updating"


def _with_conflicts(ours: str, theirs: str, labels: tuple[str, str]) -> str:
    """One text with both: the lines they share as they are, each stretch that differs
    between markers, as a merge shows a conflict."""
    a, b = ours.splitlines(keepends=True), theirs.splitlines(keepends=True)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += a[i1:i2]
        else:
            out += [f"<<<<<<< {labels[0]}\n", *a[i1:i2], "=======\n", *b[j1:j2], f">>>>>>> {labels[1]}\n"]
    return "".join(out)


def _dumps(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def rejoin_text(text: str | None, team: dict, join, redo=None) -> tuple[str, bool] | None:
    """(the file's text with the team's part put back, whether it has conflicts); None if it
    cannot be done (then the stash keeps the team's part). `text` None: the merge left no file.

    A file with conflict markers does not parse, but each side of it does: the team's
    part joins both sides, and the markers come back around what still differs (the
    colliding template entries), so resolving the conflict either way keeps the team's part.
    Where an env var or MCP server of the team's has the name of one the new answers write
    with another value, that is a conflict too: the team's value on the "before updating"
    side, the answers' on the "after updating" side. So is a change of the team's to a
    template entry that the merge did not keep: `redo` makes the team's changes again on the
    "before updating" side."""
    labels = ("before updating", "after updating")
    if text is None:
        sides = [{"mcpServers": {}}] * 2
    elif not CONFLICT.search(text):
        data = load_object(text)
        if data is None:
            return None
        sides = [data, data]
    else:
        labels = _labels(text)
        sides = [load_object(_side(text, side)) for side in (1, 2)]
        if None in sides:
            return None
    ours = _dumps(join(redo(sides[0]) if redo else sides[0], team, prefer_team=True))
    theirs = _dumps(join(sides[1], team))
    if ours == theirs:
        return ours, False
    return _with_conflicts(ours, theirs, labels), True


def after() -> None:
    if not STASH.exists():
        return
    team = json.loads(STASH.read_text(encoding="utf-8"))
    texts = {kind: path.read_text(encoding="utf-8") if path.exists() else None for kind, path in FILES.items()}
    out, conflicted, failed = after_texts(texts, team)
    for kind, text in out.items():
        FILES[kind].write_text(text, encoding="utf-8")
    for kind in sorted(conflicted):
        print(f"copier-claude-cloud: {FILES[kind]} has conflicts; your own entries were kept in it, outside "
              "the conflict markers (or, where the update writes an entry of the same name, on the "
              '"before updating" side).', file=sys.stderr)
    for kind in sorted(failed):
        print(f"copier-claude-cloud: {FILES[kind]} is not valid JSON; your own entries are in {STASH}.",
              file=sys.stderr)
    if team.get("mcp_unstaged") and not failed:
        # `before` took the team's own file out of the index; without this the update would
        # show it staged as deleted (and untracked), and a commit of the index would drop it.
        subprocess.run(["git", "reset", "--quiet", "--", str(MCP)], check=False)
    if not failed:  # every team entry is back in its file
        STASH.unlink()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _stages

    _stages.run(before, after)
