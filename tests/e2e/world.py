"""What one end-to-end run needs around the real CLI: a project, a HOME, stubs."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from helpers import CloudSession

STUB_SERVER = Path(__file__).parent / "stub_mcp_server.py"


@dataclass
class ClientWorld:
    """A generated project, a HOME, stub package managers and stub MCP launchers for one run."""

    project: Path
    scratch: Path
    mcp_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.stubs = CloudSession(self.project, self.scratch / "stubs")
        self.home = self.scratch / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        # npx and uvx start MCP servers: here they start the stub server instead.
        for launcher in ("npx", "uvx"):
            path = self.stubs.bin / launcher
            path.write_text(f'#!/usr/bin/env bash\nexec "{sys.executable}" "{STUB_SERVER}" "$@"\n')
            path.chmod(0o755)
        # A trusted folder, as a cloud session's checkout is: project permissions apply.
        (self.home / ".claude.json").write_text(json.dumps({
            "hasCompletedOnboarding": True,
            "projects": {str(self.project): {"hasTrustDialogAccepted": True}},
        }))

    def env(self, api_url: str = "http://127.0.0.1:9", remote: bool = True) -> dict[str, str]:
        node_dir = str(Path(shutil.which("node") or "/usr/bin/node").parent)
        env = {
            "PATH": f"{self.stubs.bin}:{node_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "ANTHROPIC_BASE_URL": api_url,
            "ANTHROPIC_API_KEY": "sk-ant-test-not-a-key",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "STUB_LOG": str(self.stubs.stub_log),
            "STUB_ROOT": str(self.stubs.scratch),
            **self.mcp_env,
        }
        if remote:
            env["CLAUDE_CODE_REMOTE"] = "true"
        return env

    def session_env_files(self) -> list[Path]:
        return sorted((self.home / ".claude" / "session-env").rglob("*")) if (self.home / ".claude").exists() else []
