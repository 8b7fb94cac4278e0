"""Reading the Kubernetes API without the official client: GET requests over urllib3.

A check of a converged lab mostly reads objects, and importing the official client costs
a learner's `kubelab check` more than all its requests. So kubelab reads the kubeconfig
itself when it is the simple kind — a server, its CA, and a client certificate or a
bearer token (what kind, minikube and k3s write) — and knows where the built-in kinds
the labs look at live. Anything else — an exec or auth-provider plugin, a proxy, a
username and password, several kubeconfig files, a kind not in KINDS, any write — goes
through the official client (kubelab.kube), which handles all of it.

Nothing here retries or judges: kubelab.kube calls `Reader.get` under its retry, deadline
and error handling, exactly as it calls the official client.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
import yaml

KINDS: dict[str, tuple[str, str, bool]] = {
    "Pod": ("api/v1", "pods", True),
    "Service": ("api/v1", "services", True),
    "Endpoints": ("api/v1", "endpoints", True),
    "ConfigMap": ("api/v1", "configmaps", True),
    "Secret": ("api/v1", "secrets", True),
    "ServiceAccount": ("api/v1", "serviceaccounts", True),
    "PersistentVolumeClaim": ("api/v1", "persistentvolumeclaims", True),
    "ResourceQuota": ("api/v1", "resourcequotas", True),
    "LimitRange": ("api/v1", "limitranges", True),
    "Event": ("api/v1", "events", True),
    "Namespace": ("api/v1", "namespaces", False),
    "Node": ("api/v1", "nodes", False),
    "PersistentVolume": ("api/v1", "persistentvolumes", False),
    "ReplicaSet": ("apis/apps/v1", "replicasets", True),
    "Deployment": ("apis/apps/v1", "deployments", True),
    "StatefulSet": ("apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("apis/apps/v1", "daemonsets", True),
    "EndpointSlice": ("apis/discovery.k8s.io/v1", "endpointslices", True),
    "StorageClass": ("apis/storage.k8s.io/v1", "storageclasses", False),
}
"""Built-in kinds, stable for years: kind → (API path, plural, namespaced)."""

SIMPLE_CLUSTER = {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify"}
SIMPLE_USER = {
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
    "token",
    "tokenFile",
}
"""Kubeconfig fields kubelab reads itself; a cluster or user entry with any other field
(exec, auth-provider, proxy-url, tls-server-name, username, …) is the official client's."""


@dataclass(frozen=True)
class Access:
    """How to reach one cluster as one user, from a simple kubeconfig."""

    server: str
    ca: bytes | None
    """PEM of the CA that signed the API server's certificate (None: the system's)."""
    insecure: bool
    cert: bytes | None
    key: bytes | None
    token: str | None


def _kubeconfig_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    listed = os.environ.get("KUBECONFIG", "")
    if os.pathsep in listed:
        return None  # several files, merged: the official client's job
    return Path(listed) if listed else Path.home() / ".kube" / "config"


def _named(entries: Any, name: str, key: str) -> dict[str, Any] | None:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get(key), dict):
            found: dict[str, Any] = entry[key]
            return found
    return None


def _data(entry: dict[str, Any], field: str, base: Path) -> bytes | None:
    """A `<field>-data` (base64) or `<field>` (a file, relative to the kubeconfig) value."""
    if entry.get(f"{field}-data"):
        return base64.b64decode(entry[f"{field}-data"])
    if entry.get(field):
        return (base / str(entry[field])).expanduser().read_bytes()
    return None


def access(kubeconfig: Path | None, context: str | None) -> Access | None:
    """The Access a simple kubeconfig gives for `context` (None: its current context), or
    None when it is not that simple, or not readable here (the official client then reads
    it, and says what is wrong with it)."""
    path = _kubeconfig_path(kubeconfig)
    try:
        if path is None:
            return None
        config = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
        if not isinstance(config, dict):
            return None
        chosen = _named(
            config.get("contexts"), context or str(config.get("current-context") or ""), "context"
        )
        if chosen is None:
            return None
        cluster = _named(config.get("clusters"), str(chosen.get("cluster")), "cluster")
        user = _named(config.get("users"), str(chosen.get("user")), "user") or {}
        if cluster is None or set(cluster) - SIMPLE_CLUSTER or set(user) - SIMPLE_USER:
            return None
        base = path.parent
        token = user.get("token") or (
            (base / str(user["tokenFile"])).read_text(encoding="utf-8").strip()
            if user.get("tokenFile")
            else None
        )
        return Access(
            server=str(cluster["server"]).rstrip("/"),
            ca=_data(cluster, "certificate-authority", base),
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            cert=_data(user, "client-certificate", base),
            key=_data(user, "client-key", base),
            token=str(token) if token else None,
        )
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return None


@cache
def tls(access: Access) -> ssl.SSLContext | None:
    """The TLS context for this access (one per process), or None when Python's ssl
    cannot build it from what the kubeconfig holds (a DER or broken CA, a key that does
    not match its certificate, an encrypted key): the official client then says why."""
    if access.key is not None and b"ENCRYPTED" in access.key:
        return None  # OpenSSL would ask for a passphrase on the terminal
    try:
        return _tls(access)
    except (ValueError, OSError):  # ssl.SSLError is an OSError
        return None


def _tls(access: Access) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if access.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif access.ca is not None:
        context.load_verify_locations(cadata=access.ca.decode("ascii"))
    else:
        context.load_default_certs()
    if access.cert is not None and access.key is not None:
        # the ssl module reads a client certificate from files only: a file in a folder of
        # kubelab's own (0700), read and removed at once
        with tempfile.TemporaryDirectory(prefix="kubelab-tls-") as folder:
            name = os.path.join(folder, "client.pem")
            handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(access.cert + b"\n" + access.key)
            context.load_cert_chain(name)
    return context


class Reader:
    """GET requests to one cluster, as one user (plus an Impersonate-User header)."""

    def __init__(
        self, access: Access, context: ssl.SSLContext, headers: dict[str, str] | None = None
    ) -> None:
        self.access = access
        self.headers = {"Accept": "application/json", "User-Agent": "kubelab", **(headers or {})}
        if access.token:
            self.headers["Authorization"] = f"Bearer {access.token}"
        self._pool = urllib3.PoolManager(ssl_context=context, retries=False)

    def path(self, kind: str, name: str | None = None, namespace: str | None = None) -> str | None:
        """Where a kind's object (with name) or list lives, or None for a kind not known
        here (or a namespaced object asked for with no namespace)."""
        known = KINDS.get(kind)
        if known is None:
            return None
        prefix, plural, namespaced = known
        if namespaced and namespace:
            where = f"/{prefix}/namespaces/{quote(namespace, safe='')}/{plural}"
        elif namespaced and name is not None:
            return None
        else:
            where = f"/{prefix}/{plural}"
        return f"{where}/{quote(name, safe='')}" if name is not None else where

    def get(self, path: str, timeout: float, query: dict[str, str] | None = None) -> tuple[int, bytes]:
        """The status and body of GET `path`; a connection fault raises (urllib3, OSError)."""
        answer = self._pool.request(
            "GET",
            self.access.server + path,
            fields=query or None,
            headers=self.headers,
            timeout=urllib3.Timeout(total=timeout),
            redirect=False,
        )
        return answer.status, answer.data
