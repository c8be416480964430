"""Refresh the JSON schemas vendored here from the URLs that SOURCES.json lists.

    python tests/schemas/refresh.py               # download each schema from its URL
    python tests/schemas/refresh.py --from DIR    # or copy same-named files from DIR (offline)
    python tests/schemas/refresh.py --dest DIR    # refresh DIR (its SOURCES.json) instead of this folder

Every new file must be a JSON object with "$schema" or "properties". Nothing is written
unless every schema was fetched and checked; then each file is written atomically (a temp
file, then a rename) and SOURCES.json records today's date and the file's sha256.
To add a schema, add its name and "url" to SOURCES.json and run this script.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fetch(name: str, url: str, source: Path | None) -> bytes:
    """The new bytes of `name`: from the folder `source` when given, else downloaded from `url`."""
    if source:
        try:
            return (source / name).read_bytes()
        except OSError as error:
            raise SystemExit(f"error: cannot read {name} from {source}: {error.strerror}") from None
    request = urllib.request.Request(url, headers={"User-Agent": "copier-claude-cloud tests/schemas/refresh.py"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (URLs from SOURCES.json)
            return response.read()
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: cannot download {name} from {url}: {error}") from None


def check(name: str, data: bytes, origin: str) -> None:
    """Fail unless `data` is a JSON object that looks like a schema."""
    try:
        document = json.loads(data)
    except ValueError as error:
        raise SystemExit(f"error: {name} from {origin} is not JSON: {error}") from None
    if not isinstance(document, dict) or not ("$schema" in document or "properties" in document):
        raise SystemExit(f'error: {name} from {origin} is not a JSON schema (no "$schema" or "properties")')


def write_atomically(path: Path, data: bytes) -> None:
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, metavar="DIR",
                        help="copy the schemas from DIR instead of downloading them")
    parser.add_argument("--dest", type=Path, default=HERE, metavar="DIR",
                        help="the folder holding SOURCES.json and the schemas (default: this script's folder)")
    args = parser.parse_args(argv)

    sources_file = args.dest / "SOURCES.json"
    sources = json.loads(sources_file.read_text(encoding="utf-8"))
    fetched = {}
    for name, entry in sources.items():
        fetched[name] = fetch(name, entry["url"], args.source)
        check(name, fetched[name], str(args.source / name) if args.source else entry["url"])

    today = datetime.date.today().isoformat()
    for name, data in fetched.items():
        entry = sources[name]
        path = args.dest / name
        digest = hashlib.sha256(data).hexdigest()
        if path.is_file() and path.read_bytes() == data:
            print(f"{name}: unchanged")
        else:
            old = entry.get("sha256", "none")
            write_atomically(path, data)
            print(f"{name}: updated, sha256 {old[:12]} -> {digest[:12]} ({len(data)} bytes)")
        entry.update(refreshed=today, via="a local copy (refresh.py --from)" if args.source else "download",
                     sha256=digest)
    write_atomically(sources_file, (json.dumps(sources, indent=2) + "\n").encode())
    print(f"{sources_file.name}: {len(sources)} schemas, refreshed {today}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
