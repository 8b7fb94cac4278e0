#!/usr/bin/env bash
# Make a working Docker engine on a kubelab build machine (no systemd, no registry):
#  - Debian's docker.io (+ jq), installed by ci/prerequisites.sh;
#  - the kubelab runc wrapper (drops CAP_SYS_RESOURCE, missing from the host's
#    bounding set) installed and made docker's default runtime;
#  - dockerd started in the background when `docker info` fails, and waited for.
# Idempotent and quiet on success.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "docker-engine: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root"

wrapper=/usr/local/sbin/kubelab-runc
daemon_json=/etc/docker/daemon.json
log=/var/log/kubelab-dockerd.log
timeout="${KUBELAB_DOCKERD_TIMEOUT:-60}"

# The engine is Debian's 20.10 (API 1.41); a newer docker CLI earlier on PATH
# (e.g. a 28.x client in /usr/local/bin) negotiates the API version down by itself.
# Talk to the daemon with Debian's own client here.
dockercli=/usr/bin/docker

# 1. packages: installed by ci/prerequisites.sh (one apt-get, before any parallel step)
for f in /usr/sbin/dockerd "$dockercli" /usr/bin/jq; do
  [[ -x $f ]] || die "$f missing (run ci/prerequisites.sh)"
done
[[ -x /usr/sbin/runc ]] || die "/usr/sbin/runc missing (Debian package runc)"

# 2. runc wrapper + daemon.json
changed=0
if ! cmp -s "$here/node/runc-wrapper" "$wrapper"; then
  install -m 0755 "$here/node/runc-wrapper" "$wrapper"
  changed=1
fi
mkdir -p /etc/docker
current='{}'
[[ -s "$daemon_json" ]] && current="$(cat "$daemon_json")"
wanted="$(jq --arg p "$wrapper" '.runtimes["kubelab-runc"] = {"path": $p} | .["default-runtime"] = "kubelab-runc"' <<<"$current")" \
  || die "$daemon_json is not valid JSON"
if [[ "$(jq -S . <<<"$current")" != "$(jq -S . <<<"$wanted")" ]]; then
  printf '%s\n' "$wanted" >"$daemon_json"
  changed=1
fi

running() { "$dockercli" info >/dev/null 2>&1; }
default_runtime_ok() { [[ "$("$dockercli" info --format '{{.DefaultRuntime}}' 2>/dev/null)" == kubelab-runc ]]; }

# 3. (re)start dockerd when needed
if running && { ((changed)) || ! default_runtime_ok; }; then
  # configuration changed under a running daemon: restart it (only one we started)
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  [[ -n "$pid" ]] || die "dockerd runs with an outdated config and no /var/run/docker.pid; restart it by hand"
  kill "$pid"
  deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || die "dockerd (pid $pid) did not stop within ${timeout}s"
    sleep 0.5
  done
fi
if ! running; then
  nohup /usr/sbin/dockerd >>"$log" 2>&1 </dev/null &
  disown || true
  deadline=$((SECONDS + timeout))
  until running; do
    ((SECONDS < deadline)) || { tail -n 20 "$log" >&2; die "dockerd did not answer within ${timeout}s (log: $log)"; }
    sleep 0.5
  done
fi
default_runtime_ok || die "dockerd's default runtime is not kubelab-runc (check $daemon_json)"

# 4. the `docker` first on PATH (what kind shells out to) must talk to this daemon
docker info >/dev/null 2>&1 || die "'$(command -v docker)' cannot talk to dockerd; put /usr/bin first on PATH or set DOCKER_API_VERSION=1.41"

# 5. nothing a kind node sends to the cluster's own ranges may leave this machine.
# Until kube-proxy has written its rules, a pod's request to a Service address (e.g.
# 10.96.0.1:443) is routed out of the node like any other; on these machines it would
# leave for the network. Reject it at the host: forwarded traffic to the Service and pod
# ranges (ci/versions.env) never goes further than this machine. Traffic that stays on a
# Docker bridge (`-o br-+`: one kind node to another, a pod's packet routed to the node
# that runs the other pod) passes: that is the pod network of a cluster of many nodes.
. "$here/versions.env"
for cidr in "$SERVICE_CIDR" "$POD_CIDR"; do
  # the rule of an older kubelab rejected bridged traffic too
  while iptables -D DOCKER-USER -d "$cidr" -j REJECT 2>/dev/null; do :; done
  iptables -C DOCKER-USER -d "$cidr" ! -o br-+ -j REJECT 2>/dev/null \
    || iptables -I DOCKER-USER -d "$cidr" ! -o br-+ -j REJECT \
    || die "cannot add the DOCKER-USER rule for $cidr"
done
