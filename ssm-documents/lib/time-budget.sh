#!/bin/bash
# shellcheck shell=bash
# A node script's own time budget. The SSM agent kills a script with SIGKILL when the document's
# timeoutSeconds run out, and a killed script runs no EXIT trap: a snapshot could stay on disk.
# So the script counts down its own budget and stops each long step with `timeout` before the
# agent would, and the cleanup trap always runs. Inlined like lib/common.sh, after it.

time_budget_seconds=''
time_budget_deadline=''

# start_time_budget <timeoutSeconds>: the document's timeoutSeconds (a test checks they agree).
# CARETAKER_TIMEOUT_SECONDS replaces it in tests only: it is not a document parameter.
# a tenth of the budget, at most 60 s, stays in reserve for cleanup and the result line.
start_time_budget() {
  local seconds=${CARETAKER_TIMEOUT_SECONDS:-$1} reserve
  [[ $seconds =~ ^[1-9][0-9]{0,5}$ ]] || die "time budget ${seconds} is not a number of seconds"
  reserve=$((seconds / 10))
  ((reserve <= 60)) || reserve=60
  time_budget_seconds=$seconds
  time_budget_deadline=$(($(date +%s) + seconds - reserve))
}

# seconds left before the script must stop (0 when none are left)
time_left() {
  local left=$((time_budget_deadline - $(date +%s)))
  ((left > 0)) || left=0
  printf '%s' "$left"
}

# bounded <command> [args...]: runs an external command, stopped (TERM, KILL 5 s later) when the
# budget runs out; 124 means it was stopped, and says so on stderr. the command runs in the
# background and is waited for, so a TERM to the script (a cancelled command) is handled at once:
# the script's trap calls stop_bounded, then its cleanup runs
bounded_pid=''
bounded() {
  if [[ -z $time_budget_deadline ]]; then
    "$@"
    return
  fi
  local left rc=0 what=${1##*/}
  # `crictl exec <id> etcdctl ...` is about etcdctl
  [[ $what == crictl && ${2:-} == exec && $# -ge 4 ]] && what="$4 (in the container)"
  left=$(time_left)
  if ((left == 0)); then
    log "not starting ${what}: the ${time_budget_seconds} s time budget has run out"
    return 124
  fi
  # timeout makes itself a process group leader and signals the whole group
  timeout --kill-after=5s "${left}s" "$@" <&0 &
  bounded_pid=$!
  wait "$bounded_pid" || rc=$?
  bounded_pid=''
  if ((rc == 124 || rc == 137)) && (($(time_left) == 0)); then
    log "stopped ${what} after ${left} s: the ${time_budget_seconds} s time budget ran out"
    rc=124
  fi
  return "$rc"
}

# stop_bounded: stops the command bounded is waiting for, if any (from a signal trap)
stop_bounded() {
  [[ -n $bounded_pid ]] || return 0
  kill -TERM -- "-${bounded_pid}" 2>/dev/null || kill -TERM "$bounded_pid" 2>/dev/null || true
  wait "$bounded_pid" 2>/dev/null || true
  bounded_pid=''
}

# remove_leftovers <dir> <glob>: removes directories named <glob> in <dir> that an earlier run
# left behind when it was killed. only ones older than the whole budget: a run still going
# cannot have made them
remove_leftovers() {
  local dir=$1 glob=$2 minutes old
  [[ -d $dir ]] || return 0
  minutes=$(((time_budget_seconds + 59) / 60))
  while IFS= read -r -d '' old; do
    log "removing ${old}, left by an earlier run"
    rm -rf -- "$old"
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type d -name "$glob" -mmin "+${minutes}" -print0 2>/dev/null)
}
