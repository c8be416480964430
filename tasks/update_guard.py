"""Every update either reaches its end or leaves the repository exactly as it was.

An update changes files before Copier's merge (the answers' migrations, the team's JSON
entries set aside, a migration's `prepare`), and puts things back after it. If it stops in
between (a refused answer, Ctrl-C, a crash, a killed process), those changes would stay:
entries stripped from settings.json, the stash left in .claude/state/, the answers file
rewritten. So:

start  (the first migration of the before stage) records the commit the update started
       from, and starts a watchdog, detached from Copier's process group and terminal
       signals, that waits for Copier's process to end;
done   (the after stage, once the merge and every put-back ran, before check_update) says
       the update reached its end, with or without conflicts; the watchdog then exits;
the watchdog, if Copier's process ended first, restores the project's folder to that
       commit: the index and every tracked file, files the update added removed, the stash
       removed. Copier refuses to update a folder with changes or untracked files, so that
       commit is exactly the state the update started from.

Usage (copier.yml runs it, in the project's folder): update_guard.py start|done
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

MARKER = Path(".claude/state/update-in-progress")
STASH = Path(".claude/state/update-team-entries.json")  # tasks/json_ownership.py's
TEAM_FILES = Path(".claude/state/update-team-files.json")  # tasks/team_files.py's, and its folder
TEAM_FILES_ASIDE = Path(".claude/state/update-team-files")
POLL_SECONDS = 0.2


def git(*args: str, check: bool = True) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check).stdout.strip()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a process that ended but was not reaped yet is a zombie: it is gone
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def restore(folder: Path, commit: str) -> None:
    """The folder as it was at `commit`, with nothing the update added."""
    os.chdir(folder)
    git("reset", "--quiet", commit, "--", ".", check=False)
    git("checkout", commit, "--", ".")
    git("clean", "--force", "-d", "--quiet", "--", ".")
    STASH.unlink(missing_ok=True)
    # The team's files set aside are tracked, so the checkout above brought them back.
    TEAM_FILES.unlink(missing_ok=True)
    shutil.rmtree(TEAM_FILES_ASIDE, ignore_errors=True)
    MARKER.unlink(missing_ok=True)


def watch(folder: Path, copier_pid: int, commit: str) -> None:
    """Wait for Copier's process; restore the folder if the update never reached `done`."""
    marker = folder / MARKER
    while marker.exists() and alive(copier_pid):
        time.sleep(POLL_SECONDS)
    if not marker.exists() or marker.read_text().strip() != commit:
        return  # the update reached its end (or a newer update took over)
    restore(folder, commit)
    print(f"copier-claude-cloud: the update stopped before it finished; {folder} is back as it was at "
          f"{commit[:12]}. Fix the cause and run the update again.", file=sys.stderr)


def start() -> None:
    commit = git("rev-parse", "HEAD")
    MARKER.parent.mkdir(parents=True, exist_ok=True)
    MARKER.write_text(commit + "\n")
    # A process of its own session: Ctrl-C in the terminal (SIGINT to Copier's process group)
    # does not reach it. stderr stays the terminal's, so a restore is said where it happened.
    subprocess.Popen([sys.executable, __file__, "watch", str(Path.cwd()), str(os.getppid()), commit],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)


def done() -> None:
    MARKER.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"] and len(argv) == 1:
        start()
    elif argv[:1] == ["done"] and len(argv) == 1:
        done()
    elif argv[:1] == ["watch"] and len(argv) == 4:
        watch(Path(argv[1]), int(argv[2]), argv[3])
    else:
        print("usage: update_guard.py start|done", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
