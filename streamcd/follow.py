"""The caller's side of a run, shared by :class:`~streamcd.pipeline.Pipeline` (stream threads)
and :class:`~streamcd.cluster.RayPipeline` (stream actors).

While the streams work, the thread that called ``run`` loops: it passes a stop on to the streams
once, calls the observer's ``on_stats`` every ``stats_every_s``, rewrites the metrics file when
due and calls ``on_wait``; at the end it writes the metrics file a last time. Only how to wait
for the streams differs between the backends, so that is what each one hands in::

    follower = RunFollower(config, observer, stop, on_wait)   # checks the metrics folder now
    follower.follow(reports, wait=join_a_little, interrupt=stop_every_stream)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .config import PipelineConfig
from .stats import MetricsWriter

if TYPE_CHECKING:
    from .pipeline import RunObserver, StreamReport


class RunFollower:
    """Follows the streams of one run from the caller's thread (see the module docstring)."""

    def __init__(self, config: PipelineConfig, observer: RunObserver, stop: threading.Event,
                 on_wait: Callable[[], None] | None = None) -> None:
        self.stats_every_s = config.stats_every_s
        self.observer = observer
        self.stop = stop
        self.on_wait = on_wait
        # Made before any stream starts: a metrics folder that cannot be written fails the run.
        self.metrics = MetricsWriter(config.metrics) if config.metrics.path else None

    def follow(self, reports: Sequence[StreamReport], wait: Callable[[], bool],
               interrupt: Callable[[], None]) -> None:
        """Loop until ``wait()`` returns False (every stream ended); ``wait`` blocks at most a
        poll period. ``interrupt()`` is called once, as soon as ``stop`` is set."""
        next_stats = time.monotonic() + self.stats_every_s
        interrupted = False
        while True:
            if self.stop.is_set() and not interrupted:
                interrupted = True
                interrupt()
            if not wait():
                break
            if time.monotonic() >= next_stats:
                self.observer.on_stats(reports)
                next_stats += self.stats_every_s
            if self.metrics:
                self.metrics.tick(reports)
            if self.on_wait:
                self.on_wait()
        if self.metrics:
            self.metrics.write(reports)
