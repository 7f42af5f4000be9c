"""Run one method over one video, frame by frame, timing every stage.

A run reads the source in order (CDnet: frames 1..N, as the protocol requires), writes one
``bin%06d.png`` per frame and returns a :class:`MethodRun`: seconds per stage (decode /
background / inference / postprocess / write), end-to-end wall time and the peak RSS.

:func:`run_isolated` runs it in a fresh spawned process inside its own temporary working
directory: the peak RSS is then the method's own, and libraries that write files into the
working directory (bgslibrary's ``./config/*.xml``) never share one. Usage::

    spec = RunSpec("mog2", "data/cdnet2014/baseline/highway", "out/mog2/baseline/highway")
    run = run_isolated(spec, on_frames=bar.update)
    print(run.fps, run.ms_per_frame())
"""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import SinkError, WorkerError  # noqa: F401 - WorkerError stays importable here
from ..frames import Frame
from .evaluate import RESULT_NAME
from .gpu import gpu_memory_mb
from .worker import run_in_worker

log = logging.getLogger(__name__)

#: The method name of the streamcd model in every bench table.
MODEL_METHOD = "streamcd"
STAGES = ("decode", "background", "inference", "postprocess", "write")
#: Stages that are the method's own work (no I/O): its "compute" time.
COMPUTE_STAGES = ("background", "inference", "postprocess")


@dataclass(frozen=True)
class RunSpec:
    """What to run (picklable: it crosses to the worker process).

    source: a CDnet video folder or any video file PyAV reads.
    background_init: streamcd only; "cdnet" takes the median of the frames before the
        temporalROI and falls back to a median of the first stream frames when there are none.
    """

    method: str
    source: str | Path
    out_dir: str | Path
    max_frames: int | None = None
    model: str | None = None
    provider: str = "auto"
    threads: int | None = None
    background_init: str = "cdnet"


@dataclass(frozen=True)
class StageSeconds:
    decode: float = 0.0
    background: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0
    write: float = 0.0

    @property
    def compute(self) -> float:
        return sum(getattr(self, s) for s in COMPUTE_STAGES)


@dataclass(frozen=True)
class MethodRun:
    """Timings of one method on one video. ``peak_rss_mb`` is the run's process peak."""

    method: str
    source: str
    frames: int
    seconds: StageSeconds
    wall_s: float
    peak_rss_mb: float | None = None
    provider: str | None = None
    extra: dict = field(default_factory=dict)
    gpu_memory_mb: float | None = None  # GPU runs with nvidia-smi only

    @property
    def fps(self) -> float | None:
        """End-to-end frames per second (decode and write included); None without frames."""
        return self.frames / self.wall_s if self.wall_s > 0 and self.frames else None

    def ms_per_frame(self) -> dict[str, float]:
        """Milliseconds per frame for each stage, plus ``compute`` and ``total`` (wall)."""
        n = max(self.frames, 1)
        out = {s: 1000 * getattr(self.seconds, s) / n for s in STAGES}
        out["compute"] = 1000 * self.seconds.compute / n
        out["total"] = 1000 * self.wall_s / n
        return out

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "source": self.source,
            "frames": self.frames,
            "fps": self.fps,
            "wall_s": self.wall_s,
            "peak_rss_mb": self.peak_rss_mb,
            "provider": self.provider,
            "gpu_memory_mb": self.gpu_memory_mb,
            "ms_per_frame": self.ms_per_frame(),
            "seconds": asdict(self.seconds),
        }

    @classmethod
    def from_dict(cls, data: dict) -> MethodRun:
        """The run :meth:`to_dict` wrote (a completion marker's)."""
        return cls(data["method"], data["source"], data["frames"],
                   StageSeconds(**data["seconds"]), data["wall_s"], data.get("peak_rss_mb"),
                   data.get("provider"), gpu_memory_mb=data.get("gpu_memory_mb"))


class StageClock:
    """Seconds per stage. Each stage is timed by exactly one clock: the run loop's for decode and
    write, the method's own for its compute stages (:meth:`BenchMethod.compute_seconds`).

    ``now`` is the time source (tests pass a fake one to check the arithmetic).
    """

    def __init__(self, stages: tuple[str, ...] = STAGES,
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.seconds = dict.fromkeys(stages, 0.0)
        self.now = now

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = self.now()
        try:
            yield
        finally:
            self.seconds[name] += self.now() - start


class BenchMethod(Protocol):
    """What the run loop needs from a method, model and baselines alike.

    ``feed`` may hold frames (the model holds them while its background is collected) and
    returns those ready, each with its 0/255 mask; ``flush`` returns the held rest at the end.
    ``compute_seconds`` gives the method's own clock: background, inference, postprocess.
    """

    provider: str | None

    def feed(self, frame: Frame) -> list[tuple[Frame, np.ndarray]]: ...

    def flush(self) -> list[tuple[Frame, np.ndarray]]: ...

    def compute_seconds(self) -> dict[str, float]: ...

    def close(self) -> None: ...


class _BaselineMethod:
    """A registered subtractor: ``apply`` is the whole background stage."""

    provider = None

    def __init__(self, name: str, now: Callable[[], float] = time.perf_counter) -> None:
        from .baselines import create_subtractor

        self.subtractor = create_subtractor(name)
        self.clock = StageClock(COMPUTE_STAGES, now)

    def feed(self, frame: Frame) -> list[tuple[Frame, np.ndarray]]:
        from .baselines import binary_mask

        with self.clock.stage("background"):
            mask = self.subtractor.apply(frame.image)
        with self.clock.stage("postprocess"):
            mask = binary_mask(mask)
        return [(frame, mask)]

    def flush(self) -> list[tuple[Frame, np.ndarray]]:
        return []

    def compute_seconds(self) -> dict[str, float]:
        return dict(self.clock.seconds)

    def close(self) -> None:
        pass


class _ModelMethod:
    """The streamcd model: background manager, ONNX model and postprocess, as the pipeline runs
    them. The processor's ``times`` is the one clock of all three compute stages."""

    def __init__(self, spec: RunSpec) -> None:
        from ..background import BackgroundManager
        from ..config import BackgroundConfig, PostprocessConfig
        from ..postprocess import MaskPostprocessor
        from ..processor import FrameProcessor
        from ..runtime.onnx_model import OnnxChangeModel

        model = OnnxChangeModel.load(spec.model, provider=spec.provider, threads=spec.threads)
        cdnet_dir = Path(spec.source) if (Path(spec.source) / "input").is_dir() else None
        init = spec.background_init if cdnet_dir is not None else "median"
        self.background = BackgroundManager(BackgroundConfig(init=init), MODEL_METHOD, cdnet_dir)
        self.processor = FrameProcessor(
            model, self.background, MaskPostprocessor(PostprocessConfig(), model.threshold)
        )
        self.provider = model.provider

    def feed(self, frame: Frame) -> list[tuple[Frame, np.ndarray]]:
        # Frames are held while the median background is collected, as StreamRunner does.
        t = time.perf_counter()
        ready = self.background.feed(frame, frame.image)
        self.processor.times.background += time.perf_counter() - t
        return [self._process(f) for f in ready]

    def flush(self) -> list[tuple[Frame, np.ndarray]]:
        t = time.perf_counter()
        held = self.background.drain()
        self.processor.times.background += time.perf_counter() - t
        return [self._process(f) for f in held]

    def _process(self, frame: Frame) -> tuple[Frame, np.ndarray]:
        result, _ = self.processor.process(frame)
        return frame, result.mask

    def close(self) -> None:
        self.background.close()

    def compute_seconds(self) -> dict[str, float]:
        t = self.processor.times
        return {"background": t.background, "inference": t.inference, "postprocess": t.postprocess}


def make_method(spec: RunSpec) -> BenchMethod:
    """The method ``spec.method`` names: the streamcd model or a registered baseline."""
    return _ModelMethod(spec) if spec.method == MODEL_METHOD else _BaselineMethod(spec.method)


@contextmanager
def _open_frames(spec: RunSpec) -> Iterator[Iterator[Frame]]:
    from ..sources.cdnet import CdnetSource
    from ..sources.video import VideoSource

    source_path = Path(spec.source)
    if (source_path / "input").is_dir():
        source = CdnetSource(source_path)
    else:
        source = VideoSource(source_path, max_frames=spec.max_frames)
    with source:
        yield iter(source)


def _resolved(spec: RunSpec) -> RunSpec:
    """``spec`` with absolute paths, valid from any working directory."""
    model = spec.model
    if model is not None and Path(model).exists():
        model = str(Path(model).resolve())
    return replace(spec, source=Path(spec.source).resolve(), out_dir=Path(spec.out_dir).resolve(),
                   model=model)


@contextmanager
def _private_workdir() -> Iterator[None]:
    """Run inside a fresh temporary directory holding an empty ``config/`` (bgslibrary's)."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="streamcd-bench-") as workdir:
        os.mkdir(os.path.join(workdir, "config"))
        os.chdir(workdir)
        try:
            yield
        finally:
            os.chdir(previous)


def run_method(spec: RunSpec, on_frames: Callable[[int], None] | None = None) -> MethodRun:
    """Run ``spec`` in this process. ``on_frames(k)`` is told every k frames written.

    The run happens inside a private temporary working directory (bgslibrary writes
    ``./config/*.xml``); the process's working directory is restored afterwards, so do not run
    two in-process runs on different threads at once (:func:`run_isolated` can).
    """
    spec = _resolved(spec)
    with _private_workdir():
        method = make_method(spec)
        try:
            with _open_frames(spec) as frames:
                run = run_frames(method, frames, spec, on_frames)
        finally:
            method.close()
    ms = run.ms_per_frame()
    log.info("%s on %s: %d frames, %.2f ms/frame compute, %.1f fps end to end",
             spec.method, spec.source, run.frames, ms["compute"], run.fps or 0.0)
    return run


def run_frames(method: BenchMethod, frames: Iterator[Frame], spec: RunSpec,
               on_frames: Callable[[int], None] | None = None,
               now: Callable[[], float] = time.perf_counter) -> MethodRun:
    """Feed ``frames`` to ``method`` in order, writing ``spec.out_dir/bin%06d.png`` per mask.

    Decode and write are timed here, the compute stages by the method's own clock; wall time
    spans the whole loop (``now`` is the time source of both the stage clock and the wall).
    """
    import cv2

    out_dir = Path(spec.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clock = StageClock(("decode", "write"), now)
    written = read = 0

    def write(items: list[tuple[Frame, np.ndarray]]) -> None:
        nonlocal written
        with clock.stage("write"):
            for frame, mask in items:
                target = out_dir / RESULT_NAME.format(frame.number)
                if not cv2.imwrite(str(target), mask):
                    raise SinkError(f"cannot write {target}: check that {out_dir} is writable")
        written += len(items)
        if on_frames and items:
            on_frames(len(items))

    started = now()
    while spec.max_frames is None or read < spec.max_frames:
        with clock.stage("decode"):
            frame = next(frames, None)
        if frame is None:
            break
        read += 1
        write(method.feed(frame))
    write(method.flush())
    wall = now() - started
    seconds = StageSeconds(**clock.seconds, **method.compute_seconds())
    return MethodRun(spec.method, str(spec.source), written, seconds, wall, _peak_rss_mb(),
                     method.provider, gpu_memory_mb=gpu_memory_mb(method.provider))


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_method_target(spec: RunSpec, on_frames: Callable[[int], None],
                       before_commit: Callable[[], None]) -> MethodRun:
    return run_method(spec, on_frames)


def run_isolated(spec: RunSpec, on_frames: Callable[[int], None] | None = None,
                 timeout_s: float | None = None) -> MethodRun:
    """:func:`run_method` in a fresh spawned process (own peak RSS, own working directory)."""
    spec = _resolved(spec)
    return run_in_worker(_run_method_target, (spec,), f"{spec.method} on {spec.source}",
                         on_frames, timeout_s)
