"""A RunObserver that hands every hook to several observers (the console and the live hub)."""

from __future__ import annotations

from collections.abc import Sequence

from ..frames import Result, StreamEvent
from ..pipeline import LiveState, RunObserver, StreamReport


class FanOut(RunObserver):
    """Calls each hook of every observer, in the order given::

        pipeline.run(observer=FanOut(ConsoleObserver(), hub))
    """

    def __init__(self, *observers: RunObserver) -> None:
        self.observers = observers

    def on_start(self, stream: str, total: int | None, live: bool) -> None:
        for o in self.observers:
            o.on_start(stream, total, live)

    def on_attach(self, stream: str, live: LiveState) -> None:
        for o in self.observers:
            o.on_attach(stream, live)

    def on_result(self, stream: str, result: Result) -> None:
        for o in self.observers:
            o.on_result(stream, result)

    def on_event(self, event: StreamEvent) -> None:
        for o in self.observers:
            o.on_event(event)

    def on_stats(self, reports: Sequence[StreamReport]) -> None:
        for o in self.observers:
            o.on_stats(reports)

    def on_end(self, report: StreamReport) -> None:
        for o in self.observers:
            o.on_end(report)
