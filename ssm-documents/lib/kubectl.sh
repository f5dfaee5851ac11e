#!/bin/bash
# shellcheck shell=bash disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# kubectl with the node's admin kubeconfig (the Kubeconfig parameter), every call bounded by the
# script's time budget. Inlined after lib/common.sh and lib/time-budget.sh. Sets kubeconfig;
# defines kc. CARETAKER_NODE_ROOT (the sandbox's node directories only) is put in front of the path.

require_param Kubeconfig '^/[A-Za-z0-9._/-]+$'
kubeconfig=${CARETAKER_NODE_ROOT:-}${SSM_Kubeconfig}
[[ -r $kubeconfig ]] || die "cannot read the kubeconfig ${kubeconfig}: check the Kubeconfig parameter (config kubernetes.kubeconfig)"
command -v kubectl >/dev/null || die "kubectl is not on PATH"

# kc args...: kubectl against the cluster's API (through its load balancer, as the kubeconfig says)
kc() {
  bounded kubectl --kubeconfig="$kubeconfig" --request-timeout=20s "$@"
}
