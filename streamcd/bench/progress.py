"""Console progress of ``streamcd bench cdnet`` (the CLI's; the library only calls the hooks).

One bar over the frames still to run in the whole bench (with its ETA), and one line per
finished job: ``[done/total] method video: F, fps, seconds (reused)`` plus the run's ETA.
"""

from __future__ import annotations

import math

from tqdm import tqdm

from .jobs import Job, JobOutcome
from .pool import Progress
from .suite import BenchObserver


def format_duration(seconds: float | None) -> str:
    """``1h02m``, ``3m05s``, ``42s``; ``?`` when unknown."""
    if seconds is None or math.isnan(seconds):
        return "?"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def job_line(outcome: JobOutcome, progress: Progress) -> str:
    """The one-line summary of a finished job."""
    f = outcome.score.metrics.f_measure
    head = f"[{progress.jobs_done}/{progress.jobs}] {outcome.job.label}: F {f:.4f}"
    if outcome.reused:
        return f"{head}, complete already (reused)"
    fps = outcome.run.fps
    return (f"{head}, {outcome.run.frames} frames at {fps or 0:.1f} fps, {outcome.seconds:.1f} s; "
            f"elapsed {format_duration(progress.elapsed_s)}, ETA {format_duration(progress.eta_s())}")


class BenchBars(BenchObserver):
    """A frames bar for the whole run and a printed line per finished job."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def on_start(self, jobs: int, to_run: int, frames_to_run: int) -> None:
        tqdm.write(f"{jobs} job(s): {to_run} to run, {jobs - to_run} complete already")
        self.bar = tqdm(total=frames_to_run, desc="frames", unit="frame", dynamic_ncols=True)

    def on_frames(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def on_job_done(self, outcome: JobOutcome, progress: Progress) -> None:
        tqdm.write(job_line(outcome, progress))

    def on_job_failed(self, job: Job, error: str) -> None:
        tqdm.write(f"FAILED {job.label}: {error}")

    def on_skip(self, method: str, reason: str) -> None:
        tqdm.write(f"skipping {method}: {reason}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
