#!/usr/bin/env python3
"""cloud-config.py: what this project's Claude Code configuration needs from a cloud session.

cloud-init.sh (its --doctor mode, and the step that fetches MCP packages) and cloud-setup.sh
read the project's .mcp.json and .claude/settings.json through this file, at run time: the
team edits them, and an import adds to them after the copy, so nothing here is fixed when
the template renders. Standard library only (the cloud image's python3), and read-only.

  python3 .claude/scripts/cloud-config.py [--project DIR] records

prints one record a line, fields separated by TABs (the format of cloud-init.steps):

  mcp          NAME  stdio  COMMAND     a stdio MCP server, and the program it starts
  mcp          NAME  http   URL TARGET  an http, sse or ws MCP server; TARGET is its URL's
                                        host, or why there is none to probe (-templated,
                                        -local, -no-host, -not-plain)
  fetch        NAME  ARG...             fetches NAME's package into the npx or uv cache
                                        without starting the server
  cached       NAME  ARG...             the same with --offline: exit 0 iff it is cached
  unfetched    NAME  WHY                a stdio server whose package is not fetched ahead
  var          NAME  WHERE              a ${NAME} a file references with no default
  host         HOST  WHY                a host the configuration needs to reach
  marketplace  NAME  SOURCE             `claude plugin marketplace add SOURCE`
  plugin       PLUGIN@MARKETPLACE       `claude plugin install PLUGIN@MARKETPLACE`
  problem      TEXT                     what could not be read (the rest still prints)

A value holding a TAB, a line break or another control character is never printed: the
record is left out, and a `problem` record says which. Nothing here runs a command.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Variables Claude Code sets itself for hooks and MCP servers: never missing.
PROVIDED = {"CLAUDE_PROJECT_DIR", "CLAUDE_ENV_FILE", "CLAUDE_PLUGIN_ROOT", "CLAUDE_PLUGIN_DATA",
            "HOME", "PATH", "PWD", "USER", "SHELL", "TMPDIR"}
# Registries a package runner downloads from (Trusted network access allows them).
RUNNER_HOSTS = {"npx": ["registry.npmjs.org"], "uvx": ["pypi.org", "files.pythonhosted.org"]}
# A package spec worth fetching ahead: a registry name with an optional version, nothing a
# runner would read as a path, URL or git source.
NPM_SPEC = re.compile(r"(@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*(@[\w.^~<>=*+-]+)?", re.IGNORECASE)
PYPI_SPEC = re.compile(r"[A-Za-z0-9][\w.-]*(\[[\w,.-]+\])?((==|>=|<=|~=|!=|<|>)[\w.*+!-]+|@[\w.+!-]+)?")
# npx and uvx options that take a value as the next word.
NPX_VALUE_OPTIONS = {"-p", "--package", "-c", "--call", "--cache", "--registry", "--userconfig"}
UVX_VALUE_OPTIONS = {"--from", "--with", "--with-editable", "--with-requirements", "--python", "-p",
                     "--index", "--default-index", "--index-url", "-i", "--extra-index-url", "--find-links",
                     "-f", "--constraints", "--overrides", "--refresh-package", "--prerelease", "--resolution",
                     "--exclude-newer", "--cache-dir", "--directory", "--project", "--config-file",
                     "--index-strategy", "--keyring-provider", "--python-platform", "--env-file"}
# uvx options the fetch repeats, each with the values it takes. Any other option that
# changes what is installed (an index URL, a local path, a git source) is not fetched ahead:
# `--python ./x` or `--with ./pkg` would run or build the repository's own files.
UVX_KEPT = {"--from", "--with", "--python", "-p"}
PYTHON_REQUEST = re.compile(r"(cpython|pypy|python)?[-@]?[0-9]+(\.[0-9]+){0,2}t?", re.IGNORECASE)

records: list[list[str]] = []


def emit(*fields: str):
    """One record. A field that is empty (bash's `read` would shift the next one into its
    place) or holds a control character leaves the record out, with a `problem` record."""
    if any(CONTROL.search(field) for field in fields):
        records.append(["problem", f"{fields[0]} {fields[1]!r}: a value holds a control character; left out"[:300]])
    elif not all(fields):
        records.append(["problem", f"{fields[0]} {fields[1]!r}: a value is empty; left out"[:300]])
    else:
        records.append(list(fields))


def load(path: Path, label: str) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        emit("problem", f"{label} cannot be read: {error}"[:300])
        return {}
    if not isinstance(data, dict):
        emit("problem", f"{label} is not a JSON object")
        return {}
    return data


def strings(value: object):
    """Every string inside a JSON value (without recursion: the file may nest deeply)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))


def references(value: object, where: str, defined: set[str], seen: set[str]):
    for text in strings(value):
        for match in REFERENCE.finditer(text):
            name = match.group(1)
            if not match.group(2) and name not in PROVIDED and name not in defined and name not in seen:
                seen.add(name)
                emit("var", name, where)


HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")
# Names that go to the CLI as arguments: never an option (a leading -), never a space.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
PLUGIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*@[A-Za-z0-9_][A-Za-z0-9._-]*")


def url_target(url: str) -> str:
    """What a URL's host is to a session: its plain host name, to probe, or why there is none
    to probe: `-templated` (a ${VAR} gives it, filled in by Claude Code), `-local` (this
    machine), `-no-host`, or `-not-plain` (anything else: urlsplit keeps backticks, spaces and
    `$` in a host, and a host goes to a shell's curl). A leading `-` never starts a host name."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "-templated" if REFERENCE.search(url) else "-not-plain"
    if REFERENCE.search(parts.netloc) or (not host and REFERENCE.search(url)):
        return "-templated"
    if not host:
        return "-no-host"
    if host in {"localhost", "127.0.0.1", "::1"}:
        return "-local"
    return host if HOST.fullmatch(host) else "-not-plain"


def url_host(url: str) -> str:
    """The URL's host when it is a plain host name to probe; else ""."""
    target = url_target(url)
    return "" if target.startswith("-") else target


def npx_fetch(args: list[str]) -> tuple[list[str], str]:
    """(the npx words that fetch the package, or [] and why not)."""
    packages, index = [], 0
    while index < len(args):
        word = args[index]
        if word == "--":
            break
        if word.startswith("--package="):
            packages.append(word.split("=", 1)[1])
        elif word in NPX_VALUE_OPTIONS:
            if word in {"-p", "--package"} and index + 1 < len(args):
                packages.append(args[index + 1])
            index += 1
        elif not word.startswith("-"):
            if not packages:
                packages.append(word)
            break
        index += 1
    if not packages:
        return [], "no package named in its args"
    bad = [spec for spec in packages if not NPM_SPEC.fullmatch(spec)]
    if bad:
        return [], f"{bad[0]!r} is not a registry package"
    return ["npx", "--yes", *(f"--package={spec}" for spec in packages), "--", "true"], ""


def uvx_fetch(args: list[str]) -> tuple[list[str], str]:
    kept, source, index = [], "", 0
    while index < len(args):
        word = args[index]
        name, has_value, value = word.partition("=")
        if word in UVX_VALUE_OPTIONS or (word.startswith("--") and has_value and name in UVX_VALUE_OPTIONS):
            if not has_value or not word.startswith("--"):
                name, value = word, args[index + 1] if index + 1 < len(args) else ""
                index += 1
            if name not in UVX_KEPT:
                return [], f"it uses {name}, which the fetch does not repeat"
            if name == "--from":
                source = value
            elif name in {"--python", "-p"} and not PYTHON_REQUEST.fullmatch(value):
                return [], f"{name} {value!r} is not a Python version"
            elif name == "--with" and not PYPI_SPEC.fullmatch(value):
                return [], f"--with {value!r} is not a registry package"
            else:
                kept += [name, value]
        elif not word.startswith("-"):
            if not source:
                # `uvx tool@1.2.3` runs that version; --from takes the requirement form.
                tool, _, version = word.partition("@")
                source = tool if version in {"", "latest"} else f"{tool}=={version}"
            break
        index += 1
    if not source:
        return [], "no package named in its args"
    if not PYPI_SPEC.fullmatch(source) or any("$" in word for word in kept):
        return [], f"{source!r} is not a registry package"
    return ["uvx", *kept, "--from", source, "python", "-c", "pass"], ""


def mcp_records(document: dict):
    servers = document.get("mcpServers")
    if not isinstance(servers, dict):
        return
    seen: set[str] = set()
    hosts: set[str] = set()
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            emit("problem", f".mcp.json: server {name!r} is not an object")
            continue
        if not PLAIN_NAME.fullmatch(name):
            emit("problem", f".mcp.json: server {name[:60]!r} is not a plain name (letters, digits, - and _)")
            continue
        kind = entry.get("type", "stdio")
        if not isinstance(kind, str):
            emit("problem", f".mcp.json: server {name!r} has a type that is not a string")
            continue
        if kind in {"http", "sse", "ws", "streamable-http"}:
            url = entry.get("url") if isinstance(entry.get("url"), str) else ""
            target = url_target(url)
            emit("mcp", name, "http", url, target)
            if not target.startswith("-") and target not in hosts:
                hosts.add(target)
                emit("host", target, f"MCP server {name}")
        else:
            command = entry.get("command") if isinstance(entry.get("command"), str) else ""
            args = [arg for arg in entry.get("args", []) if isinstance(arg, str)] if isinstance(entry.get("args"), list) else []
            emit("mcp", name, "stdio", command)
            runner = Path(command).name
            if runner in RUNNER_HOSTS:
                words, why = (npx_fetch if runner == "npx" else uvx_fetch)(args)
                if words:
                    emit("fetch", name, *words)
                    emit("cached", name, words[0], "--offline", *words[1:])
                    for host in RUNNER_HOSTS[runner]:
                        if host not in hosts:
                            hosts.add(host)
                            emit("host", host, f"MCP server {name} ({runner})")
                else:
                    emit("unfetched", name, why)
            else:
                emit("unfetched", name, f"{runner or 'no command'} is not npx or uvx")
        references({key: entry.get(key) for key in ("command", "args", "env", "url", "headers")},
                   f".mcp.json server {name}", set(), seen)


# How `claude plugin marketplace add ARG` reads ARG, in CLI 2.0.55 and 2.1.332 alike:
# `owner/repo[#ref]` is GitHub; `git@host:path.git[#ref]` and `http(s)://….git[#ref]` are git;
# other http(s) URLs are a hosted marketplace.json; `/`, `./`, `../` and `~` start a folder or
# a .json file. Anything else (a bare `folder/sub` too) is read as owner/repo.
# Sources without such a form: `npm` and `settings` (neither CLI adds them), `hostPattern`
# (a rule, not a source), and any source with a `path` inside the repository or `headers`.
NO_CLI_FORM = {"npm": "an npm source", "settings": "a source written in settings",
               "hostPattern": "a host pattern, not a source"}
# The field of each source that becomes the argument.
SOURCE_FIELD = {"github": "repo", "git": "url", "url": "url", "directory": "path", "file": "path"}


def marketplace_source(source: dict, project: Path) -> tuple[str, str]:
    """(the argument `claude plugin marketplace add` takes for a settings.json source, or ""
    and why there is none). A relative folder or file is taken from the project's folder and
    made absolute: the CLI would read `plugins/market` as a GitHub owner/repo."""
    kind = source.get("source")
    if not isinstance(kind, str):
        return "", "its source type is not a string"
    if kind in NO_CLI_FORM:
        return "", f"{NO_CLI_FORM[kind]} has no `claude plugin marketplace add` form"
    if kind in {"github", "git"} and source.get("path"):
        return "", f"a {kind} source with a path inside the repository has no `claude plugin marketplace add` form"
    if source.get("headers"):
        return "", "a source with headers has no `claude plugin marketplace add` form"
    if kind not in SOURCE_FIELD:
        return "", (f"source {kind!r} is not one the CLI can add" if kind else "its source has no type")
    field = SOURCE_FIELD[kind]
    value = source.get(field)
    if not isinstance(value, str) or not value:
        return "", f"its {kind} source names no {field}"
    if value.startswith("-") or "\0" in value:
        return "", f"its {field} {value[:40]!r} is not a plain argument (a leading - or a NUL)"
    if kind in {"directory", "file"}:
        folder = Path(value).expanduser()
        return str(folder if folder.is_absolute() else (project / folder).resolve()), ""
    ref = source.get("ref")
    ref = ref if isinstance(ref, str) and re.fullmatch(r"[\w./-]+", ref) else ""
    return (f"{value}#{ref}" if kind in {"github", "git"} and ref else value), ""


def marketplace_host(source: dict) -> str:
    kind = source.get("source")
    if kind == "github":
        return "github.com"
    if not isinstance(kind, str):
        return ""
    url = source.get("url")
    if kind in {"git", "url"} and isinstance(url, str):
        scp = re.fullmatch(r"[\w.-]+@([\w.-]+):.*", url)  # git@host:owner/repo.git
        return scp.group(1) if scp else url_host(url)
    return ""


def settings_records(settings: dict, project: Path = Path(".")):
    """The records of settings.json; a relative marketplace folder is taken from `project`."""
    env = settings.get("env") if isinstance(settings.get("env"), dict) else {}
    references({key: value for key, value in settings.items() if key != "env"}, ".claude/settings.json",
               set(env), set())
    marketplaces = settings.get("extraKnownMarketplaces")
    if isinstance(marketplaces, dict):
        for name, entry in marketplaces.items():
            source = entry.get("source") if isinstance(entry, dict) else {}
            argument, why = marketplace_source(source, project) if isinstance(source, dict) else ("", "no source")
            if argument and not PLAIN_NAME.fullmatch(str(name)):
                emit("problem", f"marketplace {str(name)[:60]!r}: not a plain name")
            elif argument:
                emit("marketplace", name, argument)
                if host := marketplace_host(source):
                    emit("host", host, f"plugin marketplace {name}")
            else:
                emit("problem", f"marketplace {name!r}: {why}")
    plugins = settings.get("enabledPlugins")
    if isinstance(plugins, dict):
        for spec, enabled in plugins.items():
            if enabled is not True:
                continue
            if PLUGIN_ID.fullmatch(spec):
                emit("plugin", spec)
            else:
                emit("problem", f"plugin {spec[:60]!r}: not a plugin@marketplace id")


def main(argv: list[str]) -> int:
    project = Path.cwd()
    if len(argv) >= 2 and argv[0] == "--project":
        project, argv = Path(argv[1]), argv[2:]
    if argv != ["records"]:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    code = 0
    try:
        mcp_records(load(project / ".mcp.json", ".mcp.json"))
        settings_records(load(project / ".claude" / "settings.json", ".claude/settings.json"), project)
    except Exception as error:  # noqa: BLE001 - a hostile file must give a record, not a traceback
        records.append(["problem", f"cloud-config.py stopped reading: {type(error).__name__}: {error}"[:300]])
        code = 3
    for record in records:
        print("\t".join(CONTROL.sub(" ", field) for field in record))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
