"""The built-in MCP catalog: real entry shapes, secrets as references, needs recorded."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
import yaml

from extensions.mcp import VAR_REFERENCE, mcp_catalog, mcp_choices
from helpers import ROOT

CATALOG = mcp_catalog()
COPIER_YML = yaml.safe_load((ROOT / "copier.yml").read_text())


def referenced_vars(entry: dict) -> set[str]:
    text = yaml.safe_dump(entry)
    return {match.group(1) for match in VAR_REFERENCE.finditer(text)}


STDIO = sorted(server_id for server_id, item in CATALOG.items() if item["entry"].get("type") == "stdio")
REMOTE = sorted(set(CATALOG) - set(STDIO))
TOKEN = sorted(server_id for server_id, item in CATALOG.items() if item.get("auth") == "token")


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_id_is_lowercase_words_joined_by_hyphens(server_id):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", server_id)


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_item_has_every_field(server_id):
    item = CATALOG[server_id]
    assert {"title", "description", "source", "auth", "env", "hosts", "allowed_by_default", "entry"} <= set(item)


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_source_is_https(server_id):
    assert CATALOG[server_id]["source"].startswith("https://")


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_auth_is_token_oauth_or_none(server_id):
    assert CATALOG[server_id]["auth"] in ("token", "oauth", "none")


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_entry_type_is_http_sse_or_stdio(server_id):
    assert CATALOG[server_id]["entry"]["type"] in ("http", "sse", "stdio")


@pytest.mark.parametrize("server_id", STDIO)
def test_a_stdio_entry_runs_a_pinned_package(server_id):
    entry = CATALOG[server_id]["entry"]
    assert "url" not in entry and entry["command"] in ("npx", "uvx")
    # Pinned: a package spec with an exact version, never @latest.
    assert any(re.search(r"@\d|==\d", arg) for arg in entry["args"]), entry["args"]


@pytest.mark.parametrize("server_id", REMOTE)
def test_a_remote_entry_uses_https_on_a_listed_host(server_id):
    item = CATALOG[server_id]
    assert urlparse(item["entry"]["url"]).scheme == "https"
    assert urlparse(item["entry"]["url"]).hostname in item["hosts"]


@pytest.mark.parametrize("server_id", sorted(CATALOG))
def test_catalog_env_names_exactly_the_variables_the_entry_uses(server_id):
    # Every ${VAR} the entry uses is one the user is told to set, and the other way round.
    assert referenced_vars(CATALOG[server_id]["entry"]) == set(CATALOG[server_id]["env"])


@pytest.mark.parametrize("server_id", TOKEN)
def test_a_token_server_names_the_variable_that_holds_the_token(server_id):
    assert CATALOG[server_id]["env"], "a token server must name the variable that holds the token"


def test_allowed_by_default_matches_the_cloud_allowlist():
    # One domain per line; "#" starts a comment line, and text after the domain (a note) is ignored.
    lines = (ROOT / "extensions" / "data" / "cloud-default-allowed-domains.txt").read_text().splitlines()
    allowed = [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]
    assert "github.com" in allowed, "the allowlist file is empty or was not parsed"

    def is_allowed(host: str) -> bool:
        return any(host == rule or (rule.startswith("*.") and host.endswith(rule[1:])) for rule in allowed)

    for server_id, item in CATALOG.items():
        assert item["allowed_by_default"] == all(is_allowed(h) for h in item["hosts"]), server_id


def test_copier_question_offers_exactly_the_catalog():
    assert sorted(mcp_choices().values()) == sorted(CATALOG)
    assert COPIER_YML["mcp_servers"]["choices"] == "{{ mcp_choices() | to_json }}"
