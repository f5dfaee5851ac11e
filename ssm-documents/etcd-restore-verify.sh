#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-restore-verify: on a scratch instance, downloads s3://<Bucket>/<Key> and its manifest, reads
# the manifest as JSON and checks it field by field, checks the sha256, size and etcd's own hash,
# refuses a snapshot taken by a newer etcd than this one, restores it into a fresh single-member etcd
# on 127.0.0.1 (hashing beside the restore), waits until it is healthy and compares the
# revision, the Kubernetes namespaces and the key counts per <etcdPrefix> resource with the
# manifest (and, when kube-apiserver is on PATH, what an API server reads from it). prints one
# CARETAKER_RESULT line. runs through the etcd-restore-verify SSM Command document.
# needs: bash, coreutils, etcd, etcdctl, etcdutl where the version has it (3.5+), the AWS CLI;
# optional: openssl (a faster sha256), kube-apiserver + kubectl + openssl (the API server check).
# a snapshot that does not verify is exit 0 with verified:false and the first failed check; a
# non-zero exit means the script could not run (bad parameter, a missing tool). whatever it
# started is stopped by PID and everything it wrote is removed, on every path.

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 077
CARETAKER_SCRIPT=etcd-restore-verify
# log, die, require_param, json_str, first_error, field, member_name_in (see lib/common.sh)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline

require_param Cluster '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$'
require_param Bucket '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
# Source came after the others: a caller that predates it gets the document's default
: "${SSM_Source=caretaker}"
require_param Source '^(caretaker|etcd-manager)$'
require_param Key '^([a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?/etcd/(events/)?[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{8}T[0-9]{6}Z-r[0-9]{1,19}\.db|([A-Za-z0-9._-]+/){1,8}backups/etcd/(main|events)/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z-[0-9]{6}/etcd\.backup\.gz)$'
require_param ExecutionId '^[A-Za-z0-9:_./-]{1,256}$'
require_param ClientPort '^[0-9]{1,5}$'
require_param PeerPort '^[0-9]{1,5}$'
require_param HealthTimeoutSeconds '^[0-9]{1,4}$'
for p in ClientPort PeerPort; do
  v="SSM_$p"
  if ((10#${!v} < 1 || 10#${!v} > 65535)); then
    die "parameter ${p} is invalid: ${!v} is not a port (1-65535)"
  fi
done
if ((10#$SSM_ClientPort == 10#$SSM_PeerPort)); then
  die "parameter PeerPort is invalid: it must differ from ClientPort (${SSM_ClientPort})"
fi
if ((10#$SSM_HealthTimeoutSeconds < 1)); then
  die "parameter HealthTimeoutSeconds is invalid: ${SSM_HealthTimeoutSeconds} is not at least 1"
fi
source=$SSM_Source
if [[ $source == etcd-manager ]]; then
  # kops' state store: the Lambda checked that Key is this cluster's; the shape is checked here
  [[ $SSM_Key == */backups/etcd/*/etcd.backup.gz ]] ||
    die "parameter Key is invalid: ${SSM_Key} is not an etcd-manager backup (…/backups/etcd/<main|events>/<name>/etcd.backup.gz)"
elif [[ $SSM_Key != "$SSM_Cluster/etcd/"* ]]; then
  die "parameter Key is invalid: ${SSM_Key} is not a snapshot of cluster ${SSM_Cluster} (expected ${SSM_Cluster}/etcd/...)"
fi

cluster=$SSM_Cluster
bucket=$SSM_Bucket
key=$SSM_Key
manifest_key="${key%.db}.json"
# kops etcd-manager (Source etcd-manager): etcd.backup.gz is the gzipped snapshot, and instead of a
# manifest there is etcd-manager's _etcd_backup.meta beside it (kubernetes-sigs/etcd-manager
# pkg/backup/vfs.go); the events cluster's backups hold events, not namespaces
em_cluster=''
# the series: main, or kops' events etcd (etcd-manager's events backups, or Caretaker's own
# <cluster>/etcd/events/ series with a manifest of kind etcd-events), which holds events only
series=main
if [[ $source == etcd-manager ]]; then
  manifest_key="${key%etcd.backup.gz}_etcd_backup.meta"
  em_cluster=${key%/*/etcd.backup.gz}
  em_cluster=${em_cluster##*/}
  series=$em_cluster
elif [[ $key == "$SSM_Cluster/etcd/events/"* ]]; then
  series=events
fi
want_kind=etcd
[[ $series == main ]] || want_kind=etcd-events
execution_id=$SSM_ExecutionId
client_port=$((10#$SSM_ClientPort))
peer_port=$((10#$SSM_PeerPort))
health_timeout=$((10#$SSM_HealthTimeoutSeconds))
instance_id=${AWS_SSM_INSTANCE_ID:-unknown}
etcd_bin=${CARETAKER_ETCD_BIN:-etcd}

aws_cli=${CARETAKER_AWS_CLI:-aws}
aws_opts=(--only-show-errors)
[[ -n ${CARETAKER_S3_ENDPOINT_URL:-} ]] && aws_opts+=(--endpoint-url "$CARETAKER_S3_ENDPOINT_URL")
[[ -n ${AWS_SSM_REGION_NAME:-} ]] && aws_opts+=(--region "$AWS_SSM_REGION_NAME")

command -v "$aws_cli" >/dev/null || die "the AWS CLI (${aws_cli}) is not on PATH"
command -v "$etcd_bin" >/dev/null || die "etcd (${etcd_bin}) is not on PATH; the scratch instance needs etcd and etcdctl"
command -v etcdctl >/dev/null || die "etcdctl is not on PATH; the scratch instance needs etcd and etcdctl"
# ETCDCTL_API=3 is the default from 3.4 on, and 3.6 warns about the variable on every call
unset ETCDCTL_API

# --- cleanup: stop what was started (by PID), remove everything written, on every path ----------
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-etcd-restore-verify.XXXXXX")
etcd_pid=''
apiserver_pid=''
manifest_download_pid=''
status_pid=''
sha_pid=''
probe_pid=''

# stop_pid <pid> <name> [grace tenths of a second]: SIGTERM, up to 10 s grace (0: SIGKILL at
# once), then SIGKILL; reaps the child
stop_pid() {
  local pid=$1 name=$2 grace=${3:-100} i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || {
    wait "$pid" 2>/dev/null || true
    return 0
  }
  log "stopping ${name} (pid ${pid})"
  if ((grace > 0)); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    ((grace == 0)) || log "${name} (pid ${pid}) ignored SIGTERM for $((grace / 10)) s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  set +e
  stop_pid "$apiserver_pid" kube-apiserver
  apiserver_pid=''
  # the restored data is thrown away: no need to let etcd shut down cleanly
  stop_pid "$etcd_pid" etcd 0
  etcd_pid=''
  stop_pid "$status_pid" 'snapshot status' 0
  status_pid=''
  stop_pid "$sha_pid" 'the sha256 hash' 0
  sha_pid=''
  stop_pid "$manifest_download_pid" 'manifest download' 0
  stop_pid "$probe_pid" 'version probes' 0
  manifest_download_pid=''
  rm -rf -- "$work_dir"
}
trap cleanup EXIT
# a signal (SSM timeout, cancel) exits through the EXIT trap too
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

last_line() {
  local line last=''
  while IFS= read -r line; do
    [[ -n $line ]] && last=$line
  done <"$1"
  printf '%s' "${last:-no output}"
}

# json_number <name> <file>: the first number after "name": (whitespace allowed around the colon);
# for etcd's own one-line outputs (snapshot status), not for the manifest
json_number() {
  local re="\"$1\"[[:space:]]*:[[:space:]]*([0-9]+)" doc
  doc=$(tr -d '\n' <"$2")
  [[ $doc =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}
# json_string_field <name> <file>: the string after "name": in etcd's one-line output
json_string_field() {
  local re="\"$1\"[[:space:]]*:[[:space:]]*\"([^\"]*)\"" doc
  doc=$(tr -d '\n' <"$2")
  [[ $doc =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

# now_ms: the time in milliseconds into NOW_MS, without a fork where bash has EPOCHREALTIME (5.0+)
# file_ended_ms <file>…: when a background command ended, from when it last wrote its output
# files, into ENDED_MS
file_ended_ms() {
  local f t
  ENDED_MS=0
  for f in "$@"; do
    t=$(date -r "$f" +%s%3N) || continue
    ((t <= ENDED_MS)) || ENDED_MS=$t
  done
}
ENDED_MS=0
now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local t=${EPOCHREALTIME/[^0-9]/}
    NOW_MS=${t:0:${#t}-3}
  else
    NOW_MS=$(date +%s%3N)
  fi
}
NOW_MS=0
# seconds with millisecond precision from a millisecond count
ms_to_seconds() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# --- a small, strict JSON reader ---------------------------------------------------------------
# scratch images have no jq and need not have python, and the manifest decides what "verified"
# means: a regular expression over the text would accept a truncated or doctored one. this reader
# accepts exactly RFC 8259 JSON (one value, nothing after it) and rejects duplicate keys.
# json_parse <text> fills J_VALUE (path -> scalar: strings decoded, numbers as written), J_TYPE
# (path -> string|number|true|false|null|object|array) and J_KEYS (object path -> its keys, one
# per line, in order); a path is the keys joined with '/' (keyCounts/pods), the root is '.'.
# \uXXXX escapes beyond ASCII need a UTF-8 locale. on a syntax error it returns 1 with J_ERROR
# saying what it expected and at which byte.
declare -A J_VALUE=() J_TYPE=() J_KEYS=()
J_ERROR=''
j_text=''
j_pos=0
j_str=''
J_WS_RE=$'^[ \t\n\r]+'
J_STRING_RE='^"(([^"\\[:cntrl:]]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"'
# a string that the text ends inside of
J_OPEN_STRING_RE='^"([^"\\]|\\.)*\\?$'
J_NUMBER_RE='^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?'

j_ws() {
  if [[ ${j_text:j_pos:1} == [$' \t\n\r'] && ${j_text:j_pos} =~ $J_WS_RE ]]; then
    j_pos=$((j_pos + ${#BASH_REMATCH[0]}))
  fi
  return 0
}

j_fail() {
  local near=${j_text:j_pos:24}
  if ((j_pos >= ${#j_text})); then
    J_ERROR="$1 at byte ${j_pos}, where the text ends (truncated?)"
  else
    J_ERROR="$1 at byte ${j_pos}, near: ${near//[[:cntrl:]]/ }"
  fi
  return 1
}

# j_string: the string at j_pos, decoded, into j_str
j_string() {
  if [[ ! ${j_text:j_pos} =~ $J_STRING_RE ]]; then
    if [[ ${j_text:j_pos} =~ $J_OPEN_STRING_RE ]]; then
      J_ERROR="the text ends inside a string at byte ${#j_text} (truncated?)"
      return 1
    fi
    j_fail 'expected a "string" with valid escapes and no control characters'
    return 1
  fi
  j_pos=$((j_pos + ${#BASH_REMATCH[0]}))
  j_str=${BASH_REMATCH[1]}
  [[ $j_str == *\\* ]] || return 0
  local out='' rest=$j_str c hex
  while [[ $rest == *\\* ]]; do
    out+=${rest%%\\*}
    rest=${rest#*\\}
    c=${rest:0:1}
    rest=${rest:1}
    case $c in
      b) out+=$'\b' ;;
      f) out+=$'\f' ;;
      n) out+=$'\n' ;;
      r) out+=$'\r' ;;
      t) out+=$'\t' ;;
      u)
        hex=${rest:0:4}
        rest=${rest:4}
        # shellcheck disable=SC2059 # the format is the escape itself
        out+=$(printf "\\u${hex}")
        ;;
      *) out+=$c ;; # " \ /
    esac
  done
  j_str=$out$rest
}

# j_value <path> <depth>: the value at j_pos
j_value() {
  local path=$1 depth=$2 c key keys child n word
  ((depth <= 16)) || {
    j_fail 'nested deeper than 16 levels'
    return 1
  }
  j_ws
  c=${j_text:j_pos:1}
  case $c in
    '{' | '[')
      local close=']' type=array
      [[ $c == '{' ]] && close='}' type=object
      J_TYPE[$path]=$type
      j_pos=$((j_pos + 1))
      keys=''
      n=0
      j_ws
      if [[ ${j_text:j_pos:1} == "$close" ]]; then
        j_pos=$((j_pos + 1))
      else
        while :; do
          if [[ $type == object ]]; then
            j_ws
            [[ ${j_text:j_pos:1} == '"' ]] || {
              j_fail 'expected a "key"'
              return 1
            }
            j_string || return 1
            key=$j_str
            j_ws
            [[ ${j_text:j_pos:1} == ':' ]] || {
              j_fail "expected ':' after \"${key}\""
              return 1
            }
            j_pos=$((j_pos + 1))
          else
            key=$n
          fi
          child=$key
          [[ $path == . ]] || child=$path/$key
          if [[ -n ${J_TYPE[$child]+x} ]]; then
            J_ERROR="duplicate key \"${key}\" in $([[ $path == . ]] && printf 'the top-level object' || printf '%s' "$path")"
            return 1
          fi
          j_value "$child" $((depth + 1)) || return 1
          keys+="${key}"$'\n'
          n=$((n + 1))
          j_ws
          c=${j_text:j_pos:1}
          if [[ $c == ',' ]]; then
            j_pos=$((j_pos + 1))
          elif [[ $c == "$close" ]]; then
            j_pos=$((j_pos + 1))
            break
          else
            j_fail "expected ',' or '${close}'"
            return 1
          fi
        done
      fi
      [[ $type == object ]] && J_KEYS[$path]=$keys
      J_VALUE[$path]=$n
      ;;
    '"')
      j_string || return 1
      J_TYPE[$path]=string
      J_VALUE[$path]=$j_str
      ;;
    t | f | n)
      for word in true false null; do
        if [[ ${j_text:j_pos:${#word}} == "$word" ]]; then
          J_TYPE[$path]=$word
          J_VALUE[$path]=$word
          j_pos=$((j_pos + ${#word}))
          return 0
        fi
      done
      j_fail 'expected true, false or null'
      return 1
      ;;
    *)
      [[ ${j_text:j_pos} =~ $J_NUMBER_RE ]] || {
        j_fail 'expected a value'
        return 1
      }
      J_TYPE[$path]=number
      J_VALUE[$path]=${BASH_REMATCH[0]}
      j_pos=$((j_pos + ${#BASH_REMATCH[0]}))
      ;;
  esac
}

json_parse() {
  J_VALUE=()
  J_TYPE=()
  J_KEYS=()
  J_ERROR=''
  j_text=$1
  j_pos=0
  j_value . 0 || return 1
  j_ws
  ((j_pos == ${#j_text})) || {
    j_fail 'expected nothing after the JSON value'
    return 1
  }
}

# --- versions ----------------------------------------------------------------------------------
# version_number <x.y[.z…]>: major*1000 + minor (what decides the storage format); 1 when it is
# not a version
version_number() {
  [[ $1 =~ ^v?([0-9]{1,4})\.([0-9]{1,3})(\.[0-9]+)?([-+][0-9A-Za-z.+-]*)?$ ]] || return 1
  printf '%d' $((10#${BASH_REMATCH[1]} * 1000 + 10#${BASH_REMATCH[2]}))
}
# the version in the first line of `<tool> --version` / `<tool> version` ("etcd Version: 3.6.16")
version_of() {
  local line
  line=$(timeout 10 "$@" 2>/dev/null | head -n 1) || true
  line=${line##*[Vv]ersion: }
  [[ $line =~ ^[0-9A-Za-z.+-]+$ ]] && printf '%s' "$line"
  return 0
}

# --- the checks --------------------------------------------------------------------------------
CHECK_NAMES=(download manifest sha256 etcd-version snapshot-status restore etcd-healthy revision
  kubernetes-data key-counts kube-apiserver)
# the check that proves the downloaded bytes are the ones written: the manifest's sha256, or the
# gzip stream's own CRC for etcd-manager (which records no hash); "meta" is its _etcd_backup.meta
integrity_check=sha256
if [[ $source == etcd-manager ]]; then
  integrity_check=gzip
  CHECK_NAMES=(download meta gzip etcd-version snapshot-status restore etcd-healthy revision
    kubernetes-data key-counts kube-apiserver)
fi
declare -A check_ok=() check_detail=() check_ms=()
# a check's "ms" is the time it added: since the previous check ended, or its own duration for
# the one that runs beside another (snapshot-status beside restore)
now_ms
last_check_ms=$NOW_MS
# keyCounts from the manifest and per resource in the restored etcd
declare -A want=() have=()

# record_check <name> <true|false|null> <detail> [ms]
record_check() {
  local name=$1 ok=$2 detail=$3 now
  now_ms
  now=$NOW_MS
  check_ok[$name]=$ok
  check_detail[$name]=$detail
  check_ms[$name]=${4:-$((now - last_check_ms))}
  last_check_ms=$now
  case $ok in
    true) log "check ${name}: ok: ${detail}" ;;
    null) log "check ${name}: skipped: ${detail}" ;;
    *) log "check ${name}: FAILED: ${detail}" ;;
  esac
}

revision_out='null'
total_keys_out='null'
restore_seconds='null'
etcd_version=''
tool=''
tool_version=''
bump=0

# prints the result line; the first failed check (in CHECK_NAMES order) is the verdict, and every
# check after it that did not run is listed as skipped. finish = report and exit 0 (a
# verification that failed still ran)
report() {
  local name checks_json='' failed_check='' reason='' ok detail
  for name in "${CHECK_NAMES[@]}"; do
    if [[ ${check_ok[$name]:-} == false && -z $failed_check ]]; then
      failed_check=$name
      reason="${name}: ${check_detail[$name]}"
    fi
  done
  for name in "${CHECK_NAMES[@]}"; do
    ok=${check_ok[$name]:-null}
    detail=${check_detail[$name]:-"not run: ${failed_check} failed"}
    checks_json+="${checks_json:+,}{\"name\":$(json_str "$name"),\"ok\":${ok},\"ms\":${check_ms[$name]:-0},\"detail\":$(json_str "$detail")}"
  done
  local verified=true
  [[ -z $failed_check ]] || verified=false
  if [[ $verified == true ]]; then
    log "verified s3://${bucket}/${key}: restore + healthy in ${restore_seconds} s"
  else
    log "NOT verified s3://${bucket}/${key}: ${reason}"
  fi
  local tool_json=null
  [[ -z $tool ]] || tool_json="{\"name\":$(json_str "$tool"),\"version\":$(json_str "$tool_version")}"
  printf 'CARETAKER_RESULT {"instanceId":%s,"key":%s,"verified":%s,"failedCheck":%s,"reason":%s,"checks":[%s],"revision":%s,"totalKeys":%s,"restoreSeconds":%s,"etcdVersion":%s,"restoreTool":%s,"revisionBump":%s}\n' \
    "$(json_str "$instance_id")" "$(json_str "$key")" "$verified" "$(json_str "$failed_check")" \
    "$(json_str "$reason")" "$checks_json" "$revision_out" "$total_keys_out" "$restore_seconds" \
    "$(json_str "$etcd_version")" "$tool_json" "$bump"
}
finish() {
  # once the manifest is read, a hash still running decides the sha256 check (it comes first)
  [[ -z $sha_pid || -z ${m_sha256:-} ]] || check_sha256
  report
  exit 0
}

# --- which etcd, and which tool: decided once ----------------------------------------------------
# etcdutl where it exists (3.5+; 3.6 removed `etcdctl snapshot status/restore`), etcdctl only
# where it does not (3.4). the same tool reads the snapshot status and restores.
if command -v etcdutl >/dev/null; then
  tool=etcdutl
  # the bump keeps revisions ahead of what clients (watch caches) saw; marking them compacted
  # makes old watches re-list: what a Kubernetes-safe disaster recovery does
  bump=1000000000
else
  tool=etcdctl
fi
log "verifying s3://${bucket}/${key} for cluster ${cluster} (execution ${execution_id}) with ${tool}"
# the versions are asked for while the download runs: each is a process start
(
  version_of "$etcd_bin" --version >"$work_dir/version-etcd"
  version_of etcdctl version >"$work_dir/version-etcdctl"
  [[ $tool == etcdctl ]] || version_of etcdutl version >"$work_dir/version-etcdutl"
) </dev/null 2>/dev/null &
probe_pid=$!
etcdctl_version=''
count_flags=(--count-only)
# read_versions: the probes' answers into etcd_version, etcdctl_version, tool_version, count_flags
read_versions() {
  wait "$probe_pid" || true
  probe_pid=''
  etcd_version=$(<"$work_dir/version-etcd")
  etcdctl_version=$(<"$work_dir/version-etcdctl")
  tool_version=$etcdctl_version
  [[ $tool == etcdctl ]] || tool_version=$(<"$work_dir/version-etcdutl")
  # --count-only is 3.5+; 3.4 counts by asking for one key and reading the total count
  local n
  n=$(version_number "$etcdctl_version") || n=0
  ((n >= 3005)) || count_flags=(--keys-only --limit=1)
  log "etcd ${etcd_version:-of unknown version}, ${tool} ${tool_version:-of unknown version}"
}

snap_file="$work_dir/snapshot.db"
manifest_file="$work_dir/manifest.json"
data_dir="$work_dir/data"
client_url="http://127.0.0.1:${client_port}"
peer_url="http://127.0.0.1:${peer_port}"
member_name=caretaker-restore-verify

# --- etcd-manager (kops): its _etcd_backup.meta instead of a manifest, and a gzipped snapshot -----
# check_etcd_manager_backup: the "meta" check (BackupInfo as protobuf JSON: etcdVersion, timestamp
# as a string of seconds, clusterSpec) and the "gzip" check (the stream unpacks whole: gzip's CRC32
# and length catch a truncated or damaged download); sets m_etcd_version and size, or finishes
check_etcd_manager_backup() {
  local problems=() meta_text='' name_epoch stamp gz_file="$work_dir/etcd.backup.gz"
  m_format=etcd-manager
  m_sha256=''
  m_storage_version=''
  m_tool=''
  etcd_prefix=/registry
  if (($(stat -c %s "$manifest_file") > 65536)); then
    problems+=("it is $(stat -c %s "$manifest_file") bytes, more than a BackupInfo ever is (64 KiB)")
  else
    meta_text=$(<"$manifest_file")
  fi
  if ((${#problems[@]} > 0)); then
    :
  elif ! json_parse "$meta_text"; then
    problems+=("it is not valid JSON: ${J_ERROR}")
  elif [[ ${J_TYPE[.]} != object ]]; then
    problems+=("it is a JSON ${J_TYPE[.]}, not an object")
  else
    want_field etcdVersion string '^v?[0-9]+\.[0-9]+\.[0-9]+$' 'an etcd version x.y.z' && m_etcd_version=${J_VALUE[etcdVersion]#v}
    # protobuf JSON writes an int64 as a string; the backup's name is the same moment, in RFC 3339
    case ${J_TYPE[timestamp]:-missing} in
      string | number)
        stamp=${J_VALUE[timestamp]}
        if [[ ! $stamp =~ ^[1-9][0-9]{0,11}$ ]]; then
          problems+=("timestamp is $(json_str "${stamp:0:40}"), not seconds since 1970")
        else
          name_epoch=${key%/etcd.backup.gz}
          name_epoch=${name_epoch##*/}
          name_epoch=$(date -u -d "${name_epoch:0:10} ${name_epoch:11:8}" +%s 2>/dev/null) || name_epoch=0
          if ((stamp > name_epoch + 86400 || stamp < name_epoch - 86400)); then
            problems+=("timestamp ${stamp} ($(date -u -d "@${stamp}" +%Y-%m-%dT%H:%M:%SZ)) is more than a day from the backup's name")
          fi
        fi
        ;;
      *) problems+=("timestamp is ${J_TYPE[timestamp]:-missing}, not a string of seconds") ;;
    esac
    case ${J_TYPE[clusterSpec]:-missing} in
      missing) ;;
      object) want_field clusterSpec/etcdVersion string '^v?[0-9]+\.[0-9]+\.[0-9]+$' 'an etcd version x.y.z' || true ;;
      *) problems+=("clusterSpec is ${J_TYPE[clusterSpec]}, not an object") ;;
    esac
  fi
  if ((${#problems[@]} > 0)); then
    detail="s3://${bucket}/${manifest_key} is not an etcd-manager backup meta file this verifier can trust: ${problems[0]}"
    for ((i = 1; i < ${#problems[@]} && i < 4; i++)); do detail+="; ${problems[i]}"; done
    record_check meta false "$detail"
    finish
  fi
  record_check meta true "etcd-manager backup of the ${em_cluster} cluster, taken by etcd ${m_etcd_version} at $(date -u -d "@${stamp}" +%Y-%m-%dT%H:%M:%SZ)"
  if ! gzip -dc "$gz_file" 2>"$work_dir/gzip.err" >"$snap_file"; then
    record_check gzip false "etcd.backup.gz (${size} bytes) does not unpack whole, truncated or damaged: $(first_error "$work_dir/gzip.err")"
    finish
  fi
  rm -f -- "$gz_file"
  local packed=$size
  size=$(stat -c %s "$snap_file")
  m_size=$size
  if ((size == 0)); then
    record_check gzip false "etcd.backup.gz (${packed} bytes) unpacks to an empty file"
    finish
  fi
  record_check gzip true "etcd.backup.gz (${packed} bytes) unpacks whole (gzip CRC32 and length) to a ${size}-byte snapshot"
}

# --- download: the snapshot and, beside it, the manifest ----------------------------------------
# one AWS CLI download per object, each once. the snapshot goes to a file, which lets the CLI fetch
# ranges in parallel: measured faster than streaming it to stdout through tee and sha256sum, and
# the sha256 then runs beside the restore instead of in front of it (a restore never starts etcd
# on a snapshot whose sha256 did not match).
log "downloading s3://${bucket}/${key} and its manifest"
"$aws_cli" s3 cp "s3://${bucket}/${manifest_key}" "$manifest_file" "${aws_opts[@]}" \
  </dev/null >"$work_dir/manifest.out" 2>"$work_dir/manifest.err" &
manifest_download_pid=$!
snapshot_status=0
download_file=$snap_file
[[ $source != etcd-manager ]] || download_file="$work_dir/etcd.backup.gz"
"$aws_cli" s3 cp "s3://${bucket}/${key}" "$download_file" "${aws_opts[@]}" \
  </dev/null >"$work_dir/s3.out" 2>"$work_dir/s3.err" || snapshot_status=$?
manifest_status=0
wait "$manifest_download_pid" || manifest_status=$?
manifest_download_pid=''
read_versions
if ((snapshot_status != 0)); then
  cat "$work_dir/s3.err" >&2
  record_check download false "cannot download the snapshot s3://${bucket}/${key}: $(first_error "$work_dir/s3.err")"
  finish
fi
if ((manifest_status != 0)); then
  cat "$work_dir/manifest.err" >&2
  record_check download false "cannot download the manifest s3://${bucket}/${manifest_key}: $(first_error "$work_dir/manifest.err")"
  finish
fi
size=$(stat -c %s "$download_file")
record_check download true "${size} bytes and the manifest from s3://${bucket}"
# --- manifest: JSON, then field by field --------------------------------------------------------
# format 1: formatVersion, cluster, key, sha256, size, revision, totalKeys, keyCounts, takenAt,
# snapshotStatus {hash, revision, totalKey, totalSize}, etcdVersion when known. format 2 adds
# etcdVersion (required), storageVersion (string or null), snapshotTool {name, version} and
# etcdPrefix (default /registry in format 1).
RESOURCE_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$'
UINT_RE='^(0|[1-9][0-9]{0,17})$'
problems=()
# want_field <path> <type> [regex] [what it should be]: a problem unless the field is there,
# of that type, and (for strings and numbers) matches
want_field() {
  local path=$1 type=$2 re=${3:-} what=${4:-} t v
  t=${J_TYPE[$path]:-missing}
  if [[ $t == missing ]]; then
    problems+=("${path} is missing")
    return 1
  fi
  if [[ $t != "$type" ]]; then
    problems+=("${path} is ${t}, not ${type}")
    return 1
  fi
  v=${J_VALUE[$path]:-}
  if [[ -n $re && ! $v =~ $re ]]; then
    problems+=("${path} is $(json_str "${v:0:80}"), not ${what}")
    return 1
  fi
}
if [[ $source == etcd-manager ]]; then
  check_etcd_manager_backup
else
  # the page cache still holds the file: hashing it now costs CPU, not I/O. openssl uses the CPU's
  # SHA instructions where it has them (about 5x less CPU than coreutils' sha256sum here)
  sha_cmd=(sha256sum "$snap_file")
  command -v openssl >/dev/null && sha_cmd=(openssl dgst -sha256 -r "$snap_file")
  now_ms
  sha_started_ms=$NOW_MS
  "${sha_cmd[@]}" </dev/null >"$work_dir/sha256" 2>"$work_dir/sha256.err" &
  sha_pid=$!

  manifest_bytes=$(stat -c %s "$manifest_file")
  # a manifest is a few KB; this reader is not meant for megabytes
  ((manifest_bytes <= 1048576)) || problems+=("it is ${manifest_bytes} bytes, more than a manifest ever is (1 MiB)")
  manifest_text=''
  ((${#problems[@]} > 0)) || manifest_text=$(<"$manifest_file")
  m_format=''
  etcd_prefix=/registry
  m_etcd_version=''
  m_storage_version=''
  m_tool=''
  if ((${#problems[@]} > 0)); then
    :
  elif ! json_parse "$manifest_text"; then
    problems+=("it is not valid JSON: ${J_ERROR}")
  elif [[ ${J_TYPE[.]} != object ]]; then
    problems+=("it is a JSON ${J_TYPE[.]}, not an object")
  elif want_field formatVersion number '^[12]$' 'a format this verifier reads (1 or 2)'; then
    m_format=${J_VALUE[formatVersion]}
    if want_field cluster string '^.*$'; then
      [[ ${J_VALUE[cluster]} == "$cluster" ]] || problems+=("cluster is $(json_str "${J_VALUE[cluster]:0:80}"), not ${cluster}")
    fi
    if want_field key string '^.*$'; then
      [[ ${J_VALUE[key]} == "$key" ]] || problems+=("key is $(json_str "${J_VALUE[key]:0:200}"), not ${key}")
    fi
    # kind came with the events series: absent is the main etcd's manifest
    if [[ ${J_TYPE[kind]:-missing} == missing ]]; then
      [[ $want_kind == etcd ]] || problems+=("kind is missing, the key ${key} is of the ${series} series (kind ${want_kind})")
    elif want_field kind string '^(etcd|etcd-events)$' 'etcd or etcd-events'; then
      [[ ${J_VALUE[kind]} == "$want_kind" ]] || problems+=("kind is ${J_VALUE[kind]}, the key ${key} is of the ${series} series (kind ${want_kind})")
    fi
    want_field sha256 string '^[0-9a-f]{64}$' 'a hex sha256' || true
    want_field size number '^[1-9][0-9]{0,17}$' 'a size in bytes' || true
    key_revision=${key##*-r}
    key_revision=${key_revision%.db}
    if want_field revision number "$UINT_RE" 'a revision'; then
      [[ ${J_VALUE[revision]} == "$((10#$key_revision))" ]] || problems+=("revision is ${J_VALUE[revision]}, the key says r${key_revision}")
    fi
    want_field totalKeys number "$UINT_RE" 'a key count' || true
    want_field takenAt string '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' 'an ISO 8601 time' || true
    if want_field snapshotStatus object; then
      want_field snapshotStatus/hash number "$UINT_RE" "etcd's hash (a number)" || true
      if want_field snapshotStatus/revision number "$UINT_RE" 'a revision' && [[ ${J_TYPE[revision]:-} == number ]]; then
        [[ ${J_VALUE[snapshotStatus/revision]} == "${J_VALUE[revision]}" ]] ||
          problems+=("snapshotStatus.revision is ${J_VALUE[snapshotStatus/revision]}, revision is ${J_VALUE[revision]}")
      fi
      want_field snapshotStatus/totalKey number "$UINT_RE" 'a key count' || true
      want_field snapshotStatus/totalSize number "$UINT_RE" 'a size in bytes' || true
    fi
    if want_field keyCounts object; then
      if ((J_VALUE[keyCounts] > 5000)); then
        problems+=("keyCounts lists ${J_VALUE[keyCounts]} resources (at most 5000 are read)")
      else
        while IFS= read -r resource; do
          [[ -n $resource ]] || continue
          if [[ ! $resource =~ $RESOURCE_RE ]]; then
            problems+=("keyCounts has $(json_str "${resource:0:80}"), which is not a resource name")
          elif want_field "keyCounts/${resource}" number "$UINT_RE" 'a key count'; then
            want[$resource]=${J_VALUE[keyCounts/$resource]}
          fi
        done <<<"${J_KEYS[keyCounts]}"
      fi
    fi
    if ((m_format >= 2)); then
      want_field etcdVersion string '^v?[0-9]+\.[0-9]+' 'an etcd version' && m_etcd_version=${J_VALUE[etcdVersion]}
      # "" is what etcd-snapshot wrote before it read etcdutl's empty version as none: also none
      [[ ${J_TYPE[storageVersion]:-} == string && -z ${J_VALUE[storageVersion]} ]] && J_TYPE[storageVersion]=null
      case ${J_TYPE[storageVersion]:-missing} in
        null) ;;
        string) want_field storageVersion string '^v?[0-9]+\.[0-9]+' 'a storage version' && m_storage_version=${J_VALUE[storageVersion]} ;;
        *) problems+=("storageVersion is ${J_TYPE[storageVersion]:-missing}, not a string or null") ;;
      esac
      if want_field snapshotTool object; then
        want_field snapshotTool/name string '^(etcdutl|etcdctl)$' 'etcdutl or etcdctl' || true
        want_field snapshotTool/version string '^.*$' || true
        m_tool="${J_VALUE[snapshotTool/name]:-?} ${J_VALUE[snapshotTool/version]:-?}"
      fi
      want_field etcdPrefix string '^/[A-Za-z0-9._/-]{0,200}$' 'an etcd key prefix (/registry)' && etcd_prefix=${J_VALUE[etcdPrefix]%/}
    else
      # format 1 may carry the server version; it has no storage version, tool or prefix
      case ${J_TYPE[etcdVersion]:-missing} in
        missing | null) ;;
        string)
          if [[ -n ${J_VALUE[etcdVersion]} ]] && want_field etcdVersion string '^v?[0-9]+\.[0-9]+' 'an etcd version'; then
            m_etcd_version=${J_VALUE[etcdVersion]}
          fi
          ;;
        *) problems+=("etcdVersion is ${J_TYPE[etcdVersion]}, not a string") ;;
      esac
    fi
    [[ -n $etcd_prefix ]] || problems+=("etcdPrefix is /: Kubernetes keys need a prefix")
  fi
  if ((${#problems[@]} > 0)); then
    detail="s3://${bucket}/${manifest_key} is not a Caretaker snapshot manifest this verifier can trust: ${problems[0]}"
    for ((i = 1; i < ${#problems[@]} && i < 4; i++)); do detail+="; ${problems[i]}"; done
    ((${#problems[@]} <= 4)) || detail+="; and $((${#problems[@]} - 4)) more"
    record_check manifest false "$detail"
    finish
  fi
  m_sha256=${J_VALUE[sha256]}
  m_size=${J_VALUE[size]}
  m_revision=${J_VALUE[revision]}
  m_total_keys=${J_VALUE[totalKeys]}
  m_hash=${J_VALUE[snapshotStatus/hash]}
  m_total_size=${J_VALUE[snapshotStatus/totalSize]}
  record_check manifest true "format ${m_format}: cluster ${cluster}, revision ${m_revision}, ${m_total_keys} keys in ${#want[@]} ${etcd_prefix} resources, taken by etcd ${m_etcd_version:-(not recorded)}${m_tool:+ with ${m_tool}}"
fi

# --- sha256 + size: the hash running since the download ended ------------------------------------
# check_sha256: waits for the hash and records the check (with the hash's own duration)
check_sha256() {
  local sha_status=0 sha256='' problems=() detail
  wait "$sha_pid" || sha_status=$?
  sha_pid=''
  [[ -s $work_dir/sha256 ]] && read -r sha256 _ <"$work_dir/sha256"
  file_ended_ms "$work_dir/sha256" "$work_dir/sha256.err"
  local sha_ms=$((ENDED_MS > sha_started_ms ? ENDED_MS - sha_started_ms : 0))
  if ((sha_status != 0)) || [[ ! $sha256 =~ ^[0-9a-f]{64}$ ]]; then
    record_check sha256 false "${sha_cmd[0]} of the downloaded snapshot failed: $(first_error "$work_dir/sha256.err")" "$sha_ms"
    return 0
  fi
  [[ $sha256 == "$m_sha256" ]] || problems+=("sha256 of the downloaded snapshot is ${sha256}, the manifest says ${m_sha256}")
  [[ $size == "$m_size" ]] || problems+=("size is ${size} bytes, the manifest says ${m_size}")
  if ((${#problems[@]} > 0)); then
    detail=${problems[0]}
    ((${#problems[@]} < 2)) || detail+="; ${problems[1]}"
    record_check sha256 false "$detail" "$sha_ms"
  else
    record_check sha256 true "sha256 ${sha256} and size ${size} bytes match the manifest" "$sha_ms"
  fi
}
# a snapshot of the wrong size is not worth a restore
if [[ $source == caretaker && $size != "$m_size" ]]; then
  check_sha256
  finish
fi

# --- etcd version: never restore into an etcd older than the one that took the snapshot ---------
# etcd keeps its storage format per minor release (3.6 writes a storage version 3.5 does not
# know; 3.4 starts on a 3.6 data dir without a word): a minor older than the snapshot's is
# refused. an older patch release of the same minor reads the same format.
snapshot_taken_by="etcd ${m_etcd_version:-(version not recorded)}, storage version ${m_storage_version:-(none recorded)}"
scratch_runs="etcd ${etcd_version:-(unknown)} with ${tool} ${tool_version:-(unknown)}"
need=0
need_from=''
for v in "$m_etcd_version" "$m_storage_version"; do
  [[ -n $v ]] || continue
  n=$(version_number "$v") || continue
  if ((n > need)); then
    need=$n
    need_from=$v
  fi
done
etcd_number=$(version_number "$etcd_version") || etcd_number=0
tool_number=$(version_number "$tool_version") || tool_number=$etcd_number
if ((etcd_number == 0)); then
  record_check etcd-version false "cannot tell which version ${etcd_bin} is ($(printf '%q' "$etcd_bin") --version printed no version); the snapshot was taken by ${snapshot_taken_by}"
  finish
fi
if ((need > 0 && (etcd_number < need || tool_number < need))); then
  record_check etcd-version false "refusing to restore: the snapshot was taken by ${snapshot_taken_by}; this scratch instance runs ${scratch_runs}, older than ${need_from}: give it an image with etcd $((need / 1000)).$((need % 1000)) or newer"
  finish
fi
if ((need == 0)); then
  record_check etcd-version true "the manifest (format ${m_format}) records no etcd version; restoring with ${scratch_runs}"
else
  record_check etcd-version true "${scratch_runs} can restore a snapshot taken by ${snapshot_taken_by}"
fi

# --- snapshot status (beside the restore) + restore ---------------------------------------------
# both only read the downloaded file (the restore copies it into the data dir first), so etcd's
# own hash is computed while the restore runs
now_ms
status_started_ms=$NOW_MS
"$tool" snapshot status "$snap_file" -w json </dev/null >"$work_dir/status" 2>"$work_dir/status.err" &
status_pid=$!

restore_flags=(--name="$member_name" --data-dir="$data_dir" --initial-cluster="${member_name}=${peer_url}"
  --initial-advertise-peer-urls="$peer_url" --initial-cluster-token=caretaker-restore-verify)
restore_cmd=("$tool" snapshot restore "$snap_file" "${restore_flags[@]}")
# etcd 3.4 has no etcdutl and no --bump-revision: the restored revision equals the snapshot's
((bump == 0)) || restore_cmd+=(--bump-revision="$bump" --mark-compacted)
log "restoring with ${tool} ${tool_version} into ${data_dir} (member ${member_name}, ${peer_url})"
now_ms
restore_started_ms=$NOW_MS
restore_status=0
"${restore_cmd[@]}" </dev/null >"$work_dir/restore.log" 2>&1 || restore_status=$?
now_ms
restore_ms=$((NOW_MS - restore_started_ms))

status_status=0
wait "$status_pid" || status_status=$?
status_pid=''
file_ended_ms "$work_dir/status" "$work_dir/status.err"
status_ms=$((ENDED_MS > status_started_ms ? ENDED_MS - status_started_ms : 0))
s_problems=()
if ((status_status != 0)); then
  cat "$work_dir/status.err" >&2
  s_problems+=("${tool} snapshot status failed: $(first_error "$work_dir/status.err")")
elif ! s_hash=$(json_number hash "$work_dir/status") || ! s_revision=$(json_number revision "$work_dir/status"); then
  s_problems+=("${tool} snapshot status printed no hash or revision: $(first_error "$work_dir/status")")
else
  s_total_size=$(json_number totalSize "$work_dir/status") || s_total_size=''
  s_version=$(json_string_field version "$work_dir/status") || s_version=''
  if [[ $source == etcd-manager ]]; then
    # no manifest: etcd's own numbers are the reference for the restore; the meta must agree
    m_hash=$s_hash
    m_revision=$s_revision
    m_total_size=$s_total_size
    s_number=$(version_number "$s_version") || s_number=0
    meta_number=$(version_number "$m_etcd_version") || meta_number=0
    ((s_number <= meta_number)) || s_problems+=("the snapshot's storage version is ${s_version}, newer than etcd ${m_etcd_version} that _etcd_backup.meta says took it")
  fi
  [[ $s_hash == "$m_hash" ]] || s_problems+=("etcd's hash of the downloaded snapshot is ${s_hash}, the manifest says ${m_hash}")
  [[ $s_revision == "$m_revision" ]] || s_problems+=("the snapshot is at revision ${s_revision}, the manifest says ${m_revision}")
  [[ -z $s_total_size || $s_total_size == "$m_total_size" ]] || s_problems+=("etcd's database size is ${s_total_size} bytes, the manifest says ${m_total_size}")
  if [[ -n $s_version && -n $m_storage_version && $s_version != "$m_storage_version" ]]; then
    s_problems+=("the snapshot's storage version is ${s_version}, the manifest says ${m_storage_version}")
  fi
fi
if ((${#s_problems[@]} > 0)); then
  detail=${s_problems[0]}
  for ((i = 1; i < ${#s_problems[@]}; i++)); do detail+="; ${s_problems[i]}"; done
  record_check snapshot-status false "$detail" "$status_ms"
else
  record_check snapshot-status true "etcd's hash ${s_hash} and revision ${s_revision} $([[ $source == etcd-manager ]] && echo 'read from the unpacked backup' || echo 'match the manifest') (${tool} ${tool_version}${s_version:+, storage version ${s_version}})" "$status_ms"
fi

restore_what="${tool} ${tool_version} snapshot restore$( ((bump == 0)) || printf ' --bump-revision=%s --mark-compacted' "$bump")"
if ((restore_status != 0)); then
  cat "$work_dir/restore.log" >&2
  record_check restore false "${restore_what} failed: $(last_line "$work_dir/restore.log")" "$restore_ms"
else
  record_check restore true "${restore_what} in $(ms_to_seconds "$restore_ms") s" "$restore_ms"
fi
# the three ran side by side; etcd starts only on a snapshot that passed all of them
[[ $source == etcd-manager ]] || check_sha256
for name in "$integrity_check" snapshot-status restore; do
  [[ ${check_ok[$name]} == true ]] || finish
done

# --- etcd healthy ------------------------------------------------------------------------------
etcdctl_local() {
  local timeout=$1
  shift
  etcdctl --endpoints="$client_url" --dial-timeout=2s --command-timeout="$timeout" "$@"
}

log "starting ${etcd_bin} on ${client_url} (peer ${peer_url}); waiting up to ${health_timeout} s for endpoint health"
now_ms
start_ms=$NOW_MS
# a member alone on loopback: the short election timeout only makes it elect itself sooner
"$etcd_bin" --name="$member_name" --data-dir="$data_dir" \
  --listen-client-urls="$client_url" --advertise-client-urls="$client_url" \
  --listen-peer-urls="$peer_url" --initial-advertise-peer-urls="$peer_url" \
  --initial-cluster="${member_name}=${peer_url}" \
  --quota-backend-bytes=8589934592 --max-txn-ops=10240 --logger=zap --log-level=warn \
  --heartbeat-interval=10 --election-timeout=100 \
  </dev/null >"$work_dir/etcd.log" 2>&1 &
etcd_pid=$!
deadline_ms=$((start_ms + health_timeout * 1000))
healthy=false
exited=false
: >"$work_dir/health"
while :; do
  if ! kill -0 "$etcd_pid" 2>/dev/null; then
    exited=true
    break
  fi
  # etcdctl only once the port is open: a refused gRPC dial backs off for a second
  if (exec 3<>"/dev/tcp/127.0.0.1/${client_port}") 2>/dev/null &&
    etcdctl_local 2s endpoint health >"$work_dir/health" 2>&1; then
    healthy=true
    break
  fi
  now_ms
  ((NOW_MS < deadline_ms)) || break
  sleep 0.05
done
if [[ $healthy != true ]]; then
  cat "$work_dir/etcd.log" >&2
  if [[ $exited == true ]]; then
    status=0
    wait "$etcd_pid" 2>/dev/null || status=$?
    etcd_pid=''
    record_check etcd-healthy false "etcd exited (status ${status}) before it became healthy: $(last_line "$work_dir/etcd.log")"
  else
    why=$(last_line "$work_dir/health")
    [[ -s $work_dir/health ]] || why="nothing accepted a connection on 127.0.0.1:${client_port}"
    record_check etcd-healthy false "etcd (pid ${etcd_pid}) was not healthy on ${client_url} within ${health_timeout} s: ${why}"
  fi
  finish
fi
now_ms
healthy_ms=$NOW_MS
restore_seconds=$(ms_to_seconds $((restore_ms + healthy_ms - start_ms)))
record_check etcd-healthy true "healthy on ${client_url} $(ms_to_seconds $((healthy_ms - start_ms))) s after start; restore + start ${restore_seconds} s"

# --- revision, Kubernetes data, key counts: one read-only transaction -----------------------------
# every count at one revision, in one etcdctl call: the total, the keys under the prefix, the two
# namespaces every Kubernetes cluster has, and per manifest resource the key <prefix>/<resource>
# and the keys under <prefix>/<resource>/ (what the backup counts: the second path segment).
# etcd counts server-side (--count-only; on 3.4 one key and the total count): nothing is listed.
resources=()
while IFS= read -r resource; do
  [[ -n $resource ]] && resources+=("$resource")
done < <(printf '%s\n' "${!want[@]}" | LC_ALL=C sort)
{
  printf '\n'
  printf 'get "" --from-key %s\n' "${count_flags[*]}"
  printf 'get "%s/" --prefix %s\n' "$etcd_prefix" "${count_flags[*]}"
  if [[ $series == events ]]; then
    # kops' events etcd holds only <prefix>/events/...: that is what makes it this cluster's
    printf 'get "%s/events/" --prefix %s\n' "$etcd_prefix" "${count_flags[*]}"
    printf 'get "%s/namespaces/" --prefix %s\n' "$etcd_prefix" "${count_flags[*]}"
  else
    printf 'get "%s/namespaces/default" %s\n' "$etcd_prefix" "${count_flags[*]}"
    printf 'get "%s/namespaces/kube-system" %s\n' "$etcd_prefix" "${count_flags[*]}"
  fi
  for resource in "${resources[@]}"; do
    printf 'get "%s/%s" %s\n' "$etcd_prefix" "$resource" "${count_flags[*]}"
    printf 'get "%s/%s/" --prefix %s\n' "$etcd_prefix" "$resource" "${count_flags[*]}"
  done
  printf '\n\n'
} >"$work_dir/counts.txn"
ops=$((4 + 2 * ${#resources[@]}))
counts=()
r_revision=''
if etcdctl_local 120s txn -w fields <"$work_dir/counts.txn" >"$work_dir/counts" 2>"$work_dir/counts.err"; then
  while IFS= read -r line; do
    case $line in
      '"Revision" : '*) [[ -n $r_revision ]] || r_revision=${line#\"Revision\" : } ;;
      '"Count" : '*) counts+=("${line#\"Count\" : }") ;;
    esac
  done <"$work_dir/counts"
fi
if [[ ! $r_revision =~ ^[0-9]+$ ]] || ((${#counts[@]} != ops)); then
  error=$(first_error "$work_dir/counts.err")
  [[ -s $work_dir/counts.err ]] || error="${#counts[@]} counts for ${ops} reads"
  for name in revision kubernetes-data key-counts; do
    record_check "$name" false "reading the restored etcd (one transaction of ${ops} counts) failed: ${error}"
  done
  finish
fi
r_total_keys=${counts[0]}
r_prefix_keys=${counts[1]}
revision_out=$r_revision
total_keys_out=$r_total_keys

# --- revision ----------------------------------------------------------------------------------
want_revision=$((m_revision + bump))
if ((bump == 0)); then
  if ((r_revision == want_revision)); then
    record_check revision true "restored revision ${r_revision} equals the manifest's"
  else
    record_check revision false "restored revision ${r_revision}, the manifest says ${m_revision}"
  fi
elif ((r_revision == want_revision)); then
  record_check revision true "restored revision ${r_revision} = ${m_revision} in the manifest + ${bump} (--bump-revision)"
else
  record_check revision false "restored revision ${r_revision}, expected ${want_revision} = ${m_revision} in the manifest + ${bump} (--bump-revision)"
fi

# --- Kubernetes data ---------------------------------------------------------------------------
# a snapshot of the wrong etcd (an events etcd, a Cilium kvstore, an empty member) restores and
# counts fine: it is no cluster backup
missing_ns=()
if [[ $series == events ]]; then
  # kops' events etcd holds only <prefix>/events/...: that is what makes it this cluster's; the
  # API server's main etcd (namespaces) passed as the events series is not
  if ((counts[3] > 0)); then
    record_check kubernetes-data false "${counts[3]} keys under ${etcd_prefix}/namespaces/ in the restored etcd: this is the API server's main etcd, not the events etcd the ${series} series must hold"
  elif ((counts[2] > 0)); then
    record_check kubernetes-data true "${counts[2]} keys under ${etcd_prefix}/events/ and none under ${etcd_prefix}/namespaces/: an events etcd's backup"
  else
    record_check kubernetes-data false "no key under ${etcd_prefix}/events/ in the restored etcd (${r_total_keys} keys, ${counts[3]} under ${etcd_prefix}/namespaces/): this is no events etcd's backup"
  fi
else
  ((counts[2] > 0)) || missing_ns+=("${etcd_prefix}/namespaces/default")
  ((counts[3] > 0)) || missing_ns+=("${etcd_prefix}/namespaces/kube-system")
  if ((${#missing_ns[@]} > 0)); then
    record_check kubernetes-data false "no ${missing_ns[0]}${missing_ns[1]:+ and no ${missing_ns[1]}} key in the restored etcd (${r_total_keys} keys, ${r_prefix_keys} under ${etcd_prefix}/): this snapshot holds no Kubernetes cluster, it came from the wrong etcd (an events etcd, a Cilium kvstore, an empty member?)"
  else
    record_check kubernetes-data true "${etcd_prefix}/namespaces/default and ${etcd_prefix}/namespaces/kube-system are there"
  fi
fi

# --- key counts ----------------------------------------------------------------------------------
if [[ $source == etcd-manager ]]; then
  # etcd-manager records no counts to compare with: say what the restore holds
  record_check key-counts null "etcd-manager records no key counts to compare: ${r_total_keys} keys restored, ${r_prefix_keys} under ${etcd_prefix}/"
else
  diffs=()
  listed=0
  i=4
  for resource in "${resources[@]}"; do
    have[$resource]=$((counts[i] + counts[i + 1]))
    i=$((i + 2))
    listed=$((listed + have[$resource]))
    w=${want[$resource]}
    h=${have[$resource]}
    ((w == h)) || diffs+=("${resource}: ${w} in manifest, ${h} restored")
  done
  if ((r_total_keys != m_total_keys)); then
    diffs=("total: ${m_total_keys} in manifest, ${r_total_keys} restored" "${diffs[@]}")
  fi
  if ((r_prefix_keys > listed)); then
    # only on this failure path: list the keys to name what the manifest left out
    unlisted=''
    if etcdctl_local 300s get "${etcd_prefix}/" --prefix --keys-only >"$work_dir/keys" 2>/dev/null; then
      while read -r count resource; do
        [[ -n $resource && -z ${want[$resource]+x} ]] || continue
        unlisted+="${unlisted:+, }${resource} ${count}"
      done < <(grep -F "${etcd_prefix}/" "$work_dir/keys" | cut -d/ -f"$(($(tr -cd / <<<"$etcd_prefix" | wc -c) + 2))" | LC_ALL=C sort | uniq -c)
    fi
    diffs+=("$((r_prefix_keys - listed)) keys under ${etcd_prefix}/ in resources the manifest does not list${unlisted:+ (${unlisted:0:300})}")
  fi
  if ((${#diffs[@]} > 0)); then
    detail=''
    for d in "${diffs[@]}"; do detail+="${detail:+; }${d}"; done
    record_check key-counts false "$detail"
  else
    record_check key-counts true "${r_total_keys} keys in total and ${#resources[@]} ${etcd_prefix} resources match the manifest (counted by etcd at revision ${r_revision})"
  fi
fi

# --- kube-apiserver (optional) -----------------------------------------------------------------
# the API server reads the restored etcd: proves the objects decode, not just that the keys exist.
# it listens on 127.0.0.1:<PeerPort+1> (PeerPort-1 when PeerPort is 65535).
apiserver_check() {
  local missing_tool tool
  for tool in kube-apiserver kubectl openssl; do
    command -v "$tool" >/dev/null || missing_tool+="${missing_tool:+, }${tool}"
  done
  if [[ -n ${missing_tool:-} ]]; then
    record_check kube-apiserver null "${missing_tool} not on PATH"
    return 0
  fi
  local api_port=$((peer_port < 65535 ? peer_port + 1 : peer_port - 1))
  local api_dir="$work_dir/kube-apiserver"
  mkdir -p "$api_dir/certs"
  if ! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$api_dir/sa.key" 2>"$api_dir/openssl.err" ||
    ! openssl pkey -in "$api_dir/sa.key" -pubout -out "$api_dir/sa.pub" 2>>"$api_dir/openssl.err"; then
    record_check kube-apiserver false "cannot make a service-account key: $(first_error "$api_dir/openssl.err")"
    return 0
  fi
  # a one-off token: kube-apiserver refuses anonymous requests under the AlwaysAllow authorizer
  local token
  token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s,caretaker-restore-verify,caretaker-restore-verify,"system:masters"\n' "$token" >"$api_dir/tokens.csv"
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: restored\n  cluster:\n    server: https://127.0.0.1:%s\n    insecure-skip-tls-verify: true\ncontexts:\n- name: restored\n  context:\n    cluster: restored\n    user: caretaker\nusers:\n- name: caretaker\n  user:\n    token: %s\ncurrent-context: restored\n' \
    "$api_port" "$token" >"$api_dir/kubeconfig"
  log "starting kube-apiserver on 127.0.0.1:${api_port} against ${client_url} (prefix ${etcd_prefix})"
  kube-apiserver --etcd-servers="$client_url" --etcd-prefix="$etcd_prefix" --bind-address=127.0.0.1 \
    --secure-port="$api_port" \
    --cert-dir="$api_dir/certs" --service-account-key-file="$api_dir/sa.pub" \
    --service-account-signing-key-file="$api_dir/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.96.0.0/12 --authorization-mode=AlwaysAllow --anonymous-auth=false \
    --token-auth-file="$api_dir/tokens.csv" \
    </dev/null >"$api_dir/kube-apiserver.log" 2>&1 &
  apiserver_pid=$!
  now_ms
  local api_deadline_ms=$((NOW_MS + (health_timeout > 90 ? health_timeout : 90) * 1000)) ready=false
  kubectl_local() { KUBECONFIG="$api_dir/kubeconfig" kubectl --request-timeout=10s "$@"; }
  while kill -0 "$apiserver_pid" 2>/dev/null && now_ms && ((NOW_MS < api_deadline_ms)); do
    if kubectl_local get --raw /readyz >"$api_dir/readyz" 2>&1; then
      ready=true
      break
    fi
    sleep 1
  done
  if [[ $ready != true ]]; then
    cat "$api_dir/kube-apiserver.log" >&2
    if ! kill -0 "$apiserver_pid" 2>/dev/null; then
      local status=0 why
      wait "$apiserver_pid" 2>/dev/null || status=$?
      apiserver_pid=''
      # a snapshot whose objects do not decode ends here: its last log line says which key
      why=$(grep -m 1 -o 'StorageError: corrupt object.*' "$api_dir/kube-apiserver.log") ||
        why=$(last_line "$api_dir/kube-apiserver.log")
      record_check kube-apiserver false "kube-apiserver exited (status ${status}) before it was ready: ${why:0:400}"
    else
      record_check kube-apiserver false "kube-apiserver on 127.0.0.1:${api_port} never answered /readyz: $(last_line "$api_dir/readyz")"
    fi
    return 0
  fi
  # resources whose storage key is <prefix>/<resource>/ and that kube-apiserver itself does
  # not create on start (it adds namespaces, configmaps, leases, RBAC and priority classes)
  local checked=() mismatched=() resource path want_n out items remaining got re
  for resource in pods secrets deployments statefulsets daemonsets; do
    [[ -n ${want[$resource]:-} ]] || continue
    case $resource in
      pods | secrets) path="/api/v1/${resource}" ;;
      *) path="/apis/apps/v1/${resource}" ;;
    esac
    want_n=${want[$resource]}
    if ! out=$(kubectl_local get --raw "${path}?limit=1" 2>&1); then
      mismatched+=("${resource}: kubectl get --raw ${path} failed: ${out:0:200}")
      continue
    fi
    out=$(tr -d '\n' <<<"$out")
    re='"remainingItemCount"[[:space:]]*:[[:space:]]*([0-9]+)'
    remaining=0
    [[ $out =~ $re ]] && remaining=${BASH_REMATCH[1]}
    items=1
    re='"items"[[:space:]]*:[[:space:]]*(\[[[:space:]]*\]|null)'
    [[ $out =~ $re ]] && items=0
    re='"items"'
    [[ $out =~ $re ]] || items=0
    got=$((remaining + items))
    if ((got == want_n)); then
      checked+=("${resource} ${got}")
    else
      mismatched+=("${resource}: ${want_n} in manifest, ${got} served by kube-apiserver")
    fi
  done
  if ((${#mismatched[@]} > 0)); then
    local detail='' d
    for d in "${mismatched[@]}"; do detail+="${detail:+; }${d}"; done
    record_check kube-apiserver false "$detail"
  elif ((${#checked[@]} == 0)); then
    record_check kube-apiserver true "/readyz ok; none of pods, secrets, deployments, statefulsets, daemonsets in the manifest to count"
  else
    local joined='' c
    for c in "${checked[@]}"; do joined+="${joined:+, }${c}"; done
    record_check kube-apiserver true "/readyz ok; served object counts match the manifest: ${joined}"
  fi
}
if [[ $series == events ]]; then
  record_check kube-apiserver null "an events etcd holds no cluster for kube-apiserver to serve"
else
  apiserver_check
fi

report
