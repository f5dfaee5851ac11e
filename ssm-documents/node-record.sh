#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# node-record: writes a patch's time, owner and summary onto the Node as caretaker.io/*
# annotations and prints one CARETAKER_RESULT line. runs on a control-plane node through the
# node-record SSM Command document. needs: bash, coreutils, kubectl and the node's admin kubeconfig.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT='node-record'
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline

require_param Kubeconfig '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param Node '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'
require_param PatchedAt '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$'
require_param Packages '^[0-9]{1,6}$'
: "${SSM_Summary=}"
require_param Summary '^[A-Za-z0-9._:,=+@/-]{0,200}$'
require_param Owner '^[A-Za-z0-9][A-Za-z0-9:_.-]{0,127}$'

# kubectl_init, kube (see lib/kubectl.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubectl.sh
. "$(dirname "$0")/lib/kubectl.sh" # caretaker:inline

node=$SSM_Node
patched_at=$SSM_PatchedAt
# the count leads the summary, unless the summary already carries it
summary=$SSM_Summary
[[ ,$summary, == *,packages=* ]] || summary="packages=${SSM_Packages}${summary:+,${summary}}"
kubectl_init
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-node-record.XXXXXX")
cleanup() {
  kubectl_cleanup
  rm -rf -- "$work_dir"
}
trap cleanup EXIT

log "recording the patch of ${patched_at} on Node ${node}: ${summary}"
body=$(printf '{"metadata":{"annotations":{"caretaker.io/patched-at":%s,"caretaker.io/patched-by":%s,"caretaker.io/patch-summary":%s}}}' \
  "$(json_str "$patched_at")" "$(json_str "$SSM_Owner")" "$(json_str "$summary")")
if ! kube patch node "$node" --type=merge -p "$body" >/dev/null 2>"$work_dir/patch.err"; then
  cat "$work_dir/patch.err" >&2
  die "annotating Node ${node} failed: $(first_error "$work_dir/patch.err")"
fi
printf 'CARETAKER_RESULT {"node":%s,"patchedAt":%s}\n' "$(json_str "$node")" "$(json_str "$patched_at")"
