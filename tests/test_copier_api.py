"""The one private Copier API the template uses: extensions/adopt.py copier_operation() reads
`copier._main._operation` to tell a copy from an update while files render.

These tests fail, naming the Copier version and what changed, when Copier moves that
variable, and also when Copier starts to offer a public way (then use it, and drop the
private one). A probe template records, in every render of a real copy, recopy and update,
what copier_operation() says and what the public context offers."""

from __future__ import annotations

import importlib.util
import json
from contextvars import ContextVar
from pathlib import Path

import copier
import copier._main
import pytest
from copier import run_copy, run_recopy, run_update
from copier.errors import UserMessageError
from plumbum import local

from helpers import ROOT, build_file_tree, git_save

COPIER = f"Copier {copier.__version__}"
ADOPT = ROOT / "extensions" / "adopt.py"


def adopt_module():
    spec = importlib.util.spec_from_file_location("adopt_under_test", ADOPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_copier_keeps_the_operation_in_a_context_variable():
    operation = getattr(copier._main, "_operation", None)
    assert isinstance(operation, ContextVar), (
        f"{COPIER} has no ContextVar copier._main._operation (found {operation!r}), which "
        "extensions/adopt.py copier_operation() reads to tell a copy from an update. Find where this "
        "Copier keeps the operation (see `as_operation` in copier/_main.py), or a public way for file "
        "templates to read it, and change copier_operation() alone.")


def test_outside_a_render_copier_operation_stops_with_the_copier_version():
    with pytest.raises(UserMessageError, match=f"cannot tell a copy from an update with {COPIER}"):
        adopt_module().copier_operation()


PROBE = """
import importlib.util, json, os
from jinja2 import pass_context
from jinja2.ext import Extension

spec = importlib.util.spec_from_file_location("adopt_under_test", {adopt!r})
adopt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(adopt)

@pass_context
def probe(context):
    record = {{
        "dst": str(context["_copier_conf"]["dst_path"]),
        "adopt": adopt.copier_operation(),
        "file_context": context.get("_copier_operation", "absent"),
        "question_default": context["operation_default"],
        "phase": str(context["_copier_phase"]),
        "conf": sorted(context["_copier_conf"].keys()),
    }}
    with open(os.environ["COPIER_API_PROBE_LOG"], "a") as log:
        log.write(json.dumps(record) + "\\n")
    return ""

class Probe(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["probe"] = probe
"""

COPIER_YML = """
_subdirectory: template
_jinja_extensions:
  - copier_template_extensions.TemplateExtensionLoader
  - probe.py:Probe
release:
  type: str
  default: one
# The public candidates: a computed question whose default renders _copier_operation.
operation_default:
  type: str
  when: false
  default: "{{ _copier_operation | default('absent') }}"
"""


@pytest.fixture
def probe_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "probe.jsonl"
    monkeypatch.setenv("COPIER_API_PROBE_LOG", str(log))
    return log


def records(log: Path) -> list[dict]:
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return found


def test_a_real_copy_recopy_and_update_each_see_their_operation(tmp_path, probe_log):
    template = tmp_path / "template"
    build_file_tree(template, {
        "copier.yml": COPIER_YML,
        "probe.py": PROBE.format(adopt=str(ADOPT)),
        "template/{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml }}",
        "template/probe.txt.jinja": "{{ probe() }}release 1\n",
    })
    git_save(template, "1.0.0", tag="1.0.0")
    project = tmp_path / "project"
    run_copy(str(template), str(project), defaults=True, unsafe=True, quiet=True)
    copied = records(probe_log)
    git_save(project, "copy")
    run_recopy(str(project), defaults=True, unsafe=True, quiet=True, overwrite=True)
    recopied = records(probe_log)
    git_save(project, "recopy")
    (template / "template" / "probe.txt.jinja").write_text("{{ probe() }}release 2\n")
    git_save(template, "1.1.0", tag="1.1.0")
    with local.cwd(project):
        run_update(defaults=True, unsafe=True, quiet=True, overwrite=True)
    updated = records(probe_log)
    assert (project / "probe.txt").read_text() == "release 2\n"

    # Copy and recopy render once into the project; an update renders the old release and the
    # new one in temporary folders, and the new one into the project.
    assert len(copied) == len(recopied) == 1 and len(updated) == 3
    seen = {"copy": [r["adopt"] for r in copied], "recopy": [r["adopt"] for r in recopied],
            "update": [r["adopt"] for r in updated]}
    assert seen == {"copy": ["copy"], "recopy": ["copy"], "update": ["update"] * 3}, (
        f"with {COPIER}, copier_operation() in extensions/adopt.py reads {seen} from copier._main._operation")
    assert any(r["dst"] == "." or Path(r["dst"]).resolve() == project.resolve() for r in updated)

    # No public way yet: when one of these changes, use it in copier_operation() instead.
    for record in copied + recopied + updated:
        assert record["file_context"] == "absent", (
            f"{COPIER} gives file templates _copier_operation ({record['file_context']!r}): read it in "
            "extensions/adopt.py copier_operation() and drop the private copier._main._operation")
        assert record["question_default"] == "absent", (
            f"{COPIER} renders question defaults with _copier_operation ({record['question_default']!r}): "
            "a `when: false` question can carry it to file templates; drop the private copier._main._operation")
        assert not [key for key in record["conf"] if "operation" in key], (
            f"{COPIER} has an operation in _copier_conf ({record['conf']}): read it in extensions/adopt.py "
            "copier_operation() and drop the private copier._main._operation")
        assert record["phase"] == "render", f"{COPIER}: _copier_phase is {record['phase']!r} while files render"
