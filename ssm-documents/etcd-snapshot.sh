#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-snapshot: takes an etcd snapshot from the local member, checks that it holds Kubernetes
# data, uploads it with a manifest to
# s3://<Bucket>/<Cluster>/etcd/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssZ>-r<revision>.db (+ .json) and
# prints one CARETAKER_RESULT line. runs through the etcd-snapshot SSM Command document.
# kops' events etcd (EtcdManager events) is a series of its own: it must hold <prefix>/events/ keys
# and no namespaces, and goes to s3://<Bucket>/<Cluster>/etcd/events/<yyyy>/... with kind etcd-events.
# needs: bash, coreutils, findutils, etcdctl and, on etcd 3.5+, etcdutl (host mode: on PATH;
# crictl mode: crictl, and both tools in the etcd image), the AWS CLI v2.
# any failure is a non-zero exit with the reason on stderr; the local snapshot is always removed,
# also when the document's time budget runs out (each long step is bounded) and on SIGTERM.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=etcd-snapshot
# log, die, require_param, json_str, first_error, field, member_name_in (see lib/common.sh)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# start_time_budget, bounded, stop_bounded, remove_leftovers (see lib/time-budget.sh)
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (etcd-snapshot.yaml): every step ends before the agent's kill
start_time_budget 1800
# EtcdPort, CaFile, CertFile, KeyFile, EtcdctlMode; etcdctl_tls, choose_snapshot_tool,
# snapshot_status (see lib/etcd-access.sh)
# shellcheck source-path=SCRIPTDIR source=lib/etcd-access.sh
. "$(dirname "$0")/lib/etcd-access.sh" # caretaker:inline

started_ms=$(date +%s%3N)

require_param Cluster '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$'
require_param Bucket '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
require_param DataDir '^/[A-Za-z0-9._/-]+$'
require_param ExecutionId '^[A-Za-z0-9:_./-]{1,256}$'
# EtcdPrefix came after the others: a caller that predates it (a test, the sandbox) gets the
# document's default, as SSM would give it
: "${SSM_EtcdPrefix=/registry}"
require_param EtcdPrefix '^(/[A-Za-z0-9._-]{1,63}){1,4}$'

cluster=$SSM_Cluster
bucket=$SSM_Bucket
data_dir=$SSM_DataDir
execution_id=$SSM_ExecutionId
# kube-apiserver --etcd-prefix: its objects are <prefix>/<resource>/...
prefix=$SSM_EtcdPrefix
instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
# the series: kops' events etcd (etcd-manager-events, kube-apiserver's /events override) or the main one
if [[ $etcd_manager == events ]]; then
  series=events kind=etcd-events series_path=etcd/events
else
  series=main kind=etcd series_path=etcd
fi

aws_cli=${CARETAKER_AWS_CLI:-aws}
# --output json: a harmless option both s3api and s3 cp take, so the array is never empty
aws_opts=(--output json)
[[ -n ${CARETAKER_S3_ENDPOINT_URL:-} ]] && aws_opts+=(--endpoint-url "$CARETAKER_S3_ENDPOINT_URL")
[[ -n ${AWS_SSM_REGION_NAME:-} ]] && aws_opts+=(--region "$AWS_SSM_REGION_NAME")
# a single PUT carries the snapshot's own sha256, which S3 checks; S3 takes at most 5 GiB in one.
# CARETAKER_SINGLE_PUT_MAX_BYTES lowers the limit in tests only (not a document parameter)
single_put_max=${CARETAKER_SINGLE_PUT_MAX_BYTES:-5368709120}
[[ $single_put_max =~ ^[0-9]+$ ]] || die "CARETAKER_SINGLE_PUT_MAX_BYTES is not a number"

command -v "$aws_cli" >/dev/null || die "the AWS CLI (${aws_cli}) is not on PATH"
if [[ $mode == crictl && $etcd_manager == none ]]; then
  [[ -d $data_dir ]] || die "parameter DataDir: ${data_dir} is not a directory on this node"
fi

# a run the SSM agent killed at its timeout never ran its cleanup: remove what it left
work_base=${CARETAKER_WORK_DIR:-/var/tmp}
remove_leftovers "$work_base" 'caretaker-etcd-snapshot.*'
[[ $etcd_manager != none ]] || remove_leftovers "$data_dir" 'caretaker-snapshot.*'

# everything local goes in temporary directories that are removed on every path
work_dir=$(mktemp -d "${work_base}/caretaker-etcd-snapshot.XXXXXX")
snap_dir=''
cleanup() {
  stop_bounded
  rm -rf -- "$work_dir"
  if [[ -n $snap_dir ]]; then rm -rf -- "$snap_dir"; fi
}
trap cleanup EXIT
# a cancelled command gets SIGTERM: exit, so the EXIT trap cleans up
trap 'log "stopped by a signal"; exit 143' TERM INT HUP

# prints the number after "name": in a one-line json document
json_number() {
  local re="\"$1\":([0-9]+)" doc
  doc=$(<"$2")
  [[ $doc =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

# prints the string after "name": in a one-line json document (no escapes expected)
json_string() {
  local re="\"$1\":\"([^\"\\\\]*)\"" doc
  doc=$(<"$2")
  [[ $doc =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

# the base64 of a hex digest, as S3's x-amz-checksum-sha256 wants it
hex_to_base64() {
  local hex=$1 escaped='' i
  for ((i = 0; i < ${#hex}; i += 2)); do escaped+="\\x${hex:i:2}"; done
  # shellcheck disable=SC2059 # the format is the escaped bytes themselves
  printf "$escaped" | base64 -w 0
}

# --- the member --------------------------------------------------------------------------------
find_etcd_container || die "$container_problem"

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

# before the snapshot: a node that cannot read one should not spend minutes saving it
choose_snapshot_tool

# --- the snapshot ------------------------------------------------------------------------------
if [[ $mode == host || $etcd_manager != none ]]; then
  # etcd-manager's container sees the host's whole / at /rootfs: no shared data directory needed
  snap_file="$work_dir/snapshot.db"
else
  # the etcd container writes the file; kubeadm mounts DataDir at the same path on the host
  snap_dir=$(mktemp -d "$data_dir/caretaker-snapshot.XXXXXX")
  snap_file="$snap_dir/snapshot.db"
fi

taken_epoch=$(date -u +%s)
taken_at=$(date -u -d "@$taken_epoch" +%Y-%m-%dT%H:%M:%SZ)
log "saving snapshot of member ${member_name:-?} (${member_id}), etcd ${etcd_version}"
# etcdctl 3.4 bounds snapshot save by --command-timeout: give it whatever the budget has left
etcdctl_tls "$(time_left)s" snapshot save "$(in_container "$snap_file")" >&2 || die "snapshot save from ${endpoint} failed"
[[ -s $snap_file ]] || die "snapshot save left no file at ${snap_file}"

snapshot_status "$snap_file" >"$work_dir/snapshot-status" 2>"$work_dir/snapshot-status.err" ||
  die "${snapshot_tool} snapshot status failed: $(first_error "$work_dir/snapshot-status.err")"
snap_hash=$(json_number hash "$work_dir/snapshot-status") || die "snapshot status gave no hash"
revision=$(json_number revision "$work_dir/snapshot-status") || die "snapshot status gave no revision"
snap_total_key=$(json_number totalKey "$work_dir/snapshot-status") || die "snapshot status gave no totalKey"
snap_total_size=$(json_number totalSize "$work_dir/snapshot-status") || die "snapshot status gave no totalSize"
# the storage version: etcdutl 3.6+ reports it, 3.5 and etcdctl 3.4 do not. etcdutl 3.6 prints
# "version":"" for a snapshot without one: a 3.6 cluster writes it a few seconds after it starts
# (its version monitor), so a snapshot taken sooner has none. that is null, not a version
storage_version_json=null
if storage_version=$(json_string version "$work_dir/snapshot-status") && [[ -n $storage_version ]]; then
  storage_version_json=$(json_str "$storage_version")
fi

# --- is it Kubernetes? everything below reads at exactly the snapshot's revision ---------------
# has_key <key>: true when <key> exists at the snapshot's revision (count is left out when 0)
has_key() {
  etcdctl_tls 10s get "$1" --keys-only -w json --rev="$revision" >"$work_dir/has-key" 2>"$work_dir/has-key.err" ||
    die "reading ${1} at revision ${revision} failed: $(first_error "$work_dir/has-key.err")"
  json_number count "$work_dir/has-key" >/dev/null
}
# the API server creates (and recreates) both namespaces; an events etcd, a Cilium kvstore or an
# empty member has neither, and its snapshot would restore to no cluster at all. restore
# verification (kubernetes-data) insists on both as well
# has_prefix <prefix>: true when some key starts with <prefix> at the snapshot's revision
has_prefix() {
  etcdctl_tls 10s get "$1" --prefix --keys-only -w json --limit=1 --rev="$revision" >"$work_dir/has-key" 2>"$work_dir/has-key.err" ||
    die "reading ${1} at revision ${revision} failed: $(first_error "$work_dir/has-key.err")"
  json_number count "$work_dir/has-key" >/dev/null
}
missing_namespaces=()
if [[ $series == events ]]; then
  # kube-apiserver keeps only events there (--etcd-servers-overrides=/events#...:4002): events and no
  # namespaces; restore verification of the events series checks the same
  if has_prefix "${prefix}/namespaces/"; then
    die "refusing to upload: the snapshot at revision ${revision} holds ${prefix}/namespaces/ keys: ${endpoint}" \
      "is the API server's main etcd, not the events etcd (EtcdManager events, port ${SSM_EtcdPort})"
  fi
  if ! has_prefix "${prefix}/events/"; then
    die "refusing to upload: the snapshot at revision ${revision} holds no ${prefix}/events/ key: ${endpoint}" \
      "is not the API server's events etcd, or kube-apiserver uses another --etcd-prefix than EtcdPrefix ${prefix}" \
      "(events expire after kube-apiserver's --event-ttl, 1 h by default: an events etcd can be empty on a quiet cluster)"
  fi
else
  has_key "${prefix}/namespaces/default" || missing_namespaces+=("${prefix}/namespaces/default")
  has_key "${prefix}/namespaces/kube-system" || missing_namespaces+=("${prefix}/namespaces/kube-system")
fi
if ((${#missing_namespaces[@]} > 0)); then
  die "refusing to upload: the snapshot at revision ${revision} holds no Kubernetes data (no" \
    "${missing_namespaces[0]}${missing_namespaces[1]:+ and no ${missing_namespaces[1]}} key): ${endpoint}" \
    "is not the API server's etcd (an events etcd, a Cilium kvstore or an empty member?), or" \
    "kube-apiserver uses another --etcd-prefix than EtcdPrefix ${prefix}"
fi

sha256=$(bounded sha256sum "$snap_file") || die "sha256sum failed"
sha256=${sha256%% *}
size=$(stat -c %s "$snap_file")
log "snapshot at revision ${revision}: ${size} bytes, sha256 ${sha256}"

# --- what is in it: counts per <prefix>/<resource> ---------------------------------------------
# one ranged read per resource, not a listing: `get <from> <prefix>0 --limit=1` returns the first
# key at or after <from> and the count of every key from there on, both from etcd's index. the
# next resource starts at "<prefix>/<resource>0" ('0' follows '/'), so a resource's count is the
# difference of two counts. a listing would make the member read every value (hundreds of MB on
# a big cluster, on the member the cluster depends on); this reads one key per resource.
key_counts=''
add_count() { key_counts+="${key_counts:+,}$(json_str "$1"):$2"; }
range_end="${prefix}0"
count_by_ranges() {
  local from="${prefix}/" resource='' resource_total=0 total b64 key rest
  local key_re='"key":"([A-Za-z0-9+/=]*)"'
  while :; do
    etcdctl_tls 60s get "$from" "$range_end" --keys-only --limit=1 -w json --rev="$revision" \
      >"$work_dir/range" 2>"$work_dir/range.err" ||
      die "counting keys under ${prefix}/ at revision ${revision} failed: $(first_error "$work_dir/range.err")"
    total=$(json_number count "$work_dir/range") || total=0
    [[ -z $resource ]] || add_count "$resource" $((resource_total - total))
    ((total > 0)) || return 0
    [[ $(<"$work_dir/range") =~ $key_re ]] || die "a ranged read at revision ${revision} gave a count but no key"
    b64=${BASH_REMATCH[1]}
    key=$(printf '%s' "$b64" | base64 -d) || die "etcd gave a key that is not base64: ${b64}"
    rest=${key#"${prefix}/"}
    resource=${rest%%/*}
    # a key right under the prefix (no /<resource>/ path) breaks the arithmetic: list instead
    [[ $rest == */* && -n $resource ]] || return 1
    resource_total=$total
    from="${prefix}/${resource}0"
  done
}
# the slow way, for a keyspace with keys right under the prefix: list every key
count_by_listing() {
  local count resource
  key_counts=''
  etcdctl_tls "$(time_left)s" get "${prefix}/" --prefix --keys-only --rev="$revision" \
    >"$work_dir/keys" 2>"$work_dir/keys.err" ||
    die "counting ${prefix} keys at revision ${revision} failed: $(first_error "$work_dir/keys.err")"
  # keys-only prints each key followed by a blank line; the resource is the path segment after the prefix
  while read -r count resource; do
    [[ -n $resource ]] || continue
    add_count "$resource" "$count"
  done < <(grep -F -- "${prefix}/" "$work_dir/keys" | cut -c"$((${#prefix} + 2))"- | cut -d/ -f1 | LC_ALL=C sort | uniq -c)
}
if ! count_by_ranges; then
  log "keys right under ${prefix}/ without a resource path: counting by listing every key"
  count_by_listing
fi

# etcd 3.4 has no --count-only: ask for one key and read the total "count"
if ! etcdctl_tls 60s get "" --from-key --keys-only -w json --limit=1 --rev="$revision" >"$work_dir/count" 2>"$work_dir/count.err"; then
  die "counting keys at revision ${revision} failed: $(first_error "$work_dir/count.err")"
fi
total_keys=$(json_number count "$work_dir/count") || total_keys=0 # an empty keyspace omits count

# --- upload ------------------------------------------------------------------------------------
day_path=$(date -u -d "@$taken_epoch" +%Y/%m/%d)
stamp=$(date -u -d "@$taken_epoch" +%Y%m%dT%H%M%SZ)
key="${cluster}/${series_path}/${day_path}/${stamp}-r${revision}.db"
manifest_key="${key%.db}.json"
snapshot_tool_json="{\"name\":$(json_str "$snapshot_tool"),\"version\":$(json_str "$snapshot_tool_version")}"

printf '{"formatVersion":2,"kind":%s,"cluster":%s,"key":%s,"sha256":%s,"size":%s,"revision":%s,"totalKeys":%s,"keyCounts":{%s},"etcdVersion":%s,"storageVersion":%s,"snapshotTool":%s,"etcdPrefix":%s,"memberId":%s,"memberName":%s,"instanceId":%s,"takenAt":%s,"takenBy":%s,"snapshotStatus":{"hash":%s,"revision":%s,"totalKey":%s,"totalSize":%s}}\n' \
  "$(json_str "$kind")" "$(json_str "$cluster")" "$(json_str "$key")" "$(json_str "$sha256")" "$size" "$revision" "$total_keys" \
  "$key_counts" "$(json_str "$etcd_version")" "$storage_version_json" "$snapshot_tool_json" \
  "$(json_str "$prefix")" "$(json_str "$member_id")" "$(json_str "$member_name")" \
  "$(json_str "$instance_id")" "$(json_str "$taken_at")" "$(json_str "$execution_id")" \
  "$snap_hash" "$revision" "$snap_total_key" "$snap_total_size" >"$work_dir/manifest.json"

# upload <file> <key> <sha256 hex> <size> [--metadata m] [--content-type t]: with a checksum S3 verifies (and
# Object Lock requires). one PUT with our own sha256 up to 5 GiB; above, a multipart upload
# whose parts carry SHA256 checksums (--checksum-algorithm: AWS CLI 2.18 or later)
upload() {
  local file=$1 object=$2 hex=$3 bytes=$4
  shift 4
  log "uploading s3://${bucket}/${object} (${bytes} bytes)"
  if ((bytes <= single_put_max)); then
    bounded "$aws_cli" s3api put-object --bucket "$bucket" --key "$object" --body "$file" \
      --checksum-sha256 "$(hex_to_base64 "$hex")" "$@" "${aws_opts[@]}" >/dev/null 2>"$work_dir/upload.err" && return 0
  else
    bounded "$aws_cli" s3 cp "$file" "s3://${bucket}/${object}" --checksum-algorithm SHA256 --only-show-errors \
      "$@" "${aws_opts[@]}" >/dev/null 2>"$work_dir/upload.err" && return 0
    if grep -q -- 'Unknown options: --checksum-algorithm' "$work_dir/upload.err"; then
      die "upload of s3://${bucket}/${object} failed: a snapshot over ${single_put_max} bytes goes up in parts," \
        "and this AWS CLI ($("$aws_cli" --version 2>&1)) cannot send their checksums; AWS CLI 2.18 or later can"
    fi
  fi
  cat "$work_dir/upload.err" >&2
  die "upload of s3://${bucket}/${object} failed: $(first_error "$work_dir/upload.err")"
}

upload "$snap_file" "$key" "$sha256" "$size" --metadata "sha256=${sha256},revision=${revision}"
# the manifest goes last: its presence means the snapshot beside it is complete
manifest_sha256=$(sha256sum "$work_dir/manifest.json")
upload "$work_dir/manifest.json" "$manifest_key" "${manifest_sha256%% *}" "$(stat -c %s "$work_dir/manifest.json")" \
  --content-type application/json

duration_ms=$(($(date +%s%3N) - started_ms))
log "done in ${duration_ms} ms"
printf 'CARETAKER_RESULT {"instanceId":%s,"bucket":%s,"key":%s,"manifestKey":%s,"sha256":%s,"size":%s,"revision":%s,"totalKeys":%s,"etcdVersion":%s,"snapshotTool":%s,"memberId":%s,"takenAt":%s,"durationMs":%s}\n' \
  "$(json_str "$instance_id")" "$(json_str "$bucket")" "$(json_str "$key")" "$(json_str "$manifest_key")" \
  "$(json_str "$sha256")" "$size" "$revision" "$total_keys" "$(json_str "$etcd_version")" "$snapshot_tool_json" \
  "$(json_str "$member_id")" "$(json_str "$taken_at")" "$duration_ms"
