"""Where a container's configuration comes from, read from its pod spec: which ConfigMap
key a file at a path shows (through which mount), how an environment variable is given
(written in, from a ConfigMap's or a Secret's key, through envFrom), a Secret's value, and
where a file first differs from its ConfigMap value. A check that changes a ConfigMap to
see a mounted file follow puts it back with `put_back`.

Pure functions of the objects as the API gives them (but the last two), so each rule is
tested without a cluster: a check reads the spec, then looks inside the container
(kubelab.containers) for what the kubelet made of it.
"""

from __future__ import annotations

import base64
import binascii
import copy
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubelab.checks import field, name_of
from kubelab.manifests import Obj
from kubelab.volumes import Mount, mounts_of, volumes_of

if TYPE_CHECKING:
    from kubelab.checks import LabContext

FIELD_MANAGER = "kubelab-check"
"""Who the API server records for a check's own changes to a ConfigMap (put back afterwards)."""


# --- files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSource:
    """A ConfigMap key that gives a file in a container, and the mount it comes through."""

    configmap: str
    key: str
    mount: Mount
    described: str
    """The mount, in a few words: `/etc/nginx/conf.d/ ← ConfigMap nginx-config`."""


def configmap_sources(volume: Obj) -> Iterator[Obj]:
    """The configMap sources of a volume (a configMap volume, or a projected one)."""
    if volume.get("configMap"):
        yield volume["configMap"]
    for source in field(volume, "projected.sources") or []:
        if source.get("configMap"):
            yield source["configMap"]


def key_for(source: Obj, path: str) -> str | None:
    """The key a configMap source puts at `path` (relative, normalized) inside its volume:
    the item whose path it is, or without items the key of that name (a file at the top)."""
    items = source.get("items")
    if items:
        return next((str(i.get("key")) for i in items if _norm(str(i.get("path"))) == path), None)
    return path if "/" not in path else None


def describe_mount(mount: Mount, volume: Obj | None) -> str:
    """`/etc/nginx/conf.d/ ← ConfigMap nginx-config, subPath default.conf`."""
    names = [str(s.get("name")) for s in configmap_sources(volume or {})]
    origin = f"ConfigMap {', '.join(names)}" if names else "a volume that is not a ConfigMap"
    return f"{mount.path} ← {origin}" + (f", subPath {mount.sub_path}" if mount.sub_path else "")


def describe_mounts(pod: Obj, container: str) -> str:
    """The container's mounts (without the token Kubernetes adds), or "none"."""
    volumes = volumes_of(pod)
    said = [describe_mount(m, volumes.get(m.volume)) for m in mounts_of(pod) if m.container == container]
    return "; ".join(said) or "none"


def file_sources(pod: Obj, container: str, path: str) -> list[FileSource]:
    """The ConfigMap keys that may give the file at `path` in the container: through the
    deepest mount at `path` or above it (a deeper mount hides what is under it), as the
    volume's file at the mount's subPath joined with the rest of `path`. Several only for
    a projected volume of several ConfigMaps; none when no ConfigMap gives that file
    (`path` is then the mounted directory itself, or not mounted, or another volume's)."""
    path = _norm(path)
    above = [m for m in mounts_of(pod) if m.container == container and _holds(_norm(m.path), path)]
    if not above:
        return []
    mount = max(above, key=lambda m: len(_norm(m.path)))
    rel = posixpath.relpath(path, _norm(mount.path))
    inside = _norm(posixpath.join(mount.sub_path, rel) if rel != "." else mount.sub_path)
    volume = volumes_of(pod).get(mount.volume) or {}
    found = []
    for source in configmap_sources(volume) if inside not in ("", ".") else ():
        key = key_for(source, inside)
        if key:
            found.append(FileSource(str(source.get("name")), key, mount, describe_mount(mount, volume)))
    return found


def _norm(path: str) -> str:
    return posixpath.normpath(path) if path else path


def _holds(directory: str, path: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def first_difference(have: str, want: str) -> str:
    """Where a file first differs from its ConfigMap value, in a few words."""
    have_lines, want_lines = have.splitlines(), want.splitlines()
    for number, (a, b) in enumerate(zip(have_lines, want_lines, strict=False), start=1):
        if a != b:
            return f"line {number} is {a.strip()[:60]!r} (in the ConfigMap: {b.strip()[:60]!r})"
    return f"{len(have_lines)} lines (in the ConfigMap: {len(want_lines)})"


# --- environment variables ---------------------------------------------------------------

KEY_REF = {"ConfigMap": "configMapKeyRef", "Secret": "secretKeyRef"}
"""How an env entry's valueFrom names a key of each kind."""
ALL_KEYS_REF = {"ConfigMap": "configMapRef", "Secret": "secretRef"}
"""How an envFrom source names an object of each kind."""


def env_entry(container: Obj, name: str) -> Obj | None:
    """The container's env entry for the variable `name` (such an entry wins over envFrom)."""
    return next((e for e in container.get("env") or [] if e.get("name") == name), None)


def gives_env(container: Obj, name: str, kind: str, source: str, key: str) -> bool:
    """Does the spec give the variable `name` from the key `key` of the ConfigMap or Secret
    `source`: its env entry through configMapKeyRef/secretKeyRef or, with no env entry of
    that name, an envFrom of that object without a prefix (when the key is the name)."""
    entry = env_entry(container, name)
    if entry is not None:
        ref = field(entry, f"valueFrom.{KEY_REF[kind]}") or {}
        return bool(ref.get("name") == source and ref.get("key") == key)
    return key == name and any(
        field(s, f"{ALL_KEYS_REF[kind]}.name") == source and not s.get("prefix")
        for s in container.get("envFrom") or []
    )


def describe_env(container: Obj, name: str) -> str:
    """How the spec sets the variable `name`, in a few words."""
    entry = env_entry(container, name)
    if entry is not None:
        if "value" in entry:
            return f"env {name} with value {entry['value']!r} written in the pod spec"
        return f"env {name} from {entry.get('valueFrom')}"
    if container.get("envFrom"):
        return f"no env {name}; envFrom {container.get('envFrom')}"
    return f"no env {name} and no envFrom"


# --- Secrets -------------------------------------------------------------------------------


def secret_value(secret: Obj, key: str) -> str | None:
    """The value of a Secret's key (data holds it in base64; stringData is stored there
    too), or None when there is no such key or it is not base64 of UTF-8 text."""
    encoded = (field(secret, "data") or {}).get(key)
    try:
        return None if encoded is None else base64.b64decode(str(encoded), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


# --- a ConfigMap a check changes -----------------------------------------------------------


def set_data(lab: LabContext, name: str, data: dict[str, str]) -> None:
    """Change some keys of a ConfigMap's data (a JSON merge patch: nothing else is touched)."""
    lab.kube.patch("ConfigMap", name, lab.namespace, {"data": data}, merge=True)


def put_back(lab: LabContext, original: Obj) -> None:
    """Put a ConfigMap back exactly as it was: its data first, then its field ownership
    (managedFields), so the learner's next kubectl apply --server-side sees no conflict."""
    res = lab.kube.resource("ConfigMap", "v1")
    body: dict[str, Any] = copy.deepcopy(original)
    for _ in range(2):
        current = lab.get("ConfigMap", name_of(original))
        if current is None:
            return  # deleted meanwhile: nothing to put back
        body["metadata"]["resourceVersion"] = field(current, "metadata.resourceVersion")
        lab.kube.call(lambda: res.replace(body=body, namespace=lab.namespace, field_manager=FIELD_MANAGER))
