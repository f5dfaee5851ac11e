#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# node-status: read-only; one Node's readiness, cordon, boot id and the readiness of its
# DaemonSet pods, as one CARETAKER_RESULT line. runs on a control-plane node through the
# node-status SSM Command document. needs: bash, coreutils, kubectl and the node's admin kubeconfig.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT='node-status'
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline

require_param Kubeconfig '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param Node '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'

# kubectl_init, kube, node_fields, read_node_fields, json_array (see lib/kubectl.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubectl.sh
. "$(dirname "$0")/lib/kubectl.sh" # caretaker:inline

node=$SSM_Node
# at most this many not-ready DaemonSet pods are named (NOT_READY_LIST_CAP in node-status.ts)
list_cap=50
kubectl_init
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-node-status.XXXXXX")
cleanup() {
  kubectl_cleanup
  rm -rf -- "$work_dir"
}
trap cleanup EXIT

if ! node_fields "$node" "$work_dir/node"; then
  log "there is no Node ${node}"
  printf 'CARETAKER_RESULT {"node":%s,"exists":false,"unschedulable":false,"ready":false,"bootID":"","kubeletVersion":"","daemonSetPodsReady":false,"daemonSetPodsNotReady":[]}\n' \
    "$(json_str "$node")"
  exit 0
fi
read_node_fields "$work_dir/node"

# the pods on the node that a DaemonSet owns: namespace/name, then true when Running and Ready
# shellcheck disable=SC2016 # a go template, not shell
pods_template='<%range .items%><%$ds := false%><%range .metadata.ownerReferences%><%if eq .kind "DaemonSet"%><%$ds = true%><%end%><%end%><%if $ds%><%.metadata.namespace%>/<%.metadata.name%><%"\t"%><%$ready := "false"%><%if eq .status.phase "Running"%><%range .status.conditions%><%if eq .type "Ready"%><%if eq .status "True"%><%$ready = "true"%><%end%><%end%><%end%><%end%><%if .metadata.deletionTimestamp%><%$ready = "false"%><%end%><%$ready%><%"\n"%><%end%><%end%>'
kube get pods --all-namespaces --field-selector "spec.nodeName=${node}" -o "go-template=${pods_template}" \
  >"$work_dir/pods" 2>"$work_dir/pods.err" ||
  die "listing the pods on ${node} failed: $(first_error "$work_dir/pods.err")"
not_ready=()
not_ready_count=0
total=0
while IFS=$'\t' read -r pod pod_ready; do
  [[ -n $pod ]] || continue
  total=$((total + 1))
  if [[ $pod_ready != true ]]; then
    not_ready_count=$((not_ready_count + 1))
    ((${#not_ready[@]} < list_cap)) && not_ready+=("$pod")
  fi
done <"$work_dir/pods"
ds_ready=true
((not_ready_count == 0)) || ds_ready=false
log "Node ${node}: ready ${ready}, unschedulable ${unschedulable}, ${total} DaemonSet pods, ${not_ready_count} not ready"

extra=''
[[ -n $ready_since ]] && extra+=",\"readySince\":$(json_str "$ready_since")"
[[ -n $cordoned_by ]] && extra+=",\"cordonedBy\":$(json_str "$cordoned_by")"
printf 'CARETAKER_RESULT {"node":%s,"exists":true,"ready":%s,"unschedulable":%s,"bootID":%s,"kubeletVersion":%s,"daemonSetPodsReady":%s,"daemonSetPodsNotReady":%s%s}\n' \
  "$(json_str "$node")" "$ready" "$unschedulable" "$(json_str "$boot_id")" "$(json_str "$kubelet_version")" \
  "$ds_ready" "$(json_array "${not_ready[@]}")" "$extra"
