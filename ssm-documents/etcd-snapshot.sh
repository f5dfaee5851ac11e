#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-snapshot: takes an etcd snapshot from the local member, uploads it with a manifest to
# s3://<Bucket>/<Cluster>/etcd/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssZ>-r<revision>.db (+ .json) and
# prints one CARETAKER_RESULT line. runs through the etcd-snapshot SSM Command document.
# needs: bash, coreutils, etcdctl (host mode) or crictl (crictl mode), the AWS CLI.
# any failure is a non-zero exit with the reason on stderr; the local snapshot is always removed.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=etcd-snapshot
# log, die, require_param, json_str, first_error, field, member_name_in (see lib/common.sh)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# EtcdPort, CaFile, CertFile, KeyFile, EtcdctlMode; etcdctl_tls, etcdctl_file (see lib/etcd-access.sh)
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline

started_ms=$(date +%s%3N)

require_param Cluster '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$'
require_param Bucket '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
require_param DataDir '^/[A-Za-z0-9._/-]+$'
require_param ExecutionId '^[A-Za-z0-9:_./-]{1,256}$'

cluster=$SSM_Cluster
bucket=$SSM_Bucket
data_dir=$SSM_DataDir
execution_id=$SSM_ExecutionId
instance_id=${AWS_SSM_INSTANCE_ID:-unknown}

aws_cli=${CARETAKER_AWS_CLI:-aws}
aws_opts=(--only-show-errors)
[[ -n ${CARETAKER_S3_ENDPOINT_URL:-} ]] && aws_opts+=(--endpoint-url "$CARETAKER_S3_ENDPOINT_URL")
[[ -n ${AWS_SSM_REGION_NAME:-} ]] && aws_opts+=(--region "$AWS_SSM_REGION_NAME")

command -v "$aws_cli" >/dev/null || die "the AWS CLI (${aws_cli}) is not on PATH"
if [[ $mode == crictl ]]; then
  [[ -d $data_dir ]] || die "parameter DataDir: ${data_dir} is not a directory on this node"
fi

# everything local goes in temporary directories that are removed on every path
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-etcd-snapshot.XXXXXX")
snap_dir=''
cleanup() {
  rm -rf -- "$work_dir"
  if [[ -n $snap_dir ]]; then rm -rf -- "$snap_dir"; fi
}
trap cleanup EXIT


# prints the number after "name": in a one-line json document
json_number() {
  local re="\"$1\":([0-9]+)" doc
  doc=$(<"$2")
  [[ $doc =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

# --- the member --------------------------------------------------------------------------------
find_etcd_container || die "no running etcd container (crictl ps --name etcd --state running found none)"

log "reading member status from ${endpoint} (${mode})"
if ! etcdctl_tls 5s endpoint status -w fields >"$work_dir/status" 2>"$work_dir/status.err"; then
  cat "$work_dir/status.err" >&2
  die "cannot reach etcd at ${endpoint}: $(first_error "$work_dir/status.err")"
fi
member_id=$(field MemberID "$work_dir/status") || die "endpoint status gave no MemberID"
etcd_version=$(field Version "$work_dir/status") || etcd_version=''
member_name=''
if etcdctl_tls 5s member list -w fields >"$work_dir/members" 2>"$work_dir/members.err"; then
  member_name=$(member_name_in "$member_id" "$work_dir/members")
else
  log "member list failed (member name left empty): $(first_error "$work_dir/members.err")"
fi

# --- the snapshot ------------------------------------------------------------------------------
if [[ $mode == host ]]; then
  snap_file="$work_dir/snapshot.db"
else
  # the etcd container writes the file; kubeadm mounts DataDir at the same path on the host
  snap_dir=$(mktemp -d "$data_dir/caretaker-snapshot.XXXXXX")
  snap_file="$snap_dir/snapshot.db"
fi

taken_epoch=$(date -u +%s)
taken_at=$(date -u -d "@$taken_epoch" +%Y-%m-%dT%H:%M:%SZ)
log "saving snapshot of member ${member_name:-?} (${member_id}), etcd ${etcd_version}"
# etcdctl 3.4 bounds snapshot save by --command-timeout: give a large database time
etcdctl_tls 1200s snapshot save "$snap_file" >&2 || die "snapshot save from ${endpoint} failed"
[[ -s $snap_file ]] || die "snapshot save left no file at ${snap_file}"

etcdctl_file snapshot status "$snap_file" -w json >"$work_dir/snapshot-status" 2>"$work_dir/snapshot-status.err" ||
  die "snapshot status failed: $(first_error "$work_dir/snapshot-status.err")"
snap_hash=$(json_number hash "$work_dir/snapshot-status") || die "snapshot status gave no hash"
revision=$(json_number revision "$work_dir/snapshot-status") || die "snapshot status gave no revision"
snap_total_key=$(json_number totalKey "$work_dir/snapshot-status") || die "snapshot status gave no totalKey"
snap_total_size=$(json_number totalSize "$work_dir/snapshot-status") || die "snapshot status gave no totalSize"

sha256=$(sha256sum "$snap_file") || die "sha256sum failed"
sha256=${sha256%% *}
size=$(stat -c %s "$snap_file")
log "snapshot at revision ${revision}: ${size} bytes, sha256 ${sha256}"

# --- what is in it: counts read at exactly the snapshot's revision -----------------------------
if ! etcdctl_tls 300s get /registry/ --prefix --keys-only --rev="$revision" >"$work_dir/keys" 2>"$work_dir/keys.err"; then
  die "counting /registry keys at revision ${revision} failed: $(first_error "$work_dir/keys.err")"
fi
# keys-only prints each key followed by a blank line; the resource is the second path segment
key_counts=''
while read -r count resource; do
  [[ -n $resource ]] || continue
  key_counts+="${key_counts:+,}$(json_str "$resource"):${count}"
done < <(cut -d/ -f3 "$work_dir/keys" | LC_ALL=C sort | uniq -c)

# etcd 3.4 has no --count-only: ask for one key and read the total "count"
if ! etcdctl_tls 60s get "" --from-key --keys-only -w json --limit=1 --rev="$revision" >"$work_dir/count" 2>"$work_dir/count.err"; then
  die "counting keys at revision ${revision} failed: $(first_error "$work_dir/count.err")"
fi
total_keys=$(json_number count "$work_dir/count") || total_keys=0 # an empty keyspace omits count

# --- upload ------------------------------------------------------------------------------------
day_path=$(date -u -d "@$taken_epoch" +%Y/%m/%d)
stamp=$(date -u -d "@$taken_epoch" +%Y%m%dT%H%M%SZ)
key="${cluster}/etcd/${day_path}/${stamp}-r${revision}.db"
manifest_key="${key%.db}.json"

printf '{"formatVersion":1,"cluster":%s,"key":%s,"sha256":%s,"size":%s,"revision":%s,"totalKeys":%s,"keyCounts":{%s},"etcdVersion":%s,"memberId":%s,"memberName":%s,"instanceId":%s,"takenAt":%s,"takenBy":%s,"snapshotStatus":{"hash":%s,"revision":%s,"totalKey":%s,"totalSize":%s}}\n' \
  "$(json_str "$cluster")" "$(json_str "$key")" "$(json_str "$sha256")" "$size" "$revision" "$total_keys" \
  "$key_counts" "$(json_str "$etcd_version")" "$(json_str "$member_id")" "$(json_str "$member_name")" \
  "$(json_str "$instance_id")" "$(json_str "$taken_at")" "$(json_str "$execution_id")" \
  "$snap_hash" "$revision" "$snap_total_key" "$snap_total_size" >"$work_dir/manifest.json"

log "uploading s3://${bucket}/${key}"
"$aws_cli" s3 cp "$snap_file" "s3://${bucket}/${key}" "${aws_opts[@]}" \
  --metadata "sha256=${sha256},revision=${revision}" >&2 || die "upload of s3://${bucket}/${key} failed"
# the manifest goes last: its presence means the snapshot beside it is complete
"$aws_cli" s3 cp "$work_dir/manifest.json" "s3://${bucket}/${manifest_key}" "${aws_opts[@]}" \
  --content-type application/json >&2 || die "upload of s3://${bucket}/${manifest_key} failed"

duration_ms=$(($(date +%s%3N) - started_ms))
log "done in ${duration_ms} ms"
printf 'CARETAKER_RESULT {"instanceId":%s,"bucket":%s,"key":%s,"manifestKey":%s,"sha256":%s,"size":%s,"revision":%s,"totalKeys":%s,"etcdVersion":%s,"memberId":%s,"takenAt":%s,"durationMs":%s}\n' \
  "$(json_str "$instance_id")" "$(json_str "$bucket")" "$(json_str "$key")" "$(json_str "$manifest_key")" \
  "$(json_str "$sha256")" "$size" "$revision" "$total_keys" "$(json_str "$etcd_version")" \
  "$(json_str "$member_id")" "$(json_str "$taken_at")" "$duration_ms"
