#!/bin/bash
# shellcheck disable=SC2154 # SSM_<Name> variables are set by the SSM agent; require_param checks them
# os-patch-baseline, its second step: AWS-RunPatchBaseline (the first step) installed with
# RebootOption NoReboot; this decides on the reboot by the same rules as os-patch (exit 194: SSM
# reboots and runs this step again, and that run reports) and prints one CARETAKER_RESULT line.
# needs: bash, coreutils (and for the RHEL family needs-restarting).

# the SSM agent runs the script with sh, which is dash on Debian and Ubuntu: re-run it with bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail
umask 022
CARETAKER_SCRIPT='os-patch-baseline'
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$0")/lib/common.sh" # caretaker:inline

require_param Reboot '^(if-required|always|never)$'

# current_boot_id, reboot_required_by, resume_after_reboot, reboot_and_resume (see lib/reboot-check.sh)
# shellcheck source-path=SCRIPTDIR source=lib/reboot-check.sh
. "$(dirname "$0")/lib/reboot-check.sh" # caretaker:inline

policy=$SSM_Reboot
# the second run, after the reboot this step asked for: report and stop
resume_after_reboot 1200

# AWS-RunPatchBaseline reports its packages to Patch Manager (DescribeInstancePatches), not here
required=false
if reboot_required_by patch-baseline; then required=true; fi
if [[ $policy == always || ($policy == if-required && $required == true) ]]; then
  [[ $policy == always ]] && required=true
  reboot_and_resume patch-baseline -1 '[]' "$required"
fi
[[ $required == true ]] && log "a reboot is needed, but the policy is never: not rebooting"
boot=$(current_boot_id)
print_patch_result patch-baseline -1 '[]' "$required" false "$boot" "$boot"
