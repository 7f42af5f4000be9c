"""The pipeline: every stream of a config runs source -> background -> model -> postprocess -> sinks.

Each stream runs on its own thread with its own background and sinks; the ONNX model is loaded
once and shared (ONNX Runtime sessions are thread-safe). A file source decodes on a thread of its
own and the sinks write on another (stages.py), so the stages overlap. A failing stream is
reported and does not stop the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .background import BackgroundManager
from .config import PipelineConfig, StreamConfig
from .errors import REPORTED, SourceError, StreamcdError
from .frames import Frame, Result, StreamEvent
from .postprocess import MaskPostprocessor
from .processor import ClientFrameProcessor, FrameProcessor, StageTimes
from .runtime.base import ChangeModel
from .sinks import Sink, check_sink, open_sink
from .sources import Source, open_source
from .stages import ReadAhead, WriteBehind
from .stats import MetricsWriter, StreamMeter

if TYPE_CHECKING:
    from .runtime.local_batcher import FrameBatcher

log = logging.getLogger(__name__)


@dataclass
class StreamReport:
    """What one stream did; ``error`` is set when it stopped on a failure."""

    name: str
    frames: int = 0
    seconds: float = 0.0
    dropped: int = 0
    corrupt: int = 0
    reconnects: int = 0
    live: bool = False
    error: str | None = None
    times: StageTimes = field(default_factory=StageTimes)
    started: float = field(default_factory=time.monotonic)
    meter: StreamMeter = field(default_factory=StreamMeter)  # fps and latency, last seconds

    def seconds_so_far(self) -> float:
        return self.seconds or time.monotonic() - self.started

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass
class PipelineReport:
    provider: str
    streams: list[StreamReport]

    @property
    def ok(self) -> bool:
        return all(s.error is None for s in self.streams)


class RunObserver:
    """Hooks the CLI uses for progress bars and stats lines (the library itself only logs).

    ``on_result`` and ``on_event`` run on the stream's sink thread, after the sinks took it.
    """

    def on_start(self, stream: str, total: int | None, live: bool) -> None: ...

    def on_result(self, stream: str, result: Result) -> None: ...

    def on_event(self, event: StreamEvent) -> None: ...

    def on_stats(self, reports: Sequence[StreamReport]) -> None: ...

    def on_end(self, report: StreamReport) -> None: ...


class StreamRunner:
    """Runs one stream to its end (or until ``stop`` is set)."""

    def __init__(self, config: StreamConfig, model: ChangeModel, observer: RunObserver,
                 batcher: FrameBatcher | None = None):
        self.config = config
        self.model = model
        self.observer = observer
        self.batcher = batcher  # set: the model runs in batches shared with other streams
        self.report = StreamReport(config.name)
        self._source: Source | None = None

    def interrupt(self) -> None:
        """Unblock a live source waiting for its next frame (called from another thread).

        Live sources' ``stop()`` does not wait for a read blocked until its timeout, so every
        stream is told at once and flushes its sinks at once; ``close()`` (at the stream's end,
        on its own thread) still joins the reader.
        """
        source = self._source
        if source is not None and source.live:
            getattr(source, "stop", source.close)()

    def run(self, stop: threading.Event, max_frames: int | None = None) -> StreamReport:
        started = time.monotonic()
        try:
            self._run(stop, max_frames)
        except StreamcdError as e:
            self.report.error = str(e)
            log.error("stream %s stopped: %s", self.config.name, e, extra={REPORTED: True})
        except Exception as e:  # one stream's bug must not take the others down
            self.report.error = f"{type(e).__name__}: {e}"
            log.exception("stream %s crashed", self.config.name)
        finally:
            self.report.seconds = time.monotonic() - started
            self.observer.on_end(self.report)
        return self.report

    def _run(self, stop: threading.Event, max_frames: int | None) -> None:
        cfg = self.config
        with ExitStack() as stack:
            sinks: list[Sink] = []
            events: list[StreamEvent] = []
            deliver_now = threading.Event()  # set once sinks and ``emit`` are ready

            def on_source_event(event: StreamEvent) -> None:
                # Called on this thread while iterating, also during an outage when no frame
                # comes: a disconnect must reach the sinks now, not at the next frame.
                events.append(event)
                if deliver_now.is_set():
                    emit(None, _drain(events))

            # Outputs are checked first and opened last, so that bad input leaves no files behind.
            for sink_cfg in cfg.sinks:
                check_sink(sink_cfg)
            if not cfg.sinks:
                log.warning("stream %s has no sinks: its masks are computed but not kept", cfg.name)
            # File sources decode on their own thread and sinks write on another (stages.py);
            # ``ahead`` is entered after the source, so it stops reading before the source closes.
            ahead: ReadAhead[Frame] = ReadAhead(name=f"decode-{cfg.name}")
            source = stack.enter_context(open_source(cfg.source, on_event=ahead.relay(on_source_event)))
            self._source = source
            self.report.live = source.live
            cdnet_dir = cfg.source.path if cfg.source.type == "cdnet" else None
            background = stack.enter_context(BackgroundManager(cfg.background, cfg.name, cdnet_dir))
            for sink_cfg in cfg.sinks:
                sinks.append(stack.enter_context(open_sink(sink_cfg, source.fps)))
            processor = self.make_processor(background, MaskPostprocessor(
                cfg.postprocess, self.model.threshold))
            self.report.times = processor.times
            total = getattr(source, "frame_count", None)
            if max_frames is not None and total is not None:
                total = min(total, max_frames)
            self.observer.on_start(cfg.name, total, source.live)

            def deliver(item: tuple[Result | None, list[StreamEvent]]) -> None:
                result, new_events = item
                for event in new_events:
                    named = event.named(cfg.name)
                    for sink in sinks:
                        sink.event(named)
                    self.observer.on_event(named)
                if result is not None:
                    for sink in sinks:
                        sink.write(result)
                    self.report.frames += 1
                    self._copy_stats(source)
                    self.report.meter.record(result.frame.arrival,
                                             source.stats.frames + source.stats.dropped)
                    self.observer.on_result(cfg.name, result)

            # Entered after the sinks: every result is delivered before they close.
            writer = stack.enter_context(WriteBehind(deliver, name=f"sinks-{cfg.name}"))

            def emit(result: Result | None, new_events: list[StreamEvent]) -> None:
                writer.put((result, new_events))

            frames = self.frames(source)
            if not source.live:  # live sources already read on their own thread
                ahead.start(frames)
                frames = stack.enter_context(ahead)
            deliver_now.set()
            pending: list[Frame] = []  # frames held while the median background is collected

            def finish() -> None:
                if pending:  # stream ended (or stopped) before the median was complete
                    background.finish_init()
                    for held in pending:
                        emit(*processor.process(held))
                emit(None, _drain(events))
                self._copy_stats(source)

            try:
                for count, frame in enumerate(frames, 1):
                    emit(None, _drain(events))
                    if stop.is_set():
                        break
                    if background.ready:
                        emit(*processor.process(frame))
                    else:
                        background.offer(frame.image)
                        pending.append(frame)
                        if background.ready:
                            for held in pending:
                                emit(*processor.process(held))
                            pending.clear()
                    if max_frames is not None and count >= max_frames:
                        break
            except SourceError:
                # The source failed after some frames (a truncated video, on_corrupt: stop):
                # the frames it gave are still processed and written, then the error reported.
                finish()
                raise
            finish()
            if source.stats.frames == 0 and not stop.is_set():
                raise SourceError(_no_frames(source.stats.corrupt))

    def make_processor(self, background: BackgroundManager,
                       postprocess: MaskPostprocessor) -> FrameProcessor:
        """The per-frame processor (the Ray backend's runs the model in a remote actor)."""
        if self.batcher is not None:
            return ClientFrameProcessor(self.batcher.client(self.config.name), self.model,
                                        background, postprocess, self.config.name,
                                        max_side=self.config.max_side)
        return FrameProcessor(self.model, background, postprocess, self.config.name,
                              max_side=self.config.max_side)

    def frames(self, source: Source) -> Iterator[Frame]:
        """The frames to process (a restarted Ray stream skips those already written)."""
        return iter(source)

    def _copy_stats(self, source: Source) -> None:
        stats = source.stats
        self.report.dropped, self.report.corrupt = stats.dropped, stats.corrupt
        self.report.reconnects = stats.reconnects


def _no_frames(corrupt: int) -> str:
    if corrupt:
        return f"no frame could be read ({corrupt} corrupt, skipped); check the input files"
    return "the source ended without giving a single frame; check its path or pattern"


def _drain(events: list[StreamEvent]) -> list[StreamEvent]:
    out = events[:]
    del events[: len(out)]
    return out


class Pipeline:
    """All streams of a config, sharing one model.

    Example::

        report = Pipeline.from_yaml("pipelines/demo.yaml").run()
        print(report.streams[0].frames, report.provider)
    """

    def __init__(self, config: PipelineConfig, model: ChangeModel | None = None):
        self.config = config
        self._model = model

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = ()) -> Pipeline:
        return cls(PipelineConfig.from_yaml(path, overrides))

    @property
    def model(self) -> ChangeModel:
        if self._model is None:
            from .runtime.onnx_model import OnnxChangeModel

            self._model = OnnxChangeModel.from_config(self.config.model)
        return self._model

    def run(self, max_frames: int | None = None, observer: RunObserver | None = None,
            stop: threading.Event | None = None,
            on_wait: Callable[[], None] | None = None) -> PipelineReport:
        """Run every stream to its end; returns per-stream reports (errors included, not raised).

        ``stop`` ends all streams early (sinks are flushed and closed as at a normal end).
        With ``model.max_batch`` > 1 and several streams, their frames share encoder runs.
        """
        m, streams = self.config.model, self.config.streams
        batcher = None
        if m.max_batch > 1 and len(streams) > 1:
            from .runtime.local_batcher import FrameBatcher

            batcher = FrameBatcher(self.model, m.max_batch, m.max_wait_ms)
        try:
            return self._run(max_frames, observer or RunObserver(), stop or threading.Event(),
                             on_wait, batcher)
        finally:
            if batcher is not None:
                batcher.close()

    def _run(self, max_frames: int | None, observer: RunObserver, stop: threading.Event,
             on_wait: Callable[[], None] | None, batcher: FrameBatcher | None) -> PipelineReport:
        model = self.model
        runners = [StreamRunner(s, model, observer, batcher) for s in self.config.streams]
        metrics = MetricsWriter(self.config.metrics) if self.config.metrics.path else None
        threads = [threading.Thread(target=r.run, args=(stop, max_frames), name=f"stream-{r.config.name}",
                                    daemon=True) for r in runners]
        for t in threads:
            t.start()
        next_stats = time.monotonic() + self.config.stats_every_s
        interrupted = False
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=0.1)
            if stop.is_set() and not interrupted:
                interrupted = True
                for r in runners:
                    r.interrupt()
            if time.monotonic() >= next_stats:
                observer.on_stats([r.report for r in runners])
                next_stats += self.config.stats_every_s
            if metrics:
                metrics.tick([r.report for r in runners])
            if on_wait:
                on_wait()
        if metrics:
            metrics.write([r.report for r in runners])
        return PipelineReport(model.provider, [r.report for r in runners])
