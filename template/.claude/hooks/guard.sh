#!/usr/bin/env bash
# PreToolUse hook (Bash and the file tools): refuses, in every permission profile,
#   - a command or file tool that touches a secret: .env files (not .env.example, .sample,
#     .template, .dist), .npmrc, .pypirc, .netrc, .git-credentials, SSH private keys (id_*),
#     *.pem, *.key, *.p12, *.pfx, *.tfvars, ~/.ssh, ~/.aws, ~/.config/gcloud, ~/.azure,
#     ~/.config/gh, ~/.docker/config.json, ~/.kube;
#   - a write into the session's own configuration: .claude/settings*.json, .claude/scripts/,
#     .claude/hooks/, .claude/guard-allow, .git/config, .git/hooks/ (the next session, or
#     the next git command, would run what was written);
#   - git that writes where it should not or runs configured code: `--output`, `-c`,
#     `git config` writes, and a force-push.
# A refusal is exit 2 with the reason on stderr: Claude Code blocks the call and shows the
# reason to Claude. Anything else exits 0 and the permission rules decide as usual.
#
# The team's override: .claude/guard-allow, committed like any other file, one entry a line
# (# starts a comment):
#   a glob, matched against the path as written and against its file name: that path is
#     no secret here (for example `.env.test` or `fixtures/*.pem`);
#   `allow force-push`, `allow claude-writes`, `allow git-config`: that refusal is off.
# CLAUDE_GUARD=off in the environment Claude Code starts with turns the whole guard off for
# that session (a person at the keyboard; nothing a session runs can set it for the hook).
#
# This is a tripwire for the plain forms, not a sandbox: a command that builds a file name
# at run time ($(printf ...), base64) is not seen. The permission profile still asks before
# any command it does not allow.
set -u

[ "${CLAUDE_GUARD:-}" = "off" ] && exit 0

input=$(cat)
project_dir=${CLAUDE_PROJECT_DIR:-$PWD}
allow_file="$project_dir/.claude/guard-allow"

# The hook input, as lines: the tool name, then each string of tool_input that names a
# command, path or pattern. python3 or jq parse the JSON; without either, the raw input is
# checked as one command (stricter: it may refuse a harmless call, never let one through).
fields=""
if command -v python3 >/dev/null 2>&1; then
  fields=$(python3 -c '
import json, sys
try:
    data = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
tool = data.get("tool_name") or ""
given = data.get("tool_input") or {}
print(tool.replace("\n", " "))
for key in ("command", "file_path", "path", "notebook_path", "pattern", "glob"):
    value = given.get(key) if isinstance(given, dict) else 0
    if isinstance(value, str):
        print(key + "=" + value.replace("\n", " "))
for edit in (given.get("edits") or []) if isinstance(given, dict) else []:
    if isinstance(edit, dict) and isinstance(edit.get("file_path"), str):
        print("file_path=" + edit["file_path"].replace("\n", " "))
' <<<"$input" 2>/dev/null) || fields=""
elif command -v jq >/dev/null 2>&1; then
  fields=$(jq -r '(.tool_name // ""), ((.tool_input // {}) | to_entries[]
      | select(.key | IN("command", "file_path", "path", "notebook_path", "pattern", "glob"))
      | select(.value | type == "string") | "\(.key)=\(.value | gsub("\n"; " "))")' <<<"$input" 2>/dev/null) || fields=""
fi
if [ -z "$fields" ]; then
  [ -n "$input" ] || exit 0
  fields=$'Bash\ncommand='"${input//$'\n'/ }"
fi

tool=${fields%%$'\n'*}

# --- the team's override -------------------------------------------------------------------
allowed_globs=()
allowed_kinds=" "
if [ -f "$allow_file" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    line=${line#"${line%%[![:space:]]*}"}
    line=${line%"${line##*[![:space:]]}"}
    [ -n "$line" ] || continue
    case "$line" in
      "allow "*) allowed_kinds+="${line#allow } " ;;
      *) allowed_globs+=("$line") ;;
    esac
  done <"$allow_file"
fi
kind_allowed() { [[ $allowed_kinds == *" $1 "* ]]; }

refuse() {
  printf 'guard.sh refused this %s call: %s.\n' "$tool" "$1" >&2
  printf 'This is the project'"'"'s guard hook (.claude/hooks/guard.sh). If the team means to allow it, a person adds a line to .claude/guard-allow (see the hook'"'"'s header); do not work around it.\n' >&2
  exit 2
}

# --- what is a secret ----------------------------------------------------------------------
# Whether one path (as written in the call) is a secret. Prints the reason.
secret_reason() {
  local path=$1 name glob
  path=${path#file://}
  name=${path##*/}
  for glob in "${allowed_globs[@]+"${allowed_globs[@]}"}"; do
    # shellcheck disable=SC2053  # the team's entry is a glob on purpose
    [[ $path == $glob || $name == $glob || ${path#./} == $glob ]] && return 1
  done
  case "$name" in
    .env.example | .env.*.example | .env.sample | .env.*.sample | .env.template | .env.*.template | .env.dist | .env.*.dist | .env.defaults) ;;
    .env | .env.* | .env\** | .env\?*) echo "$name is an environment file with secrets"; return 0 ;;
  esac
  case "$name" in
    .npmrc | .pypirc | .netrc | _netrc | .git-credentials | .pgpass | .my.cnf | credentials.db | access_tokens.db)
      echo "$name holds credentials"; return 0 ;;
    id_rsa | id_dsa | id_ecdsa | id_ed25519 | id_ecdsa_sk | id_ed25519_sk | id_rsa\* | id_ed25519\* | id_\*)
      echo "$name is an SSH private key"; return 0 ;;
    *.pem | *.key | *.p12 | *.pfx | *.jks | *.keystore) echo "$name is a key or certificate store"; return 0 ;;
    *.tfvars | *.tfvars.json | *.tfstate | *.tfstate.backup) echo "$name holds infrastructure secrets"; return 0 ;;
    application_default_credentials.json | service-account*.json | gha-creds-*.json)
      echo "$name is a cloud credential file"; return 0 ;;
  esac
  case "/$path/" in
    */.ssh/* | */.aws/* | */.azure/* | */.config/gcloud/* | */.config/gh/* | */.kube/* | */.docker/config.json/* | */.gnupg/* | */secrets/*)
      echo "$path is in a credentials folder"; return 0 ;;
  esac
  return 1
}

# Whether a path is the session's own configuration (a write there runs later, unasked).
protected_reason() {
  local path=$1
  kind_allowed claude-writes && return 1
  case "/${path#./}" in
    */.claude/settings*.json | */.claude/scripts | */.claude/scripts/* | */.claude/hooks | */.claude/hooks/* | */.claude/guard-allow)
      echo "$path is the session's own configuration (settings, scripts, hooks)"; return 0 ;;
    */.git/config | */.git/hooks | */.git/hooks/* | */.gitconfig | */.config/git/config)
      echo "$path is git configuration that runs commands"; return 0 ;;
  esac
  return 1
}

# --- file tools ------------------------------------------------------------------------------
check_path() {  # $1: the field name, $2: the path; $3: "write" for tools that write
  local reason
  if reason=$(secret_reason "$2"); then
    refuse "$reason"
  fi
  if [ "${3:-}" = write ] && reason=$(protected_reason "$2"); then
    refuse "$reason"
  fi
}

# --- Bash ---------------------------------------------------------------------------------------
check_command() {
  local command=$1 plain word reason segment rest
  # Quotes and backslashes hide nothing from the guard: .en''v and .e\nv read as .env.
  plain=${command//[\'\"\\]/}
  # Each word, split at shell punctuation and at = and @ (curl -d @file, --file=path).
  local -a words
  read -r -a words < <(tr ';&|<>()`$=@,:{}' ' ' <<<"$plain")
  for word in "${words[@]+"${words[@]}"}"; do
    [ -n "$word" ] || continue
    if reason=$(secret_reason "$word"); then
      refuse "$reason"
    fi
  done
  # Writes into the session's configuration: any mention, unless every part of the
  # command only reads (and nothing is redirected).
  for word in "${words[@]+"${words[@]}"}"; do
    if reason=$(protected_reason "$word"); then
      if [[ $plain == *">"* ]]; then refuse "$reason, and the command redirects output"; fi
      local -a parts
      IFS=$'\n' read -r -d '' -a parts < <(tr ';&|' '\n' <<<"$plain"; printf '\0')
      for segment in "${parts[@]+"${parts[@]}"}"; do
        read -r word rest <<<"$segment"
        case "$word" in
          "" | cat | head | tail | less | more | ls | stat | file | wc | grep | rg | diff | shellcheck | md5sum | sha256sum | sha1sum | jq | bat) ;;
          .claude/scripts/cloud-init.sh | ./.claude/scripts/cloud-init.sh | */.claude/scripts/cloud-init.sh) ;;
          git) case "$rest" in status* | diff* | log* | show* | blame* | ls-files*) ;; *) refuse "$reason" ;; esac ;;
          *) refuse "$reason" ;;
        esac
      done
      break
    fi
  done
  # git: options that write files or run configured code, and force-pushes.
  local -a parts
  IFS=$'\n' read -r -d '' -a parts < <(tr ';&|()`' '\n' <<<"$plain"; printf '\0')
  for segment in "${parts[@]+"${parts[@]}"}"; do
    [[ $segment =~ (^|[[:space:]/])git([[:space:]]|$) ]] || continue
    rest=${segment#*git}
    if [[ $rest =~ (^|[[:space:]])--output([[:space:]=]|$) || $rest =~ (^|[[:space:]])-o[[:space:]] && $rest =~ format-patch ]]; then
      refuse "git --output writes a file wherever it is told"
    fi
    # The subcommand: the first word after git's own options (-C and --git-dir take a value).
    local -a gitwords
    read -r -a gitwords <<<"$rest"
    local sub="" i=0 args=""
    while [ "$i" -lt "${#gitwords[@]}" ]; do
      case "${gitwords[$i]}" in
        -C | --git-dir | --work-tree | --namespace) i=$((i + 2)) ;;
        -*) i=$((i + 1)) ;;
        *) sub=${gitwords[$i]}; args=" ${gitwords[*]:$((i + 1))} "; break ;;
      esac
    done
    if ! kind_allowed git-config; then
      if [[ " ${gitwords[*]:0:$i} " =~ [[:space:]](-c|--config-env)([[:space:]=]) ]]; then
        refuse "git -c sets configuration that can run commands (core.pager, core.sshCommand, ...)"
      fi
      if [ "$sub" = config ] && ! [[ $args =~ ^[[:space:]]*(--get|--get-all|--get-regexp|--list|-l|--show-origin|get|list)[[:space:]] ]]; then
        refuse "git config may write configuration that runs commands (only --get and --list read)"
      fi
    fi
    if [ "$sub" = push ] && ! kind_allowed force-push; then
      if [[ $args =~ [[:space:]](--force|--force-with-lease|--force-if-includes|--mirror)[[:space:]=] \
         || $args =~ [[:space:]]-[A-Za-z]*f[A-Za-z]*[[:space:]] || $args =~ [[:space:]]\+[^[:space:]]+ ]]; then
        refuse "a force-push rewrites the remote's history"
      fi
    fi
  done
}

while IFS= read -r line; do
  key=${line%%=*}
  value=${line#*=}
  case "$key" in
    command) [ "$tool" = Bash ] && check_command "$value" ;;
    file_path | notebook_path)
      case "$tool" in
        Edit | Write | MultiEdit | NotebookEdit) check_path "$key" "$value" write ;;
        *) check_path "$key" "$value" ;;
      esac ;;
    path | glob) check_path "$key" "$value" ;;
    pattern) [ "$tool" = Glob ] && check_path "$key" "$value" ;;  # Grep's pattern is a regex of content
  esac
done < <(printf '%s\n' "${fields#*$'\n'}")
exit 0
