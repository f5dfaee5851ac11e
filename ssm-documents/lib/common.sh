#!/bin/bash
# shellcheck shell=bash
# Helpers every Caretaker node script shares. Not a document: infra/ssm-documents.ts inlines this
# file where a script has its `. "$(dirname "$0")/lib/common.sh" # caretaker:inline` line, so the
# SSM agent receives one self-contained script; run from the repository, the line sources it.
# The script sets CARETAKER_SCRIPT (its name, for log lines) before this file.

log() { printf '%s: %s\n' "${CARETAKER_SCRIPT:-caretaker}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# parameters arrive as SSM_<Name> (interpolationType ENV_VAR, SSM Agent >= 3.3.2746.0).
# the document's allowedPattern already checked them; check again so the script is safe alone.
require_param() {
  local name=$1 pattern=$2 var="SSM_$1"
  if [[ -z ${!var+x} ]]; then
    die "parameter ${name} is missing (\$${var} is not set; interpolationType ENV_VAR needs SSM Agent 3.3.2746.0 or later)"
  fi
  if [[ ! ${!var} =~ $pattern ]]; then
    die "parameter ${name} is invalid: $(printf '%q' "${!var}") does not match ${pattern}"
  fi
}

# --- json helpers: the result is built by hand, no jq on the node -------------------------------
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$(printf '%s' "$s" | tr -d '\000-\037')"
}

# the first line of an etcdctl error, for a reason that fits in a notification
first_error() {
  local line
  while IFS= read -r line; do
    [[ -n $line ]] && {
      printf '%s' "$line"
      return 0
    }
  done <"$1"
  printf 'no output'
}

# the value of "<Name>" in etcdctl's `-w fields` output
field() {
  local name=$1 file=$2 line value
  while IFS= read -r line; do
    if [[ $line == "\"$name\" : "* ]]; then
      value=${line#\""$name"\" : }
      value=${value#\"}
      printf '%s' "${value%\"}"
      return 0
    fi
  done <"$file"
  return 1
}

# the Name of member <id> in `member list -w fields` output; empty when it is not listed
member_name_in() {
  local id=$1 file=$2 line current='' name=''
  while IFS= read -r line; do
    case $line in
      '"ID" : '*) current=${line#\"ID\" : } ;;
      '"Name" : '*)
        if [[ $current == "$id" ]]; then
          name=${line#\"Name\" : }
          name=${name#\"}
          name=${name%\"}
        fi
        ;;
    esac
  done <"$file"
  printf '%s' "$name"
}
