"""One error hierarchy for kubelab.

Every error names what went wrong in one line, in Korean and English, and carries the
exit code the CLI ends with. Whether retrying can help is in the class: an environment
problem (Docker stopped, no cluster) may go away; bad input or bad lab content will not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from kubelab.text import Text


class ExitCode(IntEnum):
    """The CLI's documented exit codes (README, "Exit codes")."""

    OK = 0
    CHECKS_FAILED = 1  #: checks, verification or lint found problems
    BAD_INPUT = 2  #: the learner's input: unknown lab, broken YAML, wrong kind, bad option
    ENVIRONMENT = 3  #: Docker, kind, kubectl or the cluster is missing or not answering
    BAD_LAB = 4  #: kubelab's own lab content is broken (a bug for the course authors)
    INTERNAL = 70  #: a bug in kubelab itself
    INTERRUPTED = 130  #: stopped with Ctrl-C (after undoing what the run changed)


class KubelabError(Exception):
    """Base of every error kubelab raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL
    label = "error"

    def __init__(self, en: str, ko: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.ko = ko or en

    def line(self, lang: str = "ko") -> str:
        """The one line the CLI prints: Korean first when lang is ko, English beside it."""
        said = self.en if lang == "en" or self.ko == self.en else f"{self.ko} / {self.en}"
        return f"{self.label}: {' '.join(said.split())}"  # one line, whatever a reason held


class InputError(KubelabError):
    """The learner's (or caller's) input is wrong; retrying the same input will not help."""

    exit_code = ExitCode.BAD_INPUT
    label = "input"


class EnvironmentProblem(KubelabError):
    """Something kubelab needs from the machine or cluster is missing or down."""

    exit_code = ExitCode.ENVIRONMENT
    label = "environment"


class ClusterUnavailable(EnvironmentProblem):
    """The Kubernetes API cannot be reached with the given kubeconfig/context."""


class ChecksTimedOut(EnvironmentProblem):
    """The checks of one answer did not finish within their time and were stopped."""


class ChecksStopped(KubelabError):
    """The checks of one answer were stopped before they ended, because the answer broke a
    sandbox's rule (its grade says which; its checks would say nothing)."""


class NotPermitted(KubelabError):
    """The credential kubelab acts with may not do this (RBAC's refusal): a student's own
    kubelab, with only the kubeconfig of their class seat (kubelab.seat), meets it where a
    check needs more than the seat (nodes, a scratch namespace). Not the answer's failure:
    the check is left to the teacher's grading."""

    exit_code = ExitCode.BAD_INPUT
    label = "permission"


class LabContentError(KubelabError):
    """A lab's own files (metadata, manifests, checks) are inconsistent."""

    exit_code = ExitCode.BAD_LAB
    label = "lab content"


class Interrupted(KubelabError):
    """The run was stopped (Ctrl-C, SIGINT), after undoing what it could."""

    exit_code = ExitCode.INTERRUPTED
    label = "interrupted"

    def __init__(self, leftovers: tuple[str, ...] | list[str] = (), undone: bool | None = None) -> None:
        self.leftovers = tuple(leftovers)
        self.undone = undone
        """True: the undo ran to its end; False: it could not be confirmed; None: the
        command had nothing to undo."""
        if self.leftovers:
            listed = "; ".join(self.leftovers)
            super().__init__(
                f"stopped; could not remove: {listed}", f"중단했습니다; 지우지 못한 것: {listed}"
            )
        elif undone:
            super().__init__(
                "stopped; what this run changed was undone",
                "중단했습니다; 이번 실행이 바꾼 것은 되돌렸습니다",
            )
        elif undone is False:
            super().__init__(
                "stopped; the checks did not finish undoing what they changed in time and were "
                "killed: a pod they deleted or a scratch namespace may be left (kubectl get pods,namespaces)",
                "중단했습니다; 검사가 바꾼 것을 제때 되돌리지 못해 강제로 끝냈습니다: 지운 파드나 임시 "
                "네임스페이스가 남았을 수 있습니다 (kubectl get pods,namespaces)",
            )
        else:
            super().__init__("stopped", "중단했습니다")


class ChecksFailed(KubelabError):
    """Checks ran and some failed (a normal outcome, reported with exit code 1)."""

    exit_code = ExitCode.CHECKS_FAILED
    label = "checks"


@dataclass(frozen=True)
class Finding:
    """What one check saw that it did not expect (chainsaw's "last mismatch")."""

    subject: str
    """The object looked at, e.g. "ReplicaSet lab-01/simple-replicaset"."""
    expected: str
    """What the check wanted, e.g. "spec.replicas: 3"."""
    found: str
    """What the cluster had, e.g. "spec.replicas: 1"."""
    detail: Text | None = None
    """A diagnosis of the live state, for the learner (beyond the lab's fixed hint)."""
    waited: float = 0.0
    """Seconds spent waiting for the cluster before giving up."""
    settled: Text | None = None
    """Why the check stopped waiting before its time was up: the state it looks at has
    settled and is wrong (a pod that cannot pull its image, …); see kubelab.settled."""
    missing: bool = False
    """The object the check looks at does not exist: nothing of the answer was judged
    (the learner has not made it yet), so this failure is not a try (kubelab.hints)."""


class CheckFailed(KubelabError):
    """One check's expectation does not hold (yet); waiting retries exactly this.

    A *final* failure is one that waiting cannot mend (the learner asked for 1 replica,
    not 3): the wait stops at once instead of spending the check's whole timeout.
    """

    exit_code = ExitCode.CHECKS_FAILED
    label = "check"

    def __init__(self, finding: Finding, final: bool = False) -> None:
        super().__init__(f"{finding.subject}: expected {finding.expected}, found {finding.found}")
        self.finding = finding
        self.final = final
