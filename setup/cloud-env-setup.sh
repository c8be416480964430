#!/usr/bin/env bash
# cloud-env-setup.sh: the launcher that the one line in copier-claude-cloud's README ("The
# setup script") downloads, checks against its sha256 and runs, as a Claude Code cloud
# environment's "Setup script".
#
# It finds the repository checkouts (the setup script runs in /home/user, with each
# repository at /home/user/<repo>; run inside a checkout, it takes that one), runs each
# one's .claude/scripts/cloud-setup.sh there, and says on stdout what it did: the setup log
# is what the user sees. cloud-setup.sh provisions toolchains, tools, plugins and MCP
# packages into the file system that the environment caches.
#
# Once per environment cache: a checkout whose provisioning inputs (PROVISIONING_INPUTS, and
# this launcher) hash as at the last run that had no failure is skipped, and the log says
# so. The stamps live beside cloud-setup.sh's record of provided tools, in the cached file
# system.
#
# It never relies on an export: what the setup script exports never reaches the session.
# What a session needs is in files that .claude/scripts/cloud-init.sh reads (the record of
# provided tools) or that the tools read themselves (~/.claude/plugins, the npx and uv
# caches, the toolchains).
#
# It always exits 0 (a failing setup script stops the session from starting). No command
# fails silently: an ERR trap names each failing command and its line, and the last line
# counts the failures.
#
# Paths are variables so that tests can run it in a fake root; the defaults are the cloud's.
set -uo pipefail
set -E

checkouts_root=${CLAUDE_CLOUD_SETUP_CHECKOUTS:-/home/user}
state_dir=${CLAUDE_CLOUD_SETUP_STATE:-/var/lib/copier-claude-cloud}
setup_log=${CLAUDE_CLOUD_SETUP_LOG:-/var/log/copier-claude-cloud-setup.log}
SETUP_SCRIPT=.claude/scripts/cloud-setup.sh
# What decides what cloud-setup.sh provisions in a checkout: the script and the reader it
# runs, the configuration they read, and the toolchain pins. A change to any reruns it.
PROVISIONING_INPUTS=(
  .claude/scripts/cloud-setup.sh .claude/scripts/cloud-config.py .claude/settings.json .mcp.json
  .python-version go.mod rust-toolchain.toml rust-toolchain
)

# One time budget for every checkout: the environment's cache is built only when the whole
# setup script ends within about 5 minutes.
deadline=$((EPOCHSECONDS + 270))
failures=0
say() { printf 'copier-claude-cloud setup: %s\n' "$*"; }
# shellcheck disable=SC2329 # the ERR trap calls it
on_error() {
  local code=$1 line=$2 command=$3
  failures=$((failures + 1))
  say "FAILED (exit $code, line $line): $command"
}
trap 'on_error "$?" "$LINENO" "$BASH_COMMAND"' ERR

# The checkouts to provision, one a line: the git checkout we are in, when it has the setup
# script; else every folder under $checkouts_root that has it.
find_checkouts() {
  local top
  if top=$(git rev-parse --show-toplevel 2>/dev/null) && [ -f "$top/$SETUP_SCRIPT" ]; then
    echo "$top"
    return 0
  fi
  for top in "$checkouts_root"/*/; do
    if [ -f "$top$SETUP_SCRIPT" ]; then echo "${top%/}"; fi
  done
}

# Say which repositories under $checkouts_root have no setup script (generated before 0.9).
report_checkouts_without_setup() {
  local top
  for top in "$checkouts_root"/*/; do
    if [ -d "$top.git" ] && [ ! -f "$top$SETUP_SCRIPT" ]; then
      say "${top%/}: no $SETUP_SCRIPT, nothing to provision (copier update brings it)"
    fi
  done
}

# A hash of what the setup script of checkout $1 would provision from, and of this launcher.
provisioning_hash() {
  local checkout=$1 input
  {
    sha256sum <"${BASH_SOURCE[0]}"  # by content: the one-liner runs it from a temporary file
    for input in "${PROVISIONING_INPUTS[@]}"; do
      if [ -f "$checkout/$input" ]; then printf '%s ' "$input" && sha256sum <"$checkout/$input"; fi
    done
  } | sha256sum | cut -d ' ' -f 1
}

# Run checkout $1's setup script there; stamp it when nothing failed, so the next run in
# this environment cache skips it.
provision() {
  local checkout=$1 name stamp hash result log_start failed failures_before
  name=${checkout##*/}
  stamp="$state_dir/setup-$name.stamp"
  hash=$(provisioning_hash "$checkout")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    say "$name: already provisioned in this environment, nothing changed since; nothing to do"
    return 0
  fi
  say "$name: running $SETUP_SCRIPT"
  result=$(mktemp)
  log_start=$(($(stat -c %s "$setup_log" 2>/dev/null || echo 0) + 1))
  failures_before=$failures
  # In the checkout, so that it finds the toolchain pins; not in a subshell, so that the ERR
  # trap reports a crash once.
  if ! pushd "$checkout" >/dev/null; then
    failures=$((failures + 1))
    say "FAILED: cannot enter $checkout"
    return 0
  fi
  CLAUDE_CLOUD_SETUP_RESULT=$result CLAUDE_CLOUD_SETUP_LOG=$setup_log CLAUDE_CLOUD_SETUP_DEADLINE=$deadline \
    bash "$SETUP_SCRIPT"
  popd >/dev/null || return 0
  # cloud-setup.sh writes to its log; the lines of this run are what the user should see.
  if [ -f "$setup_log" ]; then tail -c "+$log_start" "$setup_log" | sed 's/^/  /'; fi
  failed=$(cat "$result")
  rm -f "$result"
  if [ "$failed" = 0 ]; then
    echo "$hash" >"$stamp"
    say "$name: provisioned"
  elif [ -n "$failed" ]; then
    failures=$((failures + failed))
    say "$name: $failed item(s) failed; the next setup run retries them"
  else
    # It ended without its count: a crash, which the ERR trap has named unless it exited 0.
    [ "$failures" -gt "$failures_before" ] || failures=$((failures + 1))
    say "$name: $SETUP_SCRIPT did not finish; the next setup run retries it"
  fi
}

main() {
  local checkout count=0
  mkdir -p "$state_dir" "${setup_log%/*}"
  report_checkouts_without_setup
  while IFS= read -r checkout; do
    count=$((count + 1))
    provision "$checkout"
  done < <(find_checkouts)
  [ "$count" -gt 0 ] || say "no checkout with $SETUP_SCRIPT under $checkouts_root or here: nothing to do"
  say "done: $count checkout(s), $failures failure(s)"
}

main
exit 0
