"""The catalogue (extensions/data/catalogue.yml) is the one home of what the template knows
about stacks, services and CLI-tool managers: it is valid, consistent, and nothing else in
the template spells an install command."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys

import jsonschema
import pytest
import yaml

from helpers import ROOT

_spec = importlib.util.spec_from_file_location("catalogue_under_test", ROOT / "extensions" / "catalogue.py")
catalogue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogue)
_spec = importlib.util.spec_from_file_location("stacks_under_test", ROOT / "extensions" / "stacks.py")
stacks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stacks)

RAW = yaml.safe_load(catalogue.CATALOGUE_FILE.read_text())
SCHEMA = json.loads(catalogue.SCHEMA_FILE.read_text())
TEMPLATE_SOURCES = [path for folder in ("extensions", "template", "includes", "tasks") for path in (ROOT / folder).rglob("*")
                    if path.is_file() and path.suffix not in (".pyc",) and path != catalogue.CATALOGUE_FILE]
INSTALL_COMMANDS = ["uv sync", "npm ci", "bundle install", "go mod download", "cargo fetch", "composer install",
                    "mvn ", "gradle ", "apt-get install", "npm install", "dotnet restore"]
# (`pip install` is left out: the fleet workflow installs Copier itself with it.)


def test_the_catalogue_matches_its_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(RAW)


@pytest.mark.parametrize("command", INSTALL_COMMANDS)
def test_only_the_catalogue_spells_an_install_command(command):
    spelled = [str(path.relative_to(ROOT)) for path in TEMPLATE_SOURCES
               if command in path.read_text(encoding="utf-8", errors="replace")
               and not path.name.endswith(".md.jinja")  # prose that tells Claude what not to run
               and path.name != "user_config.yml"]  # the import's list of allow rules it refuses
    assert spelled == []


@pytest.mark.parametrize(("change", "message"), [
    (lambda data: data["stacks"]["python"].update(fallback="conda"), "fallback names no tool"),
    (lambda data: data["stacks"]["node"]["tools"]["npm"]["install"].pop(), "must end with a form without `if`"),
    (lambda data: data["stacks"]["python"]["tools"]["uv"]["setup"]["provide"].update(tool="brew:uv"), "unknown manager"),
    (lambda data: data["stacks"]["java"].update(commands={"test": "", "lint": "", "format": ""}), "not both"),
])
def test_load_refuses_a_catalogue_that_contradicts_itself(change, message):
    data = copy.deepcopy(RAW)
    change(data)
    with pytest.raises(catalogue.CatalogueError, match=message):
        catalogue.check(data)


@pytest.mark.parametrize("stack", sorted(RAW["stacks"]))
def test_each_detection_file_selects_its_stack(stack, tmp_path):
    for pattern in RAW["stacks"][stack]["detect"]:
        folder = tmp_path / pattern.replace("*", "-dev")
        folder.mkdir()
        (folder / pattern.replace("*", "-dev")).write_text("")
        assert stack in stacks.detect_stacks(folder), pattern


@pytest.mark.parametrize(("stack", "tool"), [(stack, tool) for stack, spec in RAW["stacks"].items()
                                             for tool, details in spec["tools"].items() if details["markers"]])
def test_each_tool_marker_selects_its_tool(stack, tool, tmp_path):
    marker = RAW["stacks"][stack]["tools"][tool]["markers"][0].replace("*", "")
    (tmp_path / marker).write_text("")
    assert stacks.detect_tool(tmp_path, stack) == tool


def test_each_tool_question_is_a_question_whose_choices_are_the_tools():
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    for name, spec in RAW["stacks"].items():
        if "tool_question" in spec:
            question = questions[spec["tool_question"]]
            assert question["choices"] == f"{{{{ tool_choices('{name}') | to_json }}}}"
            assert stacks.tool_choices(name) == list(spec["tools"])
        else:
            assert len(spec["tools"]) == 1, f"{name} has several tools and no question to choose one"


@pytest.mark.parametrize(("path", "expression"), [
    ("{project}/.venv/bin", "$project_dir/.venv/bin"),
    ("{cargo_home}/bin", "${CARGO_HOME:-$HOME/.cargo}/bin"),
    ("{gopath}/bin", "${GOPATH:-$HOME/go}/bin"),
], ids=["project", "cargo_home", "gopath"])
def test_placeholders_become_bash_expressions(path, expression):
    assert catalogue.shell_path(path) == expression


def test_the_loaded_catalogue_is_read_only():
    with pytest.raises(TypeError):
        catalogue.stacks()["python"]["label"] = "Snake"


def test_every_instance_of_the_module_shares_one_parse(monkeypatch):
    """stacks.py, answers.py and claude_json.py each load catalogue.py by path; the file is
    parsed once for all of them."""
    parses = []
    real_load = yaml.safe_load
    monkeypatch.setattr(yaml, "safe_load", lambda text: parses.append(1) or real_load(text))
    sys.modules.pop(catalogue._REGISTRY, None)
    instances = []
    for name in ("first", "second"):
        spec = importlib.util.spec_from_file_location(f"catalogue_{name}", catalogue.CATALOGUE_FILE.parent.parent / "catalogue.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        instances.append(module)
    assert instances[0].load() is instances[1].load()
    assert len(parses) == 1
