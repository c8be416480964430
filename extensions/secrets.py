"""Does an answer put a secret into a committed file? One answer to that, for every question.

settings.json, .mcp.json and CLAUDE.md are committed, and the cloud environment's variables
are where secrets go (a file names them as ${VAR}). So a value is refused when it holds:

- a credential of a known shape (GitHub, Anthropic and OpenAI, Stripe, Slack, AWS, GitLab,
  Google, JWTs, PEM private keys);
- a long random-looking string (high Shannon entropy over a token alphabet), which is what
  most other credentials look like;
- a URL with a password (or a token as the user name) in its userinfo, or a query or fragment
  parameter that carries a credential (its name says so, or its value is one of the above or a
  shorter generated-looking value); URLs are parsed, not matched;
- a `Password=`/`Pwd=` in a `key=value;` connection string;
- any of those as the literal default of a reference, `${VAR:-literal}`.

`secret_in(value)` says which, or "". `credential_header(name)` says whether a header
carries credentials, whatever its value looks like.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

TOKEN_SHAPES = re.compile(
    r"(ghp_|gho_|ghs_|ghu_|ghr_|github_pat_|sk-ant-|sk-proj-|sk-|sk_live_|sk_test_|rk_live_|xox[abpr]-|glpat-|AIza)"
    r"[A-Za-z0-9_\-]{8,}"
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # a JWT
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
# A reference Claude Code expands, with an optional literal default: ${VAR} or ${VAR:-default}.
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# A name that says its value is a secret: these words anywhere, or short ones as a segment of
# the name (DB_PASS, GH_PAT, pin, ENC_KEY_B64, X-Pass) or a CamelCase part (dbPass, userPin).
SECRET_WORDS = re.compile(r"(auth|token|secret|passw|passphrase|pwd|api[-_]?key|apikey|private[-_]?key|credential"
                          r"|session|signature|sig$|key$"
                          r"|(?:^|[-_.])(?:pass|pat|pin|key|salt|otp|dsn|creds?|cookie|bearer|hmac|cert|seed)"
                          r"(?=$|[-_.0-9])"
                          r"|(?-i:(?<=[a-z])(?:Pass|Pat|Pin|Key|Salt|Otp|Dsn|Creds?|Cookie)(?=$|[A-Z_.0-9-])))",
                          re.IGNORECASE)
# `Password=...` in a `key=value;` connection string (ADO.NET, ODBC, JDBC properties).
CONNECTION_PASSWORD = re.compile(r"(?:^|[;\s])\s*(?:password|passwd|pwd|pass)\s*=\s*(?!\$\{)[^;\s]",
                                 re.IGNORECASE)
CREDENTIAL_HEADERS = re.compile(r"^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-.*|x-.*-token|x-.*-key"
                                r"|x-access-token|private-token)$", re.IGNORECASE)
RANDOM_RUN = re.compile(r"[A-Za-z0-9+/=_\-]{20,}")
# A generated key switches between lower case, upper case and digits at about every other
# character, and spreads over many symbols; words, CamelCase names and versions do neither.
# (Random base62 switches at about 0.6 of its characters, CamelCase at under 0.45.) Hex keys,
# two kinds of character only, are told by their length instead.
SWITCH_RATE = 0.45
ENTROPY_LIMIT = 3.5
HEX_KEY = re.compile(r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{32,}|(?=[0-9A-F]*[A-F])(?=[0-9A-F]*[0-9])[0-9A-F]{32,}")


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _kind(char: str) -> str:
    return "d" if char.isdigit() else "u" if char.isupper() else "l" if char.islower() else "o"


def looks_random(text: str) -> bool:
    """A run of 20 or more token characters that reads as a generated key, not as words."""
    if HEX_KEY.search(text):
        return True
    for run in RANDOM_RUN.findall(text):
        letters = "".join(char for char in run if char.isalnum())
        if len(letters) < 20 or len({_kind(char) for char in letters}) < 2:
            continue
        switches = sum(_kind(a) != _kind(b) for a, b in zip(letters, letters[1:])) / (len(letters) - 1)
        if switches >= SWITCH_RATE and entropy(letters) >= ENTROPY_LIMIT:
            return True
    return False


def random_value(text: str) -> bool:
    """A shorter value (12 or more letters and digits) that reads as generated: what a URL's
    query or fragment parameter with a key in it looks like."""
    if len(text) < 12 or not re.fullmatch(r"[A-Za-z0-9+/=_.~-]+", text):
        return False
    letters = "".join(char for char in text if char.isalnum())
    kinds = {_kind(char) for char in letters}
    if len(letters) < 12 or "d" not in kinds or len(kinds) < 2:
        return False
    switches = sum(_kind(a) != _kind(b) for a, b in zip(letters, letters[1:])) / (len(letters) - 1)
    return switches >= 0.3 and entropy(letters) >= 3.0


def credential_header(name: str) -> bool:
    return bool(CREDENTIAL_HEADERS.match(name.strip()))


def secret_name(name: str) -> bool:
    """Whether a key, variable or header name says its value is a secret."""
    return bool(SECRET_WORDS.search(name) or credential_header(name))


def _in_url(value: str) -> str:
    for candidate in re.findall(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+", value):
        try:
            parts = urlsplit(candidate)
            password = parts.password
        except ValueError:
            return "a URL that cannot be parsed"
        if password and not REFERENCE.fullmatch(password):
            return "a password in a URL"
        user = parts.username or ""
        if user and not REFERENCE.fullmatch(user) and (TOKEN_SHAPES.search(user) or looks_random(user)
                                                        or random_value(user)):
            return "a token as a URL's user name"
        for where, text in (("query", parts.query), ("fragment", parts.fragment)):
            for name, item in parse_qsl(text, keep_blank_values=True):
                if REFERENCE.fullmatch(item) or not item:
                    continue
                if SECRET_WORDS.search(name) or TOKEN_SHAPES.search(item) or looks_random(item) \
                        or random_value(item):
                    return f"a credential in the URL's {where} ({name}=)"
    return ""


def _literal(value: str) -> str:
    if TOKEN_SHAPES.search(value):
        return "what looks like a literal credential"
    if found := _in_url(value):
        return found
    if looks_random(REFERENCE.sub("", value)):
        return "a long random-looking string, as keys and tokens are"
    if CONNECTION_PASSWORD.search(value):
        return "a password in a connection string (Password=...)"
    return ""


def secret_in(value: str) -> str:
    """What kind of secret `value` holds, or "" when it holds none."""
    for match in REFERENCE.finditer(value):
        if match.group(2) and (found := _literal(match.group(2))):
            return f"{found} as the default of ${{{match.group(1)}}}"
    return _literal(value)


def literal_part(value: str) -> str:
    """What is left of a value once its ${VAR} references (and Bearer/Basic) are taken out."""
    return REFERENCE.sub("", value).replace("Bearer", "").replace("Basic", "").replace("Token", "").strip()
