"""Under CI a skip fails the run and says why (tests/no_silent_skips.py); elsewhere it stays a skip."""

from __future__ import annotations

import pytest

INNER_TESTS = """
import pytest

def test_skips():
    pytest.skip("no registry here")

@pytest.mark.skipif(True, reason="not on this platform")
def test_marked():
    pass

@pytest.fixture
def tool():
    pytest.skip("tool is missing")

def test_needs_tool(tool):
    pass

@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert False

def test_passes():
    pass
"""


@pytest.fixture
def inner(pytester, monkeypatch):
    """run(ci, *args): an inner pytest over INNER_TESTS, with $CI set to `ci` (None: unset)."""
    pytester.makepyfile(test_inner=INNER_TESTS)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # quicker: only the plugin under test

    def run(ci: str | None, *args: str) -> pytest.RunResult:
        if ci is None:
            monkeypatch.delenv("CI", raising=False)
        else:
            monkeypatch.setenv("CI", ci)
        return pytester.runpytest("-p", "no_silent_skips", "-p", "no:cacheprovider", "-ra", *args)

    return run


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_under_ci_a_skip_fails_with_its_reason(inner, ci):
    result = inner(ci)
    # A skip in the test body fails it; one in setup (a marker, a fixture) is an error.
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1)
    assert result.ret != 0
    output = result.stdout.str()
    for reason in ("no registry here", "not on this platform", "tool is missing"):
        assert f"skipped under CI={ci}: {reason}" in output
    assert f"CI={ci}: a skipped test fails the run" in output


@pytest.mark.parametrize("ci", [None, "", "false", "0", "False"])
def test_outside_ci_a_skip_stays_a_skip_and_is_listed(inner, ci):
    result = inner(ci)
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["SKIPPED * no registry here", "SKIPPED * not on this platform"])
    assert "skipped under CI" not in result.stdout.str()


def test_under_ci_a_module_skipped_at_collection_fails(pytester, monkeypatch):
    pytester.makepyfile(test_module="import pytest\npytest.skip('needs a GPU', allow_module_level=True)\n")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("-p", "no_silent_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert "skipped under CI=true: needs a GPU" in result.stdout.str()


def test_deselection_is_not_a_skip(inner):
    result = inner("true", "-k", "passes")
    result.assert_outcomes(passed=1, deselected=4)
    assert result.ret == 0
