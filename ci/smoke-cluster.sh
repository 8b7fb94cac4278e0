#!/usr/bin/env bash
# End-to-end proof of the offline cluster: kind create cluster with $OFFLINE_NODE_IMAGE
# and kubelab's usual cluster settings, then check node Ready, CoreDNS answering, a pod
# running, a NodePort answering on the host (localhost:30080), a PVC on the default
# StorageClass "standard" binding, and an extraMounts hostPath reaching the host.
# Deletes the cluster afterwards (KUBELAB_SMOKE_KEEP=1 keeps it).
#   ci/smoke-cluster.sh            # after ci/offline-cluster.sh
#   KUBELAB_SMOKE_CONFIG=manifests/kind-cluster.yaml ci/smoke-cluster.sh   # kubelab's own config
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
KUBELAB_CACHE="${KUBELAB_CACHE:-/var/cache/kubelab}"
name="${KUBELAB_SMOKE_CLUSTER:-kubelab-try}"
hostdir=/tmp/kubelab-hostpath
web=kubelab/smoke-web:1
die() { echo "smoke-cluster: $*" >&2; exit 1; }
say() { echo "smoke-cluster: $*"; }

kubectl_bin="$(command -v kubectl || echo "$KUBELAB_CACHE/k8s/$K8S_VERSION/bin/kubectl")"
[[ -x "$kubectl_bin" ]] || die "kubectl not found"
command -v kind >/dev/null || die "kind not found (run ci/build-kind.sh)"
work="$(mktemp -d /tmp/kubelab-smoke.XXXXXX)"
export KUBECONFIG="$work/kubeconfig"
k() { "$kubectl_bin" "$@"; }
cleanup() {
  if [[ "${KUBELAB_SMOKE_KEEP:-0}" != 1 ]]; then
    kind delete cluster --name "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
  else
    echo "smoke-cluster: kept cluster $name (KUBECONFIG=$KUBECONFIG)"
  fi
}
trap cleanup EXIT
t0=$EPOCHREALTIME
lap() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%5.1fs", b - a }'; }

# a small web/shell image, built FROM the local debian:bookworm-slim like a lab's app image
if ! docker image inspect "$web" >/dev/null 2>&1; then
  mkdir -p "$work/web"
  printf 'FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends busybox-static && rm -rf /var/lib/apt/lists/*\nRUN mkdir -p /www && echo kubelab-smoke-ok >/www/index.html\nCMD ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n' >"$work/web/Dockerfile"
  docker build -q -t "$web" "$work/web" >"$work/build.log" 2>&1 || { tail -n 20 "$work/build.log" >&2; die "docker build of $web failed"; }
fi

mkdir -p "$hostdir"
if [[ -n "${KUBELAB_SMOKE_CONFIG:-}" ]]; then
  # e.g. manifests/kind-cluster.yaml: must map containerPort 30080 to host port 30080 and
  # mount the hostPath root (__HOSTPATH__, filled in here) at /data
  [[ -f "$KUBELAB_SMOKE_CONFIG" ]] || die "$KUBELAB_SMOKE_CONFIG not found"
  sed "s|__HOSTPATH__|$hostdir|g" "$KUBELAB_SMOKE_CONFIG" >"$work/kind.yaml"
else
cat >"$work/kind.yaml" <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
nodes:
  - role: control-plane
    extraPortMappings:
      - containerPort: 30080
        hostPort: 30080
    extraMounts:
      - hostPath: $hostdir
        containerPath: /data
YAML
fi
kind delete cluster --name "$name" >/dev/null 2>&1 || true
kind create cluster --name "$name" --image "$OFFLINE_NODE_IMAGE" --config "$work/kind.yaml" \
  --kubeconfig "$KUBECONFIG" --wait 180s >"$work/create.log" 2>&1 \
  || { cat "$work/create.log" >&2; die "kind create cluster failed"; }
say "$(lap) cluster created"
kind load docker-image "$web" --name "$name" >"$work/load.log" 2>&1 || { cat "$work/load.log" >&2; die "kind load docker-image failed"; }

k wait --for=condition=Ready node --all --timeout=120s >/dev/null || die "node not Ready"
say "$(lap) node Ready"
k -n kube-system rollout status deployment/coredns --timeout=180s >/dev/null || die "CoreDNS not running"
say "$(lap) CoreDNS running"

tag="$(date +%s)-$$"
k apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: $web
          ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: probe}
spec:
  restartPolicy: Never
  containers:
    - name: probe
      image: $web
      command:
        - sh
        - -c
        - |
          set -e
          busybox nslookup kubernetes.default.svc.cluster.local
          busybox wget -q -O - http://web.default.svc.cluster.local/ | grep -q kubelab-smoke-ok
          echo pvc-ok >/pvc/check && cat /pvc/check
          echo $tag >/data/smoke-$tag
      volumeMounts:
        - {name: pvc, mountPath: /pvc}
        - {name: host, mountPath: /data}
  volumes:
    - name: pvc
      persistentVolumeClaim: {claimName: data}
    - name: host
      hostPath: {path: /data, type: Directory}
YAML
k rollout status deployment/web --timeout=120s >/dev/null || die "web deployment not running"
say "$(lap) pod running"
deadline=$((SECONDS + 60)) body=""
until body="$(curl -fsS --max-time 3 http://localhost:30080/ 2>/dev/null)" && [[ "$body" == kubelab-smoke-ok ]]; do
  ((SECONDS < deadline)) || die "NodePort localhost:30080 does not answer (got '$body')"
  sleep 1
done
say "$(lap) NodePort localhost:30080 answers"
k wait --for=jsonpath='{.status.phase}'=Succeeded pod/probe --timeout=180s >/dev/null \
  || { k describe pod probe >&2 || true; k logs probe >&2 || true; die "probe pod (DNS, service, PVC, hostPath) failed"; }
[[ "$(k get pvc data -o jsonpath='{.status.phase}')" == Bound ]] || die "PVC not Bound"
say "$(lap) DNS answers, service reachable, PVC Bound on $(k get pvc data -o jsonpath='{.spec.storageClassName}')"
[[ "$(cat "$hostdir/smoke-$tag" 2>/dev/null)" == "$tag" ]] || die "hostPath file not in $hostdir"
rm -f "$hostdir/smoke-$tag"
say "$(lap) hostPath /data reaches $hostdir; all checks passed"
