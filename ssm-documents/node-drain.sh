#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# node-drain: kubectl drain --ignore-daemonsets of one cordoned Node, and one CARETAKER_RESULT
# line naming the pods it evicted and the pods still there (a PodDisruptionBudget, a pod with no
# controller, emptyDir data). a drain blocked at the timeout exits 0 with drained false: what
# then is the workflow's decision. runs on a control-plane node through the node-drain SSM
# Command document. needs: bash, coreutils, grep, timeout, kubectl and the node's admin kubeconfig.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT='node-drain'
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (node-drain.yaml)
start_time_budget 3900

require_param Kubeconfig '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param Node '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'
require_param TimeoutSeconds '^[1-9][0-9]{0,3}$'
: "${SSM_GracePeriodSeconds=-1}"
require_param GracePeriodSeconds '^(-1|[0-9]{1,4})$'
: "${SSM_DeleteEmptyDirData=false}"
require_param DeleteEmptyDirData '^(true|false)$'
: "${SSM_DisableEviction=false}"
require_param DisableEviction '^(true|false)$'
: "${SSM_Force=false}"
require_param Force '^(true|false)$'

# kubectl_init, kube, node_fields, read_node_fields, json_array (see lib/kubectl.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubectl.sh
. "$(dirname "$0")/lib/kubectl.sh" # caretaker:inline

node=$SSM_Node
drain_timeout=$SSM_TimeoutSeconds
((drain_timeout <= 3600)) || die "parameter TimeoutSeconds: ${drain_timeout} is more than 3600 (the document's budget)"
# at most this many pods in each list (DRAIN_LIST_CAP in node-drain.ts)
list_cap=50
kubectl_init
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-node-drain.XXXXXX")
cleanup() {
  stop_bounded
  kubectl_cleanup
  rm -rf -- "$work_dir"
}
trap cleanup EXIT
trap 'log "stopped by a signal"; exit 143' TERM INT HUP

node_fields "$node" "$work_dir/node" || die "there is no Node ${node} in the cluster"
read_node_fields "$work_dir/node"
# a drain cordons too, but without Caretaker's mark: node-cordon first, so no cordon goes unnamed
[[ $unschedulable == true ]] || die "Node ${node} is not cordoned: cordon it with node-cordon first"

# the pods a drain moves: not owned by a DaemonSet, not mirror pods, not finished. one line each:
# namespace/name, then "terminating" when it is being deleted
# shellcheck disable=SC2016 # a go template, not shell
pods_template='<%range .items%><%$skip := false%><%range .metadata.ownerReferences%><%if eq .kind "DaemonSet"%><%$skip = true%><%end%><%end%><%with .metadata.annotations%><%with index . "kubernetes.io/config.mirror"%><%$skip = true%><%end%><%end%><%if eq .status.phase "Succeeded" "Failed"%><%$skip = true%><%end%><%if not $skip%><%.metadata.namespace%>/<%.metadata.name%><%"\t"%><%if .metadata.deletionTimestamp%>terminating<%end%><%"\n"%><%end%><%end%>'
list_pods() {
  kube get pods --all-namespaces --field-selector "spec.nodeName=${node}" -o "go-template=${pods_template}" \
    >"$1" 2>"$1.err" || die "listing the pods on ${node} failed: $(first_error "$1.err")"
}
list_pods "$work_dir/before"

drain_args=(drain "$node" --ignore-daemonsets "--timeout=${drain_timeout}s" "--grace-period=${SSM_GracePeriodSeconds}")
[[ $SSM_DeleteEmptyDirData == true ]] && drain_args+=(--delete-emptydir-data)
[[ $SSM_DisableEviction == true ]] && drain_args+=(--disable-eviction)
[[ $SSM_Force == true ]] && drain_args+=(--force)
log "kubectl ${drain_args[*]}"
drain_rc=0
bounded "$kubectl_bin" --kubeconfig="$kubeconfig" --cache-dir="$kubectl_cache" "${drain_args[@]}" \
  >"$work_dir/drain.out" 2>&1 || drain_rc=$?
# kubectl's own account, for whoever reads the invocation's stderr
tail -n 40 "$work_dir/drain.out" >&2 || true

list_pods "$work_dir/after"
declare -A left=()
while IFS=$'\t' read -r pod state; do
  [[ -n $pod ]] && left[$pod]=${state:-running}
done <"$work_dir/after"

# why <namespace/name>: what kept the pod on the node, from kubectl's own messages
why() {
  local pod=$1 ns=${1%%/*} name=${1#*/} line prefix
  if [[ ${left[$pod]} == terminating ]]; then
    printf 'still terminating (its grace period had not run out)'
    return
  fi
  if grep -qF "pods/\"${name}\" -n \"${ns}\"" "$work_dir/drain.out" &&
    grep -F "pods/\"${name}\" -n \"${ns}\"" "$work_dir/drain.out" | grep -q 'disruption budget'; then
    printf 'PodDisruptionBudget: evicting it would violate its disruption budget'
    return
  fi
  while IFS= read -r line; do
    [[ $line == *"cannot delete"*"$pod"* ]] || continue
    prefix=${line%%"$pod"*}
    prefix=${prefix##*cannot delete }
    case $prefix in
      *controller*) printf 'not managed by a controller (kubectl drain --force deletes it for good)' ;;
      *"local storage"* | *emptyDir*) printf 'uses emptyDir data (deleteEmptyDirData allows losing it)' ;;
      *) printf 'cannot delete %s' "${prefix%%(*}" ;;
    esac
    return
  done <"$work_dir/drain.out"
  if ((drain_rc == 124)); then
    printf 'still running when the time budget ran out'
  else
    printf 'still on the node when the drain ended (exit %s)' "$drain_rc"
  fi
}

evicted=()
evicted_count=0
while IFS=$'\t' read -r pod _; do
  [[ -n $pod ]] || continue
  if [[ -z ${left[$pod]+x} ]]; then
    evicted_count=$((evicted_count + 1))
    ((${#evicted[@]} < list_cap)) && evicted+=("$pod")
  fi
done <"$work_dir/before"

blocked=''
blocked_count=0
for pod in "${!left[@]}"; do
  blocked_count=$((blocked_count + 1))
  ((blocked_count <= list_cap)) || continue
  blocked+="${blocked:+,}{\"pod\":$(json_str "$pod"),\"reason\":$(json_str "$(why "$pod")")}"
done

drained=true
((blocked_count == 0)) || drained=false
if [[ $drained == true && $drain_rc -ne 0 ]]; then
  log "kubectl drain exited ${drain_rc}, but no pod is left on ${node} but DaemonSet pods"
fi
log "Node ${node}: drained ${drained}, ${evicted_count} pods evicted, ${blocked_count} left"
truncated=false
((evicted_count <= list_cap && blocked_count <= list_cap)) || truncated=true
printf 'CARETAKER_RESULT {"node":%s,"drained":%s,"evicted":%s,"blockedBy":[%s],"truncated":%s}\n' \
  "$(json_str "$node")" "$drained" "$(json_array "${evicted[@]}")" "$blocked" "$truncated"
