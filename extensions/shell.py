"""Shell quoting for every answer value that reaches a generated script."""

from __future__ import annotations

import shlex

from jinja2.ext import Extension


def shell_quote(value: object) -> str:
    """POSIX single-quote `value` so bash reads it back as exactly one word."""
    return shlex.quote(str(value))


class ShellQuoting(Extension):
    """Filter `shell_quote`: `{{ answer | shell_quote }}` in *.sh.jinja files."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["shell_quote"] = shell_quote
