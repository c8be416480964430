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


def test_quick_start_has_two_commands_and_ci_runs_the_second():
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", README, flags=re.DOTALL).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "copier copy --trust --defaults" in commands[0] and "find demo" in commands[0]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert commands[1] in ci_lines, "CI must run the README's test command word for word"


def test_readme_names_the_answers_file_and_update_command():
    assert "copier update --trust -a .copier-answers.claude.yml" in README
    assert yaml.safe_load((ROOT / "copier.yml").read_text())["_answers_file"] == ".copier-answers.claude.yml"
