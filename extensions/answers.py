"""Check and parse free-form answers. Every problem names its question and the fix.

Each `*_problem` function returns "" for a valid answer, else one message; copier.yml
uses them as validators (`validator: "{{ cli_tools | cli_tools_problem }}"`).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from jinja2.ext import Extension


def _sibling(name: str):
    """Copier runs extension files as modules of their own: siblings are loaded by path."""
    spec = importlib.util.spec_from_file_location(f"copier_claude_cloud_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


catalogue = _sibling("catalogue")
secrets = _sibling("secrets")
REFUSED_ENV = [(entry["name"], entry["reason"]) for entry in
               yaml.safe_load(Path(__file__).with_name("data").joinpath("refused_env.yml").read_text(encoding="utf-8"))["refused"]]
# Any C0 control character or DEL: a NUL breaks every script that reads the value, and the
# others hide text in a terminal. (Line breaks get their own message.)
CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
# Far under what the environment holds (E2BIG): settings.json's env reaches every process.
MAX_VALUE = 4096

CLI_EXAMPLE = "npm:prettier@3.3.3, uv:ruff@0.6.9, go:golang.org/x/tools/gopls@v0.16.2, apt:jq"

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
    if CONTROL.search(spec) or "\n" in spec or "\r" in spec:
        return f"cli_tools: {spec!r} holds a control character. Write each tool as manager:package[@version]."
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
    if version and not re.fullmatch(managers[manager]["version"], version):
        return (f"cli_tools: {version!r} in {spec!r} is not a {manager} version (no aliases, paths, URLs or "
                "ranges). Pin it like @1.2.3, or leave @version out.")
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
        refused = next((reason for pattern, reason in REFUSED_ENV
                        if isinstance(name, str) and fnmatch.fnmatchcase(name.upper(), pattern)), None)
        if refused:
            return f"env_vars: {name} is refused: {refused}. Remove it from env_vars."
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            return f"env_vars: {name!r} is not a valid name. Use capitals, digits and _, starting with a letter or _ (e.g. LOG_LEVEL)."
        if name in IGNORED_ENV_NAMES:
            return f"env_vars: Claude Code ignores {name} in settings.json ({IGNORED_ENV_NAMES[name]}). Remove it."
        if SECRET_NAME.search(name):
            return (
                f"env_vars: {name} looks like a secret, and settings.json is committed. Remove it here and set it "
                "in the cloud environment's environment variables instead."
            )
        if isinstance(value, (Mapping, list)) or value is None:
            return f"env_vars: the value of {name} must be a single string or number, e.g. {name}: debug."
        text = str(value)
        if CONTROL.search(text) or "\n" in text or "\r" in text:
            return f"env_vars: the value of {name} holds a line break or control character. Give one plain line."
        if len(text) > MAX_VALUE:
            return f"env_vars: the value of {name} is {len(text)} characters long; keep it to {MAX_VALUE}."
        if found := secrets.secret_in(text):
            return (f"env_vars: the value of {name} holds {found}, and settings.json is committed. Set it in the "
                    "cloud environment's variables instead, and leave it out of env_vars.")
    return ""



def text_problem(value: object, question: str, max_length: int, required: bool = False) -> str:
    text = "" if value is None else str(value)
    if required and not text.strip():
        return f"{question}: must not be empty. Give a short name, e.g. my-service."
    if "\n" in text or "\r" in text:
        return f"{question}: must be one line. Remove the line breaks."
    if CONTROL.search(text):
        return f"{question}: holds a control character (such as NUL or ESC). Remove it."
    if "<!--" in text or "-->" in text:
        return f"{question}: must not contain '<!--' or '-->'; CLAUDE.md uses them to mark its blocks."
    if len(text) > max_length:
        return f"{question}: is {len(text)} characters long; keep it to {max_length}."
    return ""


def seconds_problem(value: object, question: str, low: int, high: int) -> str:
    """A whole number of seconds from `low` to `high`. The questions are `type: yaml`, not `int`:
    with `int`, Copier turns `abc` into "invalid literal for int()", which names no question."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{question}: expected a whole number of seconds from {low} to {high}, got {value!r}."
    if not low <= value <= high:
        return f"{question}: {value} is out of range. Give a number of seconds from {low} to {high}."
    return ""


class AnswerChecks(Extension):
    """Validator filters for copier.yml, and `parse_cli_tool` for the scripts."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update({function.__name__: function for function in (
            cli_tools_problem, env_vars_problem, text_problem, seconds_problem, parse_cli_tool,
        )})
