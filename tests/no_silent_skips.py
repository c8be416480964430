"""A pytest plugin: under CI, a skipped test fails the run, with the skip's reason.

CI counts as set when $CI is non-empty and not "false" or "0" (most CI services set CI=true).
Then every skip, whether pytest.skip(), a skip or skipif marker, a skipping fixture or a
module skipped at collection, is reported as a failure (an error when it happened in setup
or collection) saying "skipped under CI=...: <reason>". xfail is left alone, and so is
deselection (-m, -k). Outside CI nothing changes: `-ra` lists the skips in the summary.

tests/conftest.py loads it; elsewhere: `pytest -p no_silent_skips` with tests/ on sys.path.
"""

from __future__ import annotations

import os

import pytest


def ci_value() -> str | None:
    """$CI when it says this is a CI run, else None."""
    value = os.environ.get("CI", "").strip()
    return value if value and value.lower() not in ("false", "0") else None


def fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn a skipped report (not an xfail) into a failed one that carries the skip's reason."""
    ci = ci_value()
    if ci is None or not report.skipped or hasattr(report, "wasxfail"):
        return
    if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: reason")
        path, line, reason = report.longrepr
        where = f" ({path}:{line})"
        reason = reason.removeprefix("Skipped: ")
    else:
        where, reason = "", str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI={ci}: {reason}{where}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector):
    report = yield
    fail_skip(report)
    return report


def pytest_report_header(config):
    ci = ci_value()
    return f"CI={ci}: a skipped test fails the run (tests/no_silent_skips.py)" if ci else None
