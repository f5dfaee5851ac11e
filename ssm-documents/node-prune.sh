#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# node-prune: frees disk on a node under disk pressure and changes nothing a running pod needs:
# `crictl rmi --prune` removes the images no container uses, `journalctl --vacuum-size=<N>` cuts
# the journal down to N. Reports whether each ran and the free bytes of /var before and after.
# A step that fails is exit 1 naming it (the workflow reports the failure); a missing crictl or
# journalctl is reported as not run (imagesPruned/journalVacuumed false), not as a failure.
# runs through the node-prune SSM Command document (node-prune.yaml).

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=node-prune
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (node-prune.yaml)
start_time_budget 300

require_param JournalVacuumSize '^[0-9]{1,6}[KMG]$'
size=$SSM_JournalVacuumSize
instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-node-prune.XXXXXX")
trap 'rm -rf -- "$work_dir"' EXIT
# the filesystem images and the journal live on (CARETAKER_NODE_ROOT in the sandbox)
var_dir="${CARETAKER_NODE_ROOT:-}/var"
[[ -d $var_dir ]] || var_dir=/var

free_bytes() {
  local n
  n=$(df -P -B1 "$var_dir" 2>/dev/null | awk 'NR == 2 { print $4 }') || true
  if [[ $n =~ ^[0-9]+$ ]]; then printf '%s' "$n"; else printf 'null'; fi
}

before=$(free_bytes)
images=false
if command -v crictl >/dev/null; then
  log "crictl rmi --prune"
  bounded crictl rmi --prune >"$work_dir/out" 2>&1 || die "crictl rmi --prune failed: $(first_error "$work_dir/out")"
  images=true
else
  log "no crictl on this node: images not pruned"
fi
journal=false
if command -v journalctl >/dev/null; then
  log "journalctl --vacuum-size=${size}"
  bounded journalctl "--vacuum-size=${size}" >"$work_dir/out" 2>&1 ||
    die "journalctl --vacuum-size=${size} failed: $(first_error "$work_dir/out")"
  journal=true
else
  log "no journalctl on this node: journal not vacuumed"
fi
after=$(free_bytes)
freed=null
if [[ $before != null && $after != null ]]; then
  freed=$((after > before ? after - before : 0))
fi
log "free bytes of ${var_dir}: ${before} -> ${after}"
printf 'CARETAKER_RESULT {"instanceId":%s,"imagesPruned":%s,"journalVacuumed":%s,"freeBytesBefore":%s,"freeBytesAfter":%s,"bytesFreed":%s}\n' \
  "$(json_str "$instance_id")" "$images" "$journal" "$before" "$after" "$freed"
