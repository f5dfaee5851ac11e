#!/bin/bash
# shellcheck shell=bash disable=SC2154,SC2034 # SC2034: container_problem is read by the scripts that inline this file; SSM_<Name> variables are set by the SSM agent; require_param checks them
# How a node script reaches the etcd member on its own node: the EtcdPort, CaFile, CertFile,
# KeyFile and EtcdctlMode parameters, etcdctl/etcdutl on the host or inside the etcd container
# (crictl). Inlined after lib/common.sh and lib/time-budget.sh (every call is bounded by the
# script's time budget once it has started one). Sets ca_file, cert_file, key_file, endpoint, mode
# and container_id; defines find_etcd_container, etcdctl_tls, choose_snapshot_tool,
# snapshot_status and in_container.
#
# EtcdManager (main|events; none = kubeadm's static pod, the default) is kops: etcd runs inside
# etcd-manager, whose static pods are etcd-manager-main-<node> and etcd-manager-events-<node>
# (kubernetes/kops pkg/model/components/etcdmanager/model.go: pod.Name "etcd-manager-" + the etcd
# cluster's name, container "etcd-manager"), the host's / is mounted at /rootfs, and etcdctl and
# etcdutl are not on PATH but under one directory per bundled etcd version
# (kubernetes-sigs/etcd-manager pkg/etcd/etcdprocess.go BindirForEtcdVersion): /opt/etcd-v<x.y.z>
# or, with kops' image volumes of registry.k8s.io/etcd, /opt/etcd-v<x.y.z>/usr/local/bin; older
# images (kopeio/etcd-manager images/BUILD) /opt/etcd-v<x.y.z>-linux-<arch>.

require_param EtcdPort '^[0-9]{1,5}$'
require_param CaFile '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param CertFile '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param KeyFile '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param EtcdctlMode '^(host|crictl)$'
# EtcdManager came after the others: a caller that predates it gets the document's default
: "${SSM_EtcdManager=none}"
require_param EtcdManager '^(none|main|events)$'
if ((10#$SSM_EtcdPort < 1 || 10#$SSM_EtcdPort > 65535)); then
  die "parameter EtcdPort is invalid: ${SSM_EtcdPort} is not a port (1-65535)"
fi

# kubespray names client certificates after the node: admin-{hostname}.pem
node_name=$(hostname 2>/dev/null || uname -n)
ca_file=${SSM_CaFile//\{hostname\}/$node_name}
cert_file=${SSM_CertFile//\{hostname\}/$node_name}
key_file=${SSM_KeyFile//\{hostname\}/$node_name}
endpoint=${CARETAKER_ETCD_ENDPOINT:-https://127.0.0.1:$((10#$SSM_EtcdPort))}
# tests and the sandbox put every member on its own loopback port; the events member has its own
if [[ ${SSM_EtcdManager:-none} == events && -n ${CARETAKER_ETCD_EVENTS_ENDPOINT:-} ]]; then
  endpoint=$CARETAKER_ETCD_EVENTS_ENDPOINT
fi
mode=$SSM_EtcdctlMode
etcd_manager=$SSM_EtcdManager
if [[ $etcd_manager != none && $mode != crictl ]]; then
  die "parameter EtcdManager is invalid: ${etcd_manager} needs EtcdctlMode crictl (etcd runs inside etcd-manager's container)"
fi

# in_container <host path>: the path the etcd container sees; etcd-manager sees the host's / at /rootfs
in_container() {
  if [[ $etcd_manager == none ]]; then printf '%s' "$1"; else printf '/rootfs%s' "$1"; fi
}

if [[ $etcd_manager != none ]]; then
  # the files are the host's (nodeup writes them); the container reads them through /rootfs
  for f in "$ca_file" "$cert_file" "$key_file"; do
    [[ -r $f ]] || die "cannot read ${f} on the host: check the CaFile, CertFile and KeyFile parameters (kops' paths differ by version, see README)"
  done
  command -v crictl >/dev/null || die "crictl is not on PATH (EtcdctlMode crictl)"
  command -v curl >/dev/null || die "curl is not on PATH: it asks the etcd-manager member which etcd version it runs"
elif [[ $mode == host ]]; then
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
# the directory of the member's own etcd version inside etcd-manager's container ('' elsewhere)
tool_dir=''
# why find_etcd_container failed, for the caller's message
container_problem=''
# find_etcd_container: sets container_id in crictl mode (and tool_dir with etcd-manager); fails,
# with container_problem set, when no etcd container runs or it has no tools for its version
find_etcd_container() {
  [[ $mode == crictl ]] || return 0
  if [[ $etcd_manager == none ]]; then
    container_id=$(bounded crictl ps --name etcd -q --state running 2>/dev/null | head -n 1) || true
    container_problem='no running etcd container (crictl ps --name etcd --state running found none)'
    [[ -n $container_id ]] || return 1
  else
    find_etcd_manager_container || return 1
  fi
  container_problem=''
  log "etcd container ${container_id}${tool_dir:+, tools in ${tool_dir}}"
}

# find_etcd_manager_container: the etcd-manager container of the etcd-manager-<EtcdManager>-<node>
# pod, never the other cluster's (both containers are named etcd-manager), and the directory of
# the etcd version that member runs
find_etcd_manager_container() {
  local pods pod_pattern="^etcd-manager-${etcd_manager}-" version arch candidates=() dir found=()
  pods=$(bounded crictl pods --name "$pod_pattern" --state ready -q 2>/dev/null) || pods=''
  pods=${pods%%$'\n'*}
  if [[ -z $pods ]]; then
    container_problem="no ready etcd-manager-${etcd_manager}-* pod (crictl pods --name ${pod_pattern} --state ready found none)"
    return 1
  fi
  container_id=$(bounded crictl ps --pod "$pods" --name '^etcd-manager$' --state running -q 2>/dev/null | head -n 1) || true
  if [[ -z $container_id ]]; then
    container_problem="pod ${pods} (etcd-manager-${etcd_manager}) has no running etcd-manager container"
    return 1
  fi
  # ask the member which etcd it runs: etcd-manager may have upgraded it since the pod started
  if ! version=$(bounded curl -sS --max-time 5 --cacert "$ca_file" --cert "$cert_file" --key "$key_file" \
    "${endpoint}/version" 2>&1); then
    container_problem="cannot ask etcd at ${endpoint} for its version: ${version:0:300}"
    return 1
  fi
  if [[ ! $version =~ \"etcdserver\"[[:space:]]*:[[:space:]]*\"([0-9]+\.[0-9]+\.[0-9]+)\" ]]; then
    container_problem="etcd at ${endpoint}/version gave no etcdserver version: ${version:0:200}"
    return 1
  fi
  version=${BASH_REMATCH[1]}
  case $(uname -m) in aarch64 | arm64) arch=arm64 ;; *) arch=amd64 ;; esac
  candidates=("/opt/etcd-v${version}/usr/local/bin" "/opt/etcd-v${version}" "/opt/etcd-v${version}-linux-${arch}")
  for dir in "${candidates[@]}"; do
    if bounded crictl exec "$container_id" "${dir}/etcdctl" version >/dev/null 2>&1; then
      tool_dir=$dir
      return 0
    fi
  done
  # name what the container does have: kops mounts each bundled version at /opt/etcd-v<version>
  while IFS= read -r dir; do found+=("$dir"); done < <(bounded crictl inspect "$container_id" 2>/dev/null |
    grep -o '"containerPath": *"/opt/etcd-v[^"]*"' | sed 's/.*"\(\/opt\/[^"]*\)"/\1/' | LC_ALL=C sort -u)
  container_problem="etcd at ${endpoint} runs etcd ${version}, but container ${container_id} has no etcdctl for it in ${candidates[*]}; etcd directories found: ${found[*]:-none}"
  return 1
}
# ETCDCTL_API stays unset: 3.4 defaults to v3, and 3.6 warns about the variable on stderr
unset ETCDCTL_API
# etcd_tool <etcdctl|etcdutl> args...: the tool on the host, or inside the etcd container
etcd_tool() {
  if [[ $mode == host ]]; then
    bounded "$@"
  elif [[ -n $tool_dir ]]; then
    local tool=$1
    shift
    bounded crictl exec "$container_id" "${tool_dir}/${tool}" "$@"
  else
    bounded crictl exec "$container_id" "$@"
  fi
}
# etcdctl_tls <command-timeout> args...: talks to the member over TLS
etcdctl_tls() {
  local timeout=$1
  shift
  etcd_tool etcdctl --endpoints="$endpoint" --cacert="$(in_container "$ca_file")" \
    --cert="$(in_container "$cert_file")" --key="$(in_container "$key_file")" \
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
  [[ $mode == crictl ]] && where="the etcd container ${container_id}${tool_dir:+ (${tool_dir})}"
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
  etcd_tool "$snapshot_tool" snapshot status "$(in_container "$1")" -w json
}
