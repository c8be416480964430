"""Which hosts a cloud session needs to reach, and which of them the cloud allows by default.

A cloud session reaches the internet through a proxy with an allowlist. cloud-init.sh checks
the hosts of each install before it runs it, so a refused host is named in one line instead
of a package manager timing out minutes later. The hosts of a folder's install are:

- the registries the repository declares for it (.npmrc, .yarnrc.yml, requirements files,
  pyproject.toml and uv.toml indexes, Poetry and Pipfile sources, Gemfile sources, Composer
  repositories, Maven and Gradle repositories): read, not guessed;
- the catalogue's `hosts` for its tool (extensions/data/catalogue.yml), unless the repository
  replaced that default registry with its own (an .npmrc `registry=`, a default index).

`allowed_by_default(host)` reads extensions/data/cloud-default-allowed-domains.txt, the
cloud's Trusted list, vendored with its source and date.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import pass_context
from jinja2.ext import Extension

ALLOWLIST = Path(__file__).parent / "data" / "cloud-default-allowed-domains.txt"
HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")
LOCAL = {"localhost", "127.0.0.1", "::1"}


def default_allowlist() -> list[str]:
    lines = ALLOWLIST.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def allowed_by_default(host: str, allowlist: list[str] | None = None) -> bool:
    rules = default_allowlist() if allowlist is None else allowlist
    return any(host == rule or (rule.startswith("*.") and host.endswith(rule[1:])) for rule in rules)


def host_of(url: str) -> str:
    """The host of a URL a repository declares, or "" (a variable, a local or a file URL)."""
    try:
        host = (urlsplit(url.strip().strip("\"'")).hostname or "").lower()
    except ValueError:
        return ""
    return host if HOST.fullmatch(host) and host not in LOCAL else ""


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:200_000] if path.is_file() else ""
    except OSError:
        return ""


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(_text(path)) if path.is_file() else {}
    except tomllib.TOMLDecodeError:
        return {}


def _node(folder: Path) -> tuple[list[str], bool]:
    urls, replaced = [], False
    for line in _text(folder / ".npmrc").splitlines():
        key, _, value = line.partition("=")
        key = key.strip()
        if key == "registry":
            urls.append(value)
            replaced = True
        elif key.endswith(":registry"):
            urls.append(value)
    for match in re.finditer(r"^(\s*)npmRegistryServer:\s*(\S+)", _text(folder / ".yarnrc.yml"), re.MULTILINE):
        urls.append(match.group(2))
        replaced = replaced or not match.group(1)  # top level, not under npmScopes
    return urls, replaced


def _python(folder: Path) -> tuple[list[str], bool]:
    urls, replaced = [], False
    for requirements in sorted(folder.glob("requirements*.txt")):
        for match in re.finditer(r"^\s*(-i|--index-url|--extra-index-url)[\s=]+(\S+)", _text(requirements), re.MULTILINE):
            urls.append(match.group(2))
            replaced = replaced or match.group(1) != "--extra-index-url"
    pyproject = _toml(folder / "pyproject.toml")
    uv = {**pyproject.get("tool", {}).get("uv", {}), **_toml(folder / "uv.toml")}
    for index in uv.get("index", []) if isinstance(uv.get("index"), list) else []:
        if isinstance(index, dict) and isinstance(index.get("url"), str):
            urls.append(index["url"])
            replaced = replaced or index.get("default") is True
    for key in ("index-url", "extra-index-url"):
        values = uv.get(key)
        for value in [values] if isinstance(values, str) else values if isinstance(values, list) else []:
            urls.append(str(value))
            replaced = replaced or key == "index-url"
    sources = pyproject.get("tool", {}).get("poetry", {}).get("source", [])
    sources += _toml(folder / "Pipfile").get("source", [])
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            urls.append(source["url"])
    return urls, replaced


def _quoted_urls(text: str, pattern: str) -> list[str]:
    return [match.group(1) for match in re.finditer(pattern, text)]


DECLARED = {
    "node": _node,
    "python": _python,
    "ruby": lambda folder: (_quoted_urls(_text(folder / "Gemfile"), r"^\s*source\s+[\"'](https?://[^\"']+)"), False),
    "php": lambda folder: (_quoted_urls(_text(folder / "composer.json"), r"\"url\"\s*:\s*\"(https?://[^\"]+)\""), False),
    "java": lambda folder: (_quoted_urls(_text(folder / "pom.xml"), r"<url>\s*(https?://[^<\s]+)\s*</url>")
                            + _quoted_urls(_text(folder / "build.gradle") + _text(folder / "build.gradle.kts")
                                           + _text(folder / "settings.gradle") + _text(folder / "settings.gradle.kts"),
                                           r"url\s*(?:=\s*uri\()?\s*[\"'](https?://[^\"']+)"), False),
}


def install_hosts(root: str | Path, folder: str, stack: str, tool_hosts: list[str]) -> list[str]:
    """The hosts the install of `stack` in `folder` downloads from, in a stable order."""
    where = Path(root) / folder
    urls, replaced = DECLARED.get(stack, lambda _: ([], False))(where) if where.is_dir() else ([], False)
    declared = [host for host in map(host_of, urls) if host]
    # A Maven <url> may be a project's homepage or SCM link as well as a repository: keep the
    # ones that name a repository-looking path, and never more than a few.
    if stack == "java":
        declared = [host_of(url) for url in urls if re.search(r"(maven|repo|artifact|nexus|m2|jfrog)", url, re.I)]
        declared = [host for host in declared if host][:5]
    return list(dict.fromkeys([*([] if replaced else tool_hosts), *declared]))


# --- for the templates ----------------------------------------------------------------------
_STACKS = []


def _stacks():
    """stacks.py, loaded by path once (Copier loads each extension file on its own), and only
    when a template asks: folders.py loads this module for install_hosts() alone."""
    if not _STACKS:
        spec = importlib.util.spec_from_file_location("copier_claude_cloud_stacks", Path(__file__).with_name("stacks.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _STACKS.append(module)
    return _STACKS[0]


@pass_context
def hosts_to_allow(context, mcp_hosts: list[str]) -> list[str]:
    """The hosts these answers need that the cloud's Trusted network access does not allow:
    the installs' (a registry the repository declares), the CLI tools' and the MCP servers'."""
    stacks = _stacks()
    needed = [host for stack in stacks.project_stacks(context) if not stack.get("installed_by") for host in stack["hosts"]]
    managers = stacks.catalogue.cli_managers()
    needed += [host for name in stacks.chosen_managers(context.get("cli_tools")) for host in managers[name].get("hosts", ())]
    allowlist = default_allowlist()
    return [host for host in dict.fromkeys([*needed, *mcp_hosts]) if not allowed_by_default(host, allowlist)]


class Hosts(Extension):
    """Global `hosts_to_allow(mcp_hosts)`, for the closing message and CLAUDE.md."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["hosts_to_allow"] = hosts_to_allow
