"""Lab 07 — fortuneloop args. Titles, points and hints: labs/07-fortune-args/lab.yaml.

What only reads the pods' specs is data there (interval_given_through_args,
one_emptydir_shared, configmap_feeds_the_interval); the checks here run the pods.

The pages' rhythm is measured, not read from the spec: the checker asks the web container
for its page and for the page file's modification time (nanoseconds) about every half
second, and takes the median time between two writes it saw.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from kubelab.checks import LabContext, assert_that, deleting, fail, field, is_ready, name_of
from kubelab.manifests import Obj
from kubelab.settled import BAD_CONFIG, CANNOT_PULL, CRASH_LOOP
from kubelab.text import Text

FORTUNE, FORTUNE_ENV, CONFIG_MAP, KEY = "fortune", "fortune-env", "fortune-config", "interval"
GENERATOR_IMAGE, WEB_IMAGE = "kubelab/fortune:", "kubelab/nginx:"
HTDOCS, SERVED = "/var/htdocs", "/usr/share/nginx/html"
IMAGE_DEFAULT = 10
"""The image's CMD: the interval when the pod gives no args."""
WANTED_ARGS, WANTED_CONFIG = "2", "3"
INTERVALS = 3
"""Intervals between writes seen before their median is judged (3: one slow write under
load cannot move the median)."""
SLOWEST, FASTEST = 1.75, 0.75
"""The median interval must lie in [FASTEST, SLOWEST] × the interval asked for; a page
unchanged for SLOWEST × the interval plus a margin for slow polls is too slow at once."""
HOPELESS = CANNOT_PULL | BAD_CONFIG - {"CreateContainerConfigError"} | {CRASH_LOOP, "StartError"}
"""Waiting reasons that no amount of waiting mends."""
PROBE = r"""
body=$(curl -sSf -m 2 http://localhost/ 2>&1); code=$?
echo "$code"
stat -c %.9Y "$1/index.html" 2>/dev/null || echo -
printf '%s' "$body"
"""
"""Run in the web container: curl's exit code, the page file's mtime, the page."""


# --- reading the pod -------------------------------------------------------------------


@dataclass(frozen=True)
class FortunePod:
    """A pod of this lab: its generator (the fortune image) and web (nginx) containers."""

    pod: Obj
    generator: Obj
    web: Obj

    @property
    def name(self) -> str:
        return name_of(self.pod)


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


def mount_of(container: Obj, volume: str) -> Obj | None:
    for mount in container.get("volumeMounts") or []:
        if mount.get("name") == volume:
            return dict(mount)
    return None


def volume_at(container: Obj, path: str) -> str | None:
    """The volume a container mounts at `path`, if any."""
    for mount in container.get("volumeMounts") or []:
        if str(mount.get("mountPath", "")).rstrip("/") == path:
            return str(mount.get("name"))
    return None


def mounts(container: Obj) -> str:
    found = [
        f"{m.get('name')} at {m.get('mountPath')}"
        for m in container.get("volumeMounts") or []
        if not str(m.get("mountPath", "")).startswith("/var/run/secrets/")  # the service account's
    ]
    return ", ".join(found) or "no volumes"


def first_log_line(lab: LabContext, pod: str, container: str) -> str:
    """The generator's first line says which interval it got."""
    lines = lab.kube.logs(pod, lab.namespace, container, limit_bytes=300).splitlines()
    return lines[0].strip() if lines else ""


def statuses(pod: Obj, only: str | None = None) -> list[Obj]:
    found = field(pod, "status.containerStatuses") or []
    return [s for s in found if only is None or s.get("name") == only]


def broken(lab: LabContext, pod: Obj, only: str | None = None) -> str | None:
    """Why a container of the pod cannot run (crashed, cannot start, no image), or None."""
    for status in statuses(pod, only):
        state, last = status.get("state") or {}, status.get("lastState") or {}
        waiting, ended = state.get("waiting") or {}, state.get("terminated") or last.get("terminated")
        reason = waiting.get("reason")
        if reason not in HOPELESS and not ended:
            continue
        why = (ended or {}).get("message") or waiting.get("message") or ""
        why = why[why.find("exec:") :] if "exec:" in why else why  # the runtime's own words
        exit_code = (ended or {}).get("exitCode")
        said = lab.last_words(name_of(pod), status["name"])
        parts = [
            f"container {status['name']}: {reason or (ended or {}).get('reason', 'terminated')}",
            f"exit code {exit_code}" if exit_code is not None else "",
            why.strip()[:200],
            f"its log: {said[:300]}" if said else "",
        ]
        return "; ".join(p for p in parts if p)
    return None


def config_problem(pod: Obj, only: str | None = None) -> str | None:
    """A container that cannot be created for want of its configuration (a ConfigMap)."""
    for status in statuses(pod, only):
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CreateContainerConfigError":
            return f"container {status['name']}: CreateContainerConfigError: {waiting.get('message', '')}"
    return None


def running(lab: LabContext, name: str, only: str | None = None) -> FortunePod:
    """The pod, once both its containers (or the one named `only`) run; at once a failure
    when one cannot."""
    found = fortune_pod(lab, name)
    subject = lab.subject("Pod", name) + (f", container {only}" if only else "")
    wanted = f"container {only} running" if only else "both containers running"

    def ready() -> FortunePod:
        pod = lab.require("Pod", name)
        why = broken(lab, pod, only)
        assert_that(why is None, subject, wanted, why or "", crash_diagnosis(found.generator), final=True)
        missing = config_problem(pod, only)
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


# --- measuring the page's rhythm ---------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    at: float
    """Wall-clock time the poll ended."""
    ok: bool
    body: str
    mtime: float | None
    """The page file's modification time, as the web container sees it."""
    begun: float = 0.0
    """Wall-clock time the poll began (on a busy machine an exec takes seconds: the page
    was read somewhere between begun and at)."""


def sample(lab: LabContext, found: FortunePod, served: str) -> Sample:
    begun = time.time()
    done = lab.exec(found.name, ["sh", "-c", PROBE, "probe", served], container=found.web.get("name"))
    lines = done.stdout.split("\n", 2)
    code = lines[0].strip() if lines else ""
    try:
        mtime: float | None = float(lines[1]) if len(lines) > 1 else None
    except ValueError:
        mtime = None
    body = lines[2] if len(lines) > 2 else done.stderr
    return Sample(time.time(), done.code == 0 and code == "0", body, mtime, begun)


def changes(samples: list[Sample]) -> list[float]:
    """When the page was rewritten: the file's mtime if seen (the first poll's too: the
    write before it counts), else the poll's time."""
    times: list[float] = []
    first = next((s for s in samples if s.ok), None)
    if first is not None and first.mtime is not None:
        times.append(first.mtime)
    for before, after in pairwise(samples):
        if after.ok and before.ok and (after.body != before.body or after.mtime != before.mtime):
            times.append(after.mtime if after.mtime is not None and before.mtime is not None else after.at)
    return times


def seconds(value: float) -> str:
    return f"{value:.1f} s"


def page_rhythm(lab: LabContext, found: FortunePod, interval: float, hint: Callable[[], Text | None]) -> None:
    """Sample the served page until INTERVALS rewrites were seen, then judge the interval
    (the shortest gap between two rewrites seen)."""
    subject = f"the page served by {lab.subject('Pod', found.name)} (container {found.web.get('name')})"
    band = f"{FASTEST * interval:.1f}–{SLOWEST * interval:.1f} s"
    wanted = f"a new page about every {seconds(interval)} ({band})"
    stall = SLOWEST * interval + max(2.0, interval / 2)
    volume = volume_at(found.generator, HTDOCS)
    mount = mount_of(found.web, volume) if volume else None
    served = str((mount or {}).get("mountPath") or SERVED).rstrip("/")
    samples: list[Sample] = []
    started = time.time()

    def judged() -> None:
        samples.append(sample(lab, found, served))
        last = samples[-1]
        if not last.ok:
            refused = [s for s in samples[-3:] if not s.ok and "returned error" in s.body]
            fail(
                subject,
                wanted,
                f"no page: {last.body.strip()[:160] or 'curl failed'}",
                Text(
                    f"nginx가 {SERVED}에서 index.html을 찾지 못합니다: "
                    "생성기의 페이지가 그 폴더에 오지 않습니다",
                    f"nginx finds no index.html in {SERVED}: the generator's pages do not reach that folder",
                )
                if refused
                else None,
                final=len(refused) == 3,
            )
        times = changes(samples)
        pages = len({s.body for s in samples if s.ok})
        moved = [
            b.at for a, b in pairwise(samples) if a.ok and b.ok and (a.body, a.mtime) != (b.body, b.mtime)
        ]
        # unchanged at least from the end of the poll that first showed this page to the
        # start of the last poll (never from before the first poll: nothing was seen then)
        quiet = last.begun - (moved[-1] if moved else samples[0].at)
        if quiet > stall:
            fail(
                subject,
                wanted,
                f"the same page for {seconds(quiet)} (looked {len(samples)} times)",
                hint(),
                final=True,
            )
        gaps = [b - a for a, b in pairwise(times)]
        if len(gaps) < INTERVALS:
            fail(
                subject, wanted, f"{len(times)} rewrites seen in {seconds(last.at - started)}; still looking"
            )
        assert_that(
            pages > 2,
            subject,
            wanted,
            f"index.html was rewritten {len(times)} times but the page served showed {pages} different pages",
            Text(
                f"웹 서버가 {served} 폴더를 보여 주는지 보세요 (nginx는 {SERVED} 폴더를 보여 줍니다)",
                f"check that the web server serves {served} (nginx serves {SERVED})",
            ),
            final=True,
        )
        # a gap between two rewrites seen is the interval, or a multiple of it when a
        # rewrite came and went between two looks (an exec takes seconds on a busy
        # machine): the shortest gap is the interval
        shortest = min(gaps)
        assert_that(
            FASTEST * interval <= shortest <= SLOWEST * interval,
            subject,
            wanted,
            f"a new page every {seconds(shortest)} (the shortest of {', '.join(seconds(g) for g in gaps)})",
            hint(),
            final=True,
        )

    lab.eventually(judged, timeout=SLOWEST * interval * (INTERVALS + 1) + 10)


def interval_said(lab: LabContext, found: FortunePod) -> Text | None:
    """What the generator itself says about its interval."""
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

    page_rhythm(lab, found, float(WANTED_ARGS), hint)


def test_web_mount_is_read_only(lab: LabContext) -> None:
    found = fortune_pod(lab, FORTUNE)
    found = running(lab, FORTUNE, only=str(found.web.get("name")))
    subject = f"{lab.subject('Pod', FORTUNE)}, container {found.web.get('name')}"
    volume = volume_at(found.web, SERVED)
    assert_that(volume is not None, subject, f"a volume mounted at {SERVED}", mounts(found.web), final=True)
    read_only = bool((mount_of(found.web, str(volume)) or {}).get("readOnly"))
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
    page_rhythm(lab, found, interval, lambda: interval_said(lab, found))
