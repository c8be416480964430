"""Resolve the chosen stacks into what the templates print: tools, commands, rules, formatters."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from jinja2 import pass_context
from jinja2.ext import Extension

STACKS_FILE = Path(__file__).parent / "data" / "stacks.yml"


@cache
def _stacks() -> dict:
    return yaml.safe_load(STACKS_FILE.read_text(encoding="utf-8"))


def stack_view(stacks: list[str], tools: dict[str, str]) -> list[dict]:
    """One resolved record per chosen stack, in catalog order (never answer order).

    `tools` maps a stack to the tool its question chose, e.g. {"python": "uv"}; stacks
    without a tool question use their only tool.
    """
    catalog = _stacks()
    view = []
    for name, spec in catalog.items():
        if name not in stacks:
            continue
        tool = tools.get(name) or spec["fallback"]
        if tool not in spec["tools"]:
            tool = spec["fallback"]
        run = spec["tools"][tool]["run"]
        if "commands_by_tool" in spec:
            commands = dict(spec["commands_by_tool"][tool])
        else:
            commands = {key: value.format(run=run) for key, value in spec["commands"].items()}
        view.append(
            {
                "name": name,
                "label": spec["label"],
                "inputs": spec["inputs"],
                "tool": tool,
                "add": spec["tools"][tool]["add"],
                "add_dev": spec["tools"][tool]["add_dev"],
                "add_note": spec["tools"][tool].get("note", ""),
                "commands": commands,
                "allow": [*spec.get("allow", []), *spec.get("tool_allow", {}).get(tool, [])],
                "formatter": spec.get("formatter"),
            }
        )
    return view


@pass_context
def project_stacks(context) -> list[dict]:
    """`stack_view` of the answers being rendered: the stacks and their tool questions."""
    tools = {stack: context.get(f"{stack}_tool") for stack in ("python", "node", "java")}
    return stack_view(context.get("stacks") or [], tools)


# Package tools the cloud image may lack, which the setup script installs when missing.
SETUP_TOOLS = {"python": ("uv", "poetry", "pipenv"), "node": ("pnpm", "yarn", "bun")}


@pass_context
def cloud_setup_needed(context) -> bool:
    """Whether cloud-setup.sh has anything to provision for these answers."""
    stacks = context.get("stacks") or []
    tools = any(context.get(f"{stack}_tool") in names for stack, names in SETUP_TOOLS.items() if stack in stacks)
    toolchains = "go" in stacks or "rust" in stacks  # their pinned toolchain versions
    return bool(tools or toolchains or context.get("services") or context.get("cli_tools"))


def stack_tools(view: list[dict]) -> dict[str, str]:
    """Chosen stack -> its tool, e.g. {"python": "uv", "go": "go"}."""
    return {stack["name"]: stack["tool"] for stack in view}


def active_hooks(starter_hooks: list[str], stacks: list[str]) -> list[str]:
    """The starter hooks that have work to do: format-on-edit needs a stack with a formatter."""
    catalog = _stacks()
    has_formatter = any(catalog[name].get("formatter") for name in stacks or [] if name in catalog)
    return [hook for hook in starter_hooks or [] if hook != "format-on-edit" or has_formatter]


class StackView(Extension):
    """Globals `project_stacks`, `stack_tools`, `active_hooks` and `cloud_setup_needed`."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["project_stacks"] = project_stacks
        environment.globals["stack_tools"] = stack_tools
        environment.globals["active_hooks"] = active_hooks
        environment.globals["cloud_setup_needed"] = cloud_setup_needed
