"""Learner-like manifests shared by the unit tests."""

REPLICASET = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: simple-replicaset}
spec:
  replicas: 3
  selector: {matchLabels: {app: my-little-pod}}
  template:
    metadata: {labels: {app: my-little-pod}}
    spec:
      containers: [{name: web, image: "kubelab/web:v1"}]
"""

DEV_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: dev-pod}
spec:
  containers: [{name: web, image: "kubelab/web:v1"}]
"""
