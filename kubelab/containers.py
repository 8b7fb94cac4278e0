"""A container of the learner's pods, found by the image it runs, and what a check does
inside it: run a command, read a file, ask a server over HTTP with curl, read an
environment variable; why a container does not run (a hopeless wait, an ended run, a
configuration it lacks) and the first line it logged. A lab that names its image, not its
labels, finds the learner's pods this way whether a Deployment or the learner made them.

Inside a container, a container that is gone or not running (restarting, replaced) is a
mismatch the check waits out, never an error of the check.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

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
from kubelab.probes import HttpAnswer
from kubelab.settled import CRASHES_SETTLED, Unchanged, first_stuck
from kubelab.text import Text


@dataclass(frozen=True)
class PodContainer:
    """A pod, and the one of its containers a check looks at."""

    pod: Obj
    container: Obj

    @property
    def name(self) -> str:
        """The pod's name."""
        return name_of(self.pod)

    @property
    def container_name(self) -> str:
        return str(self.container.get("name"))

    def subject(self, lab: LabContext) -> str:
        """`Pod lab-06/web-… (container nginx)`."""
        return f"{lab.subject('Pod', self.name)} (container {self.container_name})"

    def ready(self) -> bool:
        """The pod is Ready and so is this container."""
        statuses = field(self.pod, "status.containerStatuses") or []
        mine = any(s.get("name") == self.container_name and s.get("ready") for s in statuses)
        return mine and is_ready(self.pod)


def running_image(lab: LabContext, image: str) -> list[PodContainer]:
    """The pods (not being deleted) with a container that runs `image`, by name, each with
    its first such container."""
    found = []
    for pod in lab.list("Pod"):
        with_image = [c for c in field(pod, "spec.containers") or [] if c.get("image") == image]
        if with_image and not deleting(pod):
            found.append(PodContainer(pod, with_image[0]))
    return sorted(found, key=lambda c: c.name)


def ready_running_image(lab: LabContext, image: str, crashes: int = CRASHES_SETTLED) -> list[PodContainer]:
    """The Ready pods running `image` (at least one), waiting for the check's timeout.
    While there are none: which images the pods run, or the pods' states and why they do
    not come up (kubelab.checks.why_not_ready); `crashes`: restarts after which a crash
    loop settles the answer (kubelab.settled.stuck)."""
    subject = f"pods running {image} in {lab.namespace}"

    def ready() -> list[PodContainer]:
        found = running_image(lab, image)
        if not found:
            running = {
                str(c.get("image")) for p in lab.list("Pod") for c in field(p, "spec.containers") or []
            }
            fail(
                subject,
                "a Ready pod (from a Deployment or your own pod)",
                f"no pod runs {image} (images running: {', '.join(sorted(running)) or 'none'})",
            )
        good = [c for c in found if c.ready()]
        if not good:
            pods = [c.pod for c in found]
            fail(
                subject,
                "a Ready pod",
                pod_states(pods),
                why_not_ready(lab, pods),
                settled=first_stuck(pods, crashes),
            )
        return good

    return lab.eventually(ready)


def run_in(lab: LabContext, target: PodContainer, command: list[str]) -> ExecResult:
    """kubectl exec into the container; one that is gone or not running is a mismatch
    worth waiting for (the failure says why the API server refused)."""
    try:
        return lab.exec(target.name, command, target.container_name)
    except (ApiException, ValueError) as e:
        reason = (api_reason(e) if isinstance(e, ApiException) else str(e)).splitlines()[0][:160]
        fail(
            target.subject(lab),
            "a running container to exec into",
            f"{' '.join(command[:2])} failed: {reason}",
        )


def read_file(lab: LabContext, target: PodContainer, path: str) -> str:
    """The file's content in the container (cat); a file it cannot read is a mismatch."""
    done = run_in(lab, target, ["cat", path])
    assert_that(
        done.code == 0,
        target.subject(lab),
        f"a readable {path}",
        f"cat exit {done.code}: {done.stderr.strip()[:200]}",
    )
    return done.stdout


def curl_inside(lab: LabContext, target: PodContainer, path: str) -> HttpAnswer:
    """curl -si http://localhost<path> in the container, as an HttpAnswer (header names in
    lower case; status 0 when curl printed no status line). curl failing is a mismatch."""
    url = f"http://localhost{path}"
    done = run_in(lab, target, ["curl", "-si", "-m", "3", url])
    assert_that(
        done.code == 0,
        target.subject(lab),
        f"an answer to curl {url}",
        f"curl exit {done.code}: {(done.stderr.strip() or done.stdout.strip())[:200]}",
    )
    return parse_curl(url, done.stdout)


def parse_curl(url: str, printed: str) -> HttpAnswer:
    """What curl -si printed (status line, headers, a blank line, the body), as an HttpAnswer."""
    head, _, body = printed.replace("\r\n", "\n").partition("\n\n")
    status_line, *lines = head.splitlines() or [""]
    words = status_line.split()
    status = int(words[1]) if len(words) > 1 and words[0].startswith("HTTP/") and words[1].isdigit() else 0
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return HttpAnswer(url, status, headers, body, "" if status else "no status line")


def require_env(
    lab: LabContext, target: PodContainer, name: str, want: str, still: Unchanged, detail: Text | None = None
) -> None:
    """The running container's variable `name` is `want` (printenv). A running container's
    environment never changes: the same wrong value in the same container run (printenv
    answered: 0 set, 1 not set) for a few looks (`still`) stays until the container
    starts again, so the failure is settled then. `detail`: what to do about it."""
    done = run_in(lab, target, ["printenv", name])
    have = done.stdout.removesuffix("\n") if done.code == 0 else None
    if have == want:
        return
    now = lab.get("Pod", target.name)
    run = [
        s.get("containerID")
        for s in field(now, "status.containerStatuses") or []
        if s.get("name") == target.container_name
    ]
    quiet = done.code in (0, 1) and still.see((tuple(run), have))
    fail(
        target.subject(lab),
        f"{name}={want} in the container",
        f"{name}={have if have == have.strip() else repr(have)}"
        if have is not None
        else f"{name} is not set in the container",
        detail,
        settled=still.reason(Text(f"컨테이너의 {name}", f"the container's {name}")) if quiet else None,
    )


# --- why a container does not run ------------------------------------------------------


def statuses(pod: Obj, container: str | None = None) -> list[Obj]:
    """The pod's container statuses (only the one named `container`, if given)."""
    found = field(pod, "status.containerStatuses") or []
    return [s for s in found if container is None or s.get("name") == container]


def cannot_run(
    lab: LabContext, pod: Obj, hopeless: Collection[str], container: str | None = None
) -> str | None:
    """Why a container of the pod (or the one named `container`) cannot run, in a line, or
    None: it waits for a reason in `hopeless` (those the lab knows waiting will not mend),
    or a run of it ended (for a container meant to keep running, that is a crash). Says
    the reason, the exit code, the runtime's own words and the container's last log lines."""
    for status in statuses(pod, container):
        state, last = status.get("state") or {}, status.get("lastState") or {}
        waiting, ended = state.get("waiting") or {}, state.get("terminated") or last.get("terminated")
        reason = waiting.get("reason")
        if reason not in hopeless and not ended:
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


def config_error(pod: Obj, container: str | None = None) -> str | None:
    """A container the kubelet cannot create for want of what its spec names (a ConfigMap,
    a Secret, a key): CreateContainerConfigError and the kubelet's words, or None."""
    for status in statuses(pod, container):
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CreateContainerConfigError":
            return f"container {status['name']}: CreateContainerConfigError: {waiting.get('message', '')}"
    return None


def first_log_line(lab: LabContext, pod: str, container: str) -> str:
    """The first line the container logged (a program that says how it was started), or ""."""
    lines = lab.kube.logs(pod, lab.namespace, container, limit_bytes=300).splitlines()
    return lines[0].strip() if lines else ""
