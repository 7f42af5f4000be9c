"""Console feedback for ``streamcd run``: a progress bar per file stream, a stats line for live ones."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from tqdm import tqdm

from .frames import Result, StreamEvent
from .pipeline import RunObserver, StreamReport
from .stats import StreamStats

log = logging.getLogger("streamcd.run")


class ConsoleObserver(RunObserver):
    """tqdm bars (frames, fps) for file streams; periodic log lines for live streams."""

    def __init__(self, show_progress: bool = True):
        self.show_progress = show_progress
        self._bars: dict[str, tqdm] = {}
        self._lock = threading.Lock()

    def on_start(self, stream: str, total: int | None, live: bool) -> None:
        if self.show_progress and not live:
            with self._lock:
                self._bars[stream] = tqdm(total=total, desc=stream, unit="frame",
                                          position=len(self._bars), leave=True, dynamic_ncols=True)

    def on_result(self, stream: str, result: Result) -> None:
        bar = self._bars.get(stream)
        if bar is not None:
            bar.update(1)

    def on_event(self, event: StreamEvent) -> None:
        log.info("%s: %s %s", event.stream, event.kind, event.detail)

    def on_stats(self, reports: Sequence[StreamReport]) -> None:
        for r in reports:
            if r.live or not self.show_progress:
                log.info("%s", StreamStats.of(r).line())

    def on_end(self, report: StreamReport) -> None:
        bar = self._bars.get(report.name)
        if bar is not None:
            bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
