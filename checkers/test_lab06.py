"""Lab 06 — ConfigMap mounts. Titles, points and hints: labs/06-configmaps/lab.yaml."""

from __future__ import annotations

import base64
import binascii
import copy
import posixpath
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from kubelab.checks import (
    LabContext,
    assert_that,
    deleting,
    fail,
    field,
    is_ready,
    name_of,
    pod_states,
    why_not_ready,
)
from kubelab.kube import ExecResult, api_reason
from kubelab.manifests import Obj
from kubelab.settled import Unchanged, first_stuck
from kubelab.text import Text

NGINX_IMAGE = "kubelab/nginx:v1"
NGINX_CONFIG, APP_CONFIG, APP_CONFIG_V1 = "nginx-config", "app-config", "app-config-v1"
APP_SECRET, PASSWORD_KEY, PASSWORD = "app-secret", "DB_PASSWORD", "s3cr3t"
CONF_DIR = "/etc/nginx/conf.d"
CONF_FILE = f"{CONF_DIR}/default.conf"
IMAGE_DEFAULT_MARK = "kubelab/nginx: serve files"
"""A line of the image's own default.conf (images/nginx/default.conf): nothing was mounted."""
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
FIELD_MANAGER = "kubelab-check"
"""Who the API server records for the checker's own changes (put back afterwards)."""

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
NOT_IMMUTABLE = Text(
    "immutable이 없으면 누구나(실수한 애플리케이션도) 이 컨피그맵을 바꿀 수 있습니다",
    "without immutable anyone (a buggy application too) can change this ConfigMap",
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


# --- the learner's web pods ----------------------------------------------------------


@dataclass(frozen=True)
class Web:
    """A pod running the lab's nginx image, and the container that runs it."""

    pod: Obj
    container: Obj

    @property
    def name(self) -> str:
        return name_of(self.pod)

    @property
    def container_name(self) -> str:
        return str(self.container.get("name"))

    def subject(self, lab: LabContext) -> str:
        return f"{lab.subject('Pod', self.name)} (container {self.container_name})"


def run_in(lab: LabContext, web: Web, command: list[str]) -> ExecResult:
    """kubectl exec into the nginx container; a container that is gone or not running
    (restarting, replaced) is a mismatch worth waiting for, not an error."""
    try:
        return lab.exec(web.name, command, web.container_name)
    except (ApiException, ValueError) as e:
        reason = (api_reason(e) if isinstance(e, ApiException) else str(e)).splitlines()[0][:160]
        fail(
            web.subject(lab), "a running container to exec into", f"{' '.join(command[:2])} failed: {reason}"
        )


def web_pods(lab: LabContext) -> list[Web]:
    """Pods (not being deleted) with a container running kubelab/nginx:v1."""
    found = []
    for pod in lab.list("Pod"):
        nginx = [c for c in field(pod, "spec.containers") or [] if c.get("image") == NGINX_IMAGE]
        if nginx and not deleting(pod):
            found.append(Web(pod, nginx[0]))
    return sorted(found, key=lambda w: w.name)


def container_ready(web: Web) -> bool:
    statuses = field(web.pod, "status.containerStatuses") or []
    return any(s.get("name") == web.container_name and s.get("ready") for s in statuses)


def ready_web_pods(lab: LabContext) -> list[Web]:
    """The Ready web pods (at least one), waiting for the check's timeout."""
    subject = f"pods running {NGINX_IMAGE} in {lab.namespace}"

    def ready() -> list[Web]:
        webs = web_pods(lab)
        if not webs:
            running = {
                str(c.get("image")) for p in lab.list("Pod") for c in field(p, "spec.containers") or []
            }
            fail(
                subject,
                "a Ready pod (from a Deployment or your own pod)",
                f"no pod runs {NGINX_IMAGE} (images running: {', '.join(sorted(running)) or 'none'})",
            )
        good = [w for w in webs if is_ready(w.pod) and container_ready(w)]
        if not good:
            pods = [w.pod for w in webs]
            # nginx reads its configuration as it starts: one crash is the answer's doing
            fail(
                subject,
                "a Ready pod",
                pod_states(pods),
                why_not_ready(lab, pods),
                settled=first_stuck(pods, 1),
            )
        return good

    return lab.eventually(ready)


# --- how default.conf gets into the container ---------------------------------------


@dataclass(frozen=True)
class ConfMount:
    """Where /etc/nginx/conf.d/default.conf comes from in one container."""

    key: str
    """The key of nginx-config whose value is the file."""
    sub_path: str | None
    """Set when the file is mounted on its own with subPath (it never follows)."""
    described: str
    """The mount, in a few words."""


def _norm(path: str) -> str:
    return posixpath.normpath(path) if path else path


def _configmap_sources(volume: Obj) -> Iterator[Obj]:
    """The configMap sources of a volume (a configMap volume, or a projected one)."""
    if volume.get("configMap"):
        yield volume["configMap"]
    for source in field(volume, "projected.sources") or []:
        if source.get("configMap"):
            yield source["configMap"]


def _key_for(source: Obj, path: str) -> str | None:
    """The key a configMap source puts at `path` inside its volume."""
    items = source.get("items")
    if items:
        return next((str(i.get("key")) for i in items if _norm(str(i.get("path"))) == path), None)
    return path if "/" not in path else None


def _describe(mount: Obj, volume: Obj) -> str:
    names = [str(s.get("name")) for s in _configmap_sources(volume)]
    origin = f"ConfigMap {', '.join(names)}" if names else "a volume that is not a ConfigMap"
    sub = f", subPath {mount['subPath']}" if mount.get("subPath") else ""
    return f"{mount.get('mountPath')} ← {origin}{sub}"


def own_mounts(web: Web) -> list[Obj]:
    """The container's volume mounts, without the service account token Kubernetes adds."""
    mounts = web.container.get("volumeMounts") or []
    return [m for m in mounts if not str(m.get("mountPath", "")).startswith(SERVICE_ACCOUNT_DIR)]


def conf_mount(web: Web) -> ConfMount | None:
    """How nginx-config's file lands on /etc/nginx/conf.d/default.conf, or None."""
    volumes = {v.get("name"): v for v in field(web.pod, "spec.volumes") or []}
    for mount in own_mounts(web):
        mount_path, sub = _norm(str(mount.get("mountPath", ""))), mount.get("subPath")
        if mount_path == CONF_DIR and not sub:
            path = "default.conf"
        elif mount_path == CONF_FILE and sub:
            path = _norm(str(sub))
        else:
            continue
        volume = volumes.get(mount.get("name")) or {}
        for source in _configmap_sources(volume):
            key = _key_for(source, path)
            if source.get("name") == NGINX_CONFIG and key:
                return ConfMount(key, str(sub) if sub else None, _describe(mount, volume))
    return None


def require_conf_mount(lab: LabContext, web: Web) -> ConfMount:
    found = conf_mount(web)
    if found is None:
        volumes = {v.get("name"): v for v in field(web.pod, "spec.volumes") or []}
        mounts = [_describe(m, volumes.get(m.get("name")) or {}) for m in own_mounts(web)]
        fail(
            web.subject(lab),
            f"the ConfigMap {NGINX_CONFIG} mounted so that it gives {CONF_FILE}",
            "volumeMounts: " + ("; ".join(mounts) or "none"),
            Text(
                f"볼륨은 configMap {NGINX_CONFIG}, 마운트 위치는 {CONF_DIR}/ 디렉터리여야 합니다",
                f"the volume must be configMap {NGINX_CONFIG}, mounted on {CONF_DIR}/",
            ),
            final=True,
        )
    return found


def read_conf(lab: LabContext, web: Web) -> str:
    done = run_in(lab, web, ["cat", CONF_FILE])
    assert_that(
        done.code == 0,
        web.subject(lab),
        f"a readable {CONF_FILE}",
        f"cat exit {done.code}: {done.stderr.strip()[:200]}",
    )
    return done.stdout


def configmap_data(lab: LabContext, name: str) -> dict[str, str]:
    return dict(field(lab.require("ConfigMap", name), "data") or {})


def first_difference(have: str, want: str) -> str:
    """Where two texts first differ, in a few words."""
    have_lines, want_lines = have.splitlines(), want.splitlines()
    for number, (a, b) in enumerate(zip(have_lines, want_lines, strict=False), start=1):
        if a != b:
            return f"line {number} is {a.strip()[:60]!r} (in the ConfigMap: {b.strip()[:60]!r})"
    return f"{len(have_lines)} lines (in the ConfigMap: {len(want_lines)})"


# --- checks --------------------------------------------------------------------------


def test_web_pod_ready(lab: LabContext) -> None:
    ready_web_pods(lab)


def test_config_file_mounted(lab: LabContext) -> None:
    webs = ready_web_pods(lab)

    def same() -> None:
        data = configmap_data(lab, NGINX_CONFIG)
        for web in webs:
            mount = require_conf_mount(lab, web)
            want = data.get(mount.key)
            assert_that(
                want is not None,
                lab.subject("ConfigMap", NGINX_CONFIG),
                f"the key {mount.key} (mounted as {CONF_FILE})",
                f"keys: {', '.join(sorted(data)) or 'none'}",
                final=True,
            )
            have = read_conf(lab, web)
            if have != want:
                lagging = Text(
                    LAGGING.ko + (f"; {SUBPATH_NEVER_FOLLOWS.ko}" if mount.sub_path else ""),
                    LAGGING.en + (f"; {SUBPATH_NEVER_FOLLOWS.en}" if mount.sub_path else ""),
                )
                fail(
                    web.subject(lab),
                    f"{CONF_FILE} = data[{mount.key}] of ConfigMap {NGINX_CONFIG}",
                    f"a different file: {first_difference(have, str(want))}",
                    NOT_MOUNTED if IMAGE_DEFAULT_MARK in have else lagging,
                )

    lab.eventually(same)


@dataclass(frozen=True)
class Curl:
    """An HTTP answer as curl -si printed it."""

    status: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: str


def curl_inside(lab: LabContext, web: Web, path: str) -> Curl:
    """curl -si http://localhost<path> in the container, parsed."""
    url = f"http://localhost{path}"
    done = run_in(lab, web, ["curl", "-si", "-m", "3", url])
    assert_that(
        done.code == 0,
        web.subject(lab),
        f"an answer from nginx to curl {url}",
        f"curl exit {done.code}: {(done.stderr.strip() or done.stdout.strip())[:200]}",
    )
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    status, *lines = head.splitlines() or [""]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Curl(status.strip(), headers, body)


def test_nginx_serves_healthz_and_header(lab: LabContext) -> None:
    webs = ready_web_pods(lab)

    def serves() -> None:
        for web in webs:
            answer = curl_inside(lab, web, "/healthz")
            conf = read_conf(lab, web)
            subject = f"http://localhost/healthz in {web.subject(lab)}"
            ok = " 200" in answer.status
            if "/healthz" in conf:
                why = nginx_read_at_start(lab.namespace)
            else:
                why = NOT_MOUNTED if IMAGE_DEFAULT_MARK in conf else NO_HEALTHZ
            assert_that(
                ok and answer.body.strip() == "ok",
                subject,
                "HTTP 200 with the body ok",
                f"{answer.status or 'no status line'}"
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


def app_mode_source(container: Obj) -> str | None:
    """How the spec gives APP_MODE to the container from app-config, or None when it
    does not (an env entry of that name wins over envFrom)."""
    for entry in container.get("env") or []:
        if entry.get("name") == "APP_MODE":
            ref = field(entry, "valueFrom.configMapKeyRef") or {}
            if ref.get("name") == APP_CONFIG and ref.get("key") == "APP_MODE":
                return "env valueFrom.configMapKeyRef"
            return None
    for source in container.get("envFrom") or []:
        if field(source, "configMapRef.name") == APP_CONFIG and not source.get("prefix"):
            return "envFrom configMapRef"
    return None


def describe_env(container: Obj, name: str) -> str:
    """How the spec sets the variable `name`, in a few words."""
    for entry in container.get("env") or []:
        if entry.get("name") == name:
            if "value" in entry:
                return f"env {name} with value {entry['value']!r} written in the pod spec"
            return f"env {name} from {entry.get('valueFrom')}"
    if container.get("envFrom"):
        return f"no env {name}; envFrom {container.get('envFrom')}"
    return f"no env {name} and no envFrom"


def require_env(lab: LabContext, web: Web, name: str, want: str, still: Unchanged) -> None:
    """The running container's variable `name` is `want`. A running container's environment
    never changes: the same wrong value in the same container run (printenv answered: 0 set,
    1 not set) for a few looks stays until the container starts again."""
    done = run_in(lab, web, ["printenv", name])
    have = done.stdout.removesuffix("\n") if done.code == 0 else None
    if have == want:
        return
    now = lab.get("Pod", name_of(web.pod))
    run = [
        s.get("containerID")
        for s in field(now, "status.containerStatuses") or []
        if s.get("name") == web.container.get("name")
    ]
    quiet = done.code in (0, 1) and still.see((tuple(run), have))
    fail(
        web.subject(lab),
        f"{name}={want} in the container",
        f"{name}={have if have == have.strip() else repr(have)}"
        if have is not None
        else f"{name} is not set in the container",
        env_read_at_start(lab.namespace),
        settled=still.reason(Text(f"컨테이너의 {name}", f"the container's {name}")) if quiet else None,
    )


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
            literal = any(
                e.get("name") == "APP_MODE" and "value" in e for e in web.container.get("env") or []
            )
            assert_that(
                app_mode_source(web.container) is not None,
                web.subject(lab),
                f"APP_MODE from ConfigMap {APP_CONFIG} (env valueFrom.configMapKeyRef, or envFrom)",
                describe_env(web.container, "APP_MODE"),
                LITERAL_VALUE if literal else None,
                final=True,
            )
            require_env(lab, web, "APP_MODE", str(want), same_env)

    same_env = Unchanged(seconds=3, rounds=3)
    lab.eventually(from_configmap)


def test_app_config_v1_is_immutable(lab: LabContext) -> None:
    cm = lab.eventually(lambda: lab.require("ConfigMap", APP_CONFIG_V1, wait=True))
    subject = lab.subject("ConfigMap", APP_CONFIG_V1)
    immutable = field(cm, "immutable")
    assert_that(
        immutable is True,
        subject,
        "immutable: true",
        f"immutable: {str(immutable).lower() if immutable is not None else '(not set)'}",
        NOT_IMMUTABLE,
        final=True,
    )
    # A dry run: the API server validates the change (and must refuse it) but never stores it.
    probe = {"data": {"kubelab-probe": secrets.token_hex(4)}}
    try:
        lab.kube.patch("ConfigMap", APP_CONFIG_V1, lab.namespace, probe, merge=True, dry_run=True)
    except ApiException as e:
        assert_that(
            e.status == 422 and "immutable" in api_reason(e),
            subject,
            "the API server refuses a change: field is immutable",
            f"refused for another reason: HTTP {e.status} {api_reason(e)}",
        )
        return
    fail(subject, "the API server refuses a change to its data", "the change was accepted (dry run)")


def set_data(lab: LabContext, name: str, data: dict[str, str]) -> None:
    """Change some keys of a ConfigMap's data (a JSON merge patch: nothing else is touched)."""
    lab.kube.patch("ConfigMap", name, lab.namespace, {"data": data}, merge=True)


def with_line(text: str, line: str) -> str:
    """text with one more line at its end."""
    return text + ("\n" if text and not text.endswith("\n") else "") + line + "\n"


def restore(lab: LabContext, original: Obj) -> None:
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


def test_mounted_file_follows_configmap(lab: LabContext) -> None:
    webs = ready_web_pods(lab)
    mounts = {web.name: require_conf_mount(lab, web) for web in webs}
    for web in webs:  # a subPath mount is a copy made once: it never follows, so no waiting
        assert_that(
            not mounts[web.name].sub_path,
            web.subject(lab),
            f"{CONF_FILE} that follows the ConfigMap (a mount of the volume, not a subPath)",
            f"mounted with subPath (mount: {mounts[web.name].described})",
            SUBPATH_NEVER_FOLLOWS,
            final=True,
        )
    keys = sorted({m.key for m in mounts.values()})
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
    lab.defer(f"put {subject} back as it was before the check", lambda: restore(lab, original))
    set_data(lab, NGINX_CONFIG, {key: with_line(str(data.get(key, "")), mark) for key in keys})

    def followed() -> None:
        for web in webs:
            mount = mounts[web.name]
            assert_that(
                mark in read_conf(lab, web),
                web.subject(lab),
                f"{CONF_FILE} follows the ConfigMap (the line {mark!r} appended to data[{mount.key}])",
                f"the file is unchanged (mount: {mount.described})",
                SUBPATH_NEVER_FOLLOWS if mount.sub_path else KUBELET_SYNC,
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
    encoded = str(data[PASSWORD_KEY])
    try:
        value: str | None = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        value = None
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
        f"data.{PASSWORD_KEY}: {encoded} (decoded: {value!r})",
        why,
        final=True,
    )


def password_source(container: Obj) -> tuple[bool, Text | None]:
    """Whether the spec gives DB_PASSWORD from app-secret, and why not when it is a
    typical mistake (an env entry of that name wins over envFrom)."""
    for entry in container.get("env") or []:
        if entry.get("name") == PASSWORD_KEY:
            ref = field(entry, "valueFrom.secretKeyRef") or {}
            if ref.get("name") == APP_SECRET and ref.get("key") == PASSWORD_KEY:
                return True, None
            if field(entry, "valueFrom.configMapKeyRef"):
                return False, PASSWORD_IN_CONFIGMAP
            return False, PASSWORD_WRITTEN_IN if "value" in entry else None
    for source in container.get("envFrom") or []:
        if field(source, "secretRef.name") == APP_SECRET and not source.get("prefix"):
            return True, None
    return False, None


def test_db_password_from_secret(lab: LabContext) -> None:
    webs = ready_web_pods(lab)
    secret_password(lab)
    for web in webs:
        given, why = password_source(web.container)
        assert_that(
            given,
            web.subject(lab),
            f"{PASSWORD_KEY} from Secret {APP_SECRET} (env valueFrom.secretKeyRef, or envFrom secretRef)",
            describe_env(web.container, PASSWORD_KEY),
            why,
            final=True,
        )
    same_env = Unchanged(seconds=3, rounds=3)

    def every_web() -> None:
        for web in webs:
            require_env(lab, web, PASSWORD_KEY, PASSWORD, same_env)

    lab.eventually(every_web)
