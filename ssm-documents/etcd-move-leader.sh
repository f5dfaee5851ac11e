#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-move-leader: if this node's etcd member leads, hands leadership to a healthy follower
# (etcdctl move-leader) before the node is disrupted; a follower changes nothing.
# runs on a control-plane node through the etcd-move-leader SSM Command document.
# exit 0 with the result; non-zero when it leads and no follower is healthy, or the move failed.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=etcd-move-leader
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (etcd-move-leader.yaml)
start_time_budget 120
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/etcd-members.sh
. "$(dirname "$0")/lib/etcd-members.sh" # caretaker:inline

instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-move-leader.XXXXXX")
trap 'rm -rf -- "$work_dir"' EXIT

find_etcd_container || die "no running etcd container (crictl ps --name etcd --state running found none)"
local_endpoint=$endpoint

# status_of <file>: sets member_id and leader (decimal) from `endpoint status -w fields`
status_of() {
  etcdctl_tls 5s endpoint status -w fields >"$1" 2>"$1.err" ||
    die "etcd at ${endpoint} is unreachable: $(first_error "$1.err")"
  member_id=$(field MemberID "$1") || die "endpoint status gave no MemberID"
  leader=$(field Leader "$1") || leader=0
}

emit() {
  printf 'CARETAKER_RESULT {"instanceId":%s,"memberId":%s,"wasLeader":%s,"movedTo":%s,"leaderAfter":%s}\n' \
    "$(json_str "$instance_id")" "$(json_str "$(dec_to_hex "$member_id")")" "$1" "$(json_str "$2")" \
    "$(json_str "$3")"
}

status_of "$work_dir/before"
if [[ $leader == 0 ]]; then
  die "member $(dec_to_hex "$member_id") sees no leader: etcd has no quorum, nothing to move"
fi
if [[ $leader != "$member_id" ]]; then
  log "member $(dec_to_hex "$member_id") is a follower (leader $(dec_to_hex "$leader")): nothing to move"
  emit false '' "$(dec_to_hex "$leader")"
  exit 0
fi

etcdctl_tls 5s member list -w fields >"$work_dir/members" 2>"$work_dir/members.err" ||
  die "member list failed: $(first_error "$work_dir/members.err")"
read_members "$work_dir/members"

# the first healthy follower, in member-list order
target=''
for i in "${!member_ids[@]}"; do
  [[ ${member_ids[i]} != "$member_id" && -n ${member_urls[i]} ]] || continue
  endpoint=${member_urls[i]}
  if etcdctl_tls 5s endpoint health >"$work_dir/health" 2>&1; then
    target=${member_ids[i]}
    log "follower ${member_names[i]} ($(dec_to_hex "$target")) at ${endpoint} is healthy"
    break
  fi
  log "follower ${member_names[i]} at ${endpoint} is not healthy: $(first_error "$work_dir/health")"
done
endpoint=$local_endpoint
[[ -n $target ]] || die "this member leads and no follower is healthy: leadership cannot move, so the node must not be disrupted"

target_hex=$(dec_to_hex "$target")
log "moving leadership from $(dec_to_hex "$member_id") to ${target_hex}"
etcdctl_tls 15s move-leader "$target_hex" >"$work_dir/move" 2>&1 ||
  die "move-leader ${target_hex} failed: $(first_error "$work_dir/move")"

status_of "$work_dir/after"
[[ $leader != "$member_id" && $leader != 0 ]] ||
  die "leadership did not move: the leader is still $(dec_to_hex "$leader")"
log "leader is now $(dec_to_hex "$leader")"
emit true "$target_hex" "$(dec_to_hex "$leader")"
