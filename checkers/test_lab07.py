"""Lab 07 — fortuneloop args. Titles, points and hints: labs/07-fortune-args/lab.yaml.

What only reads the pods' specs is data there (interval_given_through_args,
one_emptydir_shared, configmap_feeds_the_interval); the checks here run the pods. The
pages' rhythm is measured inside the web container (kubelab.rhythm: the shortest gap
between the rewrites seen); why a container does not run is kubelab.containers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubelab.checks import LabContext, assert_that, deleting, fail, field, is_ready, name_of
from kubelab.containers import PodContainer, cannot_run, config_error, first_log_line, statuses
from kubelab.manifests import Obj
from kubelab.rhythm import page_rhythm
from kubelab.settled import BAD_CONFIG, CANNOT_PULL, CRASH_LOOP
from kubelab.text import Text
from kubelab.volumes import describe_volumes, mount_at, mounts_of

FORTUNE, FORTUNE_ENV, CONFIG_MAP, KEY = "fortune", "fortune-env", "fortune-config", "interval"
GENERATOR_IMAGE, WEB_IMAGE = "kubelab/fortune:", "kubelab/nginx:"
HTDOCS, SERVED = "/var/htdocs", "/usr/share/nginx/html"
IMAGE_DEFAULT = 10
"""The image's CMD: the interval when the pod gives no args."""
WANTED_ARGS, WANTED_CONFIG = "2", "3"
HOPELESS = CANNOT_PULL | BAD_CONFIG - {"CreateContainerConfigError"} | {CRASH_LOOP, "StartError"}
"""Waiting reasons that no amount of waiting mends for this lab's pods (a missing
ConfigMap is told apart: running)."""


# --- the pods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FortunePod:
    """A pod of this lab: its generator (the fortune image) and web (nginx) containers."""

    pod: Obj
    generator: Obj
    web: Obj

    @property
    def name(self) -> str:
        return name_of(self.pod)

    @property
    def server(self) -> PodContainer:
        """The web container, as kubelab.containers and kubelab.rhythm take it."""
        return PodContainer(self.pod, self.web)


def image_of(container: Obj) -> str:
    """kubelab/fortune:v1, however it was written (docker.io/kubelab/fortune:v1 too)."""
    return str(container.get("image", "")).removeprefix("docker.io/")


def images_of(pod: Obj) -> str:
    return (
        ", ".join(f"{c.get('name')} ({c.get('image')})" for c in field(pod, "spec.containers") or [])
        or "none"
    )


def fortune_pod(lab: LabContext, name: str) -> FortunePod:
    """The pod with its two containers, found by image (any container names will do)."""
    pod = lab.require("Pod", name)
    containers = field(pod, "spec.containers") or []
    subject = lab.subject("Pod", name)
    generators = [c for c in containers if image_of(c).startswith(GENERATOR_IMAGE)]
    webs = [c for c in containers if image_of(c).startswith(WEB_IMAGE)]
    assert_that(
        len(generators) == 1 and len(webs) == 1,
        subject,
        "one container from kubelab/fortune:v1 and one from kubelab/nginx:v1",
        f"containers: {images_of(pod)}",
        final=True,
    )
    return FortunePod(pod, generators[0], webs[0])


def as_json(value: Any) -> str:
    """A list as a learner wrote it in YAML: ["2"]."""
    return json.dumps(value, ensure_ascii=False)


def served_folder(found: FortunePod) -> str:
    """Where the web container has the pages: its mount of the volume the generator writes
    into at HTDOCS (SERVED when it mounts no such volume)."""
    writes = mount_at(found.pod, str(found.generator.get("name")), HTDOCS)
    volume = writes.volume if writes else None
    web = str(found.web.get("name"))
    there = [m.path for m in mounts_of(found.pod) if m.container == web and m.volume == volume]
    return (there[0] if there else SERVED).rstrip("/")


def running(lab: LabContext, name: str, only: str | None = None) -> FortunePod:
    """The pod, once both its containers (or the one named `only`) run; at once a failure
    when one cannot."""
    found = fortune_pod(lab, name)
    subject = lab.subject("Pod", name) + (f", container {only}" if only else "")
    wanted = f"container {only} running" if only else "both containers running"

    def ready() -> FortunePod:
        pod = lab.require("Pod", name)
        why = cannot_run(lab, pod, HOPELESS, only)
        assert_that(why is None, subject, wanted, why or "", crash_diagnosis(found.generator), final=True)
        missing = config_error(pod, only)
        if missing and lab.get("ConfigMap", CONFIG_MAP) is None:
            fail(subject, wanted, missing, final=True)
        up = all(s.get("ready") for s in statuses(pod, only)) if only else is_ready(pod)
        assert_that(
            up and bool(statuses(pod, only)) and not deleting(pod),
            subject,
            wanted if only else "Ready (both containers running)",
            missing or f"phase {field(pod, 'status.phase', '?')}, not Ready",
        )
        return FortunePod(pod, found.generator, found.web)

    return lab.eventually(ready)


def crash_diagnosis(generator: Obj) -> Text | None:
    if generator.get("command"):
        shown = as_json(generator.get("command"))
        return Text(
            f"command에 적은 {shown} 값은 이미지의 ENTRYPOINT(fortuneloop.sh)를 대신합니다: "
            "컨테이너가 그것을 프로그램으로 실행하려 합니다. 간격은 args로 주세요",
            f"command {shown} replaces the image's ENTRYPOINT (fortuneloop.sh): the container "
            "tries to run it as a program. Give the interval through args",
        )
    return None


def interval_said(lab: LabContext, found: FortunePod) -> Text | None:
    """What the generator itself says about its interval (its first log line)."""
    said = first_log_line(lab, found.name, str(found.generator.get("name")))
    if not said:
        return None
    return Text(f"생성기 로그의 첫 줄: {said}", f"the generator's log begins: {said}")


# --- the checks ----------------------------------------------------------------------------


def test_fortune_pod_runs(lab: LabContext) -> None:
    running(lab, FORTUNE)


def test_page_changes_every_2_seconds(lab: LabContext) -> None:
    found = running(lab, FORTUNE)

    def hint() -> Text | None:
        args = found.generator.get("args")
        if args is None:
            return Text(
                f'args가 없어 이미지의 CMD ["{IMAGE_DEFAULT}"] 값이 쓰입니다: {IMAGE_DEFAULT}초마다 바뀝니다',
                f'no args, so the image\'s CMD ["{IMAGE_DEFAULT}"] is used: '
                f"a new page every {IMAGE_DEFAULT} s",
            )
        return interval_said(lab, found)

    page_rhythm(lab, found.server, served_folder(found), SERVED, float(WANTED_ARGS), hint)


def test_web_mount_is_read_only(lab: LabContext) -> None:
    found = fortune_pod(lab, FORTUNE)
    found = running(lab, FORTUNE, only=str(found.web.get("name")))
    subject = f"{lab.subject('Pod', FORTUNE)}, container {found.web.get('name')}"
    mount = mount_at(found.pod, str(found.web.get("name")), SERVED)
    found_mounts = describe_volumes(found.pod)
    assert_that(mount is not None, subject, f"a volume mounted at {SERVED}", found_mounts, final=True)
    assert mount is not None
    volume, read_only = mount.volume, mount.read_only
    probe = f"{SERVED}/.kubelab-write-test"
    container = str(found.web.get("name"))

    def take_out() -> None:
        gone = lab.exec(found.name, ["rm", "-f", probe], container=container)
        assert_that(gone.code == 0, subject, f"{probe} removed", gone.stderr.strip()[:160])

    lab.defer(f"remove {probe} from {subject}", take_out)
    done = lab.exec(found.name, ["touch", probe], container=container)
    wrote = done.code == 0
    said = "succeeded" if wrote else f"failed ({done.stderr.strip()[:100] or f'exit {done.code}'})"
    assert_that(
        read_only and not wrote,
        subject,
        f"volumeMounts {volume} at {SERVED} with readOnly: true, so writing there fails",
        f"readOnly: {str(read_only).lower()}; touch {probe} {said}",
        Text(
            "웹 서버가 자기가 보여 주는 페이지를 바꿀 수 있습니다: 마운트에 readOnly: true 를 주세요",
            "the web server can change the pages it serves: give its mount readOnly: true",
        )
        if wrote
        else None,
        final=True,
    )


def test_fortune_env_page_follows_configmap(lab: LabContext) -> None:
    config = lab.require("ConfigMap", CONFIG_MAP)
    value = str(field(config, f"data.{KEY}", "")).strip()
    try:
        interval = float(value)
    except ValueError:
        interval = 0.0
    assert_that(
        0 < interval <= IMAGE_DEFAULT,
        lab.subject("ConfigMap", CONFIG_MAP),
        f'data.{KEY}: a number of seconds (e.g. "{WANTED_CONFIG}")',
        f"data.{KEY}: {value!r}",
        final=True,
    )
    found = running(lab, FORTUNE_ENV)
    page_rhythm(lab, found.server, served_folder(found), SERVED, interval, lambda: interval_said(lab, found))
