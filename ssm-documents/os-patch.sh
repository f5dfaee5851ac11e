#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# os-patch: installs this node's pending updates (security only or all) with its own package
# manager, non-interactively, then reboots when policy and the node say so (exit 194: SSM
# reboots and runs this again, and that run reports). prints one CARETAKER_RESULT line; a failed
# install exits non-zero with the package manager's reason. runs through the os-patch SSM
# Command document. needs: bash, coreutils, one of apt-get, dnf, yum, zypper (and for the RHEL
# family needs-restarting or dnf's needs-restarting plugin).

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 022
CARETAKER_SCRIPT='os-patch'
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline
# shellcheck source-path=SCRIPTDIR source=lib/time-budget.sh
. "$(dirname "$0")/lib/time-budget.sh" # caretaker:inline
# the document's timeoutSeconds (os-patch.yaml)
start_time_budget 3600

require_param Scope '^(security|all)$'
require_param Reboot '^(if-required|always|never)$'

# current_boot_id, reboot_required_by, resume_after_reboot, reboot_and_resume (see lib/reboot-check.sh)
# shellcheck source-path=SCRIPTDIR source=lib/reboot-check.sh
. "$(dirname "$0")/lib/reboot-check.sh" # caretaker:inline

scope=$SSM_Scope
policy=$SSM_Reboot
# at most this many package names in the result (CHANGED_PACKAGES_CAP in os-patch.ts)
list_cap=50

# the second run, after the reboot this command asked for: report and stop
resume_after_reboot 4200

work_dir=$(mktemp -d "${CARETAKER_WORK_DIR:-/var/tmp}/caretaker-os-patch.XXXXXX")
cleanup() {
  stop_bounded
  rm -rf -- "$work_dir"
}
trap cleanup EXIT
trap 'log "stopped by a signal"; exit 143' TERM INT HUP

# --- which package manager: the distribution says (/etc/os-release), not whatever is on PATH ----
os_release="${node_root}/etc/os-release"
[[ -r $os_release ]] || die "cannot read ${os_release}: which distribution is this?"
# shellcheck source=/dev/null # the node's own os-release
os_id=$(. "$os_release" && printf '%s %s' "${ID:-}" "${ID_LIKE:-}")
case " $os_id " in
  *" debian "* | *" ubuntu "*) manager=apt ;;
  *" rhel "* | *" fedora "* | *" centos "* | *" amzn "* | *" rocky "* | *" almalinux "*)
    if command -v dnf >/dev/null; then manager=dnf; else manager=yum; fi
    ;;
  *" suse "* | *" sles "* | *" opensuse "* | *opensuse-*) manager=zypper ;;
  *) die "no supported package manager for this distribution (${os_id}): apt, dnf, yum and zypper are" ;;
esac
command -v "$([[ $manager == apt ]] && echo apt-get || echo "$manager")" >/dev/null ||
  die "the distribution (${os_id}) uses ${manager}, which is not on PATH"
log "distribution ${os_id}: ${manager}, ${scope} updates, reboot ${policy}"

# run_pm <what> <command...>: the package manager, bounded; dies with its last error line. exit
# codes in ok_codes (zypper's informational 100-106) are not failures; the last one is in pm_rc
ok_codes=' 0 '
pm_rc=0
run_pm() {
  local what=$1 reason
  shift
  pm_rc=0
  bounded "$@" >"$work_dir/pm.out" 2>&1 || pm_rc=$?
  cat "$work_dir/pm.out" >&2
  [[ $ok_codes == *" ${pm_rc} "* ]] && return 0
  reason=$(grep -E '^(E:|Error|error|Problem)' "$work_dir/pm.out" | tail -n 1 || true)
  die "${what} failed (${manager}, exit ${pm_rc}): ${reason:-$(tail -n 1 "$work_dir/pm.out")}; the node may be partly patched"
}

# apt waits this long for a dpkg lock another process (unattended-upgrades) holds
apt_lock=(-o DPkg::Lock::Timeout=300)

# --- what is pending ----------------------------------------------------------------------------
pending=()
case $manager in
  apt)
    export DEBIAN_FRONTEND=noninteractive
    run_pm 'apt-get update' apt-get "${apt_lock[@]}" update -q
    bounded apt-get "${apt_lock[@]}" -s -q dist-upgrade >"$work_dir/sim" 2>"$work_dir/sim.err" ||
      die "apt-get -s dist-upgrade failed: $(first_error "$work_dir/sim.err")"
    # Inst <name> [<old>] (<new> <origin> [<arch>]); security updates come from *-security
    while read -r verb name rest; do
      [[ $verb == Inst ]] || continue
      [[ $scope == all || $rest == *-security* ]] && pending+=("$name")
    done <"$work_dir/sim"
    ;;
  dnf | yum)
    rc=0
    security=()
    [[ $scope == security ]] && security=(--security)
    bounded "$manager" -q check-update "${security[@]}" >"$work_dir/check" 2>"$work_dir/check.err" || rc=$?
    # 100: updates are available, 0: none
    ((rc == 0 || rc == 100)) || die "${manager} check-update failed (exit ${rc}): $(first_error "$work_dir/check.err")"
    while read -r name _ _; do
      [[ -n $name && $name != Obsoleting* && $name == *.* ]] || continue
      pending+=("${name%.*}")
    done <"$work_dir/check"
    ;;
  zypper)
    if [[ $scope == security ]]; then
      rc=0
      bounded zypper --non-interactive --quiet list-patches --category security >"$work_dir/check" 2>"$work_dir/check.err" || rc=$?
      # 100 and 101: patches (security patches) are needed
      ((rc == 0 || rc == 100 || rc == 101)) || die "zypper list-patches failed (exit ${rc}): $(first_error "$work_dir/check.err")"
      # Repository | Name | Category | Severity | Interactive | Status | Summary
      while IFS='|' read -r _ name category _; do
        name=${name//[[:space:]]/}
        [[ ${category//[[:space:]]/} == security && -n $name ]] && pending+=("$name")
      done <"$work_dir/check"
    else
      bounded zypper --non-interactive --quiet list-updates >"$work_dir/check" 2>"$work_dir/check.err" ||
        die "zypper list-updates failed: $(first_error "$work_dir/check.err")"
      # S | Repository | Name | Current Version | Available Version | Arch
      while IFS='|' read -r status _ name _; do
        [[ ${status//[[:space:]]/} == v ]] && pending+=("${name//[[:space:]]/}")
      done <"$work_dir/check"
    fi
    ;;
esac
log "${#pending[@]} ${scope} updates pending${pending[*]:+: ${pending[*]}}"

# --- install ------------------------------------------------------------------------------------
if ((${#pending[@]} > 0)); then
  case $manager in
    apt)
      dpkg_opts=(-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
      if [[ $scope == all ]]; then
        run_pm 'apt-get dist-upgrade' apt-get "${apt_lock[@]}" -y -q "${dpkg_opts[@]}" dist-upgrade
      else
        run_pm 'apt-get install --only-upgrade' apt-get "${apt_lock[@]}" -y -q "${dpkg_opts[@]}" install --only-upgrade "${pending[@]}"
      fi
      ;;
    dnf) run_pm 'dnf upgrade' dnf -y -q upgrade "${security[@]}" ;;
    yum) run_pm 'yum update' yum -y -q update "${security[@]}" ;;
    zypper)
      # 100-106 are zypper's informational codes: 102 a reboot is needed, 103 zypper updated
      # itself and must run again to install the rest
      ok_codes=' 0 100 101 102 103 106 '
      for attempt in 1 2 3; do
        if [[ $scope == security ]]; then
          run_pm 'zypper patch' zypper --non-interactive patch --category security
        else
          run_pm 'zypper update' zypper --non-interactive update
        fi
        ((pm_rc == 103)) || break
        log "zypper updated itself (exit 103): running it again (${attempt})"
      done
      if ((pm_rc == 102)); then log "zypper says a reboot is needed (exit 102)"; fi
      ;;
  esac
fi
changed=''
for name in "${pending[@]:0:list_cap}"; do changed+="${changed:+,}$(json_str "$name")"; done
changed="[${changed}]"
packages=${#pending[@]}

# --- reboot -------------------------------------------------------------------------------------
required=false
if reboot_required_by "$manager"; then required=true; fi
if [[ $policy == always || ($policy == if-required && $required == true) ]]; then
  [[ $policy == always ]] && required=true
  reboot_and_resume "$manager" "$packages" "$changed" "$required"
fi
[[ $required == true ]] && log "a reboot is needed, but the policy is never: not rebooting"
boot=$(current_boot_id)
print_patch_result "$manager" "$packages" "$changed" "$required" false "$boot" "$boot"
