"""Lab 06 — ConfigMap mounts. Titles, points and hints: labs/06-configmaps/lab.yaml.

The checks that look inside the container are here; app_config_v1_is_immutable is data
(lab.yaml). Reading the pod spec (which ConfigMap key gives a file, where an env var comes
from) is kubelab.configs; doing things in the container is kubelab.containers.
"""

from __future__ import annotations

import base64
import secrets

from kubelab.checks import LabContext, assert_that, fail, field
from kubelab.configs import (
    FileSource,
    describe_env,
    describe_mounts,
    env_entry,
    file_sources,
    first_difference,
    gives_env,
    put_back,
    secret_value,
    set_data,
)
from kubelab.containers import PodContainer, curl_inside, read_file, ready_running_image, require_env
from kubelab.manifests import Obj
from kubelab.settled import Unchanged
from kubelab.text import Text

NGINX_IMAGE = "kubelab/nginx:v1"
NGINX_CONFIG, APP_CONFIG = "nginx-config", "app-config"
APP_SECRET, PASSWORD_KEY, PASSWORD = "app-secret", "DB_PASSWORD", "s3cr3t"
CONF_DIR = "/etc/nginx/conf.d"
CONF_FILE = f"{CONF_DIR}/default.conf"
IMAGE_DEFAULT_MARK = "kubelab/nginx: serve files"
"""A line of the image's own default.conf (images/nginx/default.conf): nothing was mounted."""

NOT_MOUNTED = Text(
    f"파일이 이미지에 들어 있던 default.conf 그대로입니다: {CONF_DIR}/ 에 아무것도 마운트되지 않았습니다",
    f"the file is the image's own default.conf: nothing is mounted on {CONF_DIR}/",
)
LAGGING = Text(
    "컨피그맵을 바꾼 직후라면 kubelet이 파일을 고칠 때까지 1분쯤 걸립니다",
    "right after a change to the ConfigMap the kubelet takes a minute or so to update the file",
)
SUBPATH_NEVER_FOLLOWS = Text(
    "subPath로 마운트한 파일은 컨테이너가 시작할 때의 파일에 고정될 뿐, 컨피그맵을 따라 바뀌지 않습니다: "
    f"볼륨을 디렉터리 {CONF_DIR}/ 에 subPath 없이 마운트하세요",
    "a file mounted with subPath stays the file it was when the container started and never follows "
    "the ConfigMap: "
    f"mount the volume as the directory {CONF_DIR}/ without subPath",
)
KUBELET_SYNC = Text(
    "kubelet은 컨피그맵 볼륨을 주기적으로(보통 1분 안에) 고칩니다",
    "the kubelet updates ConfigMap volumes periodically (usually within a minute)",
)
NO_HEALTHZ = Text(f"{CONF_FILE}에 location /healthz 가 없습니다", f"{CONF_FILE} has no location /healthz")
NO_ADD_HEADER = Text(f"{CONF_FILE}에 add_header X-Lab 이 없습니다", f"{CONF_FILE} has no add_header X-Lab")
LITERAL_VALUE = Text(
    "value: 로 적은 값은 컨피그맵과 상관없습니다: 값을 바꾸려면 파드 명세를 고쳐야 합니다",
    "a value: written in has nothing to do with the ConfigMap: changing it means changing the pod spec",
)


PASSWORD_IN_CONFIGMAP = Text(
    "비밀번호가 컨피그맵에서 옵니다: 컨피그맵은 비밀이 아닌 설정을 위한 것입니다. "
    f"secretKeyRef로 시크릿 {APP_SECRET}에서 받으세요",
    "the password comes from a ConfigMap, which is for settings that are not secret: "
    f"take it from the Secret {APP_SECRET} through secretKeyRef",
)
PASSWORD_WRITTEN_IN = Text(
    "value: 로 적은 비밀번호는 디플로이먼트를 읽을 수 있는 누구에게나 보입니다: "
    f"secretKeyRef로 시크릿 {APP_SECRET}에서 받으세요",
    "a password written in as value: shows to anyone who can read the Deployment: "
    f"take it from the Secret {APP_SECRET} through secretKeyRef",
)
ECHO_NEWLINE = Text(
    "echo는 끝에 줄바꿈을 붙입니다: base64로 바꿀 때는 echo -n s3cr3t | base64 (또는 stringData에 그대로)",
    "echo adds a newline: encode with echo -n s3cr3t | base64 (or write the value as it is under stringData)",
)
ENCODED_TWICE = Text(
    "값이 base64로 두 번 인코딩되었습니다: stringData에는 값을 그대로 쓰고, base64는 data에만 씁니다",
    "the value is base64-encoded twice: under stringData write the value as it is; "
    "base64 goes under data only",
)
NOTHING_TO_FOLLOW = Text(
    "바뀌지 않는(immutable) 컨피그맵은 따라갈 변경이 없습니다",
    "an immutable ConfigMap never changes, so there is nothing to follow",
)


def nginx_read_at_start(namespace: str) -> Text:
    restart = f"kubectl -n {namespace} rollout restart deployment/web"
    return Text(
        f"파일에는 있지만 nginx는 시작할 때 읽은 설정으로 답합니다: {restart} 하거나 nginx -s reload 하세요",
        f"the file has it, but nginx answers with the config it read when it started: {restart} "
        "(or nginx -s reload)",
    )


def env_read_at_start(namespace: str) -> Text:
    restart = f"kubectl -n {namespace} rollout restart deployment/web"
    return Text(
        f"환경 변수는 컨테이너가 시작할 때 읽힙니다: 컨피그맵이나 시크릿을 바꿨다면 {restart} 하세요",
        "env vars are read once, when the container starts: "
        f"after changing the ConfigMap or the Secret, {restart}",
    )


# --- the learner's web pods, and how default.conf gets into them ------------------------


def ready_web_pods(lab: LabContext) -> list[PodContainer]:
    """The Ready pods running the lab's nginx image (at least one), waiting for the
    check's timeout. nginx reads its configuration as it starts: one crash is the
    answer's doing, so a single restart settles it."""
    return ready_running_image(lab, NGINX_IMAGE, crashes=1)


def require_conf_mount(lab: LabContext, web: PodContainer) -> FileSource:
    """How nginx-config's key lands on /etc/nginx/conf.d/default.conf in the container;
    a failure listing the container's mounts when it does not."""
    found = [s for s in file_sources(web.pod, web.container_name, CONF_FILE) if s.configmap == NGINX_CONFIG]
    if not found:
        fail(
            web.subject(lab),
            f"the ConfigMap {NGINX_CONFIG} mounted so that it gives {CONF_FILE}",
            "volumeMounts: " + describe_mounts(web.pod, web.container_name),
            Text(
                f"볼륨은 configMap {NGINX_CONFIG}, 마운트 위치는 {CONF_DIR}/ 디렉터리여야 합니다",
                f"the volume must be configMap {NGINX_CONFIG}, mounted on {CONF_DIR}/",
            ),
            final=True,
        )
    return found[0]


def configmap_data(lab: LabContext, name: str) -> dict[str, str]:
    return dict(field(lab.require("ConfigMap", name), "data") or {})


# --- checks --------------------------------------------------------------------------


def test_web_pod_ready(lab: LabContext) -> None:
    ready_web_pods(lab)


def test_config_file_mounted(lab: LabContext) -> None:
    webs = ready_web_pods(lab)

    def same() -> None:
        data = configmap_data(lab, NGINX_CONFIG)
        for web in webs:
            source = require_conf_mount(lab, web)
            want = data.get(source.key)
            assert_that(
                want is not None,
                lab.subject("ConfigMap", NGINX_CONFIG),
                f"the key {source.key} (mounted as {CONF_FILE})",
                f"keys: {', '.join(sorted(data)) or 'none'}",
                final=True,
            )
            have = read_file(lab, web, CONF_FILE)
            if have != want:
                lagging = Text(
                    LAGGING.ko + (f"; {SUBPATH_NEVER_FOLLOWS.ko}" if source.mount.sub_path else ""),
                    LAGGING.en + (f"; {SUBPATH_NEVER_FOLLOWS.en}" if source.mount.sub_path else ""),
                )
                fail(
                    web.subject(lab),
                    f"{CONF_FILE} = data[{source.key}] of ConfigMap {NGINX_CONFIG}",
                    f"a different file: {first_difference(have, str(want))}",
                    NOT_MOUNTED if IMAGE_DEFAULT_MARK in have else lagging,
                )

    lab.eventually(same)


def test_nginx_serves_healthz_and_header(lab: LabContext) -> None:
    webs = ready_web_pods(lab)

    def serves() -> None:
        for web in webs:
            answer = curl_inside(lab, web, "/healthz")
            conf = read_file(lab, web, CONF_FILE)
            subject = f"http://localhost/healthz in {web.subject(lab)}"
            ok = answer.status == 200
            if "/healthz" in conf:
                why = nginx_read_at_start(lab.namespace)
            else:
                why = NOT_MOUNTED if IMAGE_DEFAULT_MARK in conf else NO_HEALTHZ
            assert_that(
                ok and answer.body.strip() == "ok",
                subject,
                "HTTP 200 with the body ok",
                (f"HTTP {answer.status}" if answer.status else "no status line")
                + (f", body {answer.body.strip()[:40]!r}" if ok else ""),
                why,
                final=True,
            )
            header = answer.headers.get("x-lab")
            assert_that(
                header == "06",
                subject,
                "the response header X-Lab: 06",
                f"X-Lab: {header}" if header is not None else "no X-Lab header",
                nginx_read_at_start(lab.namespace) if "x-lab" in conf.lower() else NO_ADD_HEADER,
                final=True,
            )

    lab.eventually(serves)


def test_app_mode_from_configmap(lab: LabContext) -> None:
    webs = ready_web_pods(lab)

    def from_configmap() -> None:
        app = configmap_data(lab, APP_CONFIG)
        want = app.get("APP_MODE")
        assert_that(
            want is not None,
            lab.subject("ConfigMap", APP_CONFIG),
            "the key APP_MODE in data",
            f"keys: {', '.join(sorted(app)) or 'none'}",
        )
        for web in webs:
            literal = "value" in (env_entry(web.container, "APP_MODE") or {})
            assert_that(
                gives_env(web.container, "APP_MODE", "ConfigMap", APP_CONFIG, "APP_MODE"),
                web.subject(lab),
                f"APP_MODE from ConfigMap {APP_CONFIG} (env valueFrom.configMapKeyRef, or envFrom)",
                describe_env(web.container, "APP_MODE"),
                LITERAL_VALUE if literal else None,
                final=True,
            )
            require_env(lab, web, "APP_MODE", str(want), same_env, env_read_at_start(lab.namespace))

    same_env = Unchanged(seconds=3, rounds=3)
    lab.eventually(from_configmap)


def with_line(text: str, line: str) -> str:
    """text with one more line at its end."""
    return text + ("\n" if text and not text.endswith("\n") else "") + line + "\n"


def test_mounted_file_follows_configmap(lab: LabContext) -> None:
    webs = ready_web_pods(lab)
    sources = {web.name: require_conf_mount(lab, web) for web in webs}
    for web in webs:  # a subPath mount is a copy made once: it never follows, so no waiting
        assert_that(
            not sources[web.name].mount.sub_path,
            web.subject(lab),
            f"{CONF_FILE} that follows the ConfigMap (a mount of the volume, not a subPath)",
            f"mounted with subPath (mount: {sources[web.name].described})",
            SUBPATH_NEVER_FOLLOWS,
            final=True,
        )
    keys = sorted({m.key for m in sources.values()})
    original = lab.require("ConfigMap", NGINX_CONFIG)
    subject = lab.subject("ConfigMap", NGINX_CONFIG)
    assert_that(
        field(original, "immutable") is not True,
        subject,
        "a ConfigMap that can change",
        "immutable: true",
        NOTHING_TO_FOLLOW,
        final=True,
    )
    mark = f"# kubelab check {secrets.token_hex(4)}: this line is taken out again"
    data = original.get("data") or {}
    lab.defer(f"put {subject} back as it was before the check", lambda: put_back(lab, original))
    set_data(lab, NGINX_CONFIG, {key: with_line(str(data.get(key, "")), mark) for key in keys})

    def followed() -> None:
        for web in webs:
            source = sources[web.name]
            assert_that(
                mark in read_file(lab, web, CONF_FILE),
                web.subject(lab),
                f"{CONF_FILE} follows the ConfigMap (the line {mark!r} appended to data[{source.key}])",
                f"the file is unchanged (mount: {source.described})",
                SUBPATH_NEVER_FOLLOWS if source.mount.sub_path else KUBELET_SYNC,
            )

    lab.eventually(followed)


def secret_password(lab: LabContext) -> None:
    """The Secret holds DB_PASSWORD = s3cr3t exactly (data is base64; stringData is stored there)."""
    secret = lab.require("Secret", APP_SECRET)
    subject = lab.subject("Secret", APP_SECRET)
    data = dict(field(secret, "data") or {})
    assert_that(
        PASSWORD_KEY in data,
        subject,
        f"the key {PASSWORD_KEY} (under data in base64, or under stringData as it is)",
        f"keys: {', '.join(sorted(data)) or 'none'}",
        final=True,
    )
    value = secret_value(secret, PASSWORD_KEY)
    wanted = base64.b64encode(PASSWORD.encode()).decode()
    why = None
    if value is not None and value.rstrip("\n") == PASSWORD:
        why = ECHO_NEWLINE
    elif value == wanted:
        why = ENCODED_TWICE
    assert_that(
        value == PASSWORD,
        subject,
        f"data.{PASSWORD_KEY}: {wanted} (base64 of {PASSWORD})",
        f"data.{PASSWORD_KEY}: {data[PASSWORD_KEY]} (decoded: {value!r})",
        why,
        final=True,
    )


def password_mistake(container: Obj) -> Text | None:
    """Why the spec does not give DB_PASSWORD from the Secret, when it is a typical mistake."""
    entry = env_entry(container, PASSWORD_KEY) or {}
    if field(entry, "valueFrom.configMapKeyRef"):
        return PASSWORD_IN_CONFIGMAP
    return PASSWORD_WRITTEN_IN if "value" in entry else None


def test_db_password_from_secret(lab: LabContext) -> None:
    webs = ready_web_pods(lab)
    secret_password(lab)
    for web in webs:
        assert_that(
            gives_env(web.container, PASSWORD_KEY, "Secret", APP_SECRET, PASSWORD_KEY),
            web.subject(lab),
            f"{PASSWORD_KEY} from Secret {APP_SECRET} (env valueFrom.secretKeyRef, or envFrom secretRef)",
            describe_env(web.container, PASSWORD_KEY),
            password_mistake(web.container),
            final=True,
        )
    same_env = Unchanged(seconds=3, rounds=3)

    def every_web() -> None:
        for web in webs:
            require_env(lab, web, PASSWORD_KEY, PASSWORD, same_env, env_read_at_start(lab.namespace))

    lab.eventually(every_web)
