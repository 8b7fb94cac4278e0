//go:build tools

// Package tools pins the main packages that ci/build-k8s.sh builds from this module.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "go.etcd.io/etcd/etcdctl/v3"
)
