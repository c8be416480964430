"""Fetch the Claude Code CLIs that tests/e2e runs, into their cache folder.

    python tests/e2e/fetch_clis.py [VERSION ...]

VERSION is an exact version (2.1.332) or an npm dist-tag or range (latest). Without arguments:
$CLAUDE_CLI_VERSIONS (comma-separated), else the pinned pair (cli.DEFAULT_VERSIONS). The cache
folder is $CLAUDE_CLI_CACHE, else $XDG_CACHE_HOME/copier-claude-cloud/claude-code, else
~/.cache/copier-claude-cloud/claude-code; one folder per version, which later runs reuse. What a
tag resolved to is recorded in its tags.json, so the tests run `latest` without the registry.

Before each download it says what it fetches, how big it is and where it goes; npm's fetch
lines are shown as they come. Exit status: 0 when every version is in the cache, 1 when one
could not be resolved or fetched, 2 when npm is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cli  # noqa: E402

NPM_TIMEOUT = 1200  # seconds for one version's `npm install`
TICK = 5.0  # seconds between two progress lines while npm downloads


class FetchError(Exception):
    pass


def megabytes(size: int | None) -> str:
    if size is None:
        return "size unknown"
    if size < 1000:
        return f"{size} B"
    return f"{size / 1e3:.0f} kB" if size < 100_000 else f"{size / 1e6:.1f} MB"


def disk_size(folder: Path) -> int:
    """The size of the files under `folder`, each file once (2.1 CLIs hard-link their binary)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(base, name))
            except OSError:  # npm moved it meanwhile
                continue
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def version_key(version: str) -> tuple:
    """Semver order: 2.1.10 > 2.1.9, and a release above its pre-releases."""
    core, _, pre = version.split("+")[0].partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    tail = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")) if pre else ()
    return numbers, not pre, tail


def highest(found: str | list[str]) -> str:
    candidates = [found] if isinstance(found, str) else list(found)
    exact = [v for v in candidates if cli.is_exact(v)]
    if not exact:
        raise FetchError(f"npm named no version: {found!r}")
    return max(exact, key=version_key)


def npm_view(npm: str, *args: str):
    """`npm view ARGS --json`, parsed (None when npm prints nothing)."""
    try:
        result = subprocess.run([npm, "view", *args, "--json"], capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FetchError(f"`npm view {' '.join(args)}` took over 120 s (registry unreachable?)") from None
    try:
        data = json.loads(result.stdout) if result.stdout.strip() else None
    except ValueError:
        data = None
    if result.returncode != 0:
        error = data.get("error") if isinstance(data, dict) else None
        summary = error.get("summary", "") if isinstance(error, dict) else ""
        raise FetchError(f"`npm view {' '.join(args)}` failed: {summary or result.stderr.strip()[-400:]}")
    return data


def resolve(npm: str, spec: str) -> str:
    """The exact version an npm dist-tag or range stands for today (the highest, for a range)."""
    return highest(npm_view(npm, f"{cli.PACKAGE}@{spec}", "version") or [])


def download_size(url: str | None) -> int | None:
    """The tarball's Content-Length (None when the registry does not say)."""
    if not url:
        return None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=20) as response:
            length = response.headers.get("Content-Length")
    except (OSError, ValueError):
        return None
    return int(length) if length and length.isdigit() else None


def plan(npm: str, version: str) -> list[dict]:
    """What `npm install` fetches for `version` on this machine (its dry run says: 2.1 CLIs add their
    native binary package, 2.0 ones the image library's), each {"name", "version", "download",
    "unpacked"} with sizes in bytes, None where the registry does not say."""
    with tempfile.TemporaryDirectory() as empty:
        try:
            result = subprocess.run([npm, "install", "--dry-run", "--json", "--prefix", empty, "--no-audit",
                                     "--no-fund", f"{cli.PACKAGE}@{version}"],
                                    capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise FetchError(f"`npm install --dry-run {cli.PACKAGE}@{version}` took over 300 s") from None
    lines = result.stdout.splitlines()
    start = lines.index("{") if "{" in lines else len(lines)  # npm prints "add NAME VERSION" lines first
    try:
        added = json.loads("\n".join(lines[start:]))["add"]
    except (ValueError, KeyError, TypeError):
        raise FetchError(f"npm cannot install {cli.PACKAGE}@{version}: {result.stderr.strip()[-400:]}") from None
    if not any(entry.get("name") == cli.PACKAGE for entry in added):
        added = [*added, {"name": cli.PACKAGE, "version": version}]

    def sized(entry: dict) -> dict:
        dist = npm_view(npm, f"{entry['name']}@{entry['version']}", "dist") or {}
        return {"name": entry["name"], "version": entry["version"],
                "download": download_size(dist.get("tarball")), "unpacked": dist.get("unpackedSize")}

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(sized, sorted(added, key=lambda e: (e.get("name") != cli.PACKAGE, e.get("name")))))


def summed(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(values)


def install(npm: str, version: str) -> float:
    """npm-installs `version` into a hidden folder beside its cache folder, streaming npm's
    fetch lines and the growing size, then moves it into place. Returns the seconds it took."""
    target = cli.cache_root() / version
    partial = cli.cache_root() / f".{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    # 2.1 CLIs' postinstall puts the native binary in place: approved here, as npm 11 asks
    # (a later npm blocks install scripts that no `allowScripts` entry approves).
    (partial / "package.json").write_text(json.dumps({"private": True, "allowScripts": {cli.PACKAGE: True}}) + "\n")
    started = time.monotonic()
    command = [npm, "install", "--prefix", str(partial), "--no-audit", "--no-fund", "--save-exact",
               "--loglevel=http", "--foreground-scripts", f"{cli.PACKAGE}@{version}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               stdin=subprocess.DEVNULL)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK):
            elapsed = time.monotonic() - started
            if elapsed > NPM_TIMEOUT:
                process.kill()
                return
            print(f"    ... {megabytes(disk_size(partial))} in the folder after {elapsed:.0f} s", flush=True)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        for line in process.stdout:
            print(f"    {line.rstrip()}", flush=True)
        code = process.wait()
    finally:
        done.set()
        ticker.join()
    seconds = time.monotonic() - started
    try:
        if code != 0:
            reason = "timed out" if seconds > NPM_TIMEOUT else f"exited with {code}"
            raise FetchError(f"`npm install {cli.PACKAGE}@{version}` {reason} (its output is above)")
        found = cli.installed_version(partial / "node_modules" / ".bin" / "claude")
        if found != version:
            raise FetchError(f"npm installed {cli.PACKAGE}@{version}, "
                             f"but its `claude --version` says {found or 'nothing'!r}")
        shutil.rmtree(target, ignore_errors=True)  # a broken earlier install
        partial.replace(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return seconds


def fetch(npm: str | None, spec: str) -> tuple[str, int, int]:
    """Brings `spec` into the cache. Returns (version, size on disk, bytes downloaded now)."""
    version = spec
    if not cli.is_exact(spec):
        recorded = cli.resolve_offline(spec)
        if npm is None:
            raise FetchError(f"npm is needed to resolve {spec!r}")
        try:
            version = resolve(npm, spec)
        except FetchError as failed:
            if not recorded or not cli.is_cached(recorded):
                raise
            print(f"{cli.PACKAGE}@{spec}: could not resolve it now ({failed}); "
                  f"keeping the recorded {recorded} ({cli.recorded_tags()[spec]['resolved_on']})")
            version = recorded
    label = f"{cli.PACKAGE}@{version}" + ("" if version == spec else f" ({spec})")
    folder = cli.cache_root() / version
    if cli.is_cached(version):
        size = disk_size(folder)
        print(f"{label}: cached in {folder}, {megabytes(size)} on disk")
        if version != spec:
            cli.record_tag(spec, version)
        return version, size, 0
    if npm is None:
        raise FetchError("npm is not installed")
    packages = plan(npm, version)
    download = summed([p["download"] for p in packages])
    unpacked = summed([p["unpacked"] for p in packages])
    print(f"{label}: fetching")
    for package in packages:
        print(f"  {package['name']}@{package['version']}: {megabytes(package['download'])} download"
              + (f", {megabytes(package['unpacked'])} unpacked" if package["unpacked"] is not None else ""))
    print(f"  size:  {megabytes(download)} to download, "
          + (f"{megabytes(unpacked)} unpacked" if unpacked is not None
             else "unpacked size not published by the registry (dist.unpackedSize)"))
    print(f"  into:  {folder}")
    npm_cache = subprocess.run([npm, "config", "get", "cache"], capture_output=True, text=True,
                               timeout=60).stdout.strip()
    print(f"  (npm also keeps the tarballs in its own cache, {npm_cache or '~/.npm'})", flush=True)
    seconds = install(npm, version)
    size = disk_size(folder)
    print(f"  done:  {megabytes(size)} on disk in {folder}, {seconds:.1f} s", flush=True)
    if version != spec:
        cli.record_tag(spec, version)
    return version, size, download or 0


def main(argv: list[str]) -> int:
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__.strip())
        return 0
    specs = cli.requested(argv)
    root = cli.cache_root()
    npm = shutil.which("npm")
    needed = [s for s in specs if not cli.is_exact(s) or not cli.binary_path(s).exists()]
    if needed and npm is None:
        print(f"fetch_clis.py: npm is not installed, so {', '.join(needed)} cannot be fetched. Install Node.js "
              f"(it brings npm), then run this again.", file=sys.stderr)
        return 2
    print(f"Claude Code CLIs for tests/e2e: {', '.join(specs)}; cache folder {root}", flush=True)
    started = time.monotonic()
    total = downloaded = 0
    failed, kept = [], []
    for spec in specs:
        try:
            version, size, fetched = fetch(npm, spec)
        except FetchError as error:
            print(f"{cli.PACKAGE}@{spec}: FAILED: {error}", file=sys.stderr, flush=True)
            failed.append(spec)
            continue
        kept.append(version)
        total += size
        downloaded += fetched
    print(f"Total: {megabytes(total)} on disk in {root}; "
          f"{megabytes(downloaded) if downloaded else 'nothing'} downloaded now, {time.monotonic() - started:.1f} s")
    pinned = {*kept, *cli.DEFAULT_VERSIONS}
    others = sorted((p for p in root.iterdir() if p.is_dir() and cli.is_exact(p.name) and p.name not in pinned),
                    key=lambda p: version_key(p.name)) if root.is_dir() else []
    for other in others:
        print(f"Also in the cache, neither pinned nor asked for: {other.name} ({megabytes(disk_size(other))}); "
              f"delete {other} if no run needs it")
    if failed:
        print(f"fetch_clis.py: could not fetch {', '.join(failed)}; the e2e tests that need "
              f"{'it' if len(failed) == 1 else 'them'} will skip.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
