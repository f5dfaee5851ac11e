#!/usr/bin/env bash
# Builds the real binaries Caretaker's tests and sandbox run (never product code) from the Go
# modules under tools/, into one cache keyed by component and version. What is there is never
# rebuilt, so only the first run on a machine pays for the build.
#
#   tools/build.sh [component ...]   components: etcd-3.5 etcd-3.6 kubernetes kwok (default: all)
#   tools/build.sh --print-dir NAME  the bin directory of NAME (built or not)
#
# Cache: $CARETAKER_TOOLS_CACHE, default ~/.cache/caretaker/tools, one <component>-<version>/bin
# per build; a build goes to a temporary directory and is renamed into place when complete.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${CARETAKER_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caretaker/tools}"
export GOFLAGS="${GOFLAGS:--mod=readonly} -trimpath"
export CGO_ENABLED=0

all=(etcd-3.5 etcd-3.6 kubernetes kwok)

log() { printf 'tools: %s\n' "$*" >&2; }

# the version a component is pinned to: the main module it builds, read from its go.mod
version_of() {
  local component="$1" module
  case "$component" in
    etcd-*) module=go.etcd.io/etcd/server/v3 ;;
    kubernetes) module=k8s.io/kubernetes ;;
    kwok) module=sigs.k8s.io/kwok ;;
    *) log "unknown component '$component' (known: ${all[*]})"; return 2 ;;
  esac
  awk -v m="$module" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' \
    "$here/$component/go.mod"
}

dir_of() {
  local version
  version="$(version_of "$1")"
  [ -n "$version" ] || { log "no version of $1 in $here/$1/go.mod"; return 2; }
  printf '%s/%s-%s/bin\n' "$cache" "$1" "$version"
}

# go build one package per binary: name=package
build_component() {
  local component="$1" bin tmp start
  bin="$(dir_of "$component")"
  if [ -f "$bin/.complete" ]; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || { log "go is not installed: it is needed once, to build $component into $cache"; return 1; }
  mkdir -p "$(dirname "$bin")"
  tmp="$(mktemp -d "$(dirname "$bin")/.build-XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  start=$SECONDS
  log "building $component $(version_of "$component") into $bin (once per version)"
  local targets
  case "$component" in
    etcd-*) targets=(etcd=./cmd/etcd etcdctl=go.etcd.io/etcd/etcdctl/v3 etcdutl=go.etcd.io/etcd/etcdutl/v3) ;;
    kubernetes) targets=(kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager kubectl=k8s.io/kubernetes/cmd/kubectl) ;;
    kwok) targets=(kwok=sigs.k8s.io/kwok/cmd/kwok) ;;
  esac
  local target
  for target in "${targets[@]}"; do
    (cd "$here/$component" && go build -ldflags '-s -w' -o "$tmp/${target%%=*}" "${target#*=}")
  done
  chmod 755 "$tmp"
  touch "$tmp/.complete"
  rm -rf "$bin"
  mv "$tmp" "$bin"
  log "built $component in $((SECONDS - start)) s"
}

if [ "${1:-}" = "--print-dir" ]; then
  dir_of "${2:?component}"
  exit 0
fi
components=("$@")
[ "${#components[@]}" -gt 0 ] || components=("${all[@]}")
for component in "${components[@]}"; do
  build_component "$component"
done
