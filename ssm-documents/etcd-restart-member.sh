#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-restart-member: restarts the etcd member of this control-plane node, and only it: the
# systemd unit (EtcdctlMode host: kubespray's etcd, or any etcd run by systemd) or the static pod's
# container (EtcdctlMode crictl: kubeadm, kops; the kubelet starts a new one). Then waits up to a
# minute for the member to answer endpoint health. The remediate workflow checks quorum before
# sending it and the members' health after; an unhealthy member after the restart is exit 0 with
# healthy:false (the workflow escalates), non-zero means the restart itself could not be done.
# runs through the etcd-restart-member SSM Command document (etcd-restart-member.yaml).

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=etcd-restart-member
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (etcd-restart-member.yaml)
start_time_budget 300
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline

require_param EtcdUnit '^[A-Za-z0-9@._-]{1,64}$'
unit=$SSM_EtcdUnit
instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-etcd-restart.XXXXXX")
trap 'rm -rf -- "$work_dir"' EXIT

if [[ $mode == host ]]; then
  method="systemctl restart ${unit}"
  log "restarting the systemd unit ${unit}"
  command -v systemctl >/dev/null || die "systemctl is not on PATH (EtcdctlMode host restarts the ${unit} unit)"
  bounded systemctl restart "$unit" >"$work_dir/out" 2>&1 || {
    cat "$work_dir/out" >&2
    die "systemctl restart ${unit} failed: $(first_error "$work_dir/out")"
  }
else
  find_etcd_container || die "no running etcd container to restart (crictl ps --name etcd --state running found none)"
  old=$container_id
  method="crictl stop ${old} (the kubelet starts the static pod's container again)"
  log "stopping etcd container ${old}; the kubelet restarts the static pod"
  bounded crictl stop "$old" >"$work_dir/out" 2>&1 || die "crictl stop ${old} failed: $(first_error "$work_dir/out")"
  until=$(($(date +%s) + 120))
  while :; do
    container_id=''
    if find_etcd_container && [[ $container_id != "$old" ]]; then break; fi
    (($(date +%s) < until)) || die "the kubelet did not start a new etcd container within 120 s"
    sleep 2
  done
fi

healthy=false
reason=''
until=$(($(date +%s) + 60))
while :; do
  if etcdctl_tls 5s endpoint health >"$work_dir/health" 2>&1; then
    healthy=true
    reason="the member answers endpoint health after: ${method}"
    break
  fi
  if (($(date +%s) >= until)); then
    reason="the member does not answer endpoint health 60 s after: ${method}: $(first_error "$work_dir/health")"
    break
  fi
  sleep 2
done
log "$reason"
printf 'CARETAKER_RESULT {"instanceId":%s,"restarted":true,"method":%s,"healthy":%s,"reason":%s}\n' \
  "$(json_str "$instance_id")" "$(json_str "$method")" "$healthy" "$(json_str "$reason")"
