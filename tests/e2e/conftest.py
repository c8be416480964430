from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import cli  # noqa: E402
from helpers import build_file_tree, generate  # noqa: E402
from world import ClientWorld  # noqa: E402

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", params=cli.versions())
def claude(request) -> tuple[str, Path]:
    """(version, path of its cached `claude`). Never downloads: a CLI that
    tests/e2e/fetch_clis.py has not fetched skips, with the command that fetches it."""
    return request.param, cli.cached_binary(request.param)


@pytest.fixture
def client_world(template_repo, tmp_path):
    """world(answers, files) -> ClientWorld with the project generated from `answers`."""

    def make(answers: dict, files: dict[str, str] | None = None, mcp_env: dict[str, str] | None = None) -> ClientWorld:
        project = tmp_path / "project"
        project.mkdir()
        build_file_tree(project, files or {})
        generate(template_repo, project, answers)
        return ClientWorld(project, tmp_path / "world", dict(mcp_env or {}))

    return make
