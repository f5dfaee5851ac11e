#!/bin/bash
# shellcheck shell=bash
# kubeadm, kubelet and kubectl at one Kubernetes release, shared by control-plane-upgrade and
# kubelet-upgrade. Inlined like lib/common.sh, after it and lib/time-budget.sh (uses bounded).
#
# choose_package_manager <auto|apt|dnf>: sets package_manager (auto: apt-get or dnf, whichever
#   the node has), or dies naming what to set
# install_kubernetes_packages <bare version> <package>...: each at that version (1.37.2), held
#   there (apt-mark hold) or installed past the kubernetes repo's excludes (dnf); appends what it
#   installed (kubelet=1.37.2-*, kubelet-1.37.2) to kubernetes_packages

kubernetes_packages=()

choose_package_manager() {
  package_manager=$1
  if [[ $package_manager == auto ]]; then
    if command -v apt-get >/dev/null; then
      package_manager=apt
    elif command -v dnf >/dev/null; then
      package_manager=dnf
    else
      die "neither apt-get nor dnf is on PATH: set upgrade.packageManager, or upgrade this node by hand"
    fi
  fi
}

install_kubernetes_packages() {
  local bare=$1 p specs=()
  shift
  if [[ $package_manager == apt ]]; then
    for p in "$@"; do specs+=("${p}=${bare}-*"); done
    bounded apt-mark unhold "$@" >&2
    bounded apt-get install -y -q "${specs[@]}" >&2 || die "apt-get install ${specs[*]} failed"
    bounded apt-mark hold "$@" >&2
  else
    for p in "$@"; do specs+=("${p}-${bare}"); done
    bounded dnf install -y -q --disableexcludes=kubernetes "${specs[@]}" >&2 || die "dnf install ${specs[*]} failed"
  fi
  kubernetes_packages+=("${specs[@]}")
}
