"""The command line of the update's two-stage tasks: `TASK.py before|after ANSWERS_FILE`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import yaml


def run(before: Callable[[dict], None], after: Callable[[], None], argv: list[str] | None = None) -> None:
    """`before` gets the answers the file holds; `after` needs none."""
    stage, answers_file = (argv or sys.argv[1:])[:2]
    if stage == "before":
        before(yaml.safe_load(Path(answers_file).read_text(encoding="utf-8")) or {})
    else:
        after()
