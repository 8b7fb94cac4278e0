"""Restarting one container of a pod, without deleting the pod — to see what outlives a
container (an emptyDir does) but not its pod.

A pod's image is one of the few fields of its spec that may change, and the kubelet
restarts just that container for it. So a check gives the container the same image
under its other Docker Hub name (`kubelab/web:v1` ↔ `docker.io/kubelab/web:v1`): the same
image, a new container. The name is given back when the check ends (one more restart).
"""

from __future__ import annotations

from kubelab.checks import LabContext, assert_that, fail, field, name_of, ready_pod, restart_count
from kubelab.manifests import Obj
from kubelab.waiting import wait_until

DOCKER_HUB = "docker.io/"
PUT_BACK_WAIT = 45.0
"""Seconds the container may take to run again with its own image name."""


def other_name(image: str) -> str | None:
    """The same image under its other Docker Hub name (with or without docker.io/); None
    for an image of another registry (its name has a host: a dot, a port, localhost)."""
    if image.startswith(DOCKER_HUB):
        return image.removeprefix(DOCKER_HUB)
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return None
    return DOCKER_HUB + image


def image_of(pod: Obj, container: str) -> str:
    """The image a container of the pod is given in its spec."""
    for spec in field(pod, "spec.containers") or []:
        if spec.get("name") == container:
            return str(spec.get("image") or "")
    return ""


def set_image(lab: LabContext, pod: str, container: str, image: str) -> None:
    """kubectl set image pod/POD CONTAINER=IMAGE (a strategic merge patch)."""
    lab.kube.patch("Pod", pod, lab.namespace, {"spec": {"containers": [{"name": container, "image": image}]}})


def restarted(lab: LabContext, pod: str, container: str, uid: str, before: int) -> Obj:
    """The same pod, Ready again once the container has restarted (its restartCount grew
    past `before`); another pod of that name fails at once."""
    now = ready_pod(lab, pod)
    subject = lab.subject("Pod", pod)
    assert_that(field(now, "metadata.uid") == uid, subject, "the same pod", "another pod", final=True)
    count = restart_count(now, container)
    assert_that(count > before, f"{subject} container {container}", "restarted", f"restartCount {count}")
    return now


def restart_container(lab: LabContext, pod: Obj, container: str) -> Obj:
    """Restart one container of the (running) pod by giving it its image's other name, and
    wait until it runs again; the pod as it is then. The name is given back when the
    check ends. An image of another registry than Docker Hub fails at once."""
    name, uid = name_of(pod), str(field(pod, "metadata.uid"))
    where = f"{lab.subject('Pod', name)} container {container}"
    image = image_of(pod, container)
    other = other_name(image)
    if other is None:
        fail(
            where,
            "an image name without a registry host (e.g. kubelab/web:v1): the checker restarts the "
            "container by giving it the same image's full docker.io/ name",
            f"image {image}",
            final=True,
        )
    before = restart_count(pod, container)
    lab.defer(
        f"give {where} its image {image} again", lambda: put_back_image(lab, name, container, image, uid)
    )
    set_image(lab, name, container, other)
    return lab.eventually(lambda: restarted(lab, name, container, uid, before))


def put_back_image(lab: LabContext, pod: str, container: str, image: str, uid: str) -> None:
    """Give the container its own image name again (one more restart), and wait until it
    runs; nothing to do when the pod is gone or already has it."""
    now = lab.get("Pod", pod)
    if now is None or field(now, "metadata.uid") != uid or image_of(now, container) == image:
        return
    before = restart_count(now, container)
    set_image(lab, pod, container, image)
    wait_until(lambda: restarted(lab, pod, container, uid, before), PUT_BACK_WAIT)
