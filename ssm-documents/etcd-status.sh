#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-status: reports the health of the local etcd member as one CARETAKER_RESULT line.
# runs on a control-plane node through the etcd-status SSM Command document (etcd-status.yaml).
# needs: bash, coreutils, etcdctl (host mode) or crictl (crictl mode); etcd 3.4, 3.5 or 3.6.
# an unhealthy or unreachable member is exit 0 with healthy:false; non-zero means this script
# itself could not run (bad parameter, missing certificate file).

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=etcd-status
# log, die, require_param, json_str, first_error, field, member_name_in (see lib/common.sh)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# start_time_budget, bounded (see lib/time-budget.sh)
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (etcd-status.yaml): no etcdctl call outlives it
start_time_budget 120
# EtcdPort, CaFile, CertFile, KeyFile, EtcdctlMode; find_etcd_container, etcdctl_tls (see lib/etcd-access.sh)
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline


instance_id=${AWS_SSM_INSTANCE_ID:-unknown}


work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-etcd-status.XXXXXX")
trap 'rm -rf -- "$work_dir"' EXIT


healthy=false
reason=''
member_id=''
member_name=''
is_leader=false
revision=0
db_size=0
version=''
alarms=()

emit() {
  local alarms_json='' a
  for a in "${alarms[@]+"${alarms[@]}"}"; do
    alarms_json+="${alarms_json:+,}$(json_str "$a")"
  done
  printf 'CARETAKER_RESULT {"instanceId":%s,"healthy":%s,"reason":%s,"memberId":%s,"memberName":%s,"isLeader":%s,"revision":%s,"dbSize":%s,"version":%s,"alarms":[%s]}\n' \
    "$(json_str "$instance_id")" "$healthy" "$(json_str "$reason")" "$(json_str "$member_id")" \
    "$(json_str "$member_name")" "$is_leader" "$revision" "$db_size" "$(json_str "$version")" "$alarms_json"
}

unhealthy() {
  healthy=false
  reason=$1
  log "unhealthy: ${reason}"
  emit
  exit 0
}

find_etcd_container || unhealthy "$container_problem"

log "checking ${endpoint} (${mode})"
if ! etcdctl_tls 5s endpoint status -w fields >"$work_dir/status" 2>"$work_dir/status.err"; then
  cat "$work_dir/status.err" >&2
  unhealthy "etcd at ${endpoint} is unreachable: $(first_error "$work_dir/status.err")"
fi

member_id=$(field MemberID "$work_dir/status") || unhealthy "endpoint status gave no MemberID"
leader=$(field Leader "$work_dir/status") || leader=''
revision=$(field Revision "$work_dir/status") || revision=0
db_size=$(field DBSize "$work_dir/status") || db_size=0
version=$(field Version "$work_dir/status") || version=''
errors=$(field Errors "$work_dir/status") || errors='[]'
[[ $revision =~ ^[0-9]+$ ]] || revision=0
[[ $db_size =~ ^[0-9]+$ ]] || db_size=0
[[ -n $leader && $leader != 0 && $leader == "$member_id" ]] && is_leader=true

# the member's name is only in the member list
if etcdctl_tls 5s member list -w fields >"$work_dir/members" 2>"$work_dir/members.err"; then
  member_name=$(member_name_in "$member_id" "$work_dir/members")
else
  log "member list failed: $(first_error "$work_dir/members.err")"
fi

problems=()
if ! etcdctl_tls 5s endpoint health >"$work_dir/health" 2>&1; then
  problems+=("health check failed: $(first_error "$work_dir/health")")
fi
if [[ $errors != '[]' ]]; then
  problems+=("member reports errors: ${errors}")
fi
if [[ -z $leader || $leader == 0 ]]; then
  problems+=("member sees no leader")
fi
if etcdctl_tls 5s alarm list >"$work_dir/alarms" 2>"$work_dir/alarms.err"; then
  # lines look like: memberID:13668033151171901709 alarm:NOSPACE
  while IFS= read -r line; do
    [[ $line == *alarm:* ]] || continue
    alarm=${line##*alarm:}
    # etcdctl ends the line with a space ("alarm:NOSPACE "): the name is up to it
    alarm=${alarm%%[[:space:]]*}
    problems+=("alarm ${alarm} raised on member ${line%% *}")
    seen=false
    for a in "${alarms[@]+"${alarms[@]}"}"; do [[ $a == "$alarm" ]] && seen=true; done
    [[ $seen == true ]] || alarms+=("$alarm")
  done <"$work_dir/alarms"
else
  problems+=("alarm list failed: $(first_error "$work_dir/alarms.err")")
fi

if ((${#problems[@]} == 0)); then
  healthy=true
  reason="healthy ($([[ $is_leader == true ]] && echo leader || echo follower), revision ${revision})"
  log "$reason"
else
  healthy=false
  reason=''
  for p in "${problems[@]}"; do reason+="${reason:+; }${p}"; done
  log "unhealthy: ${reason}"
fi
emit
