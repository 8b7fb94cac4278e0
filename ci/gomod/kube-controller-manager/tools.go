//go:build tools

// Package tools pins the main package that ci/build-k8s.sh builds from this module.
package tools

import _ "k8s.io/kubernetes/cmd/kube-controller-manager"
