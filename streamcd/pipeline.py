"""The pipeline: every stream of a config runs source -> background -> model -> postprocess -> sinks.

Each stream runs on its own thread with its own background and sinks; the ONNX model is loaded
once and shared (ONNX Runtime sessions are thread-safe). A file source decodes on a thread of its
own and the sinks write on another (stages.py), so the stages overlap. A failing stream is
reported and does not stop the others.

Threads, and what each one owns (writes; any thread may read)::

    caller     Pipeline.run: starts the streams, then follows them (follow.py): on_stats,
               the metrics file, on_wait, StreamRunner.interrupt() once stop is set
    stream-N   StreamRunner.run: source, background, model, postprocess, the event list;
               report.running / started / seconds / error / live / times (and the
               StageTimes in it); hooks on_start and on_end
    sinks-N    WriteBehind: the sinks; report.frames / dropped / corrupt / reconnects and
               its meter (locked: the caller reads a consistent window); hooks on_result
               and on_event
    decode-N   ReadAhead (file sources): reads the source only; the source's events are
               relayed to stream-N, in order with the frames
    (reader)   a live source's own thread (sources/live.py), likewise relayed to stream-N

A report's fields are each written by one thread and may be read at any time from the caller's
thread (or a server's); a reader sees every field's latest value, not one instant of all of
them. ``running`` is True from the stream's start to its end, when ``seconds`` is final.

Observer hooks of one stream come in order and never two at once: ``on_attach`` and
``on_start`` (stream thread), ``on_event``/``on_result`` (sink thread, after the sinks took the
item), ``on_end`` (stream thread, after the sinks closed). Different streams call their hooks at the same time, from their
own threads; ``on_stats`` runs on the caller's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .background import BackgroundManager
from .config import PipelineConfig, StreamConfig
from .errors import REPORTED, SourceError, StreamcdError
from .follow import RunFollower
from .frames import Frame, Result, StreamEvent
from .postprocess import MaskPostprocessor
from .processor import ClientFrameProcessor, FrameProcessor, StageTimes
from .runtime.base import ChangeModel, ModelTraits
from .sinks import Sink, check_sink, open_sink
from .sources import Source, open_source
from .stages import ReadAhead, WriteBehind
from .stats import RateWindow, StreamMeter

if TYPE_CHECKING:
    from .runtime.local_batcher import FrameBatcher

log = logging.getLogger(__name__)

#: How long the caller's thread waits on each stream thread between its checks.
JOIN_S = 0.1

#: Makes a stream's FrameProcessor from its background and postprocess: the model in this
#: process, behind a batcher shared with other streams, or in a Ray model actor.
ProcessorFactory = Callable[[BackgroundManager, MaskPostprocessor], FrameProcessor]


@dataclass
class StreamReport:
    """What one stream did, and does while it runs; ``error`` is set when it stopped on a failure.

    Each field is written by one thread (see the module docstring); read it from any.
    """

    name: str
    frames: int = 0
    seconds: float = 0.0  # final once running is False
    dropped: int = 0
    corrupt: int = 0
    reconnects: int = 0
    live: bool = False
    error: str | None = None
    times: StageTimes = field(default_factory=StageTimes)
    started: float = field(default_factory=time.monotonic)
    meter: RateWindow = field(default_factory=StreamMeter)  # fps and latency, last seconds
    running: bool = False

    def start(self) -> None:
        """The stream starts now (``running`` becomes True)."""
        self.started = time.monotonic()
        self.running = True

    def end(self, seconds: float | None = None) -> None:
        """The stream ended after ``seconds`` (None: the time since :meth:`start`)."""
        self.seconds = time.monotonic() - self.started if seconds is None else seconds
        self.running = False  # after seconds: whoever sees False sees the final seconds

    def seconds_so_far(self) -> float:
        return time.monotonic() - self.started if self.running else self.seconds

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

    Which thread calls which hook, and in what order, is in the module docstring: one stream's
    hooks never run at once, different streams' may. The Ray backend calls every hook on the
    caller's thread.
    """

    def on_start(self, stream: str, total: int | None, live: bool) -> None:
        """The stream's source and sinks are open; ``total`` frames to come, when known."""

    def on_result(self, stream: str, result: Result) -> None:
        """Every sink of the stream took ``result``."""

    def on_event(self, event: StreamEvent) -> None:
        """Every sink of ``event.stream`` took ``event`` (disconnect, gap, background re-init...)."""

    def on_stats(self, reports: Sequence[StreamReport]) -> None:
        """Every ``stats_every_s``, with the live reports themselves (they change after the call)."""

    def on_end(self, report: StreamReport) -> None:
        """The stream ended and its sinks are closed; ``report`` is final. Called for every
        stream, also one that failed before ``on_start``."""

    def on_attach(self, stream: str, live: LiveState) -> None:
        """Just before ``on_start``: ``live`` reads the stream's state from other threads
        (``streamcd serve``). The Ray backend does not call it."""


@dataclass(frozen=True)
class LiveState:
    """Read-only views of a running stream for observers on other threads.

    ``reference()`` is the background the manager holds now (``BackgroundManager.picture``: the
    feature bank's median colours, or the reference image; None until ready; never modified in
    place, so it is safe to read), ``threshold()`` the mask threshold in use (with a feature
    bank: its base threshold).
    """

    report: StreamReport
    reference: Callable[[], np.ndarray | None]
    threshold: Callable[[], float]


class StreamRunner:
    """Runs one stream to its end (or until ``stop`` is set) on the thread that calls :meth:`run`.

    ``model`` gives the stream what it needs to know of the model; ``make_processor`` makes the
    processor that runs it (here, behind a batcher, or in a Ray model actor).
    """

    def __init__(self, config: StreamConfig, model: ModelTraits, observer: RunObserver,
                 make_processor: ProcessorFactory):
        self.config = config
        self.model = model
        self.observer = observer
        self.make_processor = make_processor
        self.meter = StreamMeter()
        self.report = StreamReport(config.name, meter=self.meter)
        self._source: Source | None = None  # written by the stream thread, read by interrupt()
        self._events: list[StreamEvent] = []  # the stream thread's: source events not sent yet
        self._writer: WriteBehind | None = None  # set once the sinks are open

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
        self.report.start()
        try:
            self._run(stop, max_frames)
        except StreamcdError as e:
            self.report.error = str(e)
            log.error("stream %s stopped: %s", self.config.name, e, extra={REPORTED: True})
        except Exception as e:  # one stream's bug must not take the others down
            self.report.error = f"{type(e).__name__}: {e}"
            log.exception("stream %s crashed", self.config.name)
        finally:
            self.report.end()
            self.observer.on_end(self.report)
        return self.report

    def _run(self, stop: threading.Event, max_frames: int | None) -> None:
        cfg = self.config
        with ExitStack() as stack:
            self._check_sinks()
            # File sources decode on their own thread and sinks write on another (stages.py);
            # ``ahead`` is entered after the source, so it stops reading before the source closes.
            ahead: ReadAhead[Frame] = ReadAhead(name=f"decode-{cfg.name}")
            source = stack.enter_context(open_source(cfg.source,
                                                     on_event=ahead.relay(self._on_source_event)))
            self._source = source
            self.report.live = source.live
            cdnet_dir = cfg.source.path if cfg.source.type == "cdnet" else None
            background = stack.enter_context(BackgroundManager(cfg.background, cfg.name, cdnet_dir))
            sinks = [stack.enter_context(open_sink(s, source.fps)) for s in cfg.sinks]
            processor = self.make_processor(background, MaskPostprocessor(
                cfg.postprocess, self.model.threshold))
            self.report.times = processor.times
            post = processor.postprocess
            self.observer.on_attach(cfg.name, LiveState(
                self.report, background.picture, lambda: post.threshold))
            self.observer.on_start(cfg.name, _total(source, max_frames), source.live)
            # Entered after the sinks: every result is delivered before they close.
            self._writer = stack.enter_context(WriteBehind(partial(self._deliver, sinks, source),
                                                           name=f"sinks-{cfg.name}"))
            frames = self.frames(source)
            if not source.live:  # live sources already read on their own thread
                ahead.start(frames)
                frames = stack.enter_context(ahead)
            self._process_frames(frames, background, processor, stop, max_frames)
            if source.stats.frames == 0 and not stop.is_set():
                raise SourceError(_no_frames(source.stats.corrupt))

    def _check_sinks(self) -> None:
        """Outputs are checked first and opened last, so that bad input leaves no files behind."""
        for sink_cfg in self.config.sinks:
            check_sink(sink_cfg)
        if not self.config.sinks:
            log.warning("stream %s has no sinks: its masks are computed but not kept",
                        self.config.name)

    def _process_frames(self, frames: Iterator[Frame], background: BackgroundManager,
                        processor: FrameProcessor, stop: threading.Event,
                        max_frames: int | None) -> None:
        """Every frame through ``processor``; the first ones are held until the background is
        ready (the median is collected), then processed in order. Ends on stop or max_frames."""
        emit, events = self._emit, self._events

        def finish() -> None:
            for held in background.drain():  # stream ended (or stopped) before the median was complete
                emit(*processor.process(held))
            emit(None, _drain(events))

        try:
            for count, frame in enumerate(frames, 1):
                emit(None, _drain(events))
                if stop.is_set():
                    break
                for ready in background.feed(frame, frame.image):
                    emit(*processor.process(ready))
                if max_frames is not None and count >= max_frames:
                    break
        except SourceError:
            # The source failed after some frames (a truncated video, on_corrupt: stop):
            # the frames it gave are still processed and written, then the error reported.
            finish()
            raise
        finish()

    def _on_source_event(self, event: StreamEvent) -> None:
        # Called on the stream thread while iterating, also during an outage when no frame
        # comes: a disconnect must reach the sinks now, not at the next frame.
        self._events.append(event)
        if self._writer is not None:
            self._emit(None, _drain(self._events))

    def _emit(self, result: Result | None, events: list[StreamEvent]) -> None:
        """Hand a result (or only events) to the sink thread (blocks while its queue is full)."""
        assert self._writer is not None, "emit before the sinks were opened"
        self._writer.put((result, events))

    def _deliver(self, sinks: list[Sink], source: Source,
                 item: tuple[Result | None, list[StreamEvent]]) -> None:
        """On the sink thread: events, then the result, to every sink; then the counters."""
        result, events = item
        for event in events:
            named = event.named(self.config.name)
            for sink in sinks:
                sink.event(named)
            self.observer.on_event(named)
        if result is not None:
            for sink in sinks:
                sink.write(result)
            self.report.frames += 1
        self._copy_stats(source)
        if result is not None:
            self.meter.record(result.frame.arrival, source.stats.frames + source.stats.dropped)
            self.observer.on_result(self.config.name, result)

    def frames(self, source: Source) -> Iterator[Frame]:
        """The frames to process (a restarted Ray stream skips those already written)."""
        return iter(source)

    def _copy_stats(self, source: Source) -> None:
        stats = source.stats
        self.report.dropped, self.report.corrupt = stats.dropped, stats.corrupt
        self.report.reconnects = stats.reconnects


def _total(source: Source, max_frames: int | None) -> int | None:
    """Frames the stream will give, when known (for a progress bar)."""
    total = getattr(source, "frame_count", None)
    if max_frames is not None and total is not None:
        total = min(total, max_frames)
    return total


def _no_frames(corrupt: int) -> str:
    if corrupt:
        return f"no frame could be read ({corrupt} corrupt, skipped); check the input files"
    return "the source ended without giving a single frame; check its path or pattern"


def _drain(events: list[StreamEvent]) -> list[StreamEvent]:
    out = events[:]
    del events[: len(out)]
    return out


class Pipeline:
    """All streams of a config, each on its own thread, sharing one model.

    Args:
        config: the validated pipeline (:meth:`from_yaml` reads one from a YAML file).
        model: the change model to share; None loads ``config.model`` on first use.

    Example::

        from streamcd import Pipeline

        report = Pipeline.from_yaml("pipelines/demo.yaml", ["model.provider=cpu"]).run(max_frames=50)
        for stream in report.streams:
            print(stream.name, stream.frames, f"{stream.fps:.1f} fps", stream.error or "ok")
    """

    def __init__(self, config: PipelineConfig, model: ChangeModel | None = None):
        self.config = config
        self._model = model

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = ()) -> Pipeline:
        """The pipeline of a YAML file.

        Args:
            path: the pipeline YAML.
            overrides: ``key.path=value`` strings applied before validation (``--set``).

        Raises:
            ConfigError: the file is missing, unreadable or invalid (the message names the
                key, its line and the allowed values).
        """
        return cls(PipelineConfig.from_yaml(path, overrides))

    @property
    def model(self) -> ChangeModel:
        """The shared model (loaded from ``config.model`` on first use; may raise ModelError)."""
        if self._model is None:
            from .runtime.onnx_model import OnnxChangeModel

            self._model = OnnxChangeModel.from_config(self.config.model)
        return self._model

    def run(self, max_frames: int | None = None, observer: RunObserver | None = None,
            stop: threading.Event | None = None,
            on_wait: Callable[[], None] | None = None) -> PipelineReport:
        """Run every stream to its end; blocks until the last one ended.

        With ``model.max_batch`` > 1 and several streams, their frames share encoder runs.

        Args:
            max_frames: stop each stream after this many frames (None: to the source's end).
            observer: hooks for progress and stats (threads: see the module docstring).
            stop: set it (from any thread, e.g. on Ctrl-C) to end every stream early; sinks
                are flushed and closed as at a normal end.
            on_wait: called on this thread about every 0.1 s while streams run.

        Returns:
            One report per stream, in config order; a stream's failure is its report's
            ``error`` (logged, not raised), and ``report.ok`` is False.

        Raises:
            ModelError: the model cannot be loaded.
            SinkError: ``metrics.path``'s folder cannot be written.
        """
        observer, stop = observer or RunObserver(), stop or threading.Event()
        follower = RunFollower(self.config, observer, stop, on_wait)
        with ExitStack() as stack:
            batcher = self._batcher(stack)
            runners = [StreamRunner(s, self.model, observer, self._processors(s, batcher))
                       for s in self.config.streams]
            threads = [threading.Thread(target=r.run, args=(stop, max_frames),
                                        name=f"stream-{r.config.name}", daemon=True)
                       for r in runners]
            for t in threads:
                t.start()
            follower.follow([r.report for r in runners], wait=partial(_join, threads),
                            interrupt=lambda: [r.interrupt() for r in runners])
        return PipelineReport(self.model.provider, [r.report for r in runners])

    def _batcher(self, stack: ExitStack) -> FrameBatcher | None:
        """The batcher several streams share with ``model.max_batch`` > 1 (closed by ``stack``)."""
        m = self.config.model
        if m.max_batch <= 1 or len(self.config.streams) <= 1:
            return None
        from .runtime.local_batcher import FrameBatcher

        return stack.enter_context(FrameBatcher(self.model, m.max_batch, m.max_wait_ms))

    def _processors(self, stream: StreamConfig, batcher: FrameBatcher | None) -> ProcessorFactory:
        """How ``stream`` makes its processor: the shared model, directly or through ``batcher``."""
        model, name, sides = self.model, stream.name, {"max_side": stream.max_side,
                                                        "min_side": stream.min_side}
        if batcher is not None:
            return lambda background, postprocess: ClientFrameProcessor(
                batcher.client(name), model, background, postprocess, name, head=model, **sides)
        return lambda background, postprocess: FrameProcessor(
            model, background, postprocess, name, **sides)


def _join(threads: list[threading.Thread]) -> bool:
    """Wait a little on each thread; True while any still runs."""
    for t in threads:
        t.join(timeout=JOIN_S)
    return any(t.is_alive() for t in threads)
