"""template/ reads as the generated layout: files under their real names, and one table,
LAYOUT in extensions/layout.py, says which answers write which file. copier.yml's one
`_exclude` entry is rendered from it, and so is the after-copy message's `git add` line
(tests/test_first_run.py checks that line against each copy). Updates that turn an option
off or on: tests/test_update.py."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from extensions.layout import LAYOUT, TEMPLATE_NAME, Layout, chosen, excluded_paths
from extensions.stacks import StackView
from helpers import ANSWERS_FILE, ROOT, generated_files, template_files

ANSWERS_TEMPLATE = "template/{{ _copier_conf.answers_file }}.jinja"
# CLAUDE.md is written where a CLAUDE.md link leads (extensions/layout.py's claude_md_path).
CLAUDE_MD_TEMPLATE = "template/{{ claude_md_path() }}.jinja"
COPIER_YML = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))


def context_of(answers: dict):
    """A Jinja context like Copier's, with the globals LAYOUT's conditions call."""
    environment = SandboxedEnvironment(extensions=[StackView, Layout], undefined=StrictUndefined)
    return environment.from_string("").new_context({**answers, "_copier_conf": {"answers_file": ANSWERS_FILE}})


def destination(template_path: str) -> str:
    """Where Copier writes a file of template/: the path below it, without `.jinja` (CLAUDE.md
    for the one whose name follows a CLAUDE.md link)."""
    if template_path == CLAUDE_MD_TEMPLATE:
        return "CLAUDE.md"
    template_path = TEMPLATE_NAME.sub(r"\1", template_path)  # .claude/skills, unless it links out
    return str(PurePosixPath(template_path).relative_to("template")).removesuffix(".jinja")


def test_no_template_path_holds_jinja_but_the_answers_file():
    names = [name for name in template_files() if name.startswith("template/")]
    assert ANSWERS_TEMPLATE in names
    templated = sorted(name for name in names if ("{%" in name or "{{" in name) and not TEMPLATE_NAME.search(name))
    assert templated == sorted([ANSWERS_TEMPLATE, CLAUDE_MD_TEMPLATE]), \
        "conditions belong in LAYOUT (extensions/layout.py), not in file names"


def test_the_table_names_every_file_of_template_and_nothing_else():
    """Also what keeps stray files (a __pycache__, an editor's backup) out of every copy:
    with _subdirectory, Copier's default excludes are empty."""
    names = {destination(name) for name in template_files() if name.startswith("template/")}
    assert names - {destination(ANSWERS_TEMPLATE)} == set(LAYOUT)


def test_copier_yml_has_one_exclude_entry_and_it_is_the_table():
    (entry,) = COPIER_YML["_exclude"]
    assert "excluded_paths()" in entry


def test_each_answer_set_generates_exactly_what_the_table_chooses(answer_set):
    _, project = answer_set
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    expected = {path for path, on in chosen(context_of(recorded)).items() if on} | {ANSWERS_FILE}
    assert {path.relative_to(project).as_posix() for path in generated_files(project)} == expected


@pytest.mark.parametrize(
    ("answers", "patterns"),
    [
        # A folder whose files are all left out goes as a whole: no empty folder (hooks/ keeps
        # the guard, which every project gets).
        ({"starter_skills": [], "starter_commands": [], "include_agents": False, "starter_hooks": [],
          "mcp_servers": [], "custom_mcp_servers": {}, "update_automation": "none", "stacks": []},
         ["/.claude/hooks/format-on-edit.sh", "/.claude/skills", "/.claude/commands",
          "/.claude/agents", "/.mcp.json", "/.github", "/renovate.json"]),
        # One file of a folder that keeps others goes alone.
        ({"starter_skills": ["cloud-environment"], "starter_commands": ["bootstrap-status"], "include_agents": True,
          "starter_hooks": ["format-on-edit"], "mcp_servers": ["github"], "custom_mcp_servers": {},
          "update_automation": "renovate", "stacks": ["go"]},
         ["/.claude/skills/add-dependency", "/.claude/commands/check.md", "/.github"]),
    ],
)
def test_excluded_paths_leave_out_the_unchosen_files_and_the_folders_they_empty(answers, patterns):
    assert excluded_paths(context_of(answers)).splitlines() == patterns
