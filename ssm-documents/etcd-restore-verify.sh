#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# etcd-restore-verify: on a scratch instance, downloads s3://<Bucket>/<Key> and its manifest, checks
# the sha256 and size, restores it into a fresh single-member etcd on 127.0.0.1, waits until it is
# healthy and compares the revision and the key counts per /registry resource with the manifest
# (and, when kube-apiserver is on PATH, what an API server reads from it). prints one
# CARETAKER_RESULT line. runs through the etcd-restore-verify SSM Command document.
# needs: bash, coreutils, etcd, etcdctl (etcdutl used when present), the AWS CLI; optional
# kube-apiserver + kubectl + openssl.
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
require_param Key '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?/etcd/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{8}T[0-9]{6}Z-r[0-9]{1,19}\.db$'
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
if [[ $SSM_Key != "$SSM_Cluster/etcd/"* ]]; then
  die "parameter Key is invalid: ${SSM_Key} is not a snapshot of cluster ${SSM_Cluster} (expected ${SSM_Cluster}/etcd/...)"
fi

cluster=$SSM_Cluster
bucket=$SSM_Bucket
key=$SSM_Key
manifest_key="${key%.db}.json"
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

# --- cleanup: stop what was started (by PID), remove everything written, on every path ----------
work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-etcd-restore-verify.XXXXXX")
etcd_pid=''
apiserver_pid=''

# stop_pid <pid> <name>: SIGTERM, up to 10 s grace, then SIGKILL; reaps the child
stop_pid() {
  local pid=$1 name=$2 i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || {
    wait "$pid" 2>/dev/null || true
    return 0
  }
  log "stopping ${name} (pid ${pid})"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "${name} (pid ${pid}) ignored SIGTERM for 10 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  set +e
  stop_pid "$apiserver_pid" kube-apiserver
  apiserver_pid=''
  stop_pid "$etcd_pid" etcd
  etcd_pid=''
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

# json_number <name> <file>: the first number after "name": (whitespace allowed around the colon)
json_number() {
  local re="\"$1\"[[:space:]]*:[[:space:]]*([0-9]+)" doc
  doc=$(tr -d '\n' <"$2")
  [[ $doc =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

now_ms() { date +%s%3N; }
# seconds with millisecond precision from a millisecond count
ms_to_seconds() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# --- the checks --------------------------------------------------------------------------------
CHECK_NAMES=(download sha256 snapshot-status restore etcd-healthy revision key-counts kube-apiserver)
checks_json=''
failed_check=''
reason=''
declare -A check_done=()
# each check's "ms" is the time since the previous one: where a slow verification spends it
last_check_ms=$(now_ms)
# keyCounts from the manifest and per resource in the restored etcd
declare -A want=() have=()

# record_check <name> <true|false|null> <detail>; the first false one is the verdict; each entry
# carries the milliseconds since the previous check
record_check() {
  local name=$1 ok=$2 detail=$3 now elapsed=0
  now=$(now_ms)
  [[ -n ${check_done[$name]:-} || $detail == "not run: "* ]] || elapsed=$((now - last_check_ms))
  last_check_ms=$now
  checks_json+="${checks_json:+,}{\"name\":$(json_str "$name"),\"ok\":${ok},\"ms\":${elapsed},\"detail\":$(json_str "$detail")}"
  check_done[$name]=1
  case $ok in
    true) log "check ${name}: ok: ${detail}" ;;
    null) log "check ${name}: skipped: ${detail}" ;;
    *)
      log "check ${name}: FAILED: ${detail}"
      if [[ -z $failed_check ]]; then
        failed_check=$name
        reason="${name}: ${detail}"
      fi
      ;;
  esac
}

revision_out='null'
total_keys_out='null'
restore_seconds='null'
etcd_version=''

# prints the result line; finish = report and exit 0 (a verification that failed still ran)
report() {
  local name
  # checks that could not run after a failed gate are listed as skipped
  for name in "${CHECK_NAMES[@]}"; do
    [[ -n ${check_done[$name]:-} ]] || record_check "$name" null "not run: ${failed_check} failed"
  done
  local verified=true
  [[ -z $failed_check ]] || verified=false
  if [[ $verified == true ]]; then
    log "verified s3://${bucket}/${key}: restore + healthy in ${restore_seconds} s"
  else
    log "NOT verified s3://${bucket}/${key}: ${reason}"
  fi
  printf 'CARETAKER_RESULT {"instanceId":%s,"key":%s,"verified":%s,"failedCheck":%s,"reason":%s,"checks":[%s],"revision":%s,"totalKeys":%s,"restoreSeconds":%s,"etcdVersion":%s}\n' \
    "$(json_str "$instance_id")" "$(json_str "$key")" "$verified" "$(json_str "$failed_check")" \
    "$(json_str "$reason")" "$checks_json" "$revision_out" "$total_keys_out" "$restore_seconds" \
    "$(json_str "$etcd_version")"
}
finish() {
  report
  exit 0
}

version_line=$(timeout 10 "$etcd_bin" --version 2>/dev/null | head -n 1) || true
etcd_version=${version_line#etcd Version: }
[[ $etcd_version =~ ^[0-9A-Za-z.+-]+$ ]] || etcd_version=''
log "verifying s3://${bucket}/${key} for cluster ${cluster} (execution ${execution_id}) with etcd ${etcd_version:-unknown version}"

snap_file="$work_dir/snapshot.db"
manifest_file="$work_dir/manifest.json"
data_dir="$work_dir/data"
client_url="http://127.0.0.1:${client_port}"
peer_url="http://127.0.0.1:${peer_port}"
member_name=caretaker-restore-verify

# --- download ----------------------------------------------------------------------------------
download() {
  local what=$1 object=$2 file=$3
  if ! "$aws_cli" s3 cp "s3://${bucket}/${object}" "$file" "${aws_opts[@]}" >&2 2>"$work_dir/s3.err"; then
    cat "$work_dir/s3.err" >&2
    record_check download false "cannot download the ${what} s3://${bucket}/${object}: $(first_error "$work_dir/s3.err")"
    return 1
  fi
}
log "downloading s3://${bucket}/${key} and its manifest"
download snapshot "$key" "$snap_file" || finish
download manifest "$manifest_key" "$manifest_file" || finish

# the manifest is one JSON object (etcd-snapshot.sh writes it on one line); read it without jq.
# drop the nested snapshotStatus object first: it repeats "revision".
manifest=$(tr -d '\n\r' <"$manifest_file")
manifest=$(sed -E 's/"snapshotStatus"[[:space:]]*:[[:space:]]*\{[^}]*\}//' <<<"$manifest")
manifest_field() {
  local re="\"$1\"[[:space:]]*:[[:space:]]*$2"
  [[ $manifest =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}
missing=''
m_sha256=$(manifest_field sha256 '"([^"]*)"') || missing+=' sha256'
m_size=$(manifest_field size '([0-9]+)') || missing+=' size'
m_revision=$(manifest_field revision '([0-9]+)') || missing+=' revision'
m_total_keys=$(manifest_field totalKeys '([0-9]+)') || missing+=' totalKeys'
m_key_counts=$(manifest_field keyCounts '\{([^}]*)\}') || missing+=' keyCounts'
if [[ -n $missing ]]; then
  record_check download false "the manifest s3://${bucket}/${manifest_key} is not a Caretaker snapshot manifest: no${missing// /, }"
  finish
fi
size=$(stat -c %s "$snap_file")
record_check download true "${size} bytes and the manifest from s3://${bucket}"

# --- sha256 + size -----------------------------------------------------------------------------
sha256=$(sha256sum "$snap_file")
sha256=${sha256%% *}
problems=()
[[ $sha256 == "$m_sha256" ]] || problems+=("sha256 of the downloaded snapshot is ${sha256}, the manifest says ${m_sha256}")
((size == 10#$m_size)) || problems+=("size is ${size} bytes, the manifest says ${m_size}")
if ((${#problems[@]} > 0)); then
  detail=${problems[0]}
  ((${#problems[@]} < 2)) || detail+="; ${problems[1]}"
  record_check sha256 false "$detail"
  finish
fi
record_check sha256 true "sha256 ${sha256} and size ${size} bytes match the manifest"

# --- snapshot status ---------------------------------------------------------------------------
key_revision=${key##*-r}
key_revision=$((10#${key_revision%.db}))
if ! ETCDCTL_API=3 etcdctl snapshot status "$snap_file" -w json >"$work_dir/status" 2>"$work_dir/status.err"; then
  cat "$work_dir/status.err" >&2
  record_check snapshot-status false "etcdctl snapshot status failed: $(first_error "$work_dir/status.err")"
  finish
fi
if ! s_revision=$(json_number revision "$work_dir/status"); then
  record_check snapshot-status false "etcdctl snapshot status printed no revision: $(first_error "$work_dir/status")"
  finish
fi
s_total_key=$(json_number totalKey "$work_dir/status") || s_total_key='?'
if ((s_revision != 10#$m_revision)); then
  record_check snapshot-status false "the snapshot is at revision ${s_revision}, the manifest says ${m_revision}"
  finish
fi
if ((s_revision != key_revision)); then
  record_check snapshot-status false "the snapshot is at revision ${s_revision}, its key says r${key_revision}"
  finish
fi
record_check snapshot-status true "revision ${s_revision} as in the manifest, ${s_total_key} keys in the backend (all revisions)"

# --- restore -----------------------------------------------------------------------------------
restore_flags=(--name="$member_name" --data-dir="$data_dir" --initial-cluster="${member_name}=${peer_url}"
  --initial-advertise-peer-urls="$peer_url" --initial-cluster-token=caretaker-restore-verify)
bumped=false
restore_started_ms=$(now_ms)
if command -v etcdutl >/dev/null; then
  # etcd >= 3.5: what a real disaster recovery does. the bump keeps revisions ahead of what
  # clients (watch caches) saw, and marking them compacted makes old watches re-list.
  restore_tool=etcdutl
  bumped=true
  restore_cmd=(etcdutl snapshot restore "$snap_file" "${restore_flags[@]}" --bump-revision=1000000000 --mark-compacted)
else
  # etcd 3.4 has no etcdutl and no --bump-revision: the restored revision equals the snapshot's
  restore_tool=etcdctl
  restore_cmd=(etcdctl snapshot restore "$snap_file" "${restore_flags[@]}")
fi
log "restoring with ${restore_tool} into ${data_dir} (member ${member_name}, ${peer_url})"
if ! ETCDCTL_API=3 "${restore_cmd[@]}" >"$work_dir/restore.log" 2>&1; then
  cat "$work_dir/restore.log" >&2
  record_check restore false "${restore_tool} snapshot restore failed: $(last_line "$work_dir/restore.log")"
  finish
fi
restore_ms=$(($(now_ms) - restore_started_ms))
record_check restore true "${restore_tool} snapshot restore$([[ $bumped == true ]] && printf ' --bump-revision=1000000000 --mark-compacted') in $(ms_to_seconds "$restore_ms") s"

# --- etcd healthy ------------------------------------------------------------------------------
etcdctl_local() {
  local timeout=$1
  shift
  ETCDCTL_API=3 etcdctl --endpoints="$client_url" --dial-timeout=2s --command-timeout="$timeout" "$@"
}

log "starting ${etcd_bin} on ${client_url} (peer ${peer_url}); waiting up to ${health_timeout} s for endpoint health"
start_ms=$(now_ms)
"$etcd_bin" --name="$member_name" --data-dir="$data_dir" \
  --listen-client-urls="$client_url" --advertise-client-urls="$client_url" \
  --listen-peer-urls="$peer_url" --initial-advertise-peer-urls="$peer_url" \
  --initial-cluster="${member_name}=${peer_url}" \
  --quota-backend-bytes=8589934592 --logger=zap --log-level=warn \
  </dev/null >"$work_dir/etcd.log" 2>&1 &
etcd_pid=$!
deadline_ms=$((start_ms + health_timeout * 1000))
healthy=false
exited=false
while :; do
  if ! kill -0 "$etcd_pid" 2>/dev/null; then
    exited=true
    break
  fi
  if etcdctl_local 2s endpoint health >"$work_dir/health" 2>&1; then
    healthy=true
    break
  fi
  (($(now_ms) < deadline_ms)) || break
  sleep 0.2
done
if [[ $healthy != true ]]; then
  cat "$work_dir/etcd.log" >&2
  if [[ $exited == true ]]; then
    status=0
    wait "$etcd_pid" 2>/dev/null || status=$?
    etcd_pid=''
    record_check etcd-healthy false "etcd exited (status ${status}) before it became healthy: $(last_line "$work_dir/etcd.log")"
  else
    record_check etcd-healthy false "etcd (pid ${etcd_pid}) was not healthy on ${client_url} within ${health_timeout} s: $(last_line "$work_dir/health")"
  fi
  finish
fi
healthy_ms=$(now_ms)
restore_seconds=$(ms_to_seconds $((restore_ms + healthy_ms - start_ms)))
record_check etcd-healthy true "healthy on ${client_url} $(ms_to_seconds $((healthy_ms - start_ms))) s after start; restore + start ${restore_seconds} s"

# --- revision ----------------------------------------------------------------------------------
if ! etcdctl_local 10s get "" --from-key --keys-only -w json --limit=1 >"$work_dir/count" 2>"$work_dir/count.err"; then
  record_check revision false "reading the restored revision failed: $(first_error "$work_dir/count.err")"
  record_check key-counts false "counting the restored keys failed: $(first_error "$work_dir/count.err")"
else
  r_revision=$(json_number revision "$work_dir/count") || r_revision=0
  r_total_keys=$(json_number count "$work_dir/count") || r_total_keys=0 # an empty keyspace omits count
  revision_out=$r_revision
  total_keys_out=$r_total_keys
  if [[ $bumped == true ]]; then
    if ((r_revision >= 10#$m_revision)); then
      record_check revision true "restored revision ${r_revision} >= ${m_revision} in the manifest (restored with --bump-revision, so it is expected to be higher)"
    else
      record_check revision false "restored revision ${r_revision} is below ${m_revision} in the manifest (restored with --bump-revision)"
    fi
  elif ((r_revision == 10#$m_revision)); then
    record_check revision true "restored revision ${r_revision} equals the manifest's"
  else
    record_check revision false "restored revision ${r_revision}, the manifest says ${m_revision}"
  fi

  # --- key counts ------------------------------------------------------------------------------
  pair_re='^[[:space:]]*"([^"]*)"[[:space:]]*:[[:space:]]*([0-9]+)[[:space:]]*(,(.*))?$'
  rest=$m_key_counts
  while [[ $rest =~ $pair_re ]]; do
    want[${BASH_REMATCH[1]}]=$((10#${BASH_REMATCH[2]}))
    rest=${BASH_REMATCH[4]}
  done
  if [[ -n ${rest//[[:space:]]/} ]]; then
    record_check key-counts false "the manifest's keyCounts could not be read near: ${rest:0:80}"
  elif ! etcdctl_local 300s get /registry/ --prefix --keys-only >"$work_dir/keys" 2>"$work_dir/keys.err"; then
    record_check key-counts false "listing the restored /registry keys failed: $(first_error "$work_dir/keys.err")"
  else
    # keys-only prints each key followed by a blank line; the resource is the second path segment
    while read -r count resource; do
      [[ -n $resource ]] || continue
      have[$resource]=$count
    done < <(cut -d/ -f3 "$work_dir/keys" | LC_ALL=C sort | uniq -c)
    diffs=()
    if ((r_total_keys != 10#$m_total_keys)); then
      diffs+=("total: ${m_total_keys} in manifest, ${r_total_keys} restored")
    fi
    while IFS= read -r resource; do
      [[ -n $resource ]] || continue
      w=${want[$resource]:-0}
      h=${have[$resource]:-0}
      ((w == h)) || diffs+=("${resource}: ${w} in manifest, ${h} restored")
    done < <(printf '%s\n' "${!want[@]}" "${!have[@]}" | LC_ALL=C sort -u)
    if ((${#diffs[@]} > 0)); then
      detail=''
      for d in "${diffs[@]}"; do detail+="${detail:+; }${d}"; done
      record_check key-counts false "$detail"
    else
      record_check key-counts true "${r_total_keys} keys in total and ${#have[@]} /registry resources match the manifest"
    fi
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
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: restored\n  cluster:\n    server: https://127.0.0.1:%s\n    insecure-skip-tls-verify: true\ncontexts:\n- name: restored\n  context:\n    cluster: restored\n    user: anonymous\nusers:\n- name: anonymous\n  user: {}\ncurrent-context: restored\n' \
    "$api_port" >"$api_dir/kubeconfig"
  log "starting kube-apiserver on 127.0.0.1:${api_port} against ${client_url}"
  kube-apiserver --etcd-servers="$client_url" --bind-address=127.0.0.1 --secure-port="$api_port" \
    --cert-dir="$api_dir/certs" --service-account-key-file="$api_dir/sa.pub" \
    --service-account-signing-key-file="$api_dir/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.96.0.0/12 --authorization-mode=AlwaysAllow --anonymous-auth=true \
    </dev/null >"$api_dir/kube-apiserver.log" 2>&1 &
  apiserver_pid=$!
  local api_deadline_ms=$(($(now_ms) + (health_timeout > 90 ? health_timeout : 90) * 1000)) ready=false
  kubectl_local() { KUBECONFIG="$api_dir/kubeconfig" kubectl --request-timeout=10s "$@"; }
  while kill -0 "$apiserver_pid" 2>/dev/null && (($(now_ms) < api_deadline_ms)); do
    if kubectl_local get --raw /readyz >"$api_dir/readyz" 2>&1; then
      ready=true
      break
    fi
    sleep 1
  done
  if [[ $ready != true ]]; then
    cat "$api_dir/kube-apiserver.log" >&2
    record_check kube-apiserver false "kube-apiserver on 127.0.0.1:${api_port} never answered /readyz: $(last_line "$api_dir/readyz")"
    return 0
  fi
  # resources whose storage key is /registry/<resource>/ and that kube-apiserver itself does
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
apiserver_check

report
