"""Organisation defaults apply on copy, and on update only where a repository never answered.

Copier 9.19 ranks answers (copier/_user_data.py, Question.get_default; AnswersMap.combined):
`data` (--data and --data-file alike, merged into one dict by copier/_cli.py's
data_file_switch), then the answers file's last answers, then `user_defaults` (API) and the
`defaults:` of the user settings file (COPIER_SETTINGS_PATH), then copier.yml's defaults.
So org defaults given as user defaults can never override a recorded answer, and org
defaults given with --data-file always do: Copier does not tell the template which `data`
came from a file, so the template cannot guard against it (README: "Organisation defaults").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import ANSWERS_FILE, ROOT, generate, git_save, release, snapshot_template, update

ORG = yaml.safe_load((ROOT / "examples" / "org-answers.yml").read_text(encoding="utf-8"))["defaults"]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))


def team_repo(template: Path, destination: Path, vcs_ref: str, **kwargs) -> Path:
    """A repository copied with the org's defaults, whose team then chose `cautious` on purpose."""
    generate(template, destination, {"project_name": "team"}, vcs_ref=vcs_ref, user_defaults=ORG, **kwargs)
    git_save(destination, "copy")
    assert answers(destination)["permission_profile"] == "standard"
    update(destination, data={"permission_profile": "cautious"}, vcs_ref=vcs_ref)
    assert answers(destination)["permission_profile"] == "cautious"
    git_save(destination, "the team chose cautious")
    return destination


@pytest.fixture(scope="session")
def with_new_question(tmp_path_factory) -> Path:
    """1.0.0 is this working tree; 1.1.0 adds a question that 1.0.0's repositories never answered,
    and changes the default of permission_profile from standard to autonomous."""
    repo = snapshot_template(tmp_path_factory.mktemp("org-versions"), tag="1.0.0")
    return release(repo, "1.1.0", "release-1.1.0-new-question.patch")


def test_org_defaults_as_user_defaults_apply_on_copy(template_repo, tmp_path):
    project = generate(template_repo, tmp_path / "p", {"project_name": "p"}, user_defaults={**ORG, "permission_profile": "autonomous"})
    recorded = answers(project)
    assert recorded["permission_profile"] == "autonomous"
    assert recorded["update_automation"] == ORG["update_automation"]
    assert sorted(recorded["mcp_servers"]) == sorted(ORG["mcp_servers"])


def test_a_data_file_on_update_overrides_a_recorded_answer(versions, tmp_path):
    """The issue, reproduced: Copier gives --data-file values the rank of --data, above the
    answers file, even with --skip-answered. This is why the README passes org defaults as
    user defaults and never as --data-file on update."""
    project = team_repo(versions, tmp_path / "p", "1.0.0")
    org_file = tmp_path / "org-answers.yml"
    org_file.write_text(yaml.safe_dump({"permission_profile": "standard"}))
    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--skip-answered", "--quiet",
         "-a", ANSWERS_FILE, "--data-file", str(org_file), "-r", "1.1.0"],
        cwd=project, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert answers(project)["permission_profile"] == "standard"  # the team's answer is gone


def test_org_user_defaults_on_update_never_override_a_recorded_answer(versions, tmp_path):
    project = team_repo(versions, tmp_path / "p", "1.0.0")
    update(project, user_defaults={"permission_profile": "standard"}, vcs_ref="1.1.0")
    recorded = answers(project)
    assert recorded["_commit"] == "1.1.0"
    assert recorded["permission_profile"] == "cautious"
    assert '"Bash(git commit:*)"' not in (project / ".claude" / "settings.json").read_text()


def test_org_user_defaults_fill_a_question_the_repository_never_answered(with_new_question, tmp_path):
    project = team_repo(with_new_question, tmp_path / "p", "1.0.0")
    assert "review_policy" not in answers(project)
    update(project, user_defaults={"permission_profile": "standard", "review_policy": "strict"}, vcs_ref="1.1.0")
    recorded = answers(project)
    assert recorded["review_policy"] == "strict"  # never answered: the org's default
    assert recorded["permission_profile"] == "cautious"  # answered: the team's choice


# A copy records every answer, defaults included: a new default in a release changes no
# answered question, on copy with or without --defaults. Only new questions take it.


@pytest.fixture(scope="module")
def copied_before_the_new_default(with_new_question, tmp_path_factory) -> Path:
    """A repository copied at 1.0.0 with defaults only, then updated to 1.1.0, which changes
    the default of permission_profile and adds review_policy (read only)."""
    assert "  default: autonomous\n" in (with_new_question / "copier.yml").read_text()
    project = generate(with_new_question, tmp_path_factory.mktemp("new-default") / "p", {"project_name": "p"},
                       vcs_ref="1.0.0")
    git_save(project, "copy")
    assert answers(project)["permission_profile"] == "standard"
    update(project, vcs_ref="1.1.0")
    return project


def test_an_update_keeps_an_answer_recorded_from_an_old_default(copied_before_the_new_default):
    assert answers(copied_before_the_new_default)["permission_profile"] == "standard"


def test_an_update_gives_a_new_question_the_releases_default(copied_before_the_new_default):
    assert answers(copied_before_the_new_default)["review_policy"] == "none"


def test_a_fresh_copy_takes_the_releases_new_default(with_new_question, tmp_path):
    fresh = generate(with_new_question, tmp_path / "fresh", {"project_name": "p"}, vcs_ref="1.1.0")
    assert answers(fresh)["permission_profile"] == "autonomous"


def test_the_settings_file_defaults_work_from_the_command_line(with_new_question, tmp_path):
    """The documented route: the `defaults:` of Copier's settings file (COPIER_SETTINGS_PATH)."""
    project = team_repo(with_new_question, tmp_path / "p", "1.0.0")
    settings = tmp_path / "settings.yml"
    settings.write_text(yaml.safe_dump({"defaults": {"permission_profile": "standard", "review_policy": "strict"}}))
    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--skip-answered", "--quiet",
         "-a", ANSWERS_FILE, "-r", "1.1.0"],
        cwd=project, capture_output=True, text=True, check=False,
        env={**os.environ, "COPIER_SETTINGS_PATH": str(settings)},
    )
    assert result.returncode == 0, result.stderr
    recorded = answers(project)
    assert recorded["review_policy"] == "strict"
    assert recorded["permission_profile"] == "cautious"


ORG_DEFAULTS_SECTION = README.split("\n### Organisation defaults\n", 1)[1].split("\n### ", 1)[0]


def test_the_readme_passes_org_defaults_as_user_defaults():
    assert "COPIER_SETTINGS_PATH" in ORG_DEFAULTS_SECTION and "defaults:" in ORG_DEFAULTS_SECTION


def test_the_readme_warns_that_a_data_file_overrides_recorded_answers():
    assert "--data-file" in ORG_DEFAULTS_SECTION and "overrides" in ORG_DEFAULTS_SECTION


def test_the_readme_says_org_defaults_reach_only_questions_never_answered():
    assert "never answered" in ORG_DEFAULTS_SECTION


def test_the_example_org_file_says_how_to_use_it():
    header = (ROOT / "examples" / "org-answers.yml").read_text(encoding="utf-8").split("\ndefaults:", 1)[0]
    assert "COPIER_SETTINGS_PATH" in header


def test_the_example_org_file_is_a_settings_file_of_known_questions():
    questions = {k for k in yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8")) if not k.startswith("_")}
    example = yaml.safe_load((ROOT / "examples" / "org-answers.yml").read_text(encoding="utf-8"))
    assert set(example) <= {"defaults", "trust"}
    assert set(example["defaults"]) <= questions
