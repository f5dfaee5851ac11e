#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# node-cordon: cordons or uncordons one Node, only ever Caretaker's own cordon, and prints one
# CARETAKER_RESULT line. runs on a control-plane node through the node-cordon SSM Command document.
# needs: bash, coreutils, kubectl and the node's admin kubeconfig.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT='node-cordon'
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline

require_param Kubeconfig '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param Node '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'
require_param Action '^(cordon|uncordon)$'
require_param Owner '^[A-Za-z0-9][A-Za-z0-9:_.-]{0,127}$'

# kubectl_init, kube, node_fields, read_node_fields (see lib/kubectl.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubectl.sh
. "$(dirname "$0")/lib/kubectl.sh" # caretaker:inline

node=$SSM_Node
action=$SSM_Action
owner=$SSM_Owner
kubectl_init
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-node-cordon.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  kubectl_cleanup
  rm -rf -- "$work_dir"
}
trap cleanup EXIT

# result <changed> [reason]: the Node as it is now
result() {
  local changed=$1 reason=${2:-} extra=''
  node_fields "$node" "$work_dir/after" || die "Node ${node} disappeared"
  read_node_fields "$work_dir/after"
  [[ -n $cordoned_by ]] && extra+=",\"cordonedBy\":$(json_str "$cordoned_by")"
  [[ -n $reason ]] && extra+=",\"reason\":$(json_str "$reason")"
  printf 'CARETAKER_RESULT {"node":%s,"unschedulable":%s,"changed":%s%s}\n' \
    "$(json_str "$node")" "$unschedulable" "$changed" "$extra"
  exit 0
}

# patch <unschedulable> <annotation json value>: one merge patch, refused by the API server when
# the Node changed since it was read (its resourceVersion); 1 on that conflict
patch_node() {
  local body
  body=$(printf '{"metadata":{"resourceVersion":%s,"annotations":{"%s":%s}},"spec":{"unschedulable":%s}}' \
    "$(json_str "$resource_version")" "$CARETAKER_CORDONED_BY" "$2" "$1")
  if kube patch node "$node" --type=merge -p "$body" >/dev/null 2>"$work_dir/patch.err"; then return 0; fi
  if grep -qi 'conflict\|the object has been modified' "$work_dir/patch.err"; then return 1; fi
  cat "$work_dir/patch.err" >&2
  die "patching Node ${node} failed: $(first_error "$work_dir/patch.err")"
}

for attempt in 1 2 3 4 5; do
  node_fields "$node" "$work_dir/before" || die "there is no Node ${node} in the cluster"
  read_node_fields "$work_dir/before"
  kube get node "$node" -o 'go-template=<%.metadata.resourceVersion%>' >"$work_dir/rv" 2>"$work_dir/rv.err" ||
    die "reading Node ${node} failed: $(first_error "$work_dir/rv.err")"
  resource_version=$(<"$work_dir/rv")
  if [[ $action == cordon ]]; then
    if [[ $unschedulable == true ]]; then
      if [[ $cordoned_by == "$owner" ]]; then result false; fi
      if [[ -z $cordoned_by ]]; then
        log "Node ${node} is already cordoned by someone else (no ${CARETAKER_CORDONED_BY}): leaving it"
        result false "cordoned by someone else (no ${CARETAKER_CORDONED_BY} annotation)"
      fi
      log "Node ${node} is already cordoned by ${cordoned_by}: leaving it"
      result false "cordoned by ${cordoned_by}"
    fi
    log "cordoning Node ${node} for ${owner}"
    patch_node true "$(json_str "$owner")" && result true
  else
    if [[ $cordoned_by != "$owner" ]]; then
      if [[ $unschedulable == true && -z $cordoned_by ]]; then
        log "Node ${node} is cordoned by someone else: not uncordoning it"
        result false "cordoned by someone else (no ${CARETAKER_CORDONED_BY} annotation)"
      fi
      if [[ -n $cordoned_by ]]; then
        log "Node ${node} is cordoned by ${cordoned_by}, not ${owner}: not uncordoning it"
        result false "cordoned by ${cordoned_by}"
      fi
      result false "not cordoned"
    fi
    log "uncordoning Node ${node} (cordoned by ${owner})"
    patch_node false null && result true
  fi
  log "Node ${node} changed while being patched (attempt ${attempt}): reading it again"
done
die "Node ${node} kept changing: gave up after 5 attempts"
