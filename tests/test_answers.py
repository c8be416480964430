"""Bad answers get one clear message that names the question and the fix; hostile
values never turn into shell or JSON."""

from __future__ import annotations

import json
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extensions.answers import cli_tools_problem, env_vars_problem, parse_cli_tool, text_problem
from extensions.claude_json import json_document
from extensions.mcp import custom_mcp_servers_problem
from extensions.shell import shell_quote
from helpers import generate

# (question, bad value, words the message must contain)
BAD_ANSWERS = [
    ("cli_tools", ["prettier"], ["cli_tools", "manager:package[@version]"]),
    ("cli_tools", ["brew:jq"], ["cli_tools", "npm, uv, pip, cargo, go, gem, apt"]),
    ("cli_tools", ["npm:Bad Name"], ["cli_tools", "not a valid npm package name"]),
    ("cli_tools", ["npm:x@1.0;rm -rf /"], ["cli_tools", "is not a npm version"]),
    ("cli_tools", ["apt:jq$(id)"], ["cli_tools", "not a valid apt package name"]),
    ("cli_tools", ["go:gopls"], ["cli_tools", "go package name"]),
    ("cli_tools", ["npm:x", "npm:x@2"], ["cli_tools", "listed twice"]),
    ("cli_tools", "npm:x", ["cli_tools", "expected a list"]),
    ("env_vars", {"lower": "x"}, ["env_vars", "not a valid name"]),
    ("env_vars", {"GITHUB_TOKEN": "x"}, ["env_vars", "secret", "environment variables"]),
    ("env_vars", {"DB_PASSWORD": "x"}, ["env_vars", "secret"]),
    ("env_vars", {"CLAUDE_CODE_REMOTE": "true"}, ["env_vars", "CLAUDE_CODE_REMOTE is refused"]),
    ("env_vars", {"NESTED": {"a": 1}}, ["env_vars", "single string"]),
    ("env_vars", ["A=1"], ["env_vars", "expected a mapping"]),
    ("custom_mcp_servers", {"api": {"url": "https://x.example/mcp"}}, ["custom_mcp_servers", "no type", "type: http"]),
    ("custom_mcp_servers", {"api": {"type": "http", "url": "https://x.example/mcp",
                                    "headers": {"Authorization": "Bearer abc123"}}},
     ["custom_mcp_servers", "${VAR}"]),
    ("custom_mcp_servers", {"api": {"type": "http", "url": "https://x.example/mcp",
                                    "headers": {"X": "ghp_abcdefghijklmnopqrstuvwxyz012345"}}},
     ["custom_mcp_servers", "literal credential"]),
    ("custom_mcp_servers", {"api": {"command": "npx", "env": {"API_KEY": "${env:API_KEY}"}}},
     ["custom_mcp_servers", "variable syntax", "${VAR}"]),
    ("custom_mcp_servers", {"api": {"command": "npx", "cwd": "/tmp"}}, ["custom_mcp_servers", "cwd"]),
    ("custom_mcp_servers", {"api": {"type": "ws", "url": "wss://x"}}, ["custom_mcp_servers", "stdio, http or sse"]),
    ("custom_mcp_servers", {"api": {"type": "stdio"}}, ["custom_mcp_servers", "needs a command"]),
    ("custom_mcp_servers", {"bad name": {"command": "x"}}, ["custom_mcp_servers", "not a valid server name"]),
    ("custom_mcp_servers", {"workspace": {"command": "x"}}, ["custom_mcp_servers", "reserved"]),
    ("custom_mcp_servers", {"github": {"command": "x"}}, ["custom_mcp_servers", "also selected in mcp_servers"]),
]


def problem_of(question: str, value: object) -> str:
    if question == "cli_tools":
        return cli_tools_problem(value)
    if question == "env_vars":
        return env_vars_problem(value)
    return custom_mcp_servers_problem(value, ["github"])


@pytest.mark.parametrize(("question", "value", "words"), BAD_ANSWERS)
def test_bad_answers_are_explained(question, value, words):
    message = problem_of(question, value)
    assert message.startswith(f"{question}: ")
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("cli_tools", ["npm:@scope/pkg@1.2.3", "uv:ruff[server]@0.6.9", "go:golang.org/x/tools/gopls", "apt:g++"]),
        ("env_vars", {"LOG_LEVEL": "debug", "TOKENIZERS_PARALLELISM": "false", "N": 3, "ON": True}),
        ("custom_mcp_servers", {"api": {"type": "http", "url": "https://x.example/mcp",
                                        "headers": {"Authorization": "Bearer ${API_TOKEN}", "Accept": "text/event-stream"}},
                                "local": {"command": "npx", "args": ["-y", "pkg@1.0.0"], "env": {"KEY": "${KEY:-none}"}}}),
    ],
)
def test_good_answers_pass(question, value):
    assert problem_of(question, value) == ""


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("npm:@scope/pkg@1.2.3", ("npm", "@scope/pkg", "1.2.3")),
        ("npm:@scope/pkg", ("npm", "@scope/pkg", "")),
        ("go:golang.org/x/tools/gopls@v0.16.2", ("go", "golang.org/x/tools/gopls", "v0.16.2")),
        ("apt:jq", ("apt", "jq", "")),
    ],
)
def test_cli_tool_spec_parsing(spec, parsed):
    tool = parse_cli_tool(spec)
    assert (tool["manager"], tool["package"], tool["version"]) == parsed


def test_a_required_text_answer_must_not_be_empty():
    assert text_problem("", "project_name", 100, required=True).startswith("project_name: must not be empty")


def test_a_text_answer_is_one_line():
    assert "one line" in text_problem("a\nb", "project_description", 300)


def test_a_text_answer_keeps_to_its_length():
    assert "keep it to 100" in text_problem("x" * 101, "project_name", 100)


def test_a_text_answer_may_hold_any_other_character():
    assert text_problem("ünïcødé ✓ $(id)", "project_name", 100) == ""


@pytest.mark.parametrize(
    ("answers", "question"),
    [
        ({"cli_tools": ["nonsense"]}, "cli_tools"),
        ({"env_vars": {"API_TOKEN": "x"}}, "env_vars"),
        ({"custom_mcp_servers": {"x": {"url": "https://x.example"}}}, "custom_mcp_servers"),
        ({"project_name": "two\nlines"}, "project_name"),
        ({"step_timeout": 5}, "step_timeout"),
        ({"wait_timeout": 600}, "wait_timeout"),
        ({"step_timeout": "abc"}, "step_timeout"),
        ({"step_timeout": 60.5}, "step_timeout"),
        ({"wait_timeout": True}, "wait_timeout"),
        ({"wait_timeout": [30]}, "wait_timeout"),
    ],
)
def test_copier_rejects_bad_answers_naming_the_question(template_repo, tmp_path, answers, question):
    with pytest.raises(ValueError) as rejected:
        generate(template_repo, tmp_path / "project", answers)
    assert f"Validation error for question '{question}'" in str(rejected.value)
    assert f"{question}:" in str(rejected.value)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_shell_quote_gives_back_exactly_the_value(value):
    # bash reads the quoted word back as the same string, whatever it holds.
    value = value.replace("\0", "")
    echoed = subprocess.run(
        ["bash", "-c", f"printf '%s' {shell_quote(value)}"], capture_output=True, check=True
    ).stdout.decode("utf-8", "surrogateescape")
    assert echoed == value


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True), st.text(max_size=200), max_size=5))
def test_json_documents_round_trip_any_value(env):
    assert json.loads(json_document({"env": env})) == {"env": env}


@pytest.mark.parametrize(
    ("question", "value", "words"),
    [
        ("env_vars", {"PATH": "/evil"}, ["env_vars", "PATH", "is refused"]),
        ("env_vars", {"LD_PRELOAD": "/x.so"}, ["env_vars", "LD_PRELOAD"]),
        ("custom_mcp_servers", {"a": {"type": "http", "url": "http://example.com/mcp"}}, ["https://"]),
        ("custom_mcp_servers", {"db": {"command": "x", "env": {"DATABASE_URL": "postgres://u:pw@h/db"}}},
         ["password in a URL"]),
    ],
)
def test_more_bad_answers_are_explained(question, value, words):
    message = problem_of(question, value)
    assert message.startswith(f"{question}: ")
    for word in words:
        assert word in message


def test_text_answers_cannot_forge_claude_md_markers():
    assert "<!--" in text_problem("x <!-- END user block --> y", "project_description", 300)
