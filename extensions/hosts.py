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
import json
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
    # [ \t]*, not \s*: a blank line above a top-level key must not count as its indent.
    for match in re.finditer(r"^([ \t]*)npmRegistryServer:[ \t]*(\S+)", _text(folder / ".yarnrc.yml"), re.MULTILINE):
        urls.append(match.group(2))
        replaced = replaced or not match.group(1)  # top level, not under npmScopes
    # corepack (package.json's packageManager) fetches pnpm or yarn itself, from the npm
    # registry, whatever .npmrc says.
    try:
        manifest = json.loads(_text(folder / "package.json") or "{}")
    except ValueError:
        manifest = {}
    if isinstance(manifest, dict) and isinstance(manifest.get("packageManager"), str) \
            and manifest["packageManager"].startswith(("pnpm@", "yarn@")):
        urls.append("https://registry.npmjs.org/")
    return urls, replaced


def _named_sources(dependencies: object, key: str) -> set[str]:
    """The source (Poetry) or index (uv) names that dependency entries point to."""
    names: set[str] = set()
    entries = dependencies.values() if isinstance(dependencies, dict) else []
    for entry in entries:
        for item in entry if isinstance(entry, list) else [entry]:
            if isinstance(item, dict) and isinstance(item.get(key), str):
                names.add(item[key])
    return names


def _python(folder: Path) -> tuple[list[str], bool]:
    urls, replaced = [], False
    for requirements in sorted(folder.glob("requirements*.txt")):
        for match in re.finditer(r"^\s*(-i|--index-url|--extra-index-url)[\s=]+(\S+)", _text(requirements), re.MULTILINE):
            urls.append(match.group(2))
            replaced = replaced or match.group(1) != "--extra-index-url"
    pyproject = _toml(folder / "pyproject.toml")
    uv = {**pyproject.get("tool", {}).get("uv", {}), **_toml(folder / "uv.toml")}
    # An explicit index serves only the packages that name it in [tool.uv.sources].
    uv_named = _named_sources(uv.get("sources"), "index")
    for index in uv.get("index", []) if isinstance(uv.get("index"), list) else []:
        if isinstance(index, dict) and isinstance(index.get("url"), str):
            if index.get("explicit") is True and index.get("name") not in uv_named:
                continue
            urls.append(index["url"])
            replaced = replaced or index.get("default") is True
    for key in ("index-url", "extra-index-url"):
        values = uv.get(key)
        for value in [values] if isinstance(values, str) else values if isinstance(values, list) else []:
            urls.append(str(value))
            replaced = replaced or key == "index-url"
    poetry = pyproject.get("tool", {}).get("poetry", {})
    poetry = poetry if isinstance(poetry, dict) else {}
    groups = poetry.get("group") if isinstance(poetry.get("group"), dict) else {}
    # A source with priority "explicit" serves only the dependencies that name it.
    poetry_named = set().union(*(_named_sources(table, "source") for table in [
        poetry.get("dependencies"), poetry.get("dev-dependencies"),
        *(group.get("dependencies") for group in groups.values() if isinstance(group, dict))]))
    sources = poetry.get("source", [])
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            if source.get("priority") == "explicit" and source.get("name") not in poetry_named:
                continue
            urls.append(source["url"])
    for source in _toml(folder / "Pipfile").get("source", []) or []:
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            urls.append(source["url"])
    return urls, replaced


def _ruby(folder: Path) -> tuple[list[str], bool]:
    """Every `source` of the Gemfile: top-level, a `source … do` block, a gem's `source:`
    option. A top-level source other than rubygems.org replaces rubygems.org (a mirror)."""
    text = _text(folder / "Gemfile")
    urls, replaced = [], False
    for match in re.finditer(r"^[ \t]*source[ \t(]+[\"'](https?://[^\"']+)[\"'][ \t)]*(do\b)?", text, re.MULTILINE):
        urls.append(match.group(1))
        replaced = replaced or (not match.group(2) and host_of(match.group(1)) not in {"rubygems.org", "index.rubygems.org"})
    urls += re.findall(r"(?:\bsource:|:source\s*=>)\s*[\"'](https?://[^\"']+)", text)
    return urls, replaced


def _php(folder: Path) -> tuple[list[str], bool]:
    """composer.json's `repositories` (a list, or a mapping of names), read as JSON: a
    `funding` or `homepage` URL is not a repository. `"packagist.org": false` drops Packagist."""
    try:
        document = json.loads(_text(folder / "composer.json") or "{}")
    except ValueError:
        return [], False
    repositories = document.get("repositories") if isinstance(document, dict) else None
    if isinstance(repositories, dict):
        replaced = repositories.get("packagist.org") is False or repositories.get("packagist") is False
        entries = list(repositories.values())
    else:
        replaced, entries = False, repositories if isinstance(repositories, list) else []
    urls = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("packagist.org") is False:
            replaced = True
        elif isinstance(entry, dict) and entry.get("type") not in {"path", "artifact"} and isinstance(entry.get("url"), str):
            urls.append(entry["url"])
    return urls, replaced


def _gradle_text(folder: Path) -> str:
    return "".join(_text(folder / name) for name in ("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"))


def _java(folder: Path) -> tuple[list[str], bool]:
    """Maven: the <url> of each <repository> and <pluginRepository> (not the project's
    homepage, SCM, issue or CI links, nor where it deploys: <distributionManagement>).
    Gradle: `url "…"`, `url = uri("…")`, `maven("…")`, `maven(url = "…")`, and google()."""
    pom = re.sub(r"(?s)<distributionManagement>.*?</distributionManagement>|<!--.*?-->", "", _text(folder / "pom.xml"))
    urls = re.findall(r"(?s)<(?:plugin)?[Rr]epository>(?:(?!</(?:plugin)?[Rr]epository>).)*?<url>\s*(https?://[^<\s]+)", pom)
    build_scripts = _gradle_text(folder)
    urls += re.findall(r"(?:\burl\s*(?:=\s*)?(?:uri\(\s*)?|\bmaven\(\s*(?:url\s*=\s*)?(?:uri\(\s*)?)[\"'](https?://[^\"']+)", build_scripts)
    if re.search(r"\bgoogle\(\)", build_scripts):
        urls.append("https://dl.google.com/dl/android/maven2/")  # what Gradle's google() resolves to
    return urls, False


DECLARED = {"node": _node, "python": _python, "ruby": _ruby, "php": _php, "java": _java}


def install_hosts(root: str | Path, folder: str, stack: str, tool_hosts: list[str]) -> list[str]:
    """The hosts the install of `stack` in `folder` downloads from, in a stable order."""
    where = Path(root) / folder
    urls, replaced = DECLARED.get(stack, lambda _: ([], False))(where) if where.is_dir() else ([], False)
    declared = [host for host in map(host_of, urls) if host]
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
