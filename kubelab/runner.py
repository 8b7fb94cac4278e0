"""Many answers at once: a pool of threads, each taking one task to its end (an answer in
its own sandbox, checked by its own process), shared by `verify` and `grade`.

A task's own failure is its outcome (the work function decides what it is). Two things
stop the whole run: Ctrl-C (every running check is stopped, undoing what it changed, and
every sandbox removed: then Interrupted) and an environment problem the work lets through
(the cluster is gone: nothing new starts, what runs is stopped, and the problem is
returned beside the outcomes so far).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from kubelab import engine, interrupts
from kubelab.errors import EnvironmentProblem, Interrupted

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Ran(Generic[R]):
    outcomes: list[R]
    problem: EnvironmentProblem | None
    """What stopped the run early (then not every task has an outcome)."""


def run_all(
    tasks: Sequence[T],
    work: Callable[[T], R],
    jobs: int,
    started: Callable[[T], None],
    finished: Callable[[T, R], None],
    leftovers_of: Callable[[R], Sequence[str]],
) -> Ran[R]:
    """Run `work` on every task, `jobs` at a time, in the order given."""
    stop = threading.Event()
    outcomes: list[R] = []
    leftovers: list[str] = []
    problem: EnvironmentProblem | None = None
    failure: Exception | None = None

    def run(task: T) -> R | None:
        if stop.is_set() or interrupts.stopping():
            return None
        started(task)
        try:
            return work(task)
        except EnvironmentProblem:
            stop.set()  # before this thread takes the next task, not when the loop next looks
            raise

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="answers")
    pending: dict[Future[R | None], T] = {pool.submit(run, t): t for t in tasks}
    try:
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                try:
                    outcome = future.result()
                except Interrupted as e:
                    leftovers += e.leftovers
                    continue
                except EnvironmentProblem as e:
                    problem = problem or e
                    stop.set()
                    engine.stop_all()
                    continue
                except Exception as e:  # the work let a bug through: stop everything, then raise it
                    failure = failure or e
                    stop.set()
                    engine.stop_all()
                    continue
                if outcome is not None:
                    outcomes.append(outcome)
                    finished(task, outcome)
            if problem is not None or failure is not None:
                break
    except KeyboardInterrupt:
        stop.set()
        with interrupts.shielded(reraise=False):
            engine.stop_all()
            leftovers += _finish(pool, pending, leftovers_of)
        raise Interrupted(leftovers, undone=True) from None
    with interrupts.shielded(reraise=False):
        leftovers += _finish(pool, pending, leftovers_of)
    if failure is not None:
        raise failure
    return Ran(outcomes, problem)


def _finish(
    pool: ThreadPoolExecutor, pending: dict[Future[R | None], T], leftovers_of: Callable[[R], Sequence[str]]
) -> list[str]:
    """Cancel what has not started, wait for what runs (it cleans up after itself)."""
    for future in pending:
        future.cancel()
    pool.shutdown(wait=True)
    leftovers: list[str] = []
    for future in pending:
        if future.cancelled():
            continue
        with contextlib.suppress(Exception):  # its error is reported by run_all, or was
            outcome = future.result()
            if outcome is not None:
                leftovers += leftovers_of(outcome)
        error = future.exception()
        if isinstance(error, Interrupted):
            leftovers += error.leftovers
    return leftovers
