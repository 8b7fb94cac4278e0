// kubelab's own pod-network agent (main.go); standard library only. Built by ci/build-k8s.sh.
module kubelab.local/ci/gomod/kubelab-netd

go 1.26
