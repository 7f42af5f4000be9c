"""Run bench jobs as Ray tasks (``streamcd bench cdnet --backend ray [--address ...]``).

The same jobs as :func:`.pool.run_local`, one Ray task each (1 CPU), writing into the output
folder the user gives: on a real cluster that folder and the dataset must be on storage every
node sees under the same path. A task whose node is lost is retried elsewhere (``max_retries``);
a job that runs twice is harmless, since a folder gets its completion marker only after its last
frame. Without ``address`` a local Ray instance with ``workers`` CPUs is started (and stopped).
Progress is per job: frames are not streamed back from tasks. Usage::

    outcomes = run_ray(jobs, workers=2, address="ray://head:10001", observer=observer)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..cluster import import_ray
from ..cluster.connect import connect_ray
from .jobs import Job, JobOutcome, run_job
from .pool import JobObserver, ordered_outcomes, plan_progress

log = logging.getLogger(__name__)

#: Times Ray reruns a task whose worker or node died (application errors are not retried).
MAX_RETRIES = 3


def _task(job: Job, force: bool) -> JobOutcome:
    return run_job(job, force)


def run_ray(jobs: Sequence[Job], workers: int, address: str | None = None, force: bool = False,
            observer: JobObserver | None = None) -> list[JobOutcome]:
    """Every job as a Ray task; outcomes in the order of ``jobs``. ``workers`` sizes a local
    instance only: on a cluster, its CPUs decide how many jobs run at once."""
    ray = import_ray()
    observer = observer or JobObserver()
    progress, to_run = plan_progress(jobs, force)
    observer.on_start(len(jobs), to_run, progress.frames_to_run)
    owns = not ray.is_initialized()
    if owns:
        connect_ray(ray, address, num_cpus=workers, object_store_mb=200, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_task)
    refs = {task.remote(job, force): i for i, job in enumerate(jobs)}
    outcomes: dict[int, JobOutcome] = {}
    failures: list[str] = []
    try:
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
            for ref in done:
                i = refs.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as e:
                    message = f"{jobs[i].label}: {e}"
                    failures.append(message)
                    log.error("%s", message)
                    observer.on_job_failed(jobs[i], message)
                    continue
                outcomes[i] = outcome
                progress.jobs_done += 1
                if not outcome.reused:
                    progress.frames_done += outcome.run.frames
                    observer.on_frames(outcome.run.frames)
                observer.on_job_done(outcome, progress)
    except BaseException:
        log.warning("stopping: cancelling %d Ray task(s); their folders stay incomplete",
                    len(refs))
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        if owns:
            ray.shutdown()
    return ordered_outcomes(outcomes, failures, len(jobs))
