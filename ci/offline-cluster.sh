#!/usr/bin/env bash
# Everything below kind for an offline kubelab cluster, in order, each step skipping
# work that is already cached in $KUBELAB_CACHE (default /var/cache/kubelab):
#   prerequisites  every Debian package the steps need, one apt-get before anything parallel
#   docker-engine  Debian's Docker engine + CAP_SYS_RESOURCE-dropping runc wrapper, running
#   build-kind     kind CLI from the Go module proxy
#   base-images    debian:bookworm-slim and kubelab/node-base:bookworm via debootstrap
#   build-k8s      Kubernetes + add-on binaries from Go modules
#   build-k8s-images  their container images (registry.k8s.io/... tags kubeadm expects)
#   node-image     $OFFLINE_NODE_IMAGE (kubelab/node:<k8s version>) with every image preloaded
# Prints one line per step with its duration. Then:
#   kind create cluster --image "$OFFLINE_NODE_IMAGE" --config <config with failCgroupV1: false>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
export KUBELAB_CACHE="${KUBELAB_CACHE:-/var/cache/kubelab}"

# each step's own output goes to a log, shown when the step fails
logdir="${KUBELAB_LOG_DIR:-/tmp/kubelab-offline-cluster}"
mkdir -p "$logdir"
steps=(prerequisites docker-engine build-kind base-images build-k8s build-k8s-images node-image)
total_start=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
for step in "${steps[@]}"; do
  script="$here/$step.sh"
  [[ -x "$script" ]] || { echo "offline-cluster: $step: $script missing or not executable" >&2; exit 1; }
  start=$EPOCHREALTIME
  log="$logdir/$step.log"
  if ! "$script" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    echo "offline-cluster: $step FAILED after $(elapsed "$start") (full log: $log)" >&2
    exit 1
  fi
  printf 'offline-cluster: %-17s %8s\n' "$step" "$(elapsed "$start")"
done
printf 'offline-cluster: %-17s %8s  (node image %s)\n' total "$(elapsed "$total_start")" "$OFFLINE_NODE_IMAGE"
