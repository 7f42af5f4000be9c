"""End-to-end speed of the real pipeline on N copies of one source (``bench speed --streams N``).

The per-stage table of ``bench speed`` runs the stages one after another on one thread, to
time each; this runs :class:`~streamcd.pipeline.Pipeline` as ``streamcd run`` does (decode,
model and sinks overlapped on their own threads, N streams sharing one model) and reports the
wall-clock frames per second, per stream and for all streams together. Usage::

    run = pipeline_speed("assets/highway.mp4", streams=2, frames=300, out=Path(tmp))
    print(run.aggregate_fps, run.provider)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import StreamcdError
from .gpu import gpu_cell, gpu_memory_mb


@dataclass(frozen=True)
class PipelineSpeed:
    """Wall-clock throughput of one pipeline run over ``streams`` copies of ``source``."""

    source: str
    streams: int
    frames: int  # all streams together
    wall_s: float
    provider: str
    threads: int | None
    stream_fps: tuple[float, ...]
    ms_per_frame: dict[str, float]  # the model thread's stages, mean over streams
    max_batch: int = 1  # frames of several streams per encoder run (model.max_batch)
    gpu_memory_mb: float | None = None  # GPU runs with nvidia-smi only

    @property
    def aggregate_fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict:
        return {"source": self.source, "streams": self.streams, "frames": self.frames,
                "wall_s": self.wall_s, "provider": self.provider, "threads": self.threads,
                "aggregate_fps": self.aggregate_fps, "stream_fps": list(self.stream_fps),
                "ms_per_frame": self.ms_per_frame, "max_batch": self.max_batch,
                "gpu_memory_mb": self.gpu_memory_mb}


def pipeline_speed(source: str | Path, streams: int, frames: int, out: Path, model: str | None = None,
                   provider: str = "auto", threads: int | None = None,
                   max_batch: int = 1) -> PipelineSpeed:
    """Run ``streams`` streams of ``source`` (first ``frames`` frames each) into CDnet sinks.

    ``max_batch`` > 1 runs the frames of several streams through the encoder together.
    """
    from ..config import PipelineConfig
    from ..pipeline import Pipeline

    source = Path(source)
    cdnet = (source / "input").is_dir()
    src = ({"type": "cdnet", "path": str(source)} if cdnet
           else {"type": "video", "path": str(source), "max_frames": frames})
    config = PipelineConfig.model_validate({
        "model": {"path": model, "provider": provider, "threads": threads, "max_batch": max_batch},
        "streams": [{"name": f"s{i}", "source": src,
                     "background": {"init": "cdnet" if cdnet else "median"},
                     "sinks": [{"type": "cdnet", "dir": str(out / f"s{i}")}]}
                    for i in range(streams)],
    })
    pipeline = Pipeline(config)
    model_ = pipeline.model  # loaded before the clock starts
    started = time.perf_counter()
    report = pipeline.run(max_frames=frames)
    wall = time.perf_counter() - started
    failed = [f"{s.name}: {s.error}" for s in report.streams if s.error]
    if failed:
        raise StreamcdError(f"pipeline speed run failed: {'; '.join(failed)}")
    stages = [s.times.per_frame_ms() for s in report.streams]
    ms = {k: sum(st[k] for st in stages) / len(stages) for k in stages[0]}
    return PipelineSpeed(str(source), streams, sum(s.frames for s in report.streams), wall,
                         report.provider, getattr(model_, "threads", threads),
                         tuple(s.fps for s in report.streams), ms, max_batch,
                         gpu_memory_mb(report.provider))


def pipeline_markdown(runs: list[PipelineSpeed], mog2_fps: float | None) -> str:
    """Table of pipeline runs, with the aggregate fps as a multiple of MOG2's (same frames)."""
    ref = " | x MOG2 fps" if mog2_fps else ""
    lines = [(f"| streams | provider | threads | frames | model-thread ms/frame | aggregate fps | "
              f"fps per stream | max batch | GPU MB{ref} |"),
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---:"
             + (" | ---: |" if ref else " |")]
    for r in runs:
        per = ", ".join(f"{f:.1f}" for f in r.stream_fps)
        model_ms = sum(r.ms_per_frame.values())
        lines.append(f"| {r.streams} | {r.provider} | {r.threads or '-'} | {r.frames} | "
                     f"{model_ms:.2f} | {r.aggregate_fps:.1f} | {per} | {r.max_batch} | "
                     f"{gpu_cell(r.gpu_memory_mb)} |"
                     + (f" {r.aggregate_fps / mog2_fps:.2f} |" if mog2_fps else ""))
    return "\n".join(lines)
