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

# what a complete build of a component holds: name=package for each binary, go-built; and
# kwok-stages.yaml=stages, KWOK's default stages (node-initialize, node-heartbeat-with-lease,
# pod-ready, pod-complete, pod-delete), which kwokctl writes into its config and the bare kwok
# binary needs given with --config
targets_of() {
  case "$1" in
    etcd-*) echo etcd=./cmd/etcd etcdctl=go.etcd.io/etcd/etcdctl/v3 etcdutl=go.etcd.io/etcd/etcdutl/v3 ;;
    kubernetes) echo kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
      kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
      kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler kubectl=k8s.io/kubernetes/cmd/kubectl ;;
    kwok) echo kwok=sigs.k8s.io/kwok/cmd/kwok kwok-stages.yaml=stages ;;
  esac
}

# what a component's binaries are stamped with beyond '-s -w'; kept in .complete, so a cache built
# with another stamp is rebuilt. Kubernetes: the release, as its own build stamps it (`kubectl
# version`, the API server's /version, version skew checks read it; unstamped it is v0.0.0-master)
stamp_of() {
  case "$1" in
    kubernetes)
      local v pkg flags=''
      v="$(version_of kubernetes)"
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$(cut -d. -f1 <<<"${v#v}") -X $pkg.gitMinor=$(cut -d. -f2 <<<"$v")"
        flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
      done
      printf '%s\n' "${flags# }"
      ;;
  esac
}

# writes KWOK's default stages, from the pinned module's own files, to $1
kwok_stages() {
  local dir stage
  dir="$(cd "$here/kwok" && go mod download -json sigs.k8s.io/kwok | awk -F'"' '$2 == "Dir" { print $4 }')"
  [ -d "$dir/kustomize/stage" ] || { log "no kustomize/stage in sigs.k8s.io/kwok at '$dir'"; return 1; }
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    printf -- '---\n'
    cat "$dir/kustomize/stage/$stage.yaml"
  done >"$1"
}

build_component() {
  local component="$1" bin tmp start target stamp
  bin="$(dir_of "$component")"
  stamp="$(stamp_of "$component")"
  local targets missing=()
  read -r -a targets <<<"$(targets_of "$component")"
  # another stamp: everything is rebuilt (relinked, mostly: Go's build cache has the packages)
  if [ -f "$bin/.complete" ] && [ "$(cat "$bin/.complete")" != "$stamp" ]; then
    log "$bin was built with another stamp: rebuilding it"
    rm -f "$bin/.complete"
  fi
  for target in "${targets[@]}"; do
    [ -f "$bin/.complete" ] && [ -e "$bin/${target%%=*}" ] || missing+=("$target")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || { log "go is not installed: it is needed once, to build $component into $cache"; return 1; }
  mkdir -p "$(dirname "$bin")"
  tmp="$(mktemp -d "$(dirname "$bin")/.build-XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  start=$SECONDS
  # a complete build from before a file was added to the list keeps what it has
  if [ -f "$bin/.complete" ]; then
    cp -p "$bin"/* "$tmp"/
    log "adding ${missing[*]%%=*} to $component $(version_of "$component") in $bin"
  else
    log "building $component $(version_of "$component") into $bin (once per version)"
  fi
  for target in "${missing[@]}"; do
    case "${target#*=}" in
      stages) kwok_stages "$tmp/${target%%=*}" ;;
      *) (cd "$here/$component" && go build -ldflags "-s -w $stamp" -o "$tmp/${target%%=*}" "${target#*=}") ;;
    esac
  done
  chmod 755 "$tmp"
  printf '%s' "$stamp" >"$tmp/.complete"
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
