#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for Caretaker's tests and sandbox:
# npm packages (npm ci); from Debian, etcd 3.4, etcdctl, the AWS CLI v2, shellcheck, openssl; and
# the test binaries built from Go modules into a cache, once per version (tools/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
# the node scripts call /usr/bin/aws explicitly: a v1 `aws` elsewhere on PATH may shadow it
[ -x /usr/bin/aws ] || missing+=(awscli)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# etcd 3.5 and 3.6 and the Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl) and KWOK for the tests and the sandbox: a cold build takes minutes
# (about 11 in all on a quiet 2-core machine, Kubernetes 7.5 of them), later runs find the cache
# and return at once
bash tools/build.sh etcd-3.5 etcd-3.6 kubernetes kwok
