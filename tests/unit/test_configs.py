"""Where a container's configuration comes from (kubelab.configs), read from pod specs
as the API gives them, without a cluster."""

from __future__ import annotations

from typing import Any

from kubelab import configs
from kubelab.volumes import Mount

CONF = "/etc/nginx/conf.d/default.conf"


def pod(*mounts: dict[str, Any], volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "spec": {
            "containers": [
                {
                    "name": "nginx",
                    "volumeMounts": [
                        *mounts,
                        {"name": "kube-api-access-x1y2z", "mountPath": "/var/run/secrets"},
                    ],
                },
                {"name": "sidecar", "volumeMounts": [{"name": "conf", "mountPath": "/etc/nginx/conf.d"}]},
            ],
            "volumes": volumes
            if volumes is not None
            else [
                {"name": "conf", "configMap": {"name": "nginx-config"}},
                {"name": "cache", "emptyDir": {}},
                {
                    "name": "kube-api-access-x1y2z",
                    "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]},
                },
            ],
        }
    }


def test_a_directory_mount_gives_the_key_named_as_the_file() -> None:
    [source] = configs.file_sources(pod({"name": "conf", "mountPath": "/etc/nginx/conf.d/"}), "nginx", CONF)
    assert (source.configmap, source.key) == ("nginx-config", "default.conf")
    assert source.mount == Mount("nginx", "conf", "/etc/nginx/conf.d/")
    assert source.described == "/etc/nginx/conf.d/ ← ConfigMap nginx-config"


def test_a_subpath_mount_gives_the_key_at_its_subpath() -> None:
    mount = {"name": "conf", "mountPath": CONF, "subPath": "default.conf"}
    [source] = configs.file_sources(pod(mount), "nginx", CONF)
    assert (source.key, source.mount.sub_path) == ("default.conf", "default.conf")
    assert source.described == f"{CONF} ← ConfigMap nginx-config, subPath default.conf"


def test_items_map_a_path_to_their_key() -> None:
    volumes = [
        {
            "name": "conf",
            "configMap": {"name": "nginx-config", "items": [{"key": "site", "path": "default.conf"}]},
        }
    ]
    [source] = configs.file_sources(
        pod({"name": "conf", "mountPath": "/etc/nginx/conf.d"}, volumes=volumes), "nginx", CONF
    )
    assert source.key == "site"
    assert (
        configs.file_sources(
            pod({"name": "conf", "mountPath": "/etc/nginx/conf.d"}, volumes=volumes),
            "nginx",
            "/etc/nginx/conf.d/other.conf",
        )
        == []
    )


def test_a_projected_volume_may_give_the_file_from_each_of_its_configmaps() -> None:
    volumes = [
        {
            "name": "conf",
            "projected": {
                "sources": [
                    {"configMap": {"name": "a"}},
                    {"secret": {"name": "s"}},
                    {"configMap": {"name": "nginx-config"}},
                ]
            },
        }
    ]
    found = configs.file_sources(
        pod({"name": "conf", "mountPath": "/etc/nginx/conf.d"}, volumes=volumes), "nginx", CONF
    )
    assert [(s.configmap, s.key) for s in found] == [("a", "default.conf"), ("nginx-config", "default.conf")]


def test_no_configmap_gives_the_file() -> None:
    # mounted above its folder: the key would have to be conf.d/default.conf (no such key name)
    assert configs.file_sources(pod({"name": "conf", "mountPath": "/etc/nginx"}), "nginx", CONF) == []
    # the volume mounted as a directory on the file's path
    assert configs.file_sources(pod({"name": "conf", "mountPath": CONF}), "nginx", CONF) == []
    # not mounted in this container, or not at all
    assert configs.file_sources(pod(), "nginx", CONF) == []
    assert configs.file_sources(pod({"name": "conf", "mountPath": "/etc/nginx/conf.dx"}), "nginx", CONF) == []
    # a deeper mount hides the ConfigMap's file
    hidden = pod(
        {"name": "conf", "mountPath": "/etc/nginx/conf.d"},
        {"name": "cache", "mountPath": CONF, "subPath": "x"},
    )
    assert configs.file_sources(hidden, "nginx", CONF) == []


def test_mounts_described_without_the_token_kubernetes_adds() -> None:
    said = configs.describe_mounts(
        pod({"name": "cache", "mountPath": "/cache"}, {"name": "conf", "mountPath": "/c"}), "nginx"
    )
    assert said == "/cache ← a volume that is not a ConfigMap; /c ← ConfigMap nginx-config"
    assert configs.describe_mounts(pod(), "nginx") == "none"


def test_first_difference_between_a_file_and_its_configmap_value() -> None:
    assert configs.first_difference("a\nb\n", "a\nc\n") == "line 2 is 'b' (in the ConfigMap: 'c')"
    assert configs.first_difference("a\n", "a\nb\n") == "1 lines (in the ConfigMap: 2)"


def container(
    env: list[dict[str, Any]] | None = None, env_from: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"name": "nginx", "env": env or [], "envFrom": env_from or []}


def test_an_env_entry_from_a_key_gives_the_variable() -> None:
    ref = {"name": "APP_MODE", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "APP_MODE"}}}
    assert configs.gives_env(container([ref]), "APP_MODE", "ConfigMap", "app-config", "APP_MODE")
    assert not configs.gives_env(container([ref]), "APP_MODE", "ConfigMap", "other", "APP_MODE")
    assert not configs.gives_env(container([ref]), "APP_MODE", "Secret", "app-config", "APP_MODE")
    secret = {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "DB_PASSWORD"}},
    }
    assert configs.gives_env(container([secret]), "DB_PASSWORD", "Secret", "app-secret", "DB_PASSWORD")


def test_an_env_entry_wins_over_env_from() -> None:
    env_from = [{"configMapRef": {"name": "app-config"}}]
    assert configs.gives_env(container(env_from=env_from), "APP_MODE", "ConfigMap", "app-config", "APP_MODE")
    written_in = container([{"name": "APP_MODE", "value": "production"}], env_from)
    assert not configs.gives_env(written_in, "APP_MODE", "ConfigMap", "app-config", "APP_MODE")
    assert configs.env_entry(written_in, "APP_MODE") == {"name": "APP_MODE", "value": "production"}


def test_env_from_with_a_prefix_or_another_object_does_not_give_it() -> None:
    prefixed = container(env_from=[{"configMapRef": {"name": "app-config"}, "prefix": "X_"}])
    assert not configs.gives_env(prefixed, "APP_MODE", "ConfigMap", "app-config", "APP_MODE")
    secret = container(env_from=[{"secretRef": {"name": "app-secret"}}])
    assert configs.gives_env(secret, "DB_PASSWORD", "Secret", "app-secret", "DB_PASSWORD")
    assert not configs.gives_env(secret, "DB_PASSWORD", "ConfigMap", "app-secret", "DB_PASSWORD")
    assert not configs.gives_env(secret, "PASSWORD", "Secret", "app-secret", "DB_PASSWORD")


def test_how_the_spec_sets_a_variable() -> None:
    assert configs.describe_env(container([{"name": "A", "value": "x"}]), "A") == (
        "env A with value 'x' written in the pod spec"
    )
    ref = {"configMapKeyRef": {"name": "c", "key": "A"}}
    assert configs.describe_env(container([{"name": "A", "valueFrom": ref}]), "A") == f"env A from {ref}"
    assert configs.describe_env(container(env_from=[{"secretRef": {"name": "s"}}]), "A") == (
        "no env A; envFrom [{'secretRef': {'name': 's'}}]"
    )
    assert configs.describe_env(container(), "A") == "no env A and no envFrom"


def test_a_secrets_value_decoded() -> None:
    secret = {
        "data": {"ok": "czNjcjN0", "newline": "czNjcjN0Cg==", "not-base64": "s3cr3t!", "binary": "/w=="}
    }
    assert configs.secret_value(secret, "ok") == "s3cr3t"
    assert configs.secret_value(secret, "newline") == "s3cr3t\n"
    assert configs.secret_value(secret, "not-base64") is None
    assert configs.secret_value(secret, "binary") is None
    assert configs.secret_value(secret, "missing") is None
    assert configs.secret_value({}, "ok") is None
