"""The MCP server catalog, checks on custom servers, and the `.mcp.json` document."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from jinja2.ext import Extension

# Copier runs extension files as modules of their own: the sibling is loaded by its path.
_spec = importlib.util.spec_from_file_location("copier_claude_cloud_secrets", Path(__file__).with_name("secrets.py"))
secrets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(secrets)

CATALOG_FILE = Path(__file__).parent / "data" / "mcp_catalog.yml"

SERVER_NAME = re.compile(r"[A-Za-z0-9_-]+")
RESERVED_NAMES = {"workspace", "claude-in-chrome", "computer-use", "Claude Preview", "Claude Browser"}
ALLOWED_KEYS = {
    "stdio": {"type", "command", "args", "env"},
    "http": {"type", "url", "headers"},
    "sse": {"type", "url", "headers"},
}
VAR_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
WRONG_REFERENCE = re.compile(r"\$\{env:|\$env:|%[A-Za-z_]+%|\{\{")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_VALUE = 4096
EXAMPLE = "{my-api: {type: http, url: 'https://mcp.example.com/mcp', headers: {Authorization: 'Bearer ${MY_API_TOKEN}'}}}"


@cache
def mcp_catalog() -> dict:
    return yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))


def mcp_choices() -> dict[str, str]:
    """Copier choices: a readable label for each catalog id."""
    def label(item: dict) -> str:
        oauth = " [OAuth sign-in: may not work in cloud sessions]" if item["auth"] == "oauth" else ""
        return f"{item['title']}: {item['description']}{oauth}"

    return {label(item): key for key, item in mcp_catalog().items()}


def _strings_of(entry: Mapping) -> list[tuple[str, str]]:
    """(where, value) for every string an entry carries, so each can be checked for secrets."""
    found = [(key, entry[key]) for key in ("command", "url") if isinstance(entry.get(key), str)]
    found += [(f"args[{i}]", arg) for i, arg in enumerate(entry.get("args") or []) if isinstance(arg, str)]
    for table in ("env", "headers"):
        for key, value in (entry.get(table) or {}).items():
            found.append((f"{table}.{key}", value))
    return found


def _secret_problem(name: str, where: str, value: str) -> str:
    """A problem with one string of an entry: syntax Claude Code does not expand, a control
    character, a size no environment holds, or a secret (extensions/secrets.py)."""
    if CONTROL.search(value):
        return f"custom_mcp_servers: {name}.{where} holds a line break or control character. Give one plain line."
    if len(value) > MAX_VALUE:
        return f"custom_mcp_servers: {name}.{where} is {len(value)} characters long; keep it to {MAX_VALUE}."
    if WRONG_REFERENCE.search(value):
        return (
            f"custom_mcp_servers: {name}.{where} uses a variable syntax Claude Code does not expand. "
            "Write ${VAR} (or ${VAR:-default})."
        )
    if found := secrets.secret_in(value):
        return (
            f"custom_mcp_servers: {name}.{where} holds {found}. Put it in the cloud environment's variables "
            "and write ${VAR} here (e.g. postgres://app:${DB_PASSWORD}@host/db, or 'Bearer ${MY_TOKEN}')."
        )
    key = where.split(".", 1)[-1]
    secret_key = secrets.SECRET_WORDS.search(key) or (where.startswith("headers.") and secrets.credential_header(key))
    flag = re.match(r"--?([A-Za-z0-9_-]+)=(.*)", value) if where.startswith("args") else None
    if flag and secrets.SECRET_WORDS.search(flag.group(1)) and secrets.literal_part(flag.group(2)):
        secret_key, value = True, flag.group(2)
    if secret_key and secrets.literal_part(value):
        return (
            f"custom_mcp_servers: {name}.{where} is a secret and must be a ${{VAR}} reference "
            "(e.g. 'Bearer ${MY_TOKEN}'), never a literal value."
        )
    return ""


def _url_problem(name: str, url: object) -> str:
    """https, or http to this machine only; no credentials in the URL. Parsed, not matched:
    http://localhost:@evil.example is evil.example."""
    try:
        parts = urlsplit(url) if isinstance(url, str) and url.strip() == url else None
        host = parts.hostname if parts else None
    except ValueError:
        parts = host = None
    if parts is None or not host or parts.scheme not in ("https", "http") or (
            parts.scheme == "http" and host not in LOCAL_HOSTS):
        return f"custom_mcp_servers: {name} needs a url starting with https:// (http:// only for localhost), got {url!r}."
    if parts.username is not None or parts.password is not None:
        return (f"custom_mcp_servers: {name}.url carries credentials before the host ({url!r}). Send them in a "
                "header instead: headers: {Authorization: 'Bearer ${MY_TOKEN}'}.")
    return ""


def _entry_problem(name: str, entry: object) -> str:
    if not isinstance(entry, Mapping):
        return f"custom_mcp_servers: {name} must be a mapping, e.g. {EXAMPLE}."
    kind = entry.get("type", "stdio" if "url" not in entry else None)
    if kind is None:
        return f"custom_mcp_servers: {name} has a url but no type; Claude Code would read it as stdio. Add type: http (or sse)."
    if not isinstance(kind, str) or kind not in ALLOWED_KEYS:
        return f"custom_mcp_servers: {name} has type {kind!r}. Use stdio, http or sse."
    unknown = sorted(set(entry) - ALLOWED_KEYS[kind])
    if unknown:
        return f"custom_mcp_servers: {name} has keys {unknown} that a {kind} server does not take. Allowed: {sorted(ALLOWED_KEYS[kind])}."
    if kind == "stdio":
        if not isinstance(entry.get("command"), str) or not entry["command"].strip():
            return f"custom_mcp_servers: {name} is stdio and needs a command, e.g. {{command: npx, args: [-y, some-mcp@1.0.0]}}."
        args = entry.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
            return f"custom_mcp_servers: {name}.args must be a list of strings."
    else:
        if problem := _url_problem(name, entry.get("url")):
            return problem
    for table in ("env", "headers"):
        values = entry.get(table, {})
        if not isinstance(values, Mapping) or not all(isinstance(v, (str, int, float)) for v in values.values()):
            return f"custom_mcp_servers: {name}.{table} must map names to strings, e.g. {{API_TOKEN: '${{API_TOKEN}}'}}."
    for where, value in _strings_of(entry):
        if problem := _secret_problem(name, where, str(value)):
            return problem
    return ""


def custom_mcp_servers_problem(custom: object, selected: list[str] | None = None) -> str:
    if custom in (None, ""):
        return ""
    if not isinstance(custom, Mapping):
        return f"custom_mcp_servers: expected a mapping of name to entry, e.g. {EXAMPLE}."
    for name, entry in custom.items():
        if not isinstance(name, str) or not SERVER_NAME.fullmatch(name) or len(name) > 64:
            return f"custom_mcp_servers: {name!r} is not a valid server name. Use letters, digits, - and _."
        if name in RESERVED_NAMES:
            return f"custom_mcp_servers: {name!r} is reserved by Claude Code. Pick another name."
        if name in (selected or []):
            return f"custom_mcp_servers: {name!r} is also selected in mcp_servers. Rename it or unselect the catalog entry."
        if problem := _entry_problem(name, entry):
            return problem
    return ""


def _clean_entry(entry: Mapping) -> dict:
    """A custom entry in a fixed key order, scalars as strings, stdio `type` explicit."""
    kind = entry.get("type", "stdio")
    clean: dict = {"type": kind}
    keys = ["command", "args", "env"] if kind == "stdio" else ["url", "headers"]
    for key in keys:
        if key not in entry:
            continue
        value = entry[key]
        if key == "args":
            value = [str(arg) for arg in value]
        elif key in ("env", "headers"):
            value = {str(k): str(v) for k, v in value.items()}
        clean[key] = value
    return clean


def mcp_servers(selected: list[str], custom: Mapping | None) -> dict:
    """Name -> .mcp.json entry: catalog servers in catalog order, then custom ones sorted."""
    catalog = mcp_catalog()
    servers = {key: dict(item["entry"]) for key, item in catalog.items() if key in (selected or [])}
    for name in sorted(custom or {}):
        servers[name] = _clean_entry(custom[name])
    return servers


def mcp_document(selected: list[str], custom: Mapping | None) -> dict:
    """The whole .mcp.json for these answers. On a copy over a repository, the template folds
    the team's servers of the file that was there into it (extensions/ownership.py)."""
    return {"mcpServers": mcp_servers(selected, custom)}


def mcp_requirements(selected: list[str], custom: Mapping | None) -> dict[str, list[str]]:
    """Env vars the servers reference, hosts they reach, and which need an OAuth sign-in."""
    env: set[str] = set()
    hosts: set[str] = set()
    oauth: list[str] = []
    catalog = mcp_catalog()
    for key in selected or []:
        env.update(catalog[key].get("env", []))
        hosts.update(catalog[key].get("hosts", []))
        if catalog[key]["auth"] == "oauth":
            oauth.append(key)
    for name, entry in (custom or {}).items():
        for _, value in _strings_of(entry):
            env.update(match.group(1) for match in VAR_REFERENCE.finditer(str(value)))
        if isinstance(entry.get("url"), str):
            host = re.sub(r"^https?://([^/:]+).*$", r"\1", entry["url"])
            hosts.add(host)
    return {"env": sorted(env), "hosts": sorted(hosts), "oauth": oauth}


class McpServers(Extension):
    """Globals for the catalog and .mcp.json, and the custom_mcp_servers validator."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update({function.__name__: function for function in (
            mcp_catalog, mcp_choices, mcp_document, mcp_requirements,
        )})
        environment.filters["custom_mcp_servers_problem"] = custom_mcp_servers_problem
