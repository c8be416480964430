"""0.2.0, before the update: `bootstrap_timeout` (the whole hook's budget, steps one after
another) becomes `step_timeout` (each step's own limit; steps now run in parallel).

A value the team chose is carried over so that the foreground hook keeps the same total
budget: step_timeout = bootstrap_timeout - 70 (the hook timeout is step_timeout + 70).
The old default (900) is simply dropped, so the new default (600) applies.

Usage: v0_2_0_step_timeout.py ANSWERS_FILE (run by Copier in the project's folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

OLD_DEFAULT = 900


def migrate(answers: dict) -> dict:
    if "bootstrap_timeout" not in answers:
        return answers
    migrated = dict(answers)
    old = migrated.pop("bootstrap_timeout")
    if isinstance(old, int) and old != OLD_DEFAULT and "step_timeout" not in migrated:
        migrated["step_timeout"] = max(30, min(3000, old - 70))
    return migrated


def main(answers_file: str) -> int:
    path = Path(answers_file)
    if not path.is_file():
        return 0
    text = path.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    answers = yaml.safe_load(text) or {}
    migrated = migrate(answers)
    if migrated != answers:
        path.write_text(header + yaml.safe_dump(migrated, sort_keys=True, allow_unicode=True), encoding="utf-8")
        print(f"copier-claude-cloud 0.2.0: bootstrap_timeout {answers['bootstrap_timeout']} -> "
              f"step_timeout {migrated.get('step_timeout', 'default')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
