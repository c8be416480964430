"""The matrix of answers the layout tests run over. Together the sets cover every stack,
every tool of every stack, every service, every catalog MCP server, every permission
profile, every starter option, on and off, and no stack at all with nothing optional.
update_automation: renovate is here; github-actions is not, as its workflow rightly holds
GitHub's own `${{ }}` expressions (tests/test_fleet.py and tests/test_first_run.py cover it).
A repository that already has files (a CLAUDE.md, settings) is in tests/test_existing_repos.py
and tests/test_generated_text.py: these sets generate into empty folders."""

from __future__ import annotations

import yaml

from helpers import ROOT

CATALOG = sorted(yaml.safe_load((ROOT / "extensions" / "data" / "mcp_catalog.yml").read_text()))

HOSTILE = "quote' double\" $(touch /tmp/pwned) `id` ; rm -rf ~ \\ ünïcødé ✓ " + "x" * 200

ANSWER_SETS: dict[str, dict] = {
    "defaults": {},
    "python-uv-node-npm-services": {
        "stacks": ["python", "node"],
        "python_tool": "uv",
        "node_tool": "npm",
        "services": ["postgresql", "redis"],
        "cli_tools": [
            "npm:@biomejs/biome@1.9.4",
            "uv:ruff@0.6.9",
            "pip:httpie",
            "cargo:ripgrep@14.1.0",
            "go:golang.org/x/tools/gopls@v0.16.2",
            "gem:rubocop@1.66.1",
            "apt:jq",
        ],
        "mcp_servers": ["github", "playwright"],
        "custom_mcp_servers": {
            "internal-docs": {
                "type": "http",
                "url": "https://docs.example.com/mcp",
                "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"},
            },
            "local-tool": {"command": "uvx", "args": ["my-tool@1.0.0"], "env": {"API_KEY": "${MY_API_KEY}"}},
            "events": {"type": "sse", "url": "https://events.example.com/sse"},
        },
        "env_vars": {"LOG_LEVEL": "debug", "FEATURE_FLAG": True, "WORKERS": 4},
        "permission_profile": "standard",
    },
    "python-pip-node-pnpm-ruby-cautious": {
        "stacks": ["python", "node", "ruby"],
        "python_tool": "pip",
        "node_tool": "pnpm",
        "permission_profile": "cautious",
        "starter_skills": [],
        "starter_hooks": [],
        "background_install": False,
    },
    "python-poetry-node-yarn-go-rust-all-mcp": {
        "stacks": ["python", "node", "go", "rust"],
        "python_tool": "poetry",
        "node_tool": "yarn",
        "permission_profile": "autonomous",
        "mcp_servers": CATALOG,
        "services": ["redis"],
        "update_automation": "renovate",
    },
    "python-pipenv-node-bun-java-maven-php": {
        "stacks": ["python", "node", "java", "php"],
        "python_tool": "pipenv",
        "node_tool": "bun",
        "java_tool": "maven",
        "services": ["postgresql"],
        "starter_commands": ["check"],
        "starter_skills": ["add-dependency"],
    },
    "java-gradle-dotnet-bare": {
        "stacks": ["java", "dotnet"],
        "java_tool": "gradle",
        "starter_skills": [],
        "starter_commands": [],
        "starter_hooks": [],
        "include_agents": False,
    },
    # No stack (the folder is empty: nothing to detect), and no starter kit.
    "no-stacks-no-starter-kit": {
        "starter_skills": [],
        "starter_commands": [],
        "starter_hooks": [],
        "include_agents": False,
    },
    "hostile-values": {
        "project_name": HOSTILE[:100],
        "project_description": HOSTILE[:300],
        "stacks": ["python", "node", "go"],
        "services": ["postgresql"],
        # (A value with a line break is refused since 0.7.0: tests/test_hostile_answers.py.)
        "env_vars": {"HOSTILE": HOSTILE, "EMPTY": ""},
        "custom_mcp_servers": {
            "weird": {"command": "node", "args": [HOSTILE, "--", "$(id)"], "env": {"NOTE": HOSTILE}},
        },
    },
}

# Sets whose options are all defaults except the stacks: these must also satisfy the
# late-2025 settings schema, so that older CLIs accept them.
DEFAULT_OPTION_SETS = ["defaults", "java-gradle-dotnet-bare"]
