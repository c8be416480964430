"""Detect a destination's language stacks and package tools, for question defaults."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from jinja2.ext import Extension

STACKS_FILE = Path(__file__).parent / "data" / "stacks.yml"


@cache
def _stacks() -> dict:
    return yaml.safe_load(STACKS_FILE.read_text(encoding="utf-8"))


def _has_any(folder: Path, patterns: list[str]) -> bool:
    return any(next(folder.glob(pattern), None) is not None for pattern in patterns)


def detect_stacks(destination: str | Path) -> list[str]:
    """Stacks whose marker files sit at the destination's top level, in catalog order."""
    folder = Path(destination)
    if not folder.is_dir():
        return []
    return [name for name, stack in _stacks().items() if _has_any(folder, stack["detect"])]


def detect_tool(destination: str | Path, stack: str) -> str:
    """The stack's tool whose lockfile is present, else the stack's fallback tool."""
    spec = _stacks()[stack]
    folder = Path(destination)
    if folder.is_dir():
        for tool, details in spec["tools"].items():
            if details["markers"] and _has_any(folder, details["markers"]):
                return tool
    return spec["fallback"]


class StackDetection(Extension):
    """Globals `detect_stacks(path)` and `detect_tool(path, stack)` for copier.yml defaults."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["detect_stacks"] = detect_stacks
        environment.globals["detect_tool"] = detect_tool
