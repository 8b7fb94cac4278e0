"""A container found by its image, and what a check does inside it (kubelab.containers),
with pods as the API gives them and a fake lab whose exec answers from a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from kubernetes.client.exceptions import ApiException

from kubelab import containers
from kubelab.errors import CheckFailed
from kubelab.kube import ExecResult
from kubelab.settled import Unchanged

T = TypeVar("T")
NGINX = "kubelab/nginx:v1"


def pod(name: str, image: str = NGINX, ready: bool = True, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "side", "image": "busybox"}, {"name": "nginx", "image": image}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "nginx", "ready": ready, "containerID": "c1", **status}],
        },
    }


class FakeKube:
    def warning_events(self, pod: dict[str, Any]) -> tuple[str, ...]:
        return ()


class FakeLab:
    """What kubelab.containers uses of a LabContext; exec answers from `answers`."""

    namespace = "lab-06"

    def __init__(
        self, *pods: dict[str, Any], answers: dict[tuple[str, ...], ExecResult] | None = None
    ) -> None:
        self.pods = list(pods)
        self.answers = answers or {}
        self.kube = FakeKube()
        self.ran: list[tuple[str, Sequence[str], str | None]] = []

    def subject(self, kind: str, name: str) -> str:
        return f"{kind} {self.namespace}/{name}"

    def list(self, kind: str, selector: str = "") -> list[dict[str, Any]]:
        return self.pods

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((p for p in self.pods if p["metadata"]["name"] == name), None)

    def eventually(self, assertion: Callable[[], T]) -> T:
        return assertion()  # one look: the tests ask what a look says

    def last_words(self, pod: str, container: str, previous_first: bool = False) -> str:
        return "nginx: [emerg] open() /etc/nginx/nginx.conf failed"

    def exec(self, pod: str, command: Sequence[str], container: str | None = None) -> ExecResult:
        self.ran.append((pod, command, container))
        answer = self.answers.get(tuple(command))
        if answer is None:
            raise ApiException(status=400, reason="container nginx is not running")
        return answer


def failure(run: Callable[[], Any]) -> CheckFailed:
    with pytest.raises(CheckFailed) as e:
        run()
    return e.value


def test_pods_found_by_the_image_of_one_of_their_containers() -> None:
    going = pod("web-c") | {"metadata": {"name": "web-c", "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    lab = FakeLab(pod("web-b"), pod("other", image="kubelab/web:v1"), pod("web-a", ready=False), going)
    found = containers.running_image(lab, NGINX)  # type: ignore[arg-type]
    assert [(c.name, c.container_name) for c in found] == [("web-a", "nginx"), ("web-b", "nginx")]
    assert [c.ready() for c in found] == [False, True]
    assert found[1].subject(lab) == "Pod lab-06/web-b (container nginx)"  # type: ignore[arg-type]
    assert [c.name for c in containers.ready_running_image(lab, NGINX)] == ["web-b"]  # type: ignore[arg-type]


def test_no_pod_runs_the_image() -> None:
    lab = FakeLab(pod("other", image="kubelab/web:v1"))
    said = failure(lambda: containers.ready_running_image(lab, NGINX)).finding  # type: ignore[arg-type]
    assert said.subject == f"pods running {NGINX} in lab-06"
    assert said.found == f"no pod runs {NGINX} (images running: busybox, kubelab/web:v1)"


def test_a_pod_that_crashes_once_is_settled_when_one_crash_is_enough() -> None:
    crashed = {
        "restartCount": 1,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1}},
    }
    lab = FakeLab(pod("web-a", ready=False, **crashed))
    e = failure(lambda: containers.ready_running_image(lab, NGINX, crashes=1))  # type: ignore[arg-type]
    assert e.final and e.finding.found == "web-a: CrashLoopBackOff"
    assert e.finding.detail is not None and "nginx.conf failed" in e.finding.detail.en
    assert not failure(lambda: containers.ready_running_image(lab, NGINX)).final  # type: ignore[arg-type]


def test_a_file_read_in_the_container_and_a_container_that_is_not_running() -> None:
    lab = FakeLab(pod("web-a"), answers={("cat", "/a"): ExecResult(0, "text\n", "")})
    web = containers.running_image(lab, NGINX)[0]  # type: ignore[arg-type]
    assert containers.read_file(lab, web, "/a") == "text\n"  # type: ignore[arg-type]
    assert lab.ran == [("web-a", ["cat", "/a"], "nginx")]
    gone = failure(lambda: containers.read_file(lab, web, "/b")).finding  # type: ignore[arg-type]
    assert gone.expected == "a running container to exec into"
    assert gone.found == "cat /b failed: container nginx is not running"


def test_curl_inside_answers_as_an_http_answer() -> None:
    printed = "HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Lab: 06\r\n\r\nok\n"
    lab = FakeLab(
        pod("web-a"),
        answers={("curl", "-si", "-m", "3", "http://localhost/healthz"): ExecResult(0, printed, "")},
    )
    web = containers.running_image(lab, NGINX)[0]  # type: ignore[arg-type]
    answer = containers.curl_inside(lab, web, "/healthz")  # type: ignore[arg-type]
    assert (answer.status, answer.headers, answer.body) == (200, {"server": "nginx", "x-lab": "06"}, "ok\n")
    refused = failure(lambda: containers.curl_inside(lab, web, "/x")).finding  # type: ignore[arg-type]
    assert refused.found.startswith("curl -si failed")


def test_what_curl_printed_without_a_status_line() -> None:
    assert containers.parse_curl("http://localhost/", "").status == 0
    assert containers.parse_curl("http://localhost/", "").error == "no status line"
    assert containers.parse_curl("u", "HTTP/1.1 404 Not Found\n\nnope").status == 404


def test_an_env_var_in_the_running_container() -> None:
    lab = FakeLab(
        pod("web-a"),
        answers={
            ("printenv", "A"): ExecResult(0, "production\n", ""),
            ("printenv", "B"): ExecResult(0, "s3cr3t\n\n", ""),
            ("printenv", "C"): ExecResult(1, "", ""),
        },
    )
    web = containers.running_image(lab, NGINX)[0]  # type: ignore[arg-type]
    containers.require_env(lab, web, "A", "production", Unchanged(0, rounds=1))  # type: ignore[arg-type]
    wrong = failure(lambda: containers.require_env(lab, web, "B", "s3cr3t", Unchanged(0, rounds=1)))  # type: ignore[arg-type]
    assert wrong.finding.found == "B='s3cr3t\\n'"
    assert wrong.final  # the same value in the same container run: settled
    unset = failure(lambda: containers.require_env(lab, web, "C", "x", Unchanged(60)))  # type: ignore[arg-type]
    assert unset.finding.found == "C is not set in the container" and not unset.final


# --- why a container does not run -------------------------------------------------------

HOPELESS = frozenset({"ErrImageNeverPull", "CrashLoopBackOff", "StartError"})


def test_a_container_that_started_and_waits_for_nothing_hopeless_can_run() -> None:
    lab = FakeLab()
    waiting = pod("web", ready=False, state={"waiting": {"reason": "ContainerCreating"}})
    assert containers.cannot_run(lab, pod("web"), HOPELESS) is None  # type: ignore[arg-type]
    assert containers.cannot_run(lab, waiting, HOPELESS) is None  # type: ignore[arg-type]


def test_a_crashed_container_says_its_reason_exit_code_the_runtimes_words_and_its_log() -> None:
    ended = {
        "reason": "StartError",
        "exitCode": 128,
        "message": 'failed to create task: exec: "2": executable file not found in $PATH',
    }
    crashed = pod(
        "web", ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}}, lastState={"terminated": ended}
    )
    said = containers.cannot_run(FakeLab(), crashed, HOPELESS)  # type: ignore[arg-type]
    assert said == (
        "container nginx: CrashLoopBackOff; exit code 128; "
        'exec: "2": executable file not found in $PATH; '
        "its log: nginx: [emerg] open() /etc/nginx/nginx.conf failed"
    )
    assert containers.cannot_run(FakeLab(), crashed, HOPELESS, "other") is None  # type: ignore[arg-type]


def test_a_container_without_its_configmap_is_a_config_error() -> None:
    message = 'configmap "fortune-config" not found'
    waiting = pod(
        "web", ready=False, state={"waiting": {"reason": "CreateContainerConfigError", "message": message}}
    )
    assert containers.config_error(waiting) == f"container nginx: CreateContainerConfigError: {message}"
    assert containers.config_error(waiting, "other") is None
    assert containers.config_error(pod("web")) is None
    assert containers.cannot_run(FakeLab(), waiting, HOPELESS) is None  # type: ignore[arg-type]


def test_the_first_line_a_container_logged() -> None:
    class Logs:
        def __init__(self, text: str) -> None:
            self.text = text

        def logs(self, pod: str, namespace: str, container: str, limit_bytes: int) -> str:
            return self.text

    lab = FakeLab()
    lab.kube = Logs("  fortuneloop: every 2 s\nwriting\n")  # type: ignore[assignment]
    assert containers.first_log_line(lab, "fortune", "gen") == "fortuneloop: every 2 s"  # type: ignore[arg-type]
    lab.kube = Logs("")  # type: ignore[assignment]
    assert containers.first_log_line(lab, "fortune", "gen") == ""  # type: ignore[arg-type]
