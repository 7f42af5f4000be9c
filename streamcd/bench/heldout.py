"""The model against classic subtractors on held-out CDnet frames, in one run.

Every method sees each video from frame 1 in order (CDnet protocol) and writes a CDnet results
folder; only the held-out frames (``CdnetVideo.heldout_range()``: the end of the temporalROI,
never used for training or for choosing the threshold) are scored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from ..cdnet_layout import CdnetVideo
from .baselines import run_baseline
from .evaluate import score_video
from .runner import MODEL_METHOD
from .scoring import Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldoutRow:
    video: str
    frames: tuple[int, int]
    method: str
    metrics: Metrics
    ms_per_frame: float  # method's own time per frame (model: background+inference+postprocess)


def run_model(video: CdnetVideo, out_dir: Path, model=None, postprocess=None,
              median: str = "still") -> float:
    """Run the streamcd pipeline on a CDnet folder (background from pre-temporalROI frames,
    made by the ``background.median`` method ``median``)."""
    from ..config import (
        BackgroundConfig,
        CdnetSinkConfig,
        CdnetSourceConfig,
        PipelineConfig,
        PostprocessConfig,
        StreamConfig,
    )
    from ..pipeline import Pipeline

    stream = StreamConfig(
        name=video.name, source=CdnetSourceConfig(path=video.root),
        background=BackgroundConfig(init="cdnet", median=median),
        postprocess=postprocess or PostprocessConfig(),
        sinks=[CdnetSinkConfig(dir=out_dir)],
    )
    report = Pipeline(PipelineConfig(streams=[stream]), model).run()
    s = report.streams[0]
    if s.error:
        raise RuntimeError(f"streamcd failed on {video.key}: {s.error}")
    t = s.times
    return t.background + t.inference + t.postprocess


def compare_heldout(videos: list[CdnetVideo], out: Path, methods: list[str], model=None) -> list[HeldoutRow]:
    rows = []
    for video in videos:
        frames = video.heldout_range()
        for method in methods:
            results = out / method / video.category / video.name
            started = time.perf_counter()
            if method == MODEL_METHOD:
                seconds = run_model(video, results, model)
            else:
                seconds = run_baseline(method, video, results)
            metrics = score_video(video, results, frames).metrics
            log.info("%s %s: F %.4f (%.0f s)", video.key, method, metrics.f_measure,
                     time.perf_counter() - started)
            rows.append(HeldoutRow(video.key, frames, method, metrics, 1000 * seconds / video.count))
    return rows


def heldout_markdown(rows: list[HeldoutRow]) -> str:
    lines = ["| video | scored frames | method | F | Pr | Re | PWC | ms/frame |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        m = r.metrics
        lines.append(f"| {r.video} | {r.frames[0]}..{r.frames[1]} | {r.method} | {m.f_measure:.4f} | "
                     f"{m.precision:.4f} | {m.recall:.4f} | {m.pwc:.3f} | {r.ms_per_frame:.2f} |")
    return "\n".join(lines)
