"""Hostile answers: each is refused with a message that names its question, or stays inert.
Nothing may crash. The refused names are data (extensions/data/refused_env.yml); secrets are
told by extensions/secrets.py, for env values and every string of a custom MCP server."""

from __future__ import annotations

import base64
import json
import secrets as random_source
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extensions.answers import cli_tools_problem, env_vars_problem, text_problem
from extensions.mcp import custom_mcp_servers_problem
from extensions.secrets import secret_in
from helpers import ROOT

REFUSED = yaml.safe_load((ROOT / "extensions/data/refused_env.yml").read_text())["refused"]


def example_name(pattern: str) -> str:
    return pattern.replace("*", "X")


@pytest.mark.parametrize("entry", REFUSED, ids=[entry["name"] for entry in REFUSED])
def test_each_refused_env_name_is_refused_with_its_reason(entry):
    name = example_name(entry["name"])
    problem = env_vars_problem({name: "1"})
    assert problem.startswith(f"env_vars: {name} is refused: {entry['reason']}")


@pytest.mark.parametrize("name", ["http_proxy", "Https_Proxy", "no_proxy", "npm_config_script_shell", "GIT_CONFIG_COUNT",
                                  "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_USE_BEDROCK"])
def test_dangerous_names_in_any_case_are_refused(name):
    assert " is refused: " in env_vars_problem({name: "x"})


def test_ordinary_names_pass():
    assert env_vars_problem({"LOG_LEVEL": "debug", "TOKENIZERS_PARALLELISM": "false", "NODE_ENV": "test"}) == ""


TOKENS = {
    "github": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "anthropic": "sk-ant-api03-" + "x" * 30,
    "aws": "AKIA" + "ABCDEFGHIJKLMNOP",
    "random": "Zq8vN2mK4pX7wR1tY9bL3cF6hJ0dS5gA",
    "hex": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "base64": base64.b64encode(b"0123456789abcdef0123456789").decode(),
}


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_a_secret_value_in_env_vars_is_refused(kind):
    problem = env_vars_problem({"SERVICE_URL": f"https://example.com/?x=1&k={TOKENS[kind]}" if kind == "hex" else TOKENS[kind]})
    assert problem.startswith("env_vars: the value of SERVICE_URL holds ") and "cloud environment" in problem


def test_random_keys_are_told_from_words_and_names():
    generated = [random_source.token_urlsafe(24) for _ in range(300)] + [random_source.token_hex(20) for _ in range(300)]
    caught = sum(bool(secret_in(value)) for value in generated)
    assert caught / len(generated) >= 0.9, f"only {caught} of {len(generated)} generated keys were caught"
    words = ["MyApplicationServer2024", "ReallyLongCamelCaseIdentifierName", "@modelcontextprotocol/server-filesystem@2025.8.21",
             "x86_64-unknown-linux-gnu", "--max-old-space-size=4096", "application/vnd.github.v3+json",
             "https://api.githubcopilot.com/mcp/", "postgresql://app@127.0.0.1:5432/app", "en_US.UTF-8"]
    assert [word for word in words if secret_in(word)] == []


MCP = {"type": "http", "url": "https://mcp.example.com/mcp"}


@pytest.mark.parametrize(("entry", "said"), [
    ({**MCP, "url": "https://user:hunter2@mcp.example.com/mcp"}, "carries credentials before the host"),
    ({**MCP, "url": "https://mcp.example.com/mcp?api_key=abc123"}, "credential in the URL's query"),
    ({**MCP, "url": "https://mcp.example.com/mcp?x=" + TOKENS["random"]}, "credential in the URL's query"),
    ({**MCP, "url": "http://localhost:@evil.example/mcp"}, "https://"),
    ({**MCP, "url": "http://127.0.0.1@evil.example/mcp"}, "https://"),
    ({**MCP, "url": "https://${USER}:${PASS}@mcp.example.com/"}, "carries credentials before the host"),
    ({**MCP, "headers": {"X-Api-Key": "abc"}}, "must be a ${VAR} reference"),
    ({**MCP, "headers": {"Cookie": "session=abc"}}, "must be a ${VAR} reference"),
    ({**MCP, "headers": {"X-Auth-User": "admin"}}, "must be a ${VAR} reference"),
    ({**MCP, "headers": {"Authorization": "Bearer ${TOKEN:-" + TOKENS["github"] + "}"}}, "as the default of ${TOKEN}"),
    ({"command": "npx", "args": ["-y", "x-mcp@1.0.0", "--token=abc123"]}, "must be a ${VAR} reference"),
    ({"command": "npx", "args": ["-y", "x-mcp@1.0.0", TOKENS["aws"]]}, "literal credential"),
    ({"command": "npx", "args": ["-y", "x-mcp@1.0.0"], "env": {"DB": "postgres://a:pw@h/db"}}, "password in a URL"),
    # The key names the secret (the words the import of a personal setup checks: one list,
    # extensions/secrets.py; the MCP question had its own, narrower one before 0.9.1).
    ({"command": "npx", "args": [], "env": {"DB_PASS": "hunter2"}}, "DB_PASS is a secret"),
    ({"command": "npx", "args": [], "env": {"GH_PAT": "hunter2"}}, "GH_PAT is a secret"),
    ({"command": "npx", "args": [], "env": {"PASSPHRASE": "correct horse"}}, "PASSPHRASE is a secret"),
    ({"command": "npx", "args": [], "env": {"dbPwd": "hunter2"}}, "dbPwd is a secret"),
    ({**MCP, "headers": {"X-Pass": "hunter2"}}, "X-Pass is a secret"),
    ({"command": "npx", "args": ["-y", "x-mcp@1.0.0", "--passphrase=hunter2"]}, "must be a ${VAR} reference"),
    ({"command": "npx\x00", "args": []}, "control character"),
    ({"command": "npx", "args": ["x" * 5000]}, "keep it to 4096"),
])
def test_custom_mcp_servers_refuse_secrets_and_lookalike_hosts(entry, said):
    problem = custom_mcp_servers_problem({"mine": entry})
    assert problem.startswith("custom_mcp_servers: mine") and said in problem, problem


def test_custom_mcp_servers_accept_references_and_local_http():
    ok = {"a": {**MCP, "headers": {"Authorization": "Bearer ${A_TOKEN}", "X-Api-Key": "${A_KEY}"}},
          "b": {"type": "http", "url": "http://localhost:8080/mcp"},
          "c": {"command": "npx", "args": ["-y", "x-mcp@1.0.0", "--token=${X_TOKEN}"], "env": {"X_TOKEN": "${X_TOKEN}"}},
          "d": {"command": "npx", "args": ["-y", "x-mcp@1.0.0"],
                "env": {"LOG_LEVEL": "debug", "DB_PASS": "${DB_PASS}", "PORT": "8080", "REGION": "eu-west-1"}}}
    assert custom_mcp_servers_problem(ok) == ""


@pytest.mark.parametrize("question", ["project_name", "project_description"])
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x07", "\t", "\x7f"])
def test_control_characters_in_text_answers_are_refused(question, character):
    assert text_problem(f"demo{character}x", question, 300).startswith(f"{question}: holds a control character")


def test_control_characters_and_huge_values_in_env_vars_are_refused():
    assert "control character" in env_vars_problem({"A": "x\x00y"})
    assert "keep it to 4096" in env_vars_problem({"A": "x" * 300_000})


@pytest.mark.parametrize("spec", ["apt:bash-", "apt:zlib1g.dev", "apt:lib*", "apt:pkg/stable", "apt:^bash$", "apt:Bash",
                                  "npm:x@npm:evil", "npm:x@file:../y", "npm:git+https://example.com/x.git",
                                  "npm:https://example.com/x.tgz", "npm:x@git+ssh://h/x", "npm:x@>=1.0.0", "pip:x@1.0;id",
                                  "go:example.com/x@master;id"])
def test_cli_tools_refuse_what_is_not_a_plain_package_and_version(spec):
    assert cli_tools_problem([spec]).startswith("cli_tools: "), spec


@pytest.mark.parametrize("spec", ["apt:python3.11", "apt:g++", "apt:jq", "apt:libssl-dev@3.0.11-1~deb12u2",
                                  "npm:@scope/x@1.2.3-beta.1", "npm:prettier@latest", "go:golang.org/x/tools/gopls@v0.16.2"])
def test_cli_tools_accept_real_package_names(spec):
    assert cli_tools_problem([spec]) == ""


# --- any value at all ------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=200) | st.sampled_from(
    ["$(id)", "`id`", "'; rm -rf ~; '", '"}, "x": {"', "\\", "${HOME}", "<!-- END -->", "a\tb", "\u202e", "%s%n"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=ANY_TEXT, value=ANY_TEXT)
def test_any_env_var_is_refused_by_name_or_stays_a_json_string(name, value):
    problem = env_vars_problem({name: value})
    if problem:
        assert problem.startswith("env_vars: ")
    else:
        assert json.loads(json.dumps({name: value})) == {name: value}
        assert not any(ord(char) < 32 for char in name + value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT)
def test_any_text_answer_is_refused_naming_it_or_one_plain_line(text):
    problem = text_problem(text, "project_description", 300)
    assert problem.startswith("project_description: ") or ("\n" not in text and not any(ord(c) < 32 for c in text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=ANY_TEXT)
def test_any_cli_tool_is_refused_naming_the_question_or_is_a_plain_spec(spec):
    problem = cli_tools_problem([spec])
    assert problem.startswith("cli_tools: ") or all(char.isalnum() or char in "@:/._~+-" for char in spec)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=st.dictionaries(st.sampled_from(["type", "command", "args", "env", "url", "headers", "other"]),
                             ANY_TEXT | st.lists(ANY_TEXT, max_size=3) | st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3),
                             max_size=5))
def test_any_custom_mcp_server_is_refused_naming_the_question_or_valid(entry):
    problem = custom_mcp_servers_problem({"mine": entry})
    assert problem == "" or problem.startswith("custom_mcp_servers: ")


def test_a_server_type_that_is_not_a_string_is_refused_not_a_crash():
    """Found by the property test above: `type: []` raised TypeError inside the validator."""
    assert "has type" in custom_mcp_servers_problem({"mine": {"type": []}})
