"""Live statistics of each stream (fps in/out, drops, reconnects, latency) and the metrics file.

Latency is measured from ``Frame.arrival`` (``time.monotonic()`` when the source read the frame)
to the moment every sink has taken the frame's Result, i.e. it includes queueing, background,
model, postprocess and sink writes. Rates and percentiles cover the last ``WINDOW_S`` seconds,
so a slow start (the median background holds its first frames back) does not hide later trends.

The metrics file (``metrics.path`` in the YAML) is rewritten atomically every
``metrics.every_s`` and at the end of the run: JSON (``*.json``) or the Prometheus text format
(``*.prom``, for node_exporter's textfile collector). Example::

    writer = MetricsWriter(MetricsConfig(path="out/metrics.json", every_s=5))
    writer.tick(reports)          # writes when every_s has passed since the last write
    writer.write(reports)         # writes now
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .config import MetricsConfig
from .sinks._common import prepare_dir, replace_atomically

if TYPE_CHECKING:
    from .pipeline import StreamReport

#: Seconds of history behind fps and latency percentiles.
WINDOW_S = 10.0
_MAX_SAMPLES = 4096  # 10 s at up to ~400 fps


class RateWindow(Protocol):
    """What the stats line and the metrics file read of a stream: its last seconds."""

    def window(self, now: float | None = None) -> tuple[float, float, np.ndarray]:
        """(fps in, fps out, latencies in seconds) over the last ``WINDOW_S`` seconds."""
        ...


@dataclass(frozen=True)
class FixedWindow:
    """A window measured elsewhere, as last reported (the Ray driver's copy of a stream actor's
    :class:`StreamMeter`)."""

    fps_in: float = 0.0
    fps_out: float = 0.0
    latencies: np.ndarray = field(default_factory=lambda: np.empty(0))

    def window(self, now: float | None = None) -> tuple[float, float, np.ndarray]:
        return self.fps_in, self.fps_out, self.latencies


class StreamMeter:
    """Rolling window of per-result samples of one stream; written by the stream's thread, read
    by the stats line and the metrics writer on another (hence the lock)::

        meter.record(frame.arrival, frames_in=source.stats.frames + source.stats.dropped)
        meter.window()   # -> (fps_in, fps_out, latencies in seconds)
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        # (done time, frames read so far incl. dropped, results so far, latency s or nan)
        self._samples: deque[tuple[float, int, int, float]] = deque(maxlen=_MAX_SAMPLES)
        self._frames_in = 0
        self._frames_out = 0
        self._lock = threading.Lock()

    def record(self, arrival: float, frames_in: int, done: float | None = None) -> None:
        """One result delivered to the sinks; ``arrival`` 0 (unknown) records no latency."""
        done = time.monotonic() if done is None else done
        latency = done - arrival if arrival > 0 else math.nan
        with self._lock:
            self._frames_in, self._frames_out = frames_in, self._frames_out + 1
            self._samples.append((done, frames_in, self._frames_out, latency))

    def window(self, now: float | None = None) -> tuple[float, float, np.ndarray]:
        """(fps in, fps out, latencies in seconds) over the last ``window_s`` seconds."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._samples and self._samples[0][0] < now - self.window_s:
                self._samples.popleft()
            samples = list(self._samples)
            frames_in, frames_out = self._frames_in, self._frames_out
        if not samples:
            return 0.0, 0.0, np.empty(0)
        first_t, first_in, first_out, _ = samples[0]
        span = max(now - first_t, 1e-3) if len(samples) > 1 else self.window_s
        latencies = np.array([s[3] for s in samples])
        # The first sample opens the window, so its own frame is not counted in the rates.
        return ((frames_in - first_in) / span, (frames_out - first_out) / span,
                latencies[~np.isnan(latencies)])


@dataclass(frozen=True)
class StreamStats:
    """A snapshot of one stream for the stats line and the metrics file."""

    stream: str
    live: bool
    running: bool
    error: str | None
    seconds: float
    frames: int  # results written
    dropped: int
    corrupt: int
    reconnects: int
    fps_in: float  # frames read per second (incl. dropped), last WINDOW_S
    fps_out: float  # results per second, last WINDOW_S
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    latency_max_ms: float | None
    inference_ms: float  # mean model time per frame since the start

    @classmethod
    def of(cls, report: StreamReport, now: float | None = None) -> StreamStats:
        fps_in, fps_out, latencies = report.meter.window(now)
        p50 = p99 = top = None
        if latencies.size:
            p50, p99 = (float(v) * 1000 for v in np.percentile(latencies, [50, 99]))
            top = float(latencies.max()) * 1000
        return cls(report.name, report.live, report.running, report.error,
                   report.seconds_so_far(), report.frames, report.dropped, report.corrupt,
                   report.reconnects, fps_in, fps_out, p50, p99, top,
                   report.times.per_frame_ms()["inference"])

    def line(self) -> str:
        """The human stats line, e.g. ``cam1: 250 frames, in 25.0 fps, out 24.9 fps, ...``."""
        latency = ("latency n/a" if self.latency_p50_ms is None else
                   f"latency p50 {self.latency_p50_ms:.0f} ms p99 {self.latency_p99_ms:.0f} ms")
        return (f"{self.stream}: {self.frames} frames, in {self.fps_in:.1f} fps, out "
                f"{self.fps_out:.1f} fps, dropped {self.dropped}, reconnects {self.reconnects}, "
                f"{latency}, inference {self.inference_ms:.1f} ms")


class MetricsWriter:
    """Rewrites ``config.path`` (JSON or Prometheus text, by suffix) with every stream's stats."""

    def __init__(self, config: MetricsConfig) -> None:
        if config.path is None:
            raise ValueError("MetricsWriter needs metrics.path")
        self.path = Path(config.path)
        self.every_s = config.every_s
        prepare_dir(self.path.parent, "metrics file")
        self._next = time.monotonic() + self.every_s

    def tick(self, reports: Sequence[StreamReport]) -> None:
        """Write when ``every_s`` has passed since the last write."""
        if time.monotonic() >= self._next:
            self.write(reports)

    def write(self, reports: Sequence[StreamReport]) -> None:
        now = time.monotonic()
        self._next = now + self.every_s
        stats = [StreamStats.of(r, now) for r in reports]
        if self.path.suffix == ".prom":
            from .prometheus import prometheus_text

            text = prometheus_text(stats)
        else:
            text = json_text(stats)
        replace_atomically(text.encode(), self.path)


def json_text(stats: Sequence[StreamStats]) -> str:
    return json.dumps({"time": time.time(), "window_s": WINDOW_S,
                       "streams": {s.stream: asdict(s) for s in stats}}, indent=1) + "\n"
