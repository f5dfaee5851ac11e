#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# kubelet-upgrade: a kubeadm (or Kubespray) worker to a Kubernetes release, the steps of the
# kubeadm worker upgrade: kubeadm at the target, `kubeadm upgrade node` (on a worker it updates
# the kubelet's configuration), kubelet and kubectl at the target (apt held, dnf past the repo's
# excludes; the package logic is lib/kubernetes-packages.sh, shared with control-plane-upgrade),
# then a kubelet restart. No reboot. Prints one CARETAKER_RESULT line shaped like os-patch's (so the
# patch-workers run waits, gates and records it the same way) plus the version and kubeadm's
# command. runs through the kubelet-upgrade SSM Command document on the worker itself; needs
# kubeadm, systemctl and apt-get or dnf. exit 0 with the result; non-zero when a step failed.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 022
CARETAKER_SCRIPT=kubelet-upgrade
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (kubelet-upgrade.yaml)
start_time_budget 1800

require_param Version '^v[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,4}$'
require_param PackageManager '^(auto|apt|dnf)$'
version=$SSM_Version
bare=${version#v}

# current_boot_id (see lib/reboot-check.sh): the result's boot ids, for the wait that follows
# shellcheck source-path=SCRIPTDIR source=lib/reboot-check.sh
. "$(dirname "$0")/lib/reboot-check.sh" # caretaker:inline
# choose_package_manager, install_kubernetes_packages (see lib/kubernetes-packages.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubernetes-packages.sh
. "$(dirname "$0")/lib/kubernetes-packages.sh" # caretaker:inline
choose_package_manager "$SSM_PackageManager"
command -v kubeadm >/dev/null || die "kubeadm is not on PATH: is this a kubeadm or Kubespray worker?"

work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-kubelet-upgrade.XXXXXX")
cleanup() {
  stop_bounded
  rm -rf -- "$work_dir"
}
trap cleanup EXIT
trap 'log "stopped by a signal"; exit 143' TERM INT HUP

boot=$(current_boot_id)
# kubeadm first: its `upgrade node` writes the kubelet configuration of its own release
log "installing kubeadm ${bare} (${package_manager})"
install_kubernetes_packages "$bare" kubeadm
log "running kubeadm upgrade node"
if ! bounded kubeadm upgrade node >"$work_dir/kubeadm" 2>&1; then
  tail -n 40 "$work_dir/kubeadm" >&2
  die "kubeadm upgrade node failed: $(tail -n 1 "$work_dir/kubeadm")"
fi
tail -n 5 "$work_dir/kubeadm" >&2
log "installing kubelet and kubectl ${bare}"
install_kubernetes_packages "$bare" kubelet kubectl
bounded systemctl daemon-reload >&2 || die "systemctl daemon-reload failed"
bounded systemctl restart kubelet >&2 || die "systemctl restart kubelet failed"

changed=''
for spec in "${kubernetes_packages[@]}"; do changed+="${changed:+,}$(json_str "$spec")"; done
printf 'CARETAKER_RESULT {"manager":%s,"packages":%s,"changed":[%s],"rebootRequired":false,"rebooted":false,"bootIdBefore":%s,"bootIdAfter":%s,"version":%s,"kubeadm":"kubeadm upgrade node","kubeletRestarted":true}\n' \
  "$(json_str "$package_manager")" "${#kubernetes_packages[@]}" "$changed" "$(json_str "$boot")" \
  "$(json_str "$boot")" "$(json_str "$version")"
