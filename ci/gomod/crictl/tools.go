//go:build tools

// Package tools pins the main packages that ci/build-k8s.sh builds from this module.
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
