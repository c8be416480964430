"""The catalogue of stacks, services and CLI-tool managers (data/catalogue.yml): loaded,
cross-checked and frozen here, and nowhere else.

Copier's extension loader runs each extension file as a module of its own, so the other
extensions, tasks and tests import this file by its path (importlib's spec_from_file_location).
It needs only the standard library and PyYAML, which Copier brings. The structure is
checked by data/catalogue.schema.json in the tests; what a schema cannot say (a fallback
that names no tool, a tool spec for an unknown manager) is checked at load.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from types import MappingProxyType, ModuleType

import yaml

HERE = Path(__file__).resolve().parent
CATALOGUE_FILE = HERE / "data" / "catalogue.yml"
SCHEMA_FILE = HERE / "data" / "catalogue.schema.json"
# Where load() keeps what it parsed, shared by every instance of this module.
_REGISTRY = "copier_claude_cloud_catalogues"

# Placeholders in the catalogue's paths and values, as the bootstrap's bash spells them.
SHELL_PLACEHOLDERS = {
    "{project}": "$project_dir",
    "{home}": "$HOME",
    "{gobin}": "${GOBIN:-${GOPATH:-$HOME/go}/bin}",
    "{gopath}": "${GOPATH:-$HOME/go}",
    "{cargo_home}": "${CARGO_HOME:-$HOME/.cargo}",
}


class CatalogueError(ValueError):
    """The catalogue contradicts itself; the message names the entry."""


def _frozen(value):
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def check(data: dict) -> None:
    """The cross-checks a schema cannot express."""
    managers = set(data["cli_managers"])
    for name, stack in data["stacks"].items():
        if stack["fallback"] not in stack["tools"]:
            raise CatalogueError(f"stacks.{name}.fallback names no tool of the stack: {stack['fallback']}")
        for tool_name, tool in stack["tools"].items():
            if not tool["install"] or "if" in tool["install"][-1]:
                raise CatalogueError(f"stacks.{name}.tools.{tool_name}.install must end with a form without `if`")
            provide = tool.get("setup", {}).get("provide")
            if provide and provide["tool"].split(":", 1)[0] not in managers:
                raise CatalogueError(f"stacks.{name}.tools.{tool_name}.setup.provide names an unknown manager")
            has_commands = "commands" in tool
            if has_commands == ("commands" in stack):
                raise CatalogueError(f"stacks.{name}: give `commands` on the stack or on every tool, not both")


def load() -> MappingProxyType:
    """The whole catalogue, read-only, parsed once per process for each catalogue file.

    stacks.py, answers.py and claude_json.py each load this module by its path, so each has
    an instance of its own; the parsed catalogue is kept in one registry in sys.modules,
    keyed by the file and its version, that all of them share. An update's old and new
    template versions are different files, so they never share an entry."""
    return parsed_once(CATALOGUE_FILE, lambda data: _frozen(check(data) or data), "catalogue")


def parsed_once(path: Path, finish, name: str = "data"):
    """`finish(yaml of path)`, computed once per process for each content of the file, in the
    registry the extension modules share (each loads its own copy of this module). Copier
    loads the extensions again for every copy, from a fresh clone of the template each time:
    the key is the file's content, so clones of one version share the result (the file's
    path, time and size only say when to look at the content again). `name` tells apart two
    results made from one file."""
    registry = sys.modules.setdefault(_REGISTRY, ModuleType(_REGISTRY)).__dict__
    stat = path.stat()
    seen = registry.setdefault("contents", {})
    where = (str(path), stat.st_mtime_ns, stat.st_size)
    if where not in seen:
        seen[where] = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = registry.setdefault("catalogues", {})
    key = (name, seen[where])
    if key not in loaded:
        loaded[key] = finish(yaml.safe_load(path.read_text(encoding="utf-8")))
    return loaded[key]


def stacks() -> MappingProxyType:
    return load()["stacks"]


def services() -> MappingProxyType:
    return load()["services"]


def cli_managers() -> MappingProxyType:
    return load()["cli_managers"]


def shell_path(template: str) -> str:
    """A catalogue path or value with its placeholders in bash's spelling."""
    for placeholder, expression in SHELL_PLACEHOLDERS.items():
        template = template.replace(placeholder, expression)
    return template


def all_allow_rules() -> list[str]:
    """Every permission rule any stack or tool of the catalogue can add."""
    rules = []
    for stack in stacks().values():
        rules += stack.get("allow", ())
        for tool in stack["tools"].values():
            rules += tool.get("allow", ())
    return list(dict.fromkeys(rules))
