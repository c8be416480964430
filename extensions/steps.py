"""The steps file: what the static bootstrap (.claude/scripts/cloud-init.sh) does for these
answers, as data.

cloud-init.sh is the same file in every repository. What differs (the stacks' install
commands, inputs and exports, the CLI tools, the services, the time limits) is written to
.claude/scripts/cloud-init.steps, one record a line with TAB-separated fields; the
engine's header documents the records. Every fact comes from extensions/data/catalogue.yml
through stacks.py; this module only lays them out. Each record is one line, so an update
merges the file line by line, and a change to one stack changes that stack's lines only.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from jinja2 import pass_context
from jinja2.ext import Extension

# Copier runs extension files as modules of their own: siblings are loaded by their path.
_spec = importlib.util.spec_from_file_location("copier_claude_cloud_stacks", Path(__file__).with_name("stacks.py"))
stacks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stacks)
catalogue = stacks.catalogue


class StepsFieldError(ValueError):
    """A value cannot be one field of a steps record (it holds a TAB or a line break)."""


def field(value: object) -> str:
    """One field: never a TAB or a line break, which would split or add a record."""
    text = str(value)
    if re.search(r"[\t\r\n]", text):
        raise StepsFieldError(f"{text!r} cannot be written to cloud-init.steps: it holds a TAB or a line break")
    return text


def record(*fields: object) -> str:
    return "\t".join(map(field, fields))


def snippet(kind: str, key: str, condition: str | None, text: str) -> list[str]:
    """A record whose last field is shell text: its first line, then one `+` line per line."""
    first, *more = str(text).split("\n")
    head = [kind, key] + ([condition] if condition is not None else []) + [first]
    return [record(*head)] + ["+\t" + field(line) if line else "+" for line in more]


def database_name(project_name: str) -> str:
    """The services' database (PostgreSQL's DATABASE_URL), from the project's name."""
    name = re.sub(r"[^a-z0-9]+", "_", str(project_name).lower()).strip("_")
    return name[:48] or "app"


def stack_records(stack: dict) -> list[str]:
    """A stack's install step in its folder, with the hosts its install downloads from. A
    workspace member has none: its workspace root's install covers it."""
    if stack.get("installed_by"):
        return []
    spec = catalogue.stacks()[stack["name"]]
    step = stack["step"]
    lines = [record("step", step)]
    if stack["folder"] != ".":
        lines.append(record("dir", step, stack["folder"]))
    lines += [record("input", step, pattern) for pattern in spec["inputs"]]
    if stack.get("ready"):
        lines.append(record("ready", step, stack["ready"]))
    lines += [record("host", step, host) for host in stack["hosts"]]
    for form in stack["install"]:
        condition = " ".join(form["if"]) if form.get("if") else "*"
        before = form.get("before") or []  # one snippet, or a list of them, run first
        command = "\n".join([*([before] if isinstance(before, str) else before), form["run"]])
        lines += snippet("run", step, condition, command)
    return lines


def service_records(service: dict) -> list[str]:
    return [record("step", service["name"]), record("port", service["name"], service["port"]),
            *snippet("run", service["name"], "*", service["start"])]


def tool_records(cli_tools: list[str], parse) -> list[str]:
    lines = [record("step", "cli-tools"), record("run", "cli-tools", "*", "cli_tools")]
    managers = catalogue.cli_managers()
    chosen = stacks.chosen_managers(cli_tools)
    lines += [record("host", "cli-tools", host)
              for host in dict.fromkeys(host for name in chosen for host in managers[name].get("hosts", ()))]
    for spec in cli_tools:
        tool = parse(spec)
        lines.append(record("tool", tool["manager"], tool["package"], tool["version"] or "-"))
    for name in chosen:
        lines += snippet("manager", name, "present", managers[name]["present"])
        lines += snippet("manager", name, "install", managers[name]["install"])
    return lines


def export_records(context) -> list[str]:
    """Stacks' variables and folders, then the CLI tools' bin folders, then the services'
    URLs; each once, with the catalogue's placeholders left for the engine."""
    lines = []
    exported: set[str] = set()
    view = stacks.project_stacks(context)
    for stack in view:
        spec = catalogue.stacks()[stack["name"]]
        if stack["name"] not in exported:  # a variable has one value: the stack's first folder's
            exported.add(stack["name"])
            lines += [record("env", name, stacks.in_folder(value, stack["folder"])) for name, value in spec.get("env", {}).items()]
    # Each `path` record goes first on PATH: the folders' in reverse, so that the first folder's
    # tools (the top folder's) are found first, as its VIRTUAL_ENV says.
    for stack in reversed(view):
        lines += [record("path", folder) for folder in stack["path_templates"]]
    managers = catalogue.cli_managers()
    lines += [record("path", managers[name]["bin"]) for name in stacks.chosen_managers(context.get("cli_tools"))
              if managers[name].get("bin")]
    for service in stacks.project_services(context):
        lines += [record("env", name, value) for name, value in catalogue.services()[service["name"]]["env"].items()]
    return list(dict.fromkeys(lines))


@pass_context
def steps_records(context) -> str:
    """The records of cloud-init.steps for the answers being rendered, grouped by section."""
    cli_tools = context.get("cli_tools") or []
    options = [
        record("option", "wait_limit", int(context["wait_timeout"])),
        record("option", "step_limit", int(context["step_timeout"])),
        record("option", "background", "on" if context.get("background_install") else "off"),
    ]
    if context.get("services"):
        options.append(record("option", "database", database_name(context.get("project_name", ""))))
    view = stacks.project_stacks(context)
    if any(stack["name"] == "java" for stack in view):
        # Maven and Gradle ignore https_proxy: the engine hands them the session's proxy.
        options.append(record("option", "jvm_proxy", "on"))
    sections = [options]
    sections += [stack_records(stack) for stack in view]
    if cli_tools:
        sections.append(tool_records(cli_tools, context.environment.filters["parse_cli_tool"]))
    sections += [service_records(service) for service in stacks.project_services(context)]
    sections.append(export_records(context))
    return "\n\n".join("\n".join(lines) for lines in sections if lines)


class Steps(Extension):
    """Global `steps_records()`: the body of .claude/scripts/cloud-init.steps."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["steps_records"] = steps_records
