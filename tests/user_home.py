"""A person's Claude Code home for the import_user_config tests: ~/.claude and ~/.claude.json
with one of everything the import brings, and literal secrets where people leave them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from helpers import build_file_tree
from plumbum import local

# Literal secrets of the home: none may reach any file of a copy.
TOKENS = {
    "env": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "arg": "sk-" + "live9Zq8Wx7Vc6Bn5Mm4Ll3Kk2Jj1Hh0Gg",
    "header": "xoxb-" + "112233445566-aAbBcCdDeEfFgGhH",
    "query": "Zk3Qm9Xr7Tp2Wv5Ys8Ua1Hb4Nc6Jd0Le",
    "local": "glpat-" + "Qw3rTy8UiOp2AsDf5GhJ",
    "skill": "AKIA" + "ABCDEFGHIJKLMNOP",
}

SKILL = """\
---
name: {name}
description: {description}
---
Run `scripts/run.sh` and read the result.
"""


def make_home(home: Path, project: Path) -> Path:
    """Write the home under `home` (HOME for the test); `project` is the destination path the
    local-scope MCP server is recorded for. Returns the ~/.claude folder."""
    folder = home / ".claude"
    build_file_tree(folder, {
        "skills/release-notes/SKILL.md": SKILL.format(name="release-notes",
                                                      description="Write release notes from the git log."),
        "skills/release-notes/scripts/run.sh": "#!/usr/bin/env bash\ngit log --oneline | head -20\n",
        "skills/release-notes/.env": f"AWS_KEY={TOKENS['skill']}\n",  # a secrets file: never copied
        "skills/release-notes/notes.txt": f"key {TOKENS['skill']}\n",  # holds a secret: left out
        # The template ships this one: its own stays.
        "skills/cloud-environment/SKILL.md": SKILL.format(name="cloud-environment", description="Mine."),
        "skills/Bad Name/SKILL.md": SKILL.format(name="Bad Name", description="Hostile name."),
        "skills/wrong-name/SKILL.md": SKILL.format(name="other", description="Name differs."),
        "commands/frontend/component.md": "---\ndescription: Scaffold a component\n---\nMake one named $ARGUMENTS.\n",
        "commands/check.md": "---\ndescription: My own check\n---\nRun everything.\n",  # the template's name
        "commands/no-front.md": "Just text, no frontmatter.\n",
        "agents/reviewer.md": "---\nname: reviewer\ndescription: Reviews diffs for bugs.\n---\nYou review diffs.\n",
        "agents/test-fixer.md": "---\nname: test-fixer\ndescription: Mine.\n---\nFix.\n",
        "hooks/notify.sh": ('#!/usr/bin/env bash\n'
                            'echo "hook ran: $1" >>"${CLAUDE_PROJECT_DIR:-.}/.claude/imported-hook.log"\n'),
        "settings.json": json.dumps({
            "hooks": {
                "Stop": [{"hooks": [{"type": "command", "command": "~/.claude/hooks/notify.sh stop", "timeout": 10}]}],
                "PostToolUse": [
                    {"matcher": "Write",
                     "hooks": [{"type": "command", "command": "/usr/local/bin/my-formatter --fix"}]},
                    {"matcher": "Edit",
                     "hooks": [{"type": "command", "command": "$HOME/.claude/hooks/notify.sh edit"}]},
                ],
                "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "say-hello $(whoami)"}]}],
            },
            "enabledPlugins": {"formatter@team-tools": True, "bad id": True},
            "extraKnownMarketplaces": {
                "team-tools": {"source": {"source": "github", "repo": "example-org/claude-plugins"}},
                "local-dev": {"source": {"source": "directory", "path": "/home/me/plugins"}},
            },
            "permissions": {
                "allow": ["Bash(make test)", "Bash(*)", "Bash(npx:*)", "Read(docs/**)",
                          "WebFetch(domain:docs.python.org)",
                          "mcp__tracker", "Edit(.claude/settings.json)", "Bash(curl https://example.com)"],
                "ask": ["Bash(git push:*)"],
                "deny": ["Read(./private/**)"],
            },
        }, indent=2),
    })
    (folder / "hooks" / "notify.sh").chmod(0o755)
    (folder / "skills" / "release-notes" / "scripts" / "run.sh").chmod(0o755)
    (home / ".claude.json").write_text(json.dumps({
        "numStartups": 3,
        "mcpServers": {
            "tracker": {"command": "npx", "args": ["-y", "tracker-mcp@1.2.0", "--api-key", TOKENS["arg"]],
                        "env": {"TRACKER_TOKEN": TOKENS["env"]}},
            "chat": {"type": "http", "url": f"https://chat.example.com/mcp?team=core&access_token={TOKENS['query']}",
                     "headers": {"Authorization": f"Bearer {TOKENS['header']}"}},
        },
        "projects": {
            str(project): {"mcpServers": {"gitlab": {"command": "npx", "args": ["-y", "gitlab-mcp@2.0.0"],
                                                     "env": {"GITLAB_TOKEN": TOKENS["local"]}}}},
            "/somewhere/else": {"mcpServers": {"other": {"command": "other-mcp"}}},
        },
    }, indent=2))
    return folder


def tree_hash(root: Path) -> str:
    """A hash of every path, mode and content under `root`: the home must not change."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(oct(path.lstat().st_mode).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def assert_no_token(root: Path) -> None:
    """No literal secret of the home anywhere under `root` (every file, .git included)."""
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for where, token in TOKENS.items():
                assert token.encode() not in data, f"the {where} token is in {path}"


def use_home(monkeypatch, home: Path, config_dir: Path | None = None) -> None:
    """HOME (and CLAUDE_CONFIG_DIR, or none) for this test, in the environment Copier renders in
    and in the one it runs tasks with: plumbum's copy of it, taken when plumbum was imported."""
    for environment in (os.environ, local.env):
        monkeypatch.setitem(environment, "HOME", str(home))
        if config_dir is None:
            if environment.get("CLAUDE_CONFIG_DIR") is not None:
                monkeypatch.delitem(environment, "CLAUDE_CONFIG_DIR")
        else:
            monkeypatch.setitem(environment, "CLAUDE_CONFIG_DIR", str(config_dir))


# A second home: secrets where the first filters used to miss them. None may be written.
HOSTILE = {
    "db_pass": "dbpassA1", "passphrase": "phraseA2", "pat": "patA3", "conn": "connpwA4", "b64": "c2VjcmV0QTU=",
    "header_flag": "hdrA6", "json": "jsonkeyA7", "dash_p": "shortpwA8", "dash_pass": "passpwA9",
    "password": "longpwA10", "docker_e": "envpwA11", "fragment": "fragA12", "query": "aZ3kQ9pL2mX7wR4t",
    "x_pass": "xpassA13", "curl_u": "curlpwA14", "curl_h": "apikeyA15", "echo": "echotokA16", "ask": "askpwA17",
    "allow": "allowpwA18", "deny": "denypwA19", "market": "mK7qP2zR9xL4wT8v", "market_ref": "reftokA20ghp",
}


def make_hostile_home(home: Path) -> Path:
    """A home whose secrets hide under other names and shapes (tests/test_user_config.py)."""
    s = HOSTILE
    folder = home / ".claude"
    build_file_tree(folder, {"settings.json": json.dumps({
        "hooks": {"Stop": [{"hooks": [
            {"type": "command", "command": f"curl -u admin:{s['curl_u']} https://hooks.example.com"},
            {"type": "command", "command": f"curl -H X-Api-Key:{s['curl_h']} https://hooks.example.com"},
            {"type": "command", "command": f"echo --token={s['echo']}"},
            {"type": "command", "command": "echo done"},
        ]}]},
        "extraKnownMarketplaces": {
            "m1": {"source": {"source": "url", "url": f"https://m.example.com/market.json?k={s['market']}"}},
            "m2": {"source": {"source": "git", "url": f"https://m.example.com/m.git#token={s['market_ref']}"}},
        },
        "permissions": {
            "allow": [f"Bash(mysql -p{s['allow']} db)", "Bash(make test)"],
            "ask": [f"Bash(mysql -u root -p{s['ask']} db)"],
            "deny": [f"Bash(curl -u admin:{s['deny']} https://x.example.com)", "Bash(rm:*)"],
        },
    })})
    (home / ".claude.json").write_text(json.dumps({"mcpServers": {
        "env": {"command": "srv", "env": {"DB_PASS": s["db_pass"], "PASSPHRASE": s["passphrase"], "GH_PAT": s["pat"],
                                          "CONNECTION_STRING": f"Server=db;Password={s['conn']}",
                                          "ENC_KEY_B64": s["b64"]}},
        "args": {"command": "srv", "args": [f"--header=Authorization: Bearer {s['header_flag']}",
                                            '--config={"apiKey":"%s"}' % s["json"], "-p", s["dash_p"],
                                            "--pass", s["dash_pass"], "--password", s["password"],
                                            "-e", f"DB_PASS={s['docker_e']}"]},
        "frag": {"type": "http", "url": f"https://x.example.com/mcp#access_token={s['fragment']}"},
        "query": {"type": "http", "url": f"https://y.example.com/mcp?k={s['query']}"},
        "head": {"type": "http", "url": "https://z.example.com/mcp", "headers": {"X-Pass": s["x_pass"]}},
    }}))
    return folder
