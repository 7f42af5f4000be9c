"""One bench job: a method on a video, into a result folder that says when it is complete.

A result folder is complete when it holds a completion marker (``.streamcd-complete.json``,
written last, atomically: a temporary file renamed over it) *and* every ``bin%06d.png`` of the
video. The marker is removed before a job writes its first frame, so an interrupted job (Ctrl-C,
crash, a killed machine) leaves a folder without marker, which the next run redoes; a folder
that lost a frame after it was marked is not complete either. The marker holds the run's timings,
so a resumed bench reports every job, the reused ones included. Usage::

    job = Job(RunSpec("mog2", video.root, "out/results/mog2/baseline/highway"), video,
              (video.first, video.last))
    outcome = run_job(job)              # runs, marks, scores; reuses a complete folder
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..cdnet_layout import CdnetVideo
from ..durable import write_atomic
from ..errors import WorkerError
from .evaluate import RESULT_NAME, VideoScore, score_video
from .runner import MODEL_METHOD, MethodRun, RunSpec, run_method

log = logging.getLogger(__name__)

#: Completion marker of a result folder (written last, atomically).
MARKER = ".streamcd-complete.json"


@dataclass(frozen=True)
class Job:
    """``spec`` run on ``video``, scored over ``frames`` (first, last inclusive)."""

    spec: RunSpec
    video: CdnetVideo
    frames: tuple[int, int]

    @property
    def label(self) -> str:
        return f"{self.spec.method} {self.video.key}"

    @property
    def folder(self) -> Path:
        return Path(self.spec.out_dir)


@dataclass(frozen=True)
class JobOutcome:
    """A finished job. ``reused``: its folder was complete and nothing ran; ``seconds``: the
    job's own wall time (run + scoring) where it ran."""

    job: Job
    run: MethodRun
    score: VideoScore
    reused: bool
    seconds: float


def missing_frames(folder: str | Path, count: int) -> list[int]:
    """Frame numbers 1..count whose ``bin%06d.png`` is not in ``folder``."""
    folder = Path(folder)
    present = {p.name for p in folder.glob("bin*.png")} if folder.is_dir() else set()
    return [n for n in range(1, count + 1) if RESULT_NAME.format(n) not in present]


def read_marker(folder: str | Path) -> dict | None:
    """The completion marker's content, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def identity(spec: RunSpec) -> dict:
    """What a folder's masks depend on besides the video: the method and, for the model, its
    card and background start. A marker written for another identity does not count."""
    if spec.method != MODEL_METHOD:
        return {"method": spec.method}
    model = spec.model
    if model is not None and Path(model).exists():
        model = str(Path(model).resolve())
    return {"method": spec.method, "model": model, "background_init": spec.background_init}


def is_complete(folder: str | Path, method: str, count: int, ident: dict | None = None) -> bool:
    """True when ``folder`` holds a marker of ``method`` (and of ``ident``, when given) over
    ``count`` frames, and every frame."""
    marker = read_marker(folder)
    if marker is None or marker.get("method") != method or marker.get("frames") != count:
        return False
    if ident is not None and marker.get("identity", {"method": method}) != ident:
        return False
    return not missing_frames(folder, count)


def job_complete(job: Job) -> bool:
    """Whether ``job``'s folder is complete for this very job (method, model, frames)."""
    return is_complete(job.folder, job.spec.method, job.video.count, identity(job.spec))


def write_marker(folder: str | Path, run: MethodRun, ident: dict | None = None) -> Path:
    """Write the completion marker atomically (temporary file, fsync, rename)."""
    target = Path(folder) / MARKER
    write_atomic(target, json.dumps({**run.to_dict(), "identity": ident or {"method": run.method}},
                                    indent=2).encode())
    return target


def clear_marker(folder: str | Path) -> None:
    """Remove the completion marker (before a job writes anything into ``folder``), and any
    temporary one a killed job left."""
    (Path(folder) / MARKER).unlink(missing_ok=True)
    for tmp in Path(folder).glob(f".{MARKER}.*.tmp"):
        tmp.unlink(missing_ok=True)


def run_job(job: Job, force: bool = False, on_frames: Callable[[int], None] | None = None,
            before_commit: Callable[[], None] | None = None) -> JobOutcome:
    """Run ``job`` unless its folder is complete (``force``: always), mark it, score it.

    ``before_commit()`` is called just before the marker is written (a worker passes a check
    that raises once its parent is gone).
    """
    started = time.perf_counter()
    folder, count = job.folder, job.video.count
    reused = not force and job_complete(job)
    if reused:
        run = MethodRun.from_dict(read_marker(folder))
    else:
        clear_marker(folder)
        run = run_method(job.spec, on_frames)
        missing = missing_frames(folder, count)
        if run.frames != count or missing:
            raise WorkerError(f"{job.label}: wrote {run.frames} of {count} frames "
                              f"(missing e.g. {missing[:3]}); the folder stays incomplete")
        if before_commit is not None:
            before_commit()
        write_marker(folder, run, identity(job.spec))
    score = score_video(job.video, folder, job.frames)
    return JobOutcome(job, run, score, reused, time.perf_counter() - started)


def run_job_target(job: Job, force: bool, on_frames: Callable[[int], None],
                   before_commit: Callable[[], None]) -> JobOutcome:
    """:func:`run_job` in the shape :func:`.worker.run_in_worker` calls."""
    return run_job(job, force, on_frames, before_commit)
