//go:build tools

// Package tools pins the main packages that ci/build-k8s.sh builds from this module.
package tools

import (
	_ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
)
