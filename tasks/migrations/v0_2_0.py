"""0.2.0: `bootstrap_timeout` (the whole hook's budget, steps one after another) becomes
`step_timeout` (each step's own limit; steps now run in parallel).

A value the team chose is carried over so that the foreground hook keeps the same total
budget: step_timeout = bootstrap_timeout - 70 (the hook timeout is step_timeout + 70).
The old default (900) is simply dropped, so the new default (600) applies. Answers that
already have the new shape (a project built from an untagged commit after the change) are
left as they are.
"""

from __future__ import annotations

OLD_DEFAULT = 900


def before(answers: dict) -> dict:
    if "bootstrap_timeout" not in answers:
        return answers
    migrated = dict(answers)
    old = migrated.pop("bootstrap_timeout")
    if isinstance(old, int) and old != OLD_DEFAULT and "step_timeout" not in migrated:
        migrated["step_timeout"] = max(30, min(3000, old - 70))
    return migrated
