"""Read the repository, end to end: each corpus repository (tests/data/repos, modelled on real
projects) is copied with `--defaults`, and the commands its expected.yml states are the ones
the generated project uses everywhere: the recorded `project_folders` answer, CLAUDE.md,
/check, the allow rules, the format-on-edit hook and the simulated bootstrap. No other
command appears. tests/test_repo_reader.py checks the reader alone, in more detail."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from extensions import catalogue as catalogue_module
from extensions import claude_json
from helpers import ANSWERS_FILE, ROOT, CloudSession, generate

CORPUS = ROOT / "tests" / "data" / "repos"
FIXTURES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())
# The program each formatter name of expected.yml runs as, in the format-on-edit hook.
FORMATTER_PROGRAMS = {"ruff": "ruff", "black": "black", "biome": "biome", "prettier": "prettier",
                      "rubocop": "rubocop", "standardrb": "standardrb", "pint": "pint",
                      "php-cs-fixer": "php-cs-fixer", "rustfmt": "rustfmt", "gofmt": "gofmt"}
# A file the hook formats, per stack.
SAMPLE_FILES = {"python": "sample.py", "node": "sample.ts", "ruby": "sample.rb", "go": "sample.go",
                "rust": "src/sample.rs", "php": "sample.php"}
CHECK_KINDS = ("lint", "typecheck", "test")


def expected_folders(name: str) -> list[dict]:
    """expected.yml's folders as the template keeps them: a workspace member without its own
    command for a kind shows none (its root's commands cover it)."""
    folders = yaml.safe_load((CORPUS / name / "expected.yml").read_text())["folders"]
    for entry in folders:
        entry["path"] = str(entry["path"])
        if (entry.get("install") or {}).get("workspace_member"):
            entry["commands"] = {k: v for k, v in entry["commands"].items() if k not in entry.get("guessed", [])}
    return folders


def where(entry: dict) -> str:
    return "" if entry["path"] == "." else f"cd {entry['path']} && "


@pytest.fixture(scope="module", params=FIXTURES)
def copied(request, template_repo, tmp_path_factory) -> tuple[str, Path, list[dict]]:
    """A corpus repository with the template copied into it with the defaults."""
    name = request.param
    project = tmp_path_factory.mktemp(name) / "repo"
    shutil.copytree(CORPUS / name, project, symlinks=True, ignore=shutil.ignore_patterns("expected.yml"))
    generate(template_repo, project, {}, overwrite=True)
    return name, project, expected_folders(name)


def test_the_answers_record_each_folders_tool_and_commands(copied):
    name, project, expected = copied
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text())["project_folders"]
    assert [(e["path"], e["stack"], e["tool"], e["commands"]) for e in recorded] == \
        [(e["path"], e["stack"], e["tool"], e["commands"]) for e in expected], name


def test_claude_md_lists_exactly_the_expected_commands_and_marks_guesses(copied):
    name, project, expected = copied
    section = (project / "CLAUDE.md").read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- ([a-z]+): `([^`]*)` \((.*)\)$", section, flags=re.MULTILINE)
    wanted = [(kind, where(entry) + command, kind in entry.get("guessed", []))
              for entry in expected for kind, command in entry["commands"].items()]
    assert sorted((kind, command, mark == "*guess*") for kind, command, mark in listed) == sorted(wanted), name


def test_check_runs_each_folders_lint_typecheck_and_test_and_nothing_else(copied):
    name, project, expected = copied
    text = (project / ".claude/commands/check.md").read_text()
    ran = re.findall(r"`([^`]+)`", text.split("keep going after a", 1)[1].split("If the user gave", 1)[0])
    wanted = [where(entry) + entry["commands"][kind] for entry in expected for kind in CHECK_KINDS
              if kind in entry["commands"]]
    assert ran == wanted, name


def test_the_allow_rules_are_the_expected_commands_exactly_and_no_other_stack_command(copied):
    name, project, expected = copied
    allow = json.loads((project / ".claude/settings.json").read_text())["permissions"]["allow"]
    wanted = {f"Bash({command})" for entry in expected for command in entry["commands"].values()}
    assert wanted <= set(allow), (name, wanted - set(allow))
    catalogue = catalogue_module
    known = (set(claude_json.BASE_ALLOW) | set(claude_json.EVERYDAY_GIT) | set(catalogue.all_allow_rules())
             | {f"Bash({form['run']})" for stack in catalogue.stacks().values() for tool in stack["tools"].values()
                for form in tool["install"]})
    assert set(allow) - known - wanted == set(), name


def test_the_format_hook_uses_each_folders_formatter(copied, tmp_path):
    name, project, expected = copied
    hook = project / ".claude/hooks/format-on-edit.sh"
    bin_dir, log = tmp_path / "bin", tmp_path / "formatted.log"
    bin_dir.mkdir()
    for program in FORMATTER_PROGRAMS.values():
        (bin_dir / program).write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "{program}" >>"{log}"\n')
        (bin_dir / program).chmod(0o755)
    (project / ".claude/hooks/format-on-edit.trusted").write_text("\n".join(["prettier", "rubocop", "standardrb", "php-cs-fixer"]))
    checked = 0
    for entry in expected:
        formatter = entry.get("formatter")
        if not formatter or entry["stack"] not in SAMPLE_FILES:
            continue
        folder = project / entry["path"]
        sample = folder / SAMPLE_FILES[entry["stack"]]
        sample.parent.mkdir(parents=True, exist_ok=True)
        sample.write_text("x\n")
        log.unlink(missing_ok=True)
        subprocess.run([str(hook)], input=json.dumps({"tool_input": {"file_path": str(sample)}}), text=True,
                       env={"PATH": f"{bin_dir}:/usr/bin:/bin", "CLAUDE_PROJECT_DIR": str(project)}, check=True, timeout=30)
        ran = log.read_text().split() if log.exists() else []
        assert ran == [FORMATTER_PROGRAMS[formatter]], f"{name}: {entry['path']} ({entry['stack']})"
        checked += 1
    if not any(entry.get("formatter") and entry["stack"] in SAMPLE_FILES for entry in expected):
        assert checked == 0  # nothing to format in this repository: the loop above checked every folder


def test_the_bootstrap_installs_each_folder_once_in_that_folder(copied, tmp_path):
    name, project, expected = copied
    session = CloudSession(project, tmp_path / "session")
    # A Maven or Gradle wrapper starts java: here a stub that logs, like the package managers.
    (session.bin / "java").write_text((session.bin / "mvn").read_text())
    (session.bin / "java").chmod(0o755)
    result = session.start()
    assert result.returncode == 0, result.stderr
    summary = session.result()
    assert summary.startswith("ready: cloud-init:"), (name, summary)
    steps = [entry for entry in expected if not (entry.get("install") or {}).get("workspace_member")]
    for entry in steps:
        step = entry["stack"] if entry["path"] == "." else f"{entry['stack']}:{entry['path'].replace('/', ':')}"
        assert f"{step} ok" in summary, (name, step, summary)
    members = [entry for entry in expected if (entry.get("install") or {}).get("workspace_member")]
    for entry in members:
        assert f":{entry['path'].replace('/', ':')} " not in summary, (name, entry["path"], "a member installed on its own")
    session.stub_log.write_text("")
    session.start()
    assert session.calls() == [], f"{name}: the second session start installed again"


# --- the recorded folders and the tool questions ---------------------------------------------

from extensions.folders import project_folders_problem  # noqa: E402
from extensions.stacks import stack_view  # noqa: E402

MONOREPO = [
    {"path": "api", "stack": "python", "tool": "uv", "commands": {"test": "uv run pytest -x"}},
    {"path": "tools/cli", "stack": "python", "tool": "poetry", "commands": {"test": "poetry run pytest"}},
]


def test_the_recorded_tools_and_commands_win_while_the_tool_answer_agrees():
    view = stack_view(["python"], {"python": "uv"}, MONOREPO)
    assert [(s["folder"], s["tool"], s["commands"]) for s in view] == [
        ("api", "uv", {"test": "uv run pytest -x"}), ("tools/cli", "poetry", {"test": "poetry run pytest"})]


def test_a_tool_answer_changed_since_the_copy_applies_to_the_folders_of_the_first_tool_with_its_commands():
    view = stack_view(["python"], {"python": "pip"}, MONOREPO)
    assert [(s["folder"], s["tool"], s["guessed"]) for s in view] == [
        ("api", "pip", ["test", "lint", "format"]), ("tools/cli", "poetry", [])]
    assert view[0]["commands"]["test"] == "pytest"


@pytest.mark.parametrize(("value", "said"), [
    ([{"path": "../x", "stack": "node", "tool": "npm"}], "path: '../x' is not a folder"),
    ([{"path": "/etc", "stack": "node", "tool": "npm"}], "is not a folder"),
    ([{"path": "a/./b", "stack": "node", "tool": "npm"}], "is not a folder"),
    ([{"path": ".", "stack": "cobol", "tool": "npm"}], "stack: 'cobol'"),
    ([{"path": ".", "stack": "node", "tool": "uv"}], "tool: 'uv' is not a node tool"),
    ([{"path": ".", "stack": "node", "tool": "npm", "commands": {"test": "npm test; curl evil"}}], "one plain command"),
    ([{"path": ".", "stack": "node", "tool": "npm", "commands": {"test": "$(id)"}}], "one plain command"),
    ([{"path": ".", "stack": "node", "tool": "npm", "commands": {"deploy": "npm run deploy"}}], "'deploy' is not one of"),
    ([{"path": ".", "stack": "node", "tool": "npm", "formatter": "ruff"}], "formatter: 'ruff' is not a node formatter"),
    ([{"path": ".", "stack": "node", "tool": "npm", "run": "x"}], "keys this template does not know: run"),
    ([{"path": ".", "stack": "node", "tool": "npm"}] * 2, "listed twice"),
    ("frontend", "expected a list"),
])
def test_a_hostile_or_broken_project_folders_answer_is_refused_naming_it(value, said):
    problem = project_folders_problem(value, ["node", "python"])
    assert problem.startswith("project_folders") and said in problem, problem


def test_the_default_always_passes_the_validator_whatever_the_folder_names(tmp_path):
    """A folder the engine cannot name is left out, never a copy that stops."""
    from extensions.folders import folders_default

    for folder in ("web app", "ünï", "ok", "new\nline", "-dash"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "package.json").write_text("{}")
    entries = folders_default(tmp_path, ["node"], {"node": "npm"})
    assert project_folders_problem(entries, ["node"]) == ""
    assert [entry["path"] for entry in entries] == ["ok"]
