"""Run bench jobs N at a time on this machine (``--jobs N``) and track the whole run's progress.

Each job that has to run goes to a fresh spawned worker process (its own peak RSS, its own
working directory); at most ``workers`` run at once. A job whose folder is already complete is
only scored, in this process. A failed job does not stop the others: the failures are raised
together at the end (the finished jobs stay complete, so a rerun redoes only the failed ones).
Ctrl-C stops the workers in flight, whose folders then have no completion marker. Usage::

    outcomes = run_local(jobs, workers=2, observer=observer)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ..errors import WorkerError
from .jobs import Job, JobOutcome, job_complete, run_job, run_job_target
from .worker import run_in_worker

log = logging.getLogger(__name__)


class JobObserver:
    """Hooks of a whole run (the CLI prints with them; the library only logs)."""

    def on_start(self, jobs: int, to_run: int, frames_to_run: int) -> None: ...

    def on_frames(self, count: int) -> None: ...

    def on_job_done(self, outcome: JobOutcome, progress: Progress) -> None: ...

    def on_job_failed(self, job: Job, error: str) -> None: ...


@dataclass
class Progress:
    """Jobs done of ``jobs``; frames processed of ``frames_to_run`` (reused jobs excluded) and
    the ETA from the rate so far. ``now`` is the clock (tests pass a fake one)."""

    jobs: int
    frames_to_run: int
    started: float
    now: Callable[[], float] = time.monotonic
    jobs_done: int = 0
    frames_done: int = 0

    @property
    def elapsed_s(self) -> float:
        return self.now() - self.started

    def eta_s(self) -> float | None:
        """Seconds left at the rate so far; None before the first processed frame."""
        if self.frames_done <= 0:
            return None
        left = max(self.frames_to_run - self.frames_done, 0)
        return self.elapsed_s * left / self.frames_done


def plan_progress(jobs: Sequence[Job], force: bool, now: Callable[[], float] = time.monotonic
                  ) -> tuple[Progress, int]:
    """(Progress of the run, number of jobs that will run) from which folders are complete."""
    to_run = [j for j in jobs if force or not job_complete(j)]
    return Progress(len(jobs), sum(j.video.count for j in to_run), now()), len(to_run)


def run_local(jobs: Sequence[Job], workers: int, force: bool = False, isolate: bool = True,
              observer: JobObserver | None = None) -> list[JobOutcome]:
    """Every job, ``workers`` at a time; outcomes in the order of ``jobs``."""
    if workers < 1:
        raise WorkerError(f"workers must be at least 1, got {workers}")
    observer = observer or JobObserver()
    progress, to_run = plan_progress(jobs, force)
    observer.on_start(len(jobs), to_run, progress.frames_to_run)
    stop = threading.Event()
    lock = threading.Lock()

    def frames(k: int) -> None:
        with lock:
            progress.frames_done += k
            observer.on_frames(k)

    def one(job: Job) -> JobOutcome:
        if stop.is_set():
            raise KeyboardInterrupt
        if not isolate or (not force and job_complete(job)):
            return run_job(job, force, frames)
        return run_in_worker(run_job_target, (job, force), job.label, frames, stop=stop.is_set)

    outcomes: dict[int, JobOutcome] = {}
    failures: list[str] = []
    pool = ThreadPoolExecutor(workers, thread_name_prefix="bench-job")
    try:
        futures: dict[Future, int] = {pool.submit(one, job): i for i, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                job = jobs[futures[future]]
                try:
                    outcome = future.result()
                except WorkerError as e:
                    failures.append(str(e))
                    log.error("%s failed: %s", job.label, e)
                    observer.on_job_failed(job, str(e))
                    continue
                outcomes[futures[future]] = outcome
                with lock:
                    progress.jobs_done += 1
                    observer.on_job_done(outcome, progress)
    except BaseException:
        stop.set()
        log.warning("stopping: jobs in flight are left without a completion marker")
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return ordered_outcomes(outcomes, failures, len(jobs))


def ordered_outcomes(outcomes: dict[int, JobOutcome], failures: list[str], total: int
                     ) -> list[JobOutcome]:
    """The outcomes in job order; one WorkerError listing every failure when a job failed."""
    if failures:
        raise WorkerError(f"{len(failures)} of {total} job(s) failed (the others are complete; "
                          "rerun the same command to redo only these):\n" + "\n".join(failures))
    return [outcomes[i] for i in range(total)]
