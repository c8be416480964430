"""Check and parse free-form answers. Every problem names its question and the fix.

Each `*_problem` function returns "" for a valid answer, else one message; copier.yml
uses them as validators (`validator: "{{ cli_tools | cli_tools_problem }}"`).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path

from jinja2.ext import Extension

# Copier runs extension files as modules of their own: the catalogue is loaded by its path.
_spec = importlib.util.spec_from_file_location("copier_claude_cloud_catalogue", Path(__file__).with_name("catalogue.py"))
catalogue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogue)

CLI_EXAMPLE = "npm:prettier@3.3.3, uv:ruff@0.6.9, go:golang.org/x/tools/gopls@v0.16.2, apt:jq"
VERSION_PATTERN = r"[A-Za-z0-9][A-Za-z0-9.+:~_-]*"

# Claude Code ignores these in a project's settings.json `env` (reference/claude-code.md 1.2).
IGNORED_ENV_NAMES = {
    "CLAUDE_CODE_REMOTE": "it is an identity variable the cloud sets itself",
    "CLAUDE_CODE_ACCOUNT_UUID": "it is an identity variable",
    "CLAUDE_CODE_PLUGIN_CACHE_DIR": "project settings may not set it",
    "CLAUDE_CODE_PLUGIN_SEED_DIR": "project settings may not set it",
    "CLAUDE_CODE_PROCESS_WRAPPER": "project settings may not set it",
    "NODE_EXTRA_CA_CERTS": "cloud sessions ignore transport variables from the repository",
    "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "Claude Code on the web overrides it; use CLAUDE_CODE_AUTO_COMPACT_WINDOW",
}
# Whole underscore-separated words, so TOKENIZERS_PARALLELISM passes and GITHUB_TOKEN does not.
# Names the session's own processes depend on: setting them for every command breaks things.
PROCESS_NAMES = {"PATH", "HOME", "SHELL", "USER", "PWD", "TMPDIR", "LD_PRELOAD", "LD_LIBRARY_PATH", "BASH_ENV", "ENV",
                 "IFS", "CLAUDE_ENV_FILE", "CLAUDE_PROJECT_DIR"}
SECRET_NAME = re.compile(r"(^|_)(SECRET|TOKEN|PASSWORD|PASSWD|APIKEY|API_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)")
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def parse_cli_tool(spec: str) -> dict[str, str]:
    """Split `manager:package[@version]`. A leading `@` belongs to an npm scope, not a version."""
    manager, _, rest = str(spec).partition(":")
    at = rest.rfind("@")
    if at > 0:
        package, version = rest[:at], rest[at + 1 :]
    else:
        package, version = rest, ""
    return {"manager": manager, "package": package, "version": version}


def cli_tool_problem(spec: object) -> str:
    if not isinstance(spec, str):
        return f"cli_tools: {spec!r} is not a string. Write each tool as manager:package[@version], e.g. {CLI_EXAMPLE}."
    tool = parse_cli_tool(spec)
    manager, package, version = tool["manager"], tool["package"], tool["version"]
    managers = catalogue.cli_managers()
    if manager not in managers:
        return (
            f"cli_tools: {spec!r} has no known manager. Write manager:package[@version] with a manager "
            f"among {', '.join(managers)}, e.g. {CLI_EXAMPLE}."
        )
    if not re.fullmatch(managers[manager]["package"], package):
        return f"cli_tools: {package!r} in {spec!r} is not a valid {manager} package name. Check the spelling, e.g. {CLI_EXAMPLE}."
    if version and not re.fullmatch(VERSION_PATTERN, version):
        return f"cli_tools: {version!r} in {spec!r} is not a version. Pin it like @1.2.3, or leave @version out."
    if spec.endswith("@"):
        return f"cli_tools: {spec!r} ends with '@'. Give a version after it, or drop the '@'."
    return ""


def cli_tools_problem(tools: object) -> str:
    if tools in (None, ""):
        return ""
    if not isinstance(tools, list):
        return f"cli_tools: expected a list such as [{CLI_EXAMPLE}], got {type(tools).__name__}."
    for spec in tools:
        if problem := cli_tool_problem(spec):
            return problem
    seen: set[tuple[str, str]] = set()
    for spec in tools:
        key = (parse_cli_tool(spec)["manager"], parse_cli_tool(spec)["package"])
        if key in seen:
            return f"cli_tools: {key[0]}:{key[1]} is listed twice. Keep one entry per package."
        seen.add(key)
    return ""


def env_vars_problem(env_vars: object) -> str:
    if env_vars in (None, ""):
        return ""
    if not isinstance(env_vars, Mapping):
        return f"env_vars: expected a mapping such as {{LOG_LEVEL: debug}}, got {type(env_vars).__name__}."
    for name, value in env_vars.items():
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            return f"env_vars: {name!r} is not a valid name. Use capitals, digits and _, starting with a letter or _ (e.g. LOG_LEVEL)."
        if name in PROCESS_NAMES:
            return f"env_vars: {name} must not be set for every session; it would break the shell or Claude Code. Remove it."
        if name in IGNORED_ENV_NAMES:
            return f"env_vars: Claude Code ignores {name} in settings.json ({IGNORED_ENV_NAMES[name]}). Remove it."
        if SECRET_NAME.search(name):
            return (
                f"env_vars: {name} looks like a secret, and settings.json is committed. Remove it here and set it "
                "in the cloud environment's environment variables instead."
            )
        if isinstance(value, (Mapping, list)) or value is None:
            return f"env_vars: the value of {name} must be a single string or number, e.g. {name}: debug."
    return ""


def text_problem(value: object, question: str, max_length: int, required: bool = False) -> str:
    text = "" if value is None else str(value)
    if required and not text.strip():
        return f"{question}: must not be empty. Give a short name, e.g. my-service."
    if "\n" in text or "\r" in text:
        return f"{question}: must be one line. Remove the line breaks."
    if "<!--" in text or "-->" in text:
        return f"{question}: must not contain '<!--' or '-->'; CLAUDE.md uses them to mark its blocks."
    if len(text) > max_length:
        return f"{question}: is {len(text)} characters long; keep it to {max_length}."
    return ""


class AnswerChecks(Extension):
    """Validator filters for copier.yml, and `parse_cli_tool` for the scripts."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update({function.__name__: function for function in (
            cli_tools_problem, env_vars_problem, text_problem, parse_cli_tool,
        )})
