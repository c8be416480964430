"""The prose the template writes reads well under every answer set: no empty section, no
duplicated heading, no list intro left dangling, nothing unrendered or leaked from Jinja,
and messages right for one item and for many."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from helpers import ANSWERS_FILE, build_file_tree, generate, generated_files

HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")
FENCE = re.compile(r"\s*(```|~~~)")
LEAKS = re.compile(r"\bNone\b|\bUndefined\b|\[\]|\{\}|\(\)|\{\{|\}\}|\{%|%\}|\{#|#\}")


def body_of(path: Path) -> str:
    """A Markdown file without its YAML frontmatter block."""
    text = path.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4)
        return text[end + len("\n---\n"):]
    return text


def classify(lines: list[str]) -> list[tuple[str, tuple[int, str] | None]]:
    """Each line as ("heading", (level, text)), "blank", "end-marker" (a closing HTML comment
    such as `<!-- END user block -->`), "comment", "code" or "text"."""
    kinds, in_code = [], False
    for line in lines:
        if FENCE.match(line):
            in_code = not in_code
            kinds.append(("code", None))
        elif in_code:
            kinds.append(("code", None))
        elif match := HEADING.fullmatch(line):
            kinds.append(("heading", (len(match[1]), match[2])))
        elif not line.strip():
            kinds.append(("blank", None))
        elif line.lstrip().startswith("<!--"):
            kinds.append(("end-marker" if line.lstrip().startswith("<!-- END") else "comment", None))
        else:
            kinds.append(("text", None))
    return kinds


def markdown_problems(text: str) -> list[str]:
    lines = text.split("\n")
    kinds = classify(lines)
    problems, seen = [], set()

    def next_content(index: int) -> int:
        """The first line after `index` that is neither blank nor an opening comment."""
        index += 1
        while index < len(kinds) and kinds[index][0] in ("blank", "comment"):
            index += 1
        return index

    for index, (kind, heading) in enumerate(kinds):
        if kind == "heading":
            if heading in seen:
                problems.append(f"duplicated heading {'#' * heading[0]} {heading[1]}")
            seen.add(heading)
            after = next_content(index)
            ends = after == len(kinds) or kinds[after][0] == "end-marker"
            if ends or (kinds[after][0] == "heading" and kinds[after][1][0] <= heading[0]):
                problems.append(f"empty section: {lines[index]!r}")
        elif kind == "text" and lines[index].rstrip().endswith(":"):
            after = next_content(index)
            follows = lines[after] if after < len(lines) else ""
            if after == len(kinds) or not (LIST_ITEM.match(follows) or FENCE.match(follows)
                                           or follows.lstrip().startswith("|")):
                problems.append(f"list intro with no list: {lines[index]!r}, then {follows!r}")
    in_list = False
    for index, (kind, _) in enumerate(kinds):
        line = lines[index]
        if kind == "text" and LIST_ITEM.match(line):
            in_list = True
        elif kind == "text" and in_list and not line.startswith((" ", "\t")):
            problems.append(f"a paragraph joins the list item above it: {line!r}")
            in_list = False
        elif kind != "text" or not line.startswith((" ", "\t")):
            in_list = False
    if "\n\n\n" in text:
        problems.append("two blank lines in a row")
    for number, line in enumerate(lines, 1):
        if kinds[number - 1][0] != "code" and (leak := LEAKS.search(line)):
            problems.append(f"line {number} leaks {leak[0]!r}: {line!r}")
    return problems


def markdown_files(project: Path) -> list[Path]:
    return [path for path in generated_files(project) if path.suffix == ".md"]


# --- the checker checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# T\n\n## A\n\n## B\n\ntext\n", "empty section: '## A'"),
        ("# T\n\ntext\n\n## A\n\n<!-- END user block -->\n", "empty section: '## A'"),
        ("# T\n\n## A\n\nx\n\n## A\n\ny\n", "duplicated heading ## A"),
        ("# T\n\nIn the cloud it:\n\nThe installs run.\n", "list intro with no list"),
        ("# T\n\nIn the cloud it:\n", "list intro with no list"),
        ("# T\n\ntext\n\n\ntext\n", "two blank lines"),
        ("# T\n\nIt does:\n- one\n  more of one\nWork is skipped.\n", "joins the list item above"),
        ("# T\n\nInstalls None.\n", "leaks 'None'"),
        ("# T\n\nTools: [].\n", "leaks '[]'"),
        ("# T\n\n{{ project_name }}\n", "leaks '{{'"),
    ],
)
def test_the_checker_finds(text, problem):
    assert any(problem in found for found in markdown_problems(text)), markdown_problems(text)


def test_the_checker_accepts_good_prose():
    text = ("# T\n\n<!-- BEGIN managed -->\n\n## A\n\nIt does:\n- one\n- two\n\n### A.1\n\nx\n\n"
            "## B\n\nSteps:\n\n1. one\n\n```sh\nnot: [] {}\n# not a heading\n```\n<!-- END managed -->\n")
    assert markdown_problems(text) == []


# --- every answer set -----------------------------------------------------------------------


def test_markdown_reads_well(answer_set):
    name, project = answer_set
    problems = {str(p.relative_to(project)): markdown_problems(body_of(p)) for p in markdown_files(project)}
    assert {path: found for path, found in problems.items() if found} == {}, name


def test_claude_md_has_one_title(answer_set):
    _, project = answer_set
    text = (project / "CLAUDE.md").read_text()
    titles = [line for line in text.splitlines() if line.startswith("# ")]
    assert len(titles) == 1 and text.startswith(titles[0] + "\n")


def test_no_text_file_leaks_jinja_or_python_values(answer_set):
    _, project = answer_set
    for path in generated_files(project):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bNone\b|\bUndefined\b", text), f"{path} leaks a Python value"
        assert not re.search(r"\{%|%\}|(?<!\$)\{#|(?<!\$)\{\{", text), f"{path} holds unrendered Jinja"  # ${#a[@]}: bash


def test_script_messages_join_lists_for_one_and_for_many(answer_set):
    """A bash array said as ${list[*]} reads "python node": messages go through `listed`
    ("python and node"), and no message puts a verb after such a list."""
    _, project = answer_set
    for path in generated_files(project):
        if path.suffix != ".sh":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            said = re.search(r"\b(echo|report|printf)\b", line)
            assert not (said and re.search(r"\$\{\w+\[\*\]", line)), f"{path.name}:{number}: {line.strip()}"
            assert not re.search(r"\]\} (are|is|was|were|has|have)\b", line), f"{path.name}:{number}: {line.strip()}"


# --- no stack, and an existing CLAUDE.md ------------------------------------------------------


@pytest.mark.parametrize("name", ["defaults", "no-stacks-no-starter-kit"])
def test_a_project_without_stacks_says_there_is_nothing_to_install(generated_sets, name):
    project = generated_sets[name]
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["stacks"] == []
    text = (project / "CLAUDE.md").read_text()
    cloud = text.split("## Cloud sessions\n", 1)[1].split("<!-- END", 1)[0]
    assert "In the cloud it:" not in cloud and "nothing to install" in cloud
    assert "The installs run in the background" not in cloud
    assert cloud.rstrip().endswith(".")


@pytest.mark.parametrize("background", [True, False])
def test_the_cloud_sessions_list_ends_before_the_next_paragraph(template_repo, tmp_path, background):
    project = generate(template_repo, tmp_path, {"stacks": ["go"], "background_install": background})
    cloud = (project / "CLAUDE.md").read_text().split("## Cloud sessions\n", 1)[1]
    # A line right after a list item would join the item in Markdown.
    assert "Bash command sees them\n\nThe installs run" in cloud if background else \
        "Bash command sees them\n\nWork already done" in cloud


TEAM_CLAUDE_MD = """\
# Payments API

Always run `make lint` before committing.

## Architecture

Services talk through the queue.
"""


def test_an_adopted_claude_md_reads_well_and_again_after_a_recopy(template_repo, tmp_path):
    build_file_tree(tmp_path, {"CLAUDE.md": TEAM_CLAUDE_MD, "pyproject.toml": ""})
    generate(template_repo, tmp_path, overwrite=True)
    first = (tmp_path / "CLAUDE.md").read_text()
    assert markdown_problems(first) == []
    assert first.startswith("# Payments API\n")
    generate(template_repo, tmp_path, overwrite=True)
    assert (tmp_path / "CLAUDE.md").read_text() == first
