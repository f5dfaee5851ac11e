#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-maintenance: one maintenance action on the etcd member of this control-plane node, as the
# remediate workflow's etcd-db-size runbook asks, one action and one member per command:
#   compact  compact the keyspace to the current revision (cluster-wide; frees history)
#   defrag   defragment THIS member only, then wait until every member is healthy again (the
#            health gate between members: exit 1 when the cluster does not come back)
#   disarm   disarm NOSPACE once every member's database is back under SpaceBackPercent of the
#            quota; never when CORRUPT is raised (that one is for a person)
# runs through the etcd-maintenance SSM Command document (etcd-maintenance.yaml).
# needs: bash, coreutils, etcdctl (host mode) or crictl (crictl mode); etcd 3.4, 3.5 or 3.6.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=etcd-maintenance
# log, die, require_param, json_str, first_error, field, member_name_in (see lib/common.sh)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# start_time_budget, bounded (see lib/time-budget.sh)
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (etcd-maintenance.yaml): no etcdctl call outlives it
start_time_budget 900
# EtcdPort, CaFile, CertFile, KeyFile, EtcdctlMode; find_etcd_container, etcdctl_tls (see lib/etcd-access.sh)
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline

require_param Action '^(compact|defrag|disarm)$'
require_param QuotaBytes '^[0-9]{1,15}$'
require_param SpaceBackPercent '^[0-9]{1,2}$'
action=$SSM_Action
quota=$((10#$SSM_QuotaBytes))
space_back=$((10#$SSM_SpaceBackPercent))
((quota > 0)) || die "parameter QuotaBytes must be more than 0"
((space_back > 0)) || die "parameter SpaceBackPercent must be 1-99"

instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-etcd-maintenance.XXXXXX")
trap 'rm -rf -- "$work_dir"' EXIT

find_etcd_container || die "no running etcd container (crictl ps --name etcd --state running found none)"

# local_status: the local member's `endpoint status -w fields` into $work_dir/status
local_status() {
  etcdctl_tls 10s endpoint status -w fields >"$work_dir/status" 2>"$work_dir/status.err" ||
    die "etcd at ${endpoint} is unreachable: $(first_error "$work_dir/status.err")"
}

# cluster_sizes: every member's DBSize, one per line, from `endpoint status --cluster`
cluster_sizes() {
  etcdctl_tls 10s endpoint status --cluster -w fields >"$work_dir/cluster" 2>"$work_dir/cluster.err" ||
    return 1
  local line
  while IFS= read -r line; do
    if [[ $line == '"DBSize" : '* ]]; then printf '%s\n' "${line#\"DBSize\" : }"; fi
  done <"$work_dir/cluster"
}

# raised_alarms: the distinct alarm names (NOSPACE, CORRUPT), one per line
raised_alarms() {
  etcdctl_tls 10s alarm list >"$work_dir/alarms" 2>"$work_dir/alarms.err" ||
    die "alarm list failed: $(first_error "$work_dir/alarms.err")"
  local line
  while IFS= read -r line; do
    [[ $line == *alarm:* ]] || continue
    line=${line##*alarm:}
    printf '%s\n' "${line%% *}"
  done <"$work_dir/alarms" | sort -u
}

# cluster_answers: every member answers endpoint status and sees a leader. not `endpoint
# health`: from 3.5 it fails on any raised alarm, and NOSPACE is what this runbook is fixing
cluster_answers() {
  etcdctl_tls 5s endpoint status --cluster -w fields >"$work_dir/health" 2>&1 || return 1
  local line members=0
  while IFS= read -r line; do
    case $line in
      '"Leader" : 0' | '"Leader" : ""') return 1 ;;
      '"MemberID" : '*) members=$((members + 1)) ;;
    esac
  done <"$work_dir/health"
  ((members > 0))
}

# wait_cluster_healthy <seconds>: every member answers, or fail
wait_cluster_healthy() {
  local until=$(($(date +%s) + $1))
  while :; do
    cluster_answers && return 0
    (($(date +%s) < until)) || return 1
    sleep 2
  done
}

json_list() {
  local out='' item
  for item in "$@"; do out+="${out:+,}$(json_str "$item")"; done
  printf '[%s]' "$out"
}

local_status
member_id=$(field MemberID "$work_dir/status") || die "endpoint status gave no MemberID"
revision=$(field Revision "$work_dir/status") || revision=0
size_before=$(field DBSize "$work_dir/status") || size_before=0
in_use_before=$(field DBSizeInUse "$work_dir/status") || in_use_before=0
[[ $revision =~ ^[0-9]+$ ]] || revision=0
[[ $size_before =~ ^[0-9]+$ ]] || size_before=0
[[ $in_use_before =~ ^[0-9]+$ ]] || in_use_before=0

case $action in
  compact)
    # compaction is cluster-wide and cheap; compacting to a revision already compacted is an
    # error etcd reports as "required revision has been compacted": that is success here
    log "compacting to revision ${revision}"
    if etcdctl_tls 120s compaction "$revision" --physical >"$work_dir/out" 2>&1; then
      compacted=true
    elif grep -q 'required revision has been compacted' "$work_dir/out"; then
      compacted=false
    else
      cat "$work_dir/out" >&2
      die "compaction failed: $(first_error "$work_dir/out")"
    fi
    printf 'CARETAKER_RESULT {"instanceId":%s,"action":"compact","memberId":%s,"revision":%s,"compacted":%s}\n' \
      "$(json_str "$instance_id")" "$(json_str "$member_id")" "$revision" "$compacted"
    ;;
  defrag)
    # the gate before: never take a member out while another one is down
    wait_cluster_healthy 10 || die "not every member is healthy before the defragmentation: $(first_error "$work_dir/health")"
    log "defragmenting member ${member_id} (${size_before} bytes, ${in_use_before} in use)"
    started=$(date +%s)
    # --endpoints is the local member only: etcdctl_tls never passes --cluster here
    etcdctl_tls "$(time_left)s" defrag >"$work_dir/out" 2>&1 || {
      cat "$work_dir/out" >&2
      die "defrag of member ${member_id} failed: $(first_error "$work_dir/out")"
    }
    took=$(($(date +%s) - started))
    # the gate after: the next member is only defragmented when this one is back
    wait_cluster_healthy 60 || die "after defragmenting member ${member_id} the cluster is not healthy: $(first_error "$work_dir/health")"
    local_status
    size_after=$(field DBSize "$work_dir/status") || size_after=0
    [[ $size_after =~ ^[0-9]+$ ]] || size_after=0
    log "member ${member_id}: ${size_before} -> ${size_after} bytes in ${took} s; every member healthy"
    printf 'CARETAKER_RESULT {"instanceId":%s,"action":"defrag","memberId":%s,"dbSizeBefore":%s,"dbSizeAfter":%s,"seconds":%s,"clusterHealthy":true}\n' \
      "$(json_str "$instance_id")" "$(json_str "$member_id")" "$size_before" "$size_after" "$took"
    ;;
  disarm)
    mapfile -t before < <(raised_alarms)
    disarmed=false
    reason=''
    largest=0
    if ! sizes=$(cluster_sizes); then
      die "endpoint status --cluster failed: $(first_error "$work_dir/cluster.err")"
    fi
    for s in $sizes; do ((s > largest)) && largest=$s; done
    limit=$((quota * space_back / 100))
    if ((${#before[@]} == 0)); then
      reason='no alarm is raised'
    elif printf '%s\n' "${before[@]}" | grep -qx CORRUPT; then
      # `alarm disarm` clears every alarm: CORRUPT must stay for a person to look at
      reason='CORRUPT is raised: not disarming (see docs/runbooks/remediate.md)'
    elif ((largest >= limit)); then
      reason="the largest member database is ${largest} bytes, not under ${space_back}% of the quota (${limit} bytes): space is not back"
    else
      etcdctl_tls 10s alarm disarm >"$work_dir/out" 2>&1 || die "alarm disarm failed: $(first_error "$work_dir/out")"
      disarmed=true
      reason="disarmed: the largest member database is ${largest} bytes, under ${limit}"
    fi
    log "$reason"
    mapfile -t after < <(raised_alarms)
    printf 'CARETAKER_RESULT {"instanceId":%s,"action":"disarm","memberId":%s,"disarmed":%s,"reason":%s,"largestDbSize":%s,"alarmsBefore":%s,"alarmsAfter":%s}\n' \
      "$(json_str "$instance_id")" "$(json_str "$member_id")" "$disarmed" "$(json_str "$reason")" "$largest" \
      "$(json_list "${before[@]+"${before[@]}"}")" "$(json_list "${after[@]+"${after[@]}"}")"
    ;;
esac
