"""README.md tells the truth about the questions and the commands."""

from __future__ import annotations

import re

import yaml

from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def questions() -> list[str]:
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    return [key for key in config if not key.startswith("_")]


def test_readme_table_lists_every_question_in_order():
    section = README.split("\n## Questions\n", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert table == questions()


def test_every_question_has_help_and_a_default():
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    for key in questions():
        assert config[key].get("help"), f"{key} has no help text"
        assert "default" in config[key], f"{key} has no default"


def quick_start() -> list[str]:
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", README, flags=re.DOTALL).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_generates_a_demo_then_fetches_the_clis_and_actionlint_then_tests():
    copy, fetch, test = quick_start()
    assert "copier copy --trust --defaults" in copy and "find demo" in copy
    assert fetch == ".venv/bin/python tests/e2e/fetch_clis.py && .venv/bin/python tests/tools/actionlint.py"
    assert test == ".venv/bin/pytest"


def test_ci_runs_the_quick_starts_fetch_and_test_commands_word_for_word():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in quick_start()[1:]:
        assert command in ci_lines, f"CI must run the README's {command!r} word for word"


def test_readme_names_the_answers_file_in_the_update_command():
    assert "copier update --trust -a .copier-answers.claude.yml" in README


def test_the_answers_file_is_the_one_the_readme_names():
    assert yaml.safe_load((ROOT / "copier.yml").read_text())["_answers_file"] == ".copier-answers.claude.yml"
