#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# control-plane-check: the facts the gates before and after a control-plane node judge, read only:
# this node's API server /readyz, its Node (Ready, kubelet version), its static pods' images,
# every control-plane Node (Ready, cordoned), and every etcd member's health.
# runs through the control-plane-check SSM Command document. a failed check is exit 0 with the
# facts (judge-node-gate decides); non-zero means this script itself could not run.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=control-plane-check
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (control-plane-check.yaml)
start_time_budget 180
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/etcd-members.sh
. "$(dirname "$0")/lib/etcd-members.sh" # caretaker:inline
require_param Kubeconfig '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
# kubectl_init, kube, kubectl_cleanup (see lib/kubectl.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubectl.sh
. "$(dirname "$0")/lib/kubectl.sh" # caretaker:inline

require_param NodeName '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'
require_param Version '^(v[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,4})?$'
require_param ApiServerPort '^[0-9]{1,5}$'
node=$SSM_NodeName
version=$SSM_Version
instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
# this node's own API server, not the load balancer; its certificate names `kubernetes`
api_url=${CARETAKER_APISERVER_URL:-https://127.0.0.1:$((10#$SSM_ApiServerPort))}

work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-cp-check.XXXXXX")
trap 'rm -rf -- "$work_dir"; kubectl_cleanup' EXIT
kubectl_init

api_ready=false
if kube --server="$api_url" --tls-server-name=kubernetes get --raw=/readyz >"$work_dir/readyz" 2>&1; then
  api_ready=true
  api_detail=$(head -c 200 "$work_dir/readyz")
else
  api_detail="/readyz at ${api_url}: $(tail -n 1 "$work_dir/readyz" | head -c 300)"
fi
log "API server ${api_url}: ready ${api_ready}"

node_exists=false
node_ready=false
kubelet=''
if kube get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}{"\t"}{.status.nodeInfo.kubeletVersion}' \
  >"$work_dir/node" 2>"$work_dir/node.err"; then
  node_exists=true
  IFS=$'\t' read -r ready kubelet <"$work_dir/node" || true
  [[ ${ready:-} == True ]] && node_ready=true
else
  log "node ${node}: $(first_error "$work_dir/node.err")"
fi
log "node ${node}: exists ${node_exists}, Ready ${node_ready}, kubelet ${kubelet}"

static_pods=''
# kubeadm labels its static pods tier=control-plane; kops labels them k8s-app=<component> only
for selector in tier=control-plane 'k8s-app in (kube-apiserver,kube-controller-manager,kube-scheduler)'; do
  if kube get pods -n kube-system -l "$selector" --field-selector "spec.nodeName=${node}" \
    -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.spec.containers[0].image}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    >"$work_dir/pods" 2>"$work_dir/pods.err"; then
    while IFS=$'\t' read -r name image ready; do
      [[ -n $name ]] || continue
      static_pods+="${static_pods:+,}{\"name\":$(json_str "$name"),\"image\":$(json_str "$image"),\"ready\":$([[ $ready == True ]] && echo true || echo false)}"
    done <"$work_dir/pods"
  else
    log "static pods of ${node}: $(first_error "$work_dir/pods.err")"
  fi
  [[ -z $static_pods ]] || break
done

control_plane=''
if kube get nodes -l node-role.kubernetes.io/control-plane \
  -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\t"}{.spec.unschedulable}{"\n"}{end}' \
  >"$work_dir/cp" 2>"$work_dir/cp.err"; then
  while IFS=$'\t' read -r name ready unschedulable; do
    [[ -n $name ]] || continue
    control_plane+="${control_plane:+,}{\"name\":$(json_str "$name"),\"ready\":$([[ $ready == True ]] && echo true || echo false),\"unschedulable\":$([[ $unschedulable == true ]] && echo true || echo false)}"
  done <"$work_dir/cp"
else
  log "control-plane nodes: $(first_error "$work_dir/cp.err")"
fi

# every member's health, asked of each member itself
members=''
member_count=0
find_etcd_container || log "no running etcd container (crictl ps --name etcd --state running found none)"
if etcdctl_tls 5s member list -w fields >"$work_dir/members" 2>"$work_dir/members.err"; then
  read_members "$work_dir/members"
  member_count=${#member_ids[@]}
  local_endpoint=$endpoint
  for i in "${!member_ids[@]}"; do
    url=${member_urls[i]:-}
    healthy=false
    if [[ -z $url ]]; then
      detail="member ${member_names[i]:-$(dec_to_hex "${member_ids[i]}")} has no client URL (not started)"
    else
      endpoint=$url
      if etcdctl_tls 5s endpoint health >"$work_dir/health" 2>&1; then
        healthy=true
      fi
      detail=$(first_error "$work_dir/health")
    fi
    members+="${members:+,}{\"endpoint\":$(json_str "${url:-${member_names[i]}}"),\"healthy\":${healthy},\"detail\":$(json_str "$detail")}"
  done
  endpoint=$local_endpoint
else
  members="{\"endpoint\":$(json_str "$endpoint"),\"healthy\":false,\"detail\":$(json_str "member list failed: $(first_error "$work_dir/members.err")")}"
fi
log "etcd: ${member_count} member(s)"

printf 'CARETAKER_RESULT {"instanceId":%s,"node":%s,"version":%s,"apiServerReady":%s,"apiServerDetail":%s,"nodeExists":%s,"nodeReady":%s,"kubeletVersion":%s,"staticPods":[%s],"controlPlaneNodes":[%s],"etcdMembers":[%s],"etcdMemberCount":%s}\n' \
  "$(json_str "$instance_id")" "$(json_str "$node")" "$(json_str "$version")" "$api_ready" \
  "$(json_str "$api_detail")" "$node_exists" "$node_ready" "$(json_str "$kubelet")" "$static_pods" \
  "$control_plane" "$members" "$member_count"
