"""The real CLI in a project made with `import_user_config`: the skill, command and agent taken
from a person's ~/.claude are listed for the model, and the imported hook runs from
.claude/hooks/ (its command rewritten to "$CLAUDE_PROJECT_DIR"/.claude/hooks/notify.sh)."""

from __future__ import annotations

import json

import cli
from fake_api import FakeAnthropic, Script, request_text
from user_home import make_home, use_home


def test_the_imported_setup_loads_in_a_cloud_session(claude, client_world, tmp_path, monkeypatch):
    version, binary = claude
    home = tmp_path / "person"
    use_home(monkeypatch, home)
    make_home(home, tmp_path / "project")
    world = client_world({"import_user_config": ["skills", "commands", "agents", "hooks"]})
    assert (world.project / ".claude" / "hooks" / "notify.sh").exists()

    script = Script(bash_command="echo imported")
    with FakeAnthropic(script) as api:
        result = cli.print_mode(binary, world.project, world.env(api.url))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["is_error"] is False
    first = request_text(script.main_requests()[0])
    for name, description in (("release-notes", "Write release notes from the git log."),
                              ("component", "Scaffold a component"), ("reviewer", "Reviews diffs for bugs.")):
        assert name in first and description in first, f"{version} does not list the imported {name}"
    # The Stop hook ran the imported script from the repository, with its argument.
    log = world.project / ".claude" / "imported-hook.log"
    assert log.exists() and "hook ran: stop" in log.read_text(), f"{version} did not run the imported hook"
