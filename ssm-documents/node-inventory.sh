#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# node-inventory: every Node, one compact JSON entry each, uploaded as one JSON array to
# s3://<Bucket>/<Key>; prints one CARETAKER_RESULT line with the key and the count. runs on a
# control-plane node through the node-inventory SSM Command document.
# needs: bash, coreutils, kubectl and the node's admin kubeconfig, the AWS CLI v2.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT='node-inventory'
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (node-inventory.yaml)
start_time_budget 600

require_param Kubeconfig '^/[A-Za-z0-9._/-]*(\{hostname\}[A-Za-z0-9._/-]*)*$'
require_param Bucket '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
require_param Key '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?/[A-Za-z0-9._/-]{1,512}$'
: "${SSM_PodSelector=}"
require_param PodSelector '^[A-Za-z0-9._/=,!-]{0,512}$'

# kubectl_init, kube, go_template (see lib/kubectl.sh)
# shellcheck source-path=SCRIPTDIR source=lib/kubectl.sh
. "$(dirname "$0")/lib/kubectl.sh" # caretaker:inline
# node_entry_template, index_holding_pods, inventory_json (see lib/inventory.sh)
# shellcheck source-path=SCRIPTDIR source=lib/inventory.sh
. "$(dirname "$0")/lib/inventory.sh" # caretaker:inline

bucket=$SSM_Bucket
key=$SSM_Key
selector=$SSM_PodSelector
# at most this many holding pods per node (HELD_BY_PODS_CAP in node-inventory.ts)
held_cap=20
aws_cli=${CARETAKER_AWS_CLI:-aws}
aws_opts=(--output json)
[[ -n ${CARETAKER_S3_ENDPOINT_URL:-} ]] && aws_opts+=(--endpoint-url "$CARETAKER_S3_ENDPOINT_URL")
[[ -n ${AWS_SSM_REGION_NAME:-} ]] && aws_opts+=(--region "$AWS_SSM_REGION_NAME")
command -v "$aws_cli" >/dev/null || die "the AWS CLI (${aws_cli}) is not on PATH"

kubectl_init
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-node-inventory.XXXXXX")
cleanup() {
  stop_bounded
  kubectl_cleanup
  rm -rf -- "$work_dir"
}
trap cleanup EXIT
trap 'log "stopped by a signal"; exit 143' TERM INT HUP

log "listing every Node"
bounded "$kubectl_bin" --kubeconfig="$kubeconfig" --cache-dir="$kubectl_cache" --request-timeout=60s \
  get nodes -o "go-template=$(node_entry_template)" >"$work_dir/nodes" 2>"$work_dir/nodes.err" ||
  die "listing the Nodes failed: $(first_error "$work_dir/nodes.err")"

# the API server's own version: a kubelet upgrade (patch-workers with kubernetesVersion) may not
# go past it; empty when /version does not answer (the plan then refuses a kubelet upgrade)
api_server_version=$(bounded "$kubectl_bin" --kubeconfig="$kubeconfig" --cache-dir="$kubectl_cache" --request-timeout=30s \
  get --raw /version 2>"$work_dir/version.err" |
  sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n 1) ||
  log "reading the API server's /version failed: $(first_error "$work_dir/version.err")"

if [[ -n $selector ]]; then
  log "listing the pods matching ${selector}"
  bounded "$kubectl_bin" --kubeconfig="$kubeconfig" --cache-dir="$kubectl_cache" --request-timeout=60s \
    get pods --all-namespaces -l "$selector" --field-selector 'status.phase!=Succeeded,status.phase!=Failed' \
    -o "go-template=$(go_template '<%range .items%><%if .spec.nodeName%><%.spec.nodeName%><%"\t"%><%.metadata.namespace%>/<%.metadata.name%><%"\n"%><%end%><%end%>')" \
    >"$work_dir/pods" 2>"$work_dir/pods.err" ||
    die "listing the pods matching ${selector} failed: $(first_error "$work_dir/pods.err")"
  index_holding_pods "$work_dir/pods" "$held_cap"
fi

inventory_json "$work_dir/nodes" >"$work_dir/inventory.json"
count=$inventory_count
log "${count} Nodes; uploading s3://${bucket}/${key}"

# the base64 of a hex digest, as S3's x-amz-checksum-sha256 wants it (Object Lock needs a checksum)
hex_to_base64() {
  local hex=$1 escaped='' i
  for ((i = 0; i < ${#hex}; i += 2)); do escaped+="\\x${hex:i:2}"; done
  # shellcheck disable=SC2059 # the format is the escaped bytes themselves
  printf "$escaped" | base64 -w 0
}
sha=$(sha256sum "$work_dir/inventory.json")
bounded "$aws_cli" s3api put-object --bucket "$bucket" --key "$key" --body "$work_dir/inventory.json" \
  --content-type application/json --checksum-sha256 "$(hex_to_base64 "${sha%% *}")" "${aws_opts[@]}" \
  >/dev/null 2>"$work_dir/upload.err" || {
  cat "$work_dir/upload.err" >&2
  die "upload of s3://${bucket}/${key} failed: $(first_error "$work_dir/upload.err")"
}
printf 'CARETAKER_RESULT {"key":%s,"nodes":%s,"apiServerVersion":%s}\n' "$(json_str "$key")" "$count" \
  "$(json_str "${api_server_version:-}")"
