"""How well, and how fast, the repository reader (extensions/repo_reader.py) reads repositories.

Run by hand, from the repository root:

    .venv/bin/python bench/detection.py            # accuracy, and timing on 100k files
    .venv/bin/python bench/detection.py --files 20000

It prints:

- accuracy: over the fixture corpus (tests/data/repos/*/expected.yml), the expected commands
  the reader finds exactly (same kind, same command line) out of all expected, and the
  commands it finds that no fixture expects (extra);
- timing: `read_repository` on a generated monorepo of about --files files: a pnpm
  workspace with node_modules, packages with deep source trees, a Python backend with a
  .venv, Go services and a Cargo workspace. The best and median of --runs runs.
- with --copy: the whole `copier copy --defaults` of this template (HEAD) into that monorepo,
  and into an empty folder, each once, so the reading's share of a copy shows.

Nothing here is asserted: the figures are the result.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "repos"

_spec = importlib.util.spec_from_file_location("repo_reader", ROOT / "extensions" / "repo_reader.py")
repo_reader = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(repo_reader)


def accuracy() -> tuple[int, int, int, list[str]]:
    """(found, expected, extra, per-fixture lines) over the corpus."""
    found = expected_total = extra = 0
    lines = []
    for fixture in sorted(path for path in CORPUS.iterdir() if path.is_dir()):
        expected = yaml.safe_load((fixture / "expected.yml").read_text())
        wanted = {(str(entry["path"]), entry["stack"], kind, run)
                  for entry in expected["folders"] for kind, run in entry["commands"].items()}
        result = repo_reader.read_repository(fixture)
        got = {(entry["path"], entry["stack"], kind, command["run"])
               for entry in result["folders"] for kind, command in entry["commands"].items()}
        found += len(wanted & got)
        expected_total += len(wanted)
        extra += len(got - wanted)
        lines.append(f"  {fixture.name:40} {len(wanted & got):3}/{len(wanted):<3} extra {len(got - wanted)}")
    return found, expected_total, extra, lines


def write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def spread(folder: Path, count: int, suffix: str, width: int = 20) -> int:
    """`count` small files under `folder`, `width` to a sub-folder, nested two deep."""
    for number in range(count):
        write(folder / f"d{number // (width * width)}" / f"e{number // width % width}" / f"f{number}{suffix}", "x\n")
    return count


def generate(root: Path, files: int) -> int:
    """A monorepo of about `files` files; returns how many it wrote."""
    written = 0
    write(root / "package.json", json.dumps({"private": True, "packageManager": "pnpm@9.12.0",
                                             "scripts": {"build": "turbo run build", "lint": "turbo run lint"}}))
    write(root / "pnpm-workspace.yaml", "packages:\n  - 'apps/*'\n  - 'packages/*'\n")
    write(root / "pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
    write(root / ".github/workflows/ci.yml", "jobs:\n  ci:\n    steps:\n      - run: pnpm install\n"
                                              "      - run: pnpm lint\n      - run: pnpm test\n")
    write(root / "backend/pyproject.toml", "[project]\nname = 'api'\n[tool.ruff]\n[tool.pytest.ini_options]\n")
    write(root / "backend/uv.lock", "version = 1\n")
    write(root / "Cargo.toml", "[workspace]\nmembers = ['crates/*']\n[workspace.package]\nedition = '2021'\n")
    written += 8
    shares = {"node_modules": 0.45, "packages": 0.25, "backend/.venv": 0.1, "backend/app": 0.05, "services": 0.05,
              "crates": 0.05, "target": 0.05}
    for area, share in shares.items():
        budget = int(files * share)
        if area == "packages":
            for number in range(50):
                package = root / "packages" / f"pkg{number}"
                write(package / "package.json", json.dumps({"name": f"pkg{number}", "scripts": {"test": "vitest"}}))
                written += 1 + spread(package / "src", budget // 50, ".ts")
        elif area == "services":
            for number in range(10):
                write(root / "services" / f"svc{number}" / "go.mod", f"module svc{number}\n")
                written += 1 + spread(root / "services" / f"svc{number}" / "internal", budget // 10, ".go")
        elif area == "crates":
            for number in range(5):
                write(root / "crates" / f"c{number}" / "Cargo.toml", f"[package]\nname = 'c{number}'\n"
                                                                     "edition.workspace = true\n")
                written += 1 + spread(root / "crates" / f"c{number}" / "src", budget // 5, ".rs")
        else:
            written += spread(root / area, budget, ".js" if area == "node_modules" else ".py")
    # node_modules packages carry manifests the scan must never open.
    for number in range(200):
        write(root / "node_modules" / f"dep{number}" / "package.json", "{}")
    return written + 200


def copy_seconds(destination: Path) -> float:
    """One `copier copy --trust --defaults` of this template's HEAD into `destination`."""
    import subprocess

    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("copier")), "copy", "--trust", "--defaults", "--quiet",
                    "--overwrite", "--vcs-ref=HEAD", str(ROOT), str(destination)], check=True, capture_output=True)
    return time.perf_counter() - started


def copy_timing(files: int) -> tuple[float, float]:
    """Seconds for a copy into the generated monorepo, and into an empty folder."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "monorepo"
        generate(root, files)
        into_monorepo = copy_seconds(root)
        into_empty = copy_seconds(Path(folder) / "empty")
    return into_monorepo, into_empty


def timing(files: int, runs: int) -> tuple[int, int, list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        written = generate(root, files)
        durations = []
        for _ in range(runs):
            started = time.perf_counter()
            result = repo_reader.read_repository(root)
            durations.append(time.perf_counter() - started)
        return written, len(result["folders"]), durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--copy", action="store_true", help="also time a whole copier copy")
    arguments = parser.parse_args()

    found, expected, extra, lines = accuracy()
    print(f"accuracy over the corpus ({len(lines)} repositories):")
    print("\n".join(lines))
    print(f"  expected commands found: {found}/{expected} ({100 * found / expected:.1f}%); extra commands: {extra}")

    written, folders, durations = timing(arguments.files, arguments.runs)
    print(f"read_repository on a generated monorepo of {written} files ({folders} project folders found):")
    print(f"  best {min(durations) * 1000:.1f} ms, median {statistics.median(durations) * 1000:.1f} ms "
          f"over {len(durations)} runs")
    if arguments.copy:
        into_monorepo, into_empty = copy_timing(arguments.files)
        print(f"copier copy --defaults: {into_monorepo:.2f} s into that monorepo, {into_empty:.2f} s into an empty folder")
    return 0 if found == expected and extra == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
