#!/usr/bin/env bash
# Every Debian package the offline-cluster steps need, installed once, first, with one
# apt-get: later steps run in parallel (base-images builds two root file systems at once)
# and two apt-gets at the same time lose the dpkg lock. The other ci/*.sh scripts only
# check that what they need is here, and name this script when it is not.
# Idempotent: apt runs only when a package is missing.
set -euo pipefail
die() { echo "prerequisites: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root"
command -v go >/dev/null || die "go not found on PATH (Go builds kind and Kubernetes)"

PACKAGES=(
  docker.io        # docker-engine: dockerd and Debian's own client, /usr/bin/docker
  jq               # docker-engine: daemon.json; the runc wrapper
  iptables         # docker-engine: the DOCKER-USER rules
  debootstrap      # base-images: the two Debian root file systems
  gcc libc6-dev binutils  # build-k8s: the static pause binary
  ca-certificates  # build-k8s-images: the images' CA bundle
)
installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
((${#missing[@]})) || exit 0
log=/tmp/kubelab-apt.log
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >"$log" 2>&1 || { tail -n 5 "$log" >&2; die "apt-get update failed (log: $log)"; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
  || { tail -n 5 "$log" >&2; die "apt-get install ${missing[*]} failed (log: $log)"; }
echo "prerequisites: installed ${missing[*]}"
