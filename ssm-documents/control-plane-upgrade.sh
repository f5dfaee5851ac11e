#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# control-plane-upgrade: one step of a kubeadm (or Kubespray) control-plane upgrade on this node.
#   plan:  kubeadm upgrade plan (captured), the versions the cluster runs, whether the package
#          repository offers the target; changes nothing
#   inventory: only the versions the cluster runs (kube-apiserver images, Nodes); needs no kubeadm
#          (kops nodes have none; patch-control-plane upgrades nothing); changes nothing
#   apply: kubeadm at the target, `kubeadm upgrade apply <v> --yes` (the first control-plane node)
#   node:  kubeadm at the target, `kubeadm upgrade node` (every other control-plane node)
#   apply and node then install kubelet and kubectl at the target and restart the kubelet.
# runs through the control-plane-upgrade SSM Command document; needs kubeadm, kubectl, systemctl,
# and apt-get or dnf. exit 0 with the result; non-zero when a step failed (stderr says which).

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=control-plane-upgrade
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (control-plane-upgrade.yaml)
start_time_budget 1800
require_param Kubeconfig '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
# kubectl_init, kube, kubectl_cleanup (see lib/kubectl.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubectl.sh
. "$(dirname "$0")/lib/kubectl.sh" # caretaker:inline

require_param Phase '^(plan|inventory|apply|node)$'
require_param Version '^(v[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,4})?$'
# only the read-only inventory phase may go without a version
[[ $SSM_Phase == inventory || -n $SSM_Version ]] || die "Version is required for phase $SSM_Phase (a version such as v1.37.2)"
require_param PackageManager '^(auto|apt|dnf)$'
version=$SSM_Version
bare=${version#v}
phase=$SSM_Phase
instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
[[ $phase == inventory ]] || command -v kubeadm >/dev/null || die "kubeadm is not on PATH"

# choose_package_manager, install_kubernetes_packages (see lib/kubernetes-packages.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubernetes-packages.sh
. "$(dirname "$0")/lib/kubernetes-packages.sh" # caretaker:inline
if [[ $phase == inventory ]]; then
  package_manager=none
else
  choose_package_manager "$SSM_PackageManager"
fi

work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-cp-upgrade.XXXXXX")
trap 'rm -rf -- "$work_dir"; kubectl_cleanup' EXIT
kubectl_init

# install <package>...: each at the target version (lib/kubernetes-packages.sh)
install() { install_kubernetes_packages "$bare" "$@"; }

# available: does the package repository offer kubeadm at the target? (pkgs.k8s.io has one
# repository per minor: the node's source must point at the target's minor)
available() {
  if [[ $package_manager == apt ]]; then
    bounded apt-get update -q >&2 || log "apt-get update failed; answering from the cached lists"
    bounded apt-cache madison kubeadm 2>/dev/null | grep -q " ${bare}-"
  else
    bounded dnf list -q --showduplicates --disableexcludes=kubernetes kubeadm 2>/dev/null | grep -q " ${bare}-"
  fi
}

json_list() {
  local out='' x
  for x in "$@"; do out+="${out:+,}$(json_str "$x")"; done
  printf '[%s]' "$out"
}

if [[ $phase == plan || $phase == inventory ]]; then
  if [[ $phase == plan ]]; then
    kubeadm_version=$(bounded kubeadm version -o short 2>"$work_dir/kv.err") ||
      die "kubeadm version failed: $(first_error "$work_dir/kv.err")"
    # kubeadm's own preflight of the cluster; without a version it lists what this kubeadm can reach
    if ! bounded kubeadm upgrade plan >"$work_dir/plan" 2>&1; then
      cat "$work_dir/plan" >&2
      die "kubeadm upgrade plan failed: $(first_error "$work_dir/plan")"
    fi
    plan_output=$(head -c 3000 "$work_dir/plan")
  fi
  # kubeadm labels its static pod component=kube-apiserver, kops k8s-app=kube-apiserver
  for selector in component=kube-apiserver k8s-app=kube-apiserver; do
    kube get pods -n kube-system -l "$selector" \
      -o jsonpath='{range .items[*]}{.spec.nodeName}{"\t"}{.spec.containers[0].image}{"\n"}{end}' \
      >"$work_dir/apis" 2>"$work_dir/apis.err" || die "listing the kube-apiserver pods failed: $(first_error "$work_dir/apis.err")"
    [[ -s $work_dir/apis ]] && break
  done
  kube get nodes -l node-role.kubernetes.io/control-plane -o name >"$work_dir/cp" 2>"$work_dir/cp.err" ||
    die "listing the control-plane nodes failed: $(first_error "$work_dir/cp.err")"
  kube get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.spec.providerID}{"\t"}{.status.nodeInfo.kubeletVersion}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    >"$work_dir/nodes" 2>"$work_dir/nodes.err" || die "listing the nodes failed: $(first_error "$work_dir/nodes.err")"
  apis=''
  while IFS=$'\t' read -r node image; do
    [[ -n $node ]] || continue
    apis+="${apis:+,}{\"node\":$(json_str "$node"),\"image\":$(json_str "$image")}"
  done <"$work_dir/apis"
  nodes=''
  while IFS=$'\t' read -r name provider kubelet ready; do
    [[ -n $name ]] || continue
    cp=false
    grep -qx "node/${name}" "$work_dir/cp" && cp=true
    nodes+="${nodes:+,}{\"name\":$(json_str "$name"),\"providerID\":$(json_str "$provider"),\"kubeletVersion\":$(json_str "$kubelet"),\"ready\":$([[ $ready == True ]] && echo true || echo false),\"controlPlane\":${cp}}"
  done <"$work_dir/nodes"
  if [[ $phase == inventory ]]; then
    printf 'CARETAKER_RESULT {"instanceId":%s,"phase":"inventory","version":%s,"kubeadm":"","apiServers":[%s],"nodes":[%s]}\n' \
      "$(json_str "$instance_id")" "$(json_str "$version")" "$apis" "$nodes"
    exit 0
  fi
  package_available=false
  available && package_available=true
  log "kubeadm ${kubeadm_version}; kubeadm ${version} in the ${package_manager} repository: ${package_available}"
  printf 'CARETAKER_RESULT {"instanceId":%s,"phase":"plan","version":%s,"kubeadm":"kubeadm upgrade plan","kubeadmVersion":%s,"planOutput":%s,"packageAvailable":%s,"apiServers":[%s],"nodes":[%s]}\n' \
    "$(json_str "$instance_id")" "$(json_str "$version")" "$(json_str "$kubeadm_version")" \
    "$(json_str "$plan_output")" "$package_available" "$apis" "$nodes"
  exit 0
fi

# kubeadm first: `upgrade apply` refuses a version newer than itself
log "installing kubeadm ${bare} (${package_manager})"
install kubeadm
if [[ $phase == apply ]]; then
  kubeadm_command=(kubeadm upgrade apply "$version" --yes)
else
  kubeadm_command=(kubeadm upgrade node)
fi
log "running ${kubeadm_command[*]}"
if ! bounded "${kubeadm_command[@]}" >"$work_dir/kubeadm" 2>&1; then
  tail -n 40 "$work_dir/kubeadm" >&2
  die "${kubeadm_command[*]} failed: $(tail -n 1 "$work_dir/kubeadm")"
fi
tail -n 5 "$work_dir/kubeadm" >&2
log "installing kubelet and kubectl ${bare}"
install kubelet kubectl
bounded systemctl daemon-reload >&2 || die "systemctl daemon-reload failed"
bounded systemctl restart kubelet >&2 || die "systemctl restart kubelet failed"
printf 'CARETAKER_RESULT {"instanceId":%s,"phase":%s,"version":%s,"kubeadm":%s,"packages":%s,"kubeletRestarted":true}\n' \
  "$(json_str "$instance_id")" "$(json_str "$phase")" "$(json_str "$version")" \
  "$(json_str "${kubeadm_command[*]}")" "$(json_list "${kubernetes_packages[@]}")"
