#!/bin/bash
# shellcheck shell=bash
# The reboot decision and the reboot itself, shared by os-patch and os-patch-baseline. Inlined
# like lib/common.sh, after it. CARETAKER_NODE_ROOT (the sandbox's machines only) is the node's
# "/"; CARETAKER_BOOT_ID_FILE (the sandbox only) is where its boot id is.
#
# A reboot is SSM's: the script records its state and exits 194; the agent reboots the node and
# runs the script again, which finds the state, sees a new boot id and reports.

node_root=${CARETAKER_NODE_ROOT:-}
boot_id_file=${CARETAKER_BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}
patch_state="${node_root}/var/lib/caretaker/${CARETAKER_SCRIPT}.state"
# the SSM agent's exit code for "reboot, then run me again"
EXIT_REBOOT=194

current_boot_id() {
  local id
  id=$(<"$boot_id_file") || die "cannot read the boot id from ${boot_id_file}"
  printf '%s' "${id//[[:space:]]/}"
}

# reboot_required_by <manager>: 0 when the node says it must reboot for what was installed
reboot_required_by() {
  local rc=0
  case $1 in
    apt) [[ -e "${node_root}/var/run/reboot-required" ]] ;;
    dnf | yum)
      if command -v needs-restarting >/dev/null; then
        needs-restarting -r >&2 || rc=$?
      else
        dnf needs-restarting -r >&2 || rc=$?
      fi
      # 1: a reboot is needed; anything but 0 and 1 is an error, and a reboot is the safe side
      ((rc == 0)) && return 1
      ((rc == 1)) || log "needs-restarting -r failed (exit ${rc}): rebooting to be safe"
      return 0
      ;;
    zypper)
      zypper --non-interactive needs-rebooting >&2 || rc=$?
      # 102: ZYPPER_EXIT_INF_REBOOT_NEEDED
      ((rc == 102)) && return 0
      ((rc == 0)) && return 1
      log "zypper needs-rebooting failed (exit ${rc}): rebooting to be safe"
      return 0
      ;;
    *)
      # patch-baseline: the distribution's own signals say what its install left pending
      [[ -e "${node_root}/var/run/reboot-required" ]] && return 0
      if command -v needs-restarting >/dev/null; then
        needs-restarting -r >&2 || rc=$?
        ((rc == 1)) && return 0
      elif command -v zypper >/dev/null; then
        zypper --non-interactive needs-rebooting >&2 || rc=$?
        ((rc == 102)) && return 0
      fi
      return 1
      ;;
  esac
}

# print_patch_result <manager> <packages> <changed json> <reboot required> <rebooted> <boot before> <boot after>
print_patch_result() {
  printf 'CARETAKER_RESULT {"manager":%s,"packages":%s,"changed":%s,"rebootRequired":%s,"rebooted":%s,"bootIdBefore":%s,"bootIdAfter":%s}\n' \
    "$(json_str "$1")" "$2" "$3" "$4" "$5" "$(json_str "$6")" "$(json_str "$7")"
}

# resume_after_reboot <max age seconds>: when an earlier run of this command asked for a reboot
# (its state is there and the boot id changed), print its result and exit 0. a state older than
# the budget, or from this same boot, is an abandoned run's: removed, and the patch runs afresh
resume_after_reboot() {
  local max_age=$1 k v manager='' packages=0 changed='[]' required=false boot_before='' started=0 now
  [[ -f $patch_state ]] || return 0
  while IFS='=' read -r k v; do
    case $k in
      manager) manager=$v ;;
      packages) packages=$v ;;
      changed) changed=$v ;;
      rebootRequired) required=$v ;;
      bootIdBefore) boot_before=$v ;;
      started) started=$v ;;
    esac
  done <"$patch_state"
  rm -f -- "$patch_state"
  now=$(date +%s)
  if [[ -n $boot_before && $boot_before != "$(current_boot_id)" && $((now - started)) -le $max_age ]]; then
    log "back after the reboot (boot id ${boot_before} -> $(current_boot_id))"
    print_patch_result "$manager" "$packages" "$changed" "$required" true "$boot_before" "$(current_boot_id)"
    exit 0
  fi
  log "removing the state of an earlier run that never came back from its reboot"
}

# reboot_and_resume <manager> <packages> <changed json> <reboot required>: records the state and
# exits 194
reboot_and_resume() {
  mkdir -p -- "$(dirname "$patch_state")"
  printf 'manager=%s\npackages=%s\nchanged=%s\nrebootRequired=%s\nbootIdBefore=%s\nstarted=%s\n' \
    "$1" "$2" "$3" "$4" "$(current_boot_id)" "$(date +%s)" >"${patch_state}.new"
  mv -f -- "${patch_state}.new" "$patch_state"
  log "rebooting (exit ${EXIT_REBOOT}: the SSM agent reboots the node and runs this again)"
  exit "$EXIT_REBOOT"
}
