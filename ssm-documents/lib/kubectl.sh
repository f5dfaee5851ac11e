#!/bin/bash
# shellcheck shell=bash
# kubectl for the node commands about Kubernetes (node-cordon, node-drain, node-status,
# node-record, node-inventory). Inlined like lib/common.sh, after it. The script has checked
# SSM_Kubeconfig with require_param first.
#
# The kubeconfig is the control-plane node's own admin kubeconfig (the cluster config's
# kubernetes.kubeconfig). "{hostname}" in it is the node's hostname. CARETAKER_NODE_ROOT (the
# sandbox's machines only, not a document parameter) is the node's "/": its files live under it.

# shellcheck disable=SC2034 # used by the scripts that inline this file
CARETAKER_CORDONED_BY=caretaker.io/cordoned-by

# kubectl_init: sets kubeconfig and checks kubectl and the file are there
kubectl_init() {
  # shellcheck disable=SC2154 # set by the SSM agent; the script checked it with require_param
  local path=${SSM_Kubeconfig//\{hostname\}/$(hostname)}
  kubeconfig="${CARETAKER_NODE_ROOT:-}${path}"
  kubectl_bin=${CARETAKER_KUBECTL:-kubectl}
  command -v "$kubectl_bin" >/dev/null || die "kubectl (${kubectl_bin}) is not on PATH on this node"
  [[ -r $kubeconfig ]] ||
    die "parameter Kubeconfig: ${path} is not a readable file on this node (is this a control-plane node? the cluster's kubernetes.kubeconfig names it)"
  kubectl_cache=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-kubectl.XXXXXX")
}

# go templates are written here with <% %> for their delimiters: SSM reads double braces in a
# document's commands as its own parameter syntax. go_template <template> gives kubectl's form
go_template() {
  local t=${1//<%/\{\{}
  printf '%s' "${t//%>/\}\}}"
}

# kube <args...>: kubectl with the node's kubeconfig, a discovery cache of its own and a
# request timeout (an `-o go-template=` argument in the <% %> form); the caller redirects its output
kube() {
  local args=() arg
  for arg in "$@"; do
    [[ $arg == go-template=* ]] && arg=$(go_template "$arg")
    args+=("$arg")
  done
  "$kubectl_bin" --kubeconfig="$kubeconfig" --cache-dir="$kubectl_cache" --request-timeout=30s "${args[@]}"
}

# kubectl_cleanup: from the script's EXIT trap
kubectl_cleanup() {
  if [[ -n ${kubectl_cache:-} ]]; then rm -rf -- "$kubectl_cache"; fi
}

# json_array <item...>: a JSON array of strings
json_array() {
  local out='' item
  for item in "$@"; do out+="${out:+,}$(json_str "$item")"; done
  printf '[%s]' "$out"
}

# a Node as one line of fields separated by "|" (not a tab: read would merge an empty field): unschedulable, cordoned-by owner, ready, ready since,
# boot id, kubelet version. a go template, so no jq is needed on the node
# shellcheck disable=SC2016 # a go template, not shell
NODE_FIELDS_TEMPLATE='<%if .spec.unschedulable%>true<%else%>false<%end%>|<%with .metadata.annotations%><%with index . "caretaker.io/cordoned-by"%><%.%><%end%><%end%>|<%$ready := "false"%><%$since := ""%><%range .status.conditions%><%if eq .type "Ready"%><%if eq .status "True"%><%$ready = "true"%><%$since = .lastTransitionTime%><%end%><%end%><%end%><%$ready%>|<%$since%>|<%with .status.nodeInfo%><%.bootID%>|<%.kubeletVersion%><%else%>|<%end%><%"\n"%>'

# node_fields <node> <file>: writes the node's fields line; 1 when the Node does not exist (the
# error in <file>.err), dies on any other error
node_fields() {
  local node=$1 file=$2
  if kube get node "$node" -o "go-template=${NODE_FIELDS_TEMPLATE}" >"$file" 2>"$file.err"; then return 0; fi
  if grep -q 'NotFound' "$file.err"; then return 1; fi
  cat "$file.err" >&2
  die "reading Node ${node} failed: $(first_error "$file.err")"
}

# read_node_fields <file>: sets unschedulable cordoned_by ready ready_since boot_id kubelet_version
read_node_fields() {
  # shellcheck disable=SC2034 # read by the scripts that inline this file
  IFS='|' read -r unschedulable cordoned_by ready ready_since boot_id kubelet_version <"$1" || true
}
