#!/bin/bash
# shellcheck shell=bash disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# How a node script reaches the etcd member on its own node: the EtcdPort, CaFile, CertFile,
# KeyFile and EtcdctlMode parameters, etcdctl on the host or inside the etcd container (crictl).
# Inlined like lib/common.sh, after it. Sets ca_file, cert_file, key_file, endpoint, mode and
# container_id; defines etcdctl_tls and etcdctl_file.

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

# --- etcdctl, on the host or inside the etcd container ------------------------------------------
container_id=''
# find_etcd_container: sets container_id in crictl mode; fails when no etcd container runs
find_etcd_container() {
  [[ $mode == crictl ]] || return 0
  container_id=$(crictl ps --name etcd -q --state running 2>/dev/null | head -n 1) || true
  [[ -n $container_id ]] || return 1
  log "etcd container ${container_id}"
}
# etcdctl_tls <command-timeout> args...: talks to the member over TLS
etcdctl_tls() {
  local timeout=$1
  shift
  local flags=(--endpoints="$endpoint" --cacert="$ca_file" --cert="$cert_file" --key="$key_file"
    --dial-timeout=5s --command-timeout="$timeout")
  if [[ $mode == host ]]; then
    ETCDCTL_API=3 etcdctl "${flags[@]}" "$@"
  else
    crictl exec "$container_id" etcdctl "${flags[@]}" "$@"
  fi
}
# etcdctl_file args...: etcdctl on a local file (snapshot status), no endpoint
etcdctl_file() {
  if [[ $mode == host ]]; then
    ETCDCTL_API=3 etcdctl "$@"
  else
    crictl exec "$container_id" etcdctl "$@"
  fi
}
