#!/bin/bash
# shellcheck shell=bash disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# How a node script reaches the etcd member on its own node: the EtcdPort, CaFile, CertFile,
# KeyFile and EtcdctlMode parameters, etcdctl/etcdutl on the host or inside the etcd container
# (crictl). Inlined after lib/common.sh and lib/time-budget.sh (every call is bounded by the
# script's time budget once it has started one). Sets ca_file, cert_file, key_file, endpoint, mode
# and container_id; defines find_etcd_container, etcdctl_tls, choose_snapshot_tool and
# snapshot_status.

require_param EtcdPort '^[0-9]{1,5}$'
require_param CaFile '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param CertFile '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param KeyFile '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param EtcdctlMode '^(host|crictl)$'
if ((10#$SSM_EtcdPort < 1 || 10#$SSM_EtcdPort > 65535)); then
  die "parameter EtcdPort is invalid: ${SSM_EtcdPort} is not a port (1-65535)"
fi

# kubespray names client certificates after the node: admin-{hostname}.pem
node_name=$(hostname 2>/dev/null || uname -n)
ca_file=${SSM_CaFile//\{hostname\}/$node_name}
cert_file=${SSM_CertFile//\{hostname\}/$node_name}
key_file=${SSM_KeyFile//\{hostname\}/$node_name}
endpoint=${CARETAKER_ETCD_ENDPOINT:-https://127.0.0.1:$((10#$SSM_EtcdPort))}
mode=$SSM_EtcdctlMode

if [[ $mode == host ]]; then
  # in crictl mode these paths are the container's (kubeadm mounts them at the same place)
  for f in "$ca_file" "$cert_file" "$key_file"; do
    [[ -r $f ]] || die "cannot read ${f}: check the CaFile, CertFile and KeyFile parameters"
  done
  command -v etcdctl >/dev/null || die "etcdctl is not on PATH (EtcdctlMode host); use EtcdctlMode crictl"
else
  command -v crictl >/dev/null || die "crictl is not on PATH (EtcdctlMode crictl)"
fi

# --- etcdctl and etcdutl, on the host or inside the etcd container ------------------------------
container_id=''
# find_etcd_container: sets container_id in crictl mode; fails when no etcd container runs
find_etcd_container() {
  [[ $mode == crictl ]] || return 0
  container_id=$(bounded crictl ps --name etcd -q --state running 2>/dev/null | head -n 1) || true
  [[ -n $container_id ]] || return 1
  log "etcd container ${container_id}"
}
# ETCDCTL_API stays unset: 3.4 defaults to v3, and 3.6 warns about the variable on stderr
unset ETCDCTL_API
# etcd_tool <etcdctl|etcdutl> args...: the tool on the host, or inside the etcd container
etcd_tool() {
  if [[ $mode == host ]]; then
    bounded "$@"
  else
    bounded crictl exec "$container_id" "$@"
  fi
}
# etcdctl_tls <command-timeout> args...: talks to the member over TLS
etcdctl_tls() {
  local timeout=$1
  shift
  etcd_tool etcdctl --endpoints="$endpoint" --cacert="$ca_file" --cert="$cert_file" --key="$key_file" \
    --dial-timeout=5s --command-timeout="$timeout" "$@"
}

# --- which tool reads a snapshot file ----------------------------------------------------------
# etcdutl where it exists (3.5+: on the host, or in the etcd image, which carries it), etcdctl only
# where it does not (3.4). etcd 3.6 removed `etcdctl snapshot status` and `snapshot restore`.
snapshot_tool=''
snapshot_tool_version=''
# tool_version <tool>: the x.y.z the tool reports (`<tool> version: 3.6.16`)
tool_version() {
  local out re="$1 version: ([0-9]+\.[0-9]+\.[0-9]+)"
  if [[ $mode == host ]] && ! command -v "$1" >/dev/null; then return 1; fi
  out=$(etcd_tool "$1" version 2>/dev/null) || return 1
  [[ $out =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}
# choose_snapshot_tool: sets snapshot_tool and snapshot_tool_version, once per run; fails when
# neither tool can read a snapshot
choose_snapshot_tool() {
  local where=PATH minor
  [[ $mode == crictl ]] && where="the etcd container ${container_id}"
  if snapshot_tool_version=$(tool_version etcdutl); then
    snapshot_tool=etcdutl
  elif snapshot_tool_version=$(tool_version etcdctl); then
    snapshot_tool=etcdctl
    minor=${snapshot_tool_version#*.}
    minor=${minor%%.*}
    if [[ ${snapshot_tool_version%%.*} != 3 ]] || ((10#$minor >= 6)); then
      die "etcdctl ${snapshot_tool_version} has no 'snapshot status' (etcd 3.6 moved it to etcdutl), and etcdutl is not in ${where}"
    fi
  else
    die "neither etcdutl nor etcdctl answers 'version' in ${where}"
  fi
  log "snapshot files are read with ${snapshot_tool} ${snapshot_tool_version}"
}
# snapshot_status <file>: `snapshot status -w json` with the chosen tool, json on stdout
snapshot_status() {
  [[ -n $snapshot_tool ]] || die "snapshot_status before choose_snapshot_tool"
  etcd_tool "$snapshot_tool" snapshot status "$1" -w json
}
