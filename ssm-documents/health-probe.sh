#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# health-probe: the health of the whole cluster seen from one control-plane node, read-only, as
# one CARETAKER_RESULT line: every etcd member (endpoint status --cluster: reachable, leader,
# raft term, db size and size in use), the raised etcd alarms, each control-plane node's
# kube-apiserver /readyz, and the Nodes that are NotReady or under DiskPressure. The health-probe
# Lambda runs it every few minutes and turns it into a handful of metrics.
# runs through the health-probe SSM Command document (health-probe.yaml).
# needs: bash, coreutils, etcdctl (host mode) or crictl (crictl mode), kubectl for the Kubernetes part.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=health-probe
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (health-probe.yaml)
start_time_budget 60
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline

require_param Kubeconfig '^(none|/[A-Za-z0-9._/-]+)$'
require_param ApiServerPort '^[0-9]{1,5}$'
kubeconfig=$SSM_Kubeconfig
api_port=$((10#$SSM_ApiServerPort))

instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-health-probe.XXXXXX")
trap 'rm -rf -- "$work_dir"' EXIT

members_json=''
members_total=0
members_answered=0
etcd_error=''
alarms=()

add_member() {
  local endpoint=$1 id=$2 leader=$3 size=$4 in_use=$5 term=$6 errors=$7
  [[ $size =~ ^[0-9]+$ ]] || size=0
  [[ $in_use =~ ^[0-9]+$ ]] || in_use=0
  [[ $term =~ ^[0-9]+$ ]] || term=0
  local healthy=true is_leader=false
  [[ -n $leader && $leader != 0 ]] || healthy=false
  # a raised alarm (NOSPACE) shows in every member's Errors: that is the cluster's problem, not
  # this member's; anything else in Errors is
  local rest=${errors#[}
  rest=${rest%]}
  rest=$(printf '%s' "$rest" | sed -E 's/memberID:[0-9]+ alarm:[A-Z]+//g; s/[[:space:],]//g')
  [[ -z $rest ]] || healthy=false
  [[ $leader == "$id" ]] && is_leader=true
  members_json+="${members_json:+,}{\"endpoint\":$(json_str "$endpoint"),\"memberId\":$(json_str "$id"),\"healthy\":${healthy},\"isLeader\":${is_leader},\"dbSize\":${size},\"dbSizeInUse\":${in_use},\"raftTerm\":${term},\"errors\":$(json_str "$errors")}"
  members_answered=$((members_answered + 1))
}

if find_etcd_container; then
  # how many members there should be: the member list (answered by any healthy member)
  if etcdctl_tls 5s member list -w fields >"$work_dir/members" 2>"$work_dir/members.err"; then
    members_total=$(grep -c '^"ID" : ' "$work_dir/members" || true)
  else
    etcd_error="member list failed: $(first_error "$work_dir/members.err")"
  fi
  # every member's status; a member that does not answer is missing from the output (and the
  # command exits non-zero), which is what members_total - members_answered counts
  etcdctl_tls 5s endpoint status --cluster -w fields >"$work_dir/status" 2>"$work_dir/status.err" || true
  # ep, not endpoint: etcdctl_tls talks to ${endpoint}, the local member
  ep='' id='' leader='' size='' in_use='' term='' errors=''
  while IFS= read -r line; do
    case $line in
      '"MemberID" : '*) id=${line#\"MemberID\" : } ;;
      '"Leader" : '*) leader=${line#\"Leader\" : } ;;
      '"DBSize" : '*) size=${line#\"DBSize\" : } ;;
      '"DBSizeInUse" : '*) in_use=${line#\"DBSizeInUse\" : } ;;
      '"RaftTerm" : '*) term=${line#\"RaftTerm\" : } ;;
      '"Errors" : '*) errors=${line#\"Errors\" : } ;;
      '"Endpoint" : '*)
        ep=${line#\"Endpoint\" : }
        ep=${ep//\"/}
        ;;
      '')
        if [[ -n $id ]]; then add_member "$ep" "$id" "$leader" "$size" "$in_use" "$term" "$errors"; fi
        ep='' id='' leader='' size='' in_use='' term='' errors=''
        ;;
    esac
  done <"$work_dir/status"
  if [[ -n $id ]]; then add_member "$ep" "$id" "$leader" "$size" "$in_use" "$term" "$errors"; fi
  ((members_total >= members_answered)) || members_total=$members_answered
  if etcdctl_tls 5s alarm list >"$work_dir/alarms" 2>"$work_dir/alarms.err"; then
    mapfile -t alarms < <(while IFS= read -r line; do
      [[ $line == *alarm:* ]] || continue
      line=${line##*alarm:}
      printf '%s\n' "${line%% *}"
    done <"$work_dir/alarms" | sort -u)
  fi
else
  etcd_error='no running etcd container on this node'
fi

alarms_json=''
for a in "${alarms[@]+"${alarms[@]}"}"; do alarms_json+="${alarms_json:+,}$(json_str "$a")"; done

# --- Kubernetes: Nodes and the API servers ------------------------------------------------------
kube_json='null'
# readyz <url>: true when the API server at <url> answers /readyz with ok. it is asked by its own
# address, so its certificate is checked for the name every kubeadm and kops API server
# certificate carries (kubernetes), not for the address
readyz() {
  if bounded kubectl --kubeconfig "$kubeconfig" --server "$1" --tls-server-name=kubernetes \
    --request-timeout=5s get --raw /readyz >"$work_dir/readyz" 2>&1 && [[ $(<"$work_dir/readyz") == ok ]]; then
    printf true
  else
    printf false
  fi
}
# the sandbox's API servers all listen on 127.0.0.1, each on its own port: it names each
# node's server (CARETAKER_APISERVER_URLS="node=url ...") where a real node has its own address
declare -A api_urls=()
for pair in ${CARETAKER_APISERVER_URLS:-}; do api_urls[${pair%%=*}]=${pair#*=}; done
if [[ $kubeconfig != none ]]; then
  kube_error=''
  nodes_total=0
  not_ready=()
  disk_pressure=()
  api_json=''
  workers_json=''
  declare -A patched_at=() control_plane=()
  # '|' between the fields, not a tab: read collapses runs of whitespace separators, and an empty
  # field (a Node with no DiskPressure condition) would shift the ones after it
  template='{range .items[*]}{.metadata.name}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"|"}{.status.conditions[?(@.type=="DiskPressure")].status}{"|"}{.metadata.annotations.caretaker\.io/patched-at}{"\n"}{end}'
  if bounded kubectl --kubeconfig "$kubeconfig" --request-timeout=10s get nodes -o jsonpath="$template" >"$work_dir/nodes" 2>"$work_dir/nodes.err"; then
    while IFS='|' read -r name ready pressure patched; do
      [[ -n $name ]] || continue
      nodes_total=$((nodes_total + 1))
      [[ $ready == True ]] || not_ready+=("$name")
      [[ $pressure != True ]] || disk_pressure+=("$name")
      # node-record's annotation (caretaker.io/patched-at), an RFC 3339 time in UTC
      [[ $patched =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]] || patched=''
      patched_at[$name]=$patched
    done <"$work_dir/nodes"
  else
    kube_error="kubectl get nodes failed: $(first_error "$work_dir/nodes.err")"
  fi
  # each control-plane node's own API server, by its InternalIP, not through the load balancer
  cp_template='{range .items[*]}{.metadata.name}{"|"}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}'
  if [[ -z $kube_error ]] && bounded kubectl --kubeconfig "$kubeconfig" --request-timeout=10s get nodes -l node-role.kubernetes.io/control-plane \
    -o jsonpath="$cp_template" >"$work_dir/cp" 2>"$work_dir/cp.err"; then
    while IFS='|' read -r name address; do
      [[ -n $name ]] || continue
      control_plane[$name]=1
      url=${api_urls[$name]:-}
      [[ -n $url || -z $address ]] || url="https://${address}:${api_port}"
      ready=false
      [[ -z $url ]] || ready=$(readyz "$url")
      api_json+="${api_json:+,}{\"node\":$(json_str "$name"),\"address\":$(json_str "$address"),\"ready\":${ready}}"
    done <"$work_dir/cp"
  else
    # the API does not answer through the kubeconfig (or cannot list its control plane): ask this
    # node's own API server directly, so the result says whether it is the server or the way to it
    name=$(hostname)
    url=${api_urls[$name]:-${CARETAKER_APISERVER_URL:-https://127.0.0.1:${api_port}}}
    api_json="{\"node\":$(json_str "$name"),\"address\":$(json_str "$url"),\"ready\":$(readyz "$url")}"
    [[ -n $kube_error ]] || kube_error="kubectl get nodes -l node-role.kubernetes.io/control-plane failed: $(first_error "$work_dir/cp.err")"
  fi
  # every worker's last patch by Caretaker (empty: never), for "days since each worker was patched"
  for name in "${!patched_at[@]}"; do
    [[ -z ${control_plane[$name]:-} ]] || continue
    workers_json+="${workers_json:+,}{\"node\":$(json_str "$name"),\"patchedAt\":$(json_str "${patched_at[$name]}")}"
  done
  list() {
    local out='' x
    for x in "$@"; do out+="${out:+,}$(json_str "$x")"; done
    printf '[%s]' "$out"
  }
  kube_json="{\"error\":$(json_str "$kube_error"),\"nodesTotal\":${nodes_total},\"notReady\":$(list "${not_ready[@]+"${not_ready[@]}"}"),\"diskPressure\":$(list "${disk_pressure[@]+"${disk_pressure[@]}"}"),\"apiServers\":[${api_json}],\"workers\":[${workers_json}]}"
fi

log "etcd: ${members_answered} of ${members_total} members answered${etcd_error:+ (${etcd_error})}; alarms: ${alarms[*]-none}"
printf 'CARETAKER_RESULT {"instanceId":%s,"etcd":{"error":%s,"membersTotal":%s,"members":[%s],"alarms":[%s]},"kubernetes":%s}\n' \
  "$(json_str "$instance_id")" "$(json_str "$etcd_error")" "$members_total" "$members_json" "$alarms_json" "$kube_json"
