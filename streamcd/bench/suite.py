"""``streamcd bench cdnet``: every method on every video, scored, timed, in one run.

Each method sees each video from frame 1 in order (CDnet protocol) and writes
``<out>/results/<method>/<category>/<video>/bin%06d.png``; then the results are scored with the
official rules (:mod:`.evaluate`) over the whole temporalROI (default, ``score_frames="roi"``,
the official benchmark range) or the held-out frames only (``"heldout"``: the shared videos also
feed training, so only ``heldout_range()`` is fair to the model on them).

Every (method, video) is one job (:mod:`.jobs`): ``jobs`` of them run at once in worker
processes (:mod:`.pool`) or as Ray tasks (:mod:`.ray_pool`); a job whose folder is complete is
not run again unless ``force``, so an interrupted bench resumes. Usage::

    result = run_bench(find_videos("data/cdnet2014"), Path("out/bench"),
                       BenchOptions(methods=("streamcd", "mog2", "subsense")))
    write_report(result)                      # report.md, report.json, plots/
"""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from ..cdnet_layout import CdnetVideo
from ..errors import ConfigError, DatasetError
from .baselines import baseline_names, unavailable_reason
from .evaluate import Report
from .jobs import Job
from .pool import JobObserver, run_local
from .prcurve import PrCurve, model_pr_curve
from .runner import MODEL_METHOD, MethodRun, RunSpec

log = logging.getLogger(__name__)

#: Methods the ratio columns compare against, when they ran.
REFERENCE_METHODS = ("mog2", "subsense")


@dataclass(frozen=True)
class BenchOptions:
    """How to run the bench. ``isolate``: one spawned worker per run (own peak RSS and working
    directory); in-process runs are faster to start (tests) but share both, so they run one at
    a time. ``jobs``: runs at once (local backend; default: the CPUs); ``force``: rerun complete
    folders too; ``backend``/``address``: "local" processes or a Ray cluster."""

    methods: tuple[str, ...] = (MODEL_METHOD, "mog2", "knn")
    score_frames: Literal["heldout", "roi"] = "roi"
    model: str | None = None
    provider: str = "auto"
    threads: int | None = None
    isolate: bool = True
    pr_frames: int = 40  # validation frames per video for the PR curve; 0 = no curve
    plots: bool = True
    jobs: int | None = None  # None: the CPUs (isolated runs) or 1 (in-process runs)
    force: bool = False
    backend: Literal["local", "ray"] = "local"
    address: str | None = None

    def __post_init__(self) -> None:
        if self.jobs is not None and self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {self.jobs}")
        if self.backend not in ("local", "ray"):
            raise ConfigError(f"--backend must be local or ray, got {self.backend!r}")
        if self.score_frames not in ("heldout", "roi"):
            raise ConfigError(f"--score-frames must be roi or heldout, got {self.score_frames!r}")
        if not self.isolate and (self.jobs or 1) > 1 and self.backend == "local":
            raise ConfigError("--in-process runs share one working directory: use --jobs 1 "
                              "with it, or drop --in-process")

    @property
    def workers(self) -> int:
        """Jobs run at once: ``jobs``, or the CPUs (isolated runs), or 1 (in-process runs)."""
        return self.jobs or ((os.cpu_count() or 1) if self.isolate else 1)


def method_names() -> tuple[str, ...]:
    return (MODEL_METHOD, *baseline_names())


def check_methods(methods: tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """(runnable methods, {skipped method: reason}); ConfigError on an unknown name."""
    valid = method_names()
    unknown = [m for m in methods if m not in valid]
    if unknown:
        raise ConfigError(f"--methods: unknown {', '.join(unknown)}; valid: {', '.join(valid)}")
    skipped = {m: r for m in methods if m != MODEL_METHOD and (r := unavailable_reason(m))}
    return tuple(m for m in methods if m not in skipped), skipped


class BenchObserver(JobObserver):
    """Progress hooks of a bench (the CLI draws bars with them; the library only logs)."""

    def on_skip(self, method: str, reason: str) -> None: ...


@dataclass(frozen=True)
class VideoRun:
    """One method on one video: its timings and its official scores."""

    method: str
    video: CdnetVideo
    run: MethodRun
    score: object  # evaluate.VideoScore


@dataclass
class BenchResult:
    out: Path
    options: BenchOptions
    videos: list[CdnetVideo]
    runs: list[VideoRun] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    pr_curve: PrCurve | None = None
    machine: dict = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)  # jobs whose folder was already complete
    wall_s: float | None = None  # the jobs' wall time (PR curve and report excluded)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(r.method for r in self.runs))

    def results_dir(self, method: str) -> Path:
        return self.out / "results" / method

    def report(self, method: str) -> Report:
        """The CDnet report of one method (per video, per category, overall)."""
        return Report.from_scores(r.score for r in self.runs if r.method == method)

    def reports(self) -> dict[str, Report]:
        """{method: its CDnet report}, in the order the methods ran."""
        return {m: self.report(m) for m in self.methods}

    def speed(self, method: str) -> dict:
        """ms/frame per stage over all videos (frames pooled), end-to-end fps, peak RSS."""
        runs = [r.run for r in self.runs if r.method == method]
        frames = sum(r.frames for r in runs)
        stages = {s: sum(getattr(r.seconds, s) for r in runs) for s in
                  ("decode", "background", "inference", "postprocess", "write")}
        ms = {k: 1000 * v / max(frames, 1) for k, v in stages.items()}
        ms["compute"] = ms["background"] + ms["inference"] + ms["postprocess"]
        wall = sum(r.wall_s for r in runs)
        rss = [r.peak_rss_mb for r in runs if r.peak_rss_mb is not None]
        return {"frames": frames, "ms_per_frame": ms, "fps": frames / wall if wall else None,
                "peak_rss_mb": max(rss) if rss else None,
                "provider": next((r.provider for r in runs if r.provider), None)}

    def ratios(self, method: str) -> dict[str, float | None]:
        """Compute time per frame of ``method`` divided by each reference method's (x slower)."""
        mine = self.speed(method)["ms_per_frame"]["compute"]
        out = {}
        for ref in REFERENCE_METHODS:
            if ref in self.methods:
                theirs = self.speed(ref)["ms_per_frame"]["compute"]
                out[ref] = mine / theirs if theirs > 0 else None
            else:
                out[ref] = None
        return out


def score_range(video: CdnetVideo, score_frames: str) -> tuple[int, int]:
    return video.heldout_range() if score_frames == "heldout" else (video.first, video.last)


def plan_jobs(videos: list[CdnetVideo], methods: tuple[str, ...], result: BenchResult,
              options: BenchOptions) -> list[Job]:
    """One job per (video, method), video by video, as the tables list them."""
    return [Job(RunSpec(method, video.root,
                        result.results_dir(method) / video.category / video.name,
                        model=options.model, provider=options.provider, threads=options.threads),
                video, score_range(video, options.score_frames))
            for video in videos for method in methods]


def run_bench(videos: list[CdnetVideo], out: str | Path, options: BenchOptions = BenchOptions(),
              observer: BenchObserver | None = None) -> BenchResult:
    """Run, time and score every method on every video; compute the model's PR curve."""
    observer = observer or BenchObserver()
    if not videos:
        raise DatasetError("no video to benchmark: check --dataset, --categories and --videos")
    methods, skipped = check_methods(options.methods)
    for method, reason in skipped.items():
        log.warning("skipping %s: %s", method, reason)
        observer.on_skip(method, reason)
    result = BenchResult(Path(out), options, list(videos), skipped=skipped,
                         machine=_machine(options))
    jobs = plan_jobs(videos, methods, result, options)
    started = time.perf_counter()
    if options.backend == "ray":
        from .ray_pool import run_ray

        outcomes = run_ray(jobs, options.workers, options.address, options.force, observer)
    else:
        outcomes = run_local(jobs, options.workers, options.force, options.isolate, observer)
    result.wall_s = time.perf_counter() - started
    for o in outcomes:
        result.runs.append(VideoRun(o.job.spec.method, o.job.video, o.run, o.score))
        if o.reused:
            result.reused.append(o.job.label)
    if MODEL_METHOD in methods and options.pr_frames > 0:
        from ..runtime.onnx_model import OnnxChangeModel

        model = OnnxChangeModel.load(options.model, provider=options.provider,
                                     threads=options.threads)
        result.pr_curve = model_pr_curve(videos, model, options.pr_frames)
    result.machine["load_after"] = _load()
    return result


def _load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _machine(options: BenchOptions) -> dict:
    import cv2

    info = {"cpus": os.cpu_count(), "load_before": _load(), "python": platform.python_version(),
            "platform": platform.platform(), "opencv": cv2.__version__,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "options": asdict(options),
            "jobs": options.workers, "backend": options.backend}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return info
