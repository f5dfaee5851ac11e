#!/bin/bash
# shellcheck shell=bash
# The etcd cluster's members as the node's own member lists them, for scripts that look past
# their own member (etcd-move-leader, control-plane-check). Inlined after lib/etcd-access.sh.
# Defines dec_to_hex and read_members (sets member_ids, member_names, member_urls).

# dec_to_hex <decimal>: etcd prints member ids in decimal in `-w fields`, takes them in hex; they
# are unsigned 64-bit, past bash's signed arithmetic, so this divides the digit string by 16
dec_to_hex() {
  local n=$1 hex='' q rem cur i
  [[ $n =~ ^[0-9]+$ ]] || return 1
  while [[ $n != 0 ]]; do
    q=''
    rem=0
    for ((i = 0; i < ${#n}; i++)); do
      cur=$((rem * 10 + ${n:i:1}))
      q+=$((cur / 16))
      rem=$((cur % 16))
    done
    n=${q#"${q%%[!0]*}"}
    [[ -n $n ]] || n=0
    hex=$(printf '%x' "$rem")$hex
  done
  printf '%s' "${hex:-0}"
}

member_ids=()
member_names=()
member_urls=()
# read_members <file with `member list -w fields` output>: one entry per member, in order; the
# first client URL of each (a member that never started has none: empty)
read_members() {
  local line value
  member_ids=()
  member_names=()
  member_urls=()
  while IFS= read -r line; do
    value=${line#*\" : }
    value=${value#\"}
    value=${value%\"}
    case $line in
      '"ID" : '*)
        member_ids+=("$value")
        member_names+=('')
        member_urls+=('')
        ;;
      '"Name" : '*) member_names[${#member_ids[@]} - 1]=$value ;;
      '"ClientURL" : '*)
        [[ -n ${member_urls[${#member_ids[@]} - 1]} ]] || member_urls[${#member_ids[@]} - 1]=$value
        ;;
    esac
  done <"$1"
}
