"""The stream actor: one stream's source, background and sinks, with the model in a model actor.

It reuses the local :class:`~streamcd.pipeline.StreamRunner` (same sinks, same events, same
median hold-back); only the model call goes remote (:class:`RemoteFrameProcessor`). With a feature
bank (the default background model) the model actor only encodes: the bank, and its comparison
through the card's head (sent with :class:`~.model_server.ModelInfo`, run here on CPU), stay on
this actor, as in the local pipeline. The driver polls it for progress (:class:`StreamSnapshot`)
while ``run`` works, so Ray runs it as a threaded actor.

Restarts. Ray restarts a dead stream actor (``ray.max_restarts``) and retries its ``run``; the
background resumes from ``background.state_dir``. A file stream also resumes its *output*: after
each result reaches the sinks the actor records the frame number in ``<state_dir>/<stream>/
ray-progress-<run>.json``, and a new incarnation skips the frames up to it (decoded, not
processed). CDnet PNGs are written atomically and named by frame, so none is lost or written twice;
a JSON Lines sink may repeat the one line written between the sink and the progress record at the
moment of death; a video sink restarts its file (it only holds frames after the restart). Live
streams simply reconnect. Every resume is announced as an ``actor_restart`` event.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..background import BackgroundManager
from ..config import StreamConfig
from ..frames import Frame, Result, StreamEvent
from ..pipeline import RunObserver, StreamReport, StreamRunner
from ..postprocess import MaskPostprocessor
from ..processor import ClientFrameProcessor, FrameProcessor, StageTimes
from ..runtime.batch_runner import StreamClient
from ..runtime.geometry import TRAINING_SIDE
from ..runtime.onnx_model import OnnxHead
from ..sources import Source
from .model_server import ModelInfo

log = logging.getLogger(__name__)

RESTART_EVENT = "actor_restart"
_NO_PIXELS = np.empty((0, 0), np.uint8)


@dataclass
class StreamSnapshot:
    """What the driver learns from one poll: new pixel-free results and events, and the counters."""

    name: str
    started: bool
    live: bool
    total: int | None
    results: list[Result]
    events: list[StreamEvent]
    frames: int
    dropped: int
    corrupt: int
    reconnects: int
    seconds: float
    error: str | None
    times: StageTimes
    window: tuple[float, float, np.ndarray]  # StreamMeter.window(): fps in, fps out, latencies
    restarts: int
    node: str
    finished: bool = False


class RemoteModelClient(StreamClient):
    """Calls a model actor, sending the reference only when its key is new to that actor."""

    def __init__(self, handle, stream: str, ray_get) -> None:
        super().__init__(lambda *args: ray_get(handle.infer.remote(*args)), stream,
                         lambda *args: ray_get(handle.encode.remote(*args)))
        self.handle = handle


class RemoteFrameProcessor(ClientFrameProcessor):
    """FrameProcessor whose model runs in a model actor; frames travel resized to the model input."""

    def __init__(self, client: RemoteModelClient, info: ModelInfo, background: BackgroundManager,
                 postprocess: MaskPostprocessor, stream: str, incarnation: str,
                 first_events: list[StreamEvent], max_side: int | None = None,
                 min_side: int | None = TRAINING_SIDE) -> None:
        # One CPU thread for the head: a stream actor holds a fraction of a core (ray.stream_cpus).
        head = OnnxHead(info.head, threads=1) if background.config.model == "bank" else None
        super().__init__(client, info, background, postprocess, stream, incarnation, max_side,
                         head=head, min_side=min_side)
        self._first_events = first_events

    def process(self, frame: Frame) -> tuple[Result, list[StreamEvent]]:
        result, events = super().process(frame)
        if self._first_events:
            events = self._first_events + events
            self._first_events = []
        return result, events


class _Progress:
    """The last frame number a file stream delivered to its sinks, persisted for a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.number, self.frames, self.restarts = 0, 0, -1
        try:
            saved = json.loads(path.read_text())
            self.number, self.frames = int(saved["number"]), int(saved["frames"])
            self.restarts = int(saved["restarts"])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("%s unreadable (%s); the stream starts from its first frame", path, e)
        self.restarts += 1
        self.resumed_from = self.number

    def record(self, number: int, frames: int) -> None:
        self.number, self.frames = number, frames
        self.save()

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps({"number": self.number, "frames": self.frames,
                                   "restarts": self.restarts}))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class _Collector(RunObserver):
    """Keeps results (without pixels) and events until the driver's next poll."""

    def __init__(self, progress: _Progress) -> None:
        self.progress = progress
        self.lock = threading.Lock()
        self.results: list[Result] = []
        self.events: list[StreamEvent] = []
        self.total: int | None = None
        self.live = False
        self.started = False
        self.report: StreamReport | None = None

    def on_start(self, stream: str, total: int | None, live: bool) -> None:
        self.total, self.live, self.started = total, live, True

    def on_result(self, stream: str, result: Result) -> None:
        light = replace(result, frame=replace(result.frame, image=_NO_PIXELS), mask=_NO_PIXELS,
                        distance=None)
        with self.lock:
            self.results.append(light)
        if not self.live and self.report is not None:  # called after the sinks took it
            self.progress.record(result.frame.number, self.report.frames)

    def on_event(self, event: StreamEvent) -> None:
        with self.lock:
            self.events.append(event)

    def drain(self) -> tuple[list[Result], list[StreamEvent]]:
        with self.lock:
            out = self.results, self.events
            self.results, self.events = [], []
        return out


class _RayStreamRunner(StreamRunner):
    """StreamRunner with the remote processor and, for a resumed file stream, the skip."""

    def __init__(self, config: StreamConfig, info: ModelInfo, observer: _Collector,
                 client: RemoteModelClient, incarnation: str, first_events: list[StreamEvent],
                 skip_to: int) -> None:
        def remote(background: BackgroundManager, postprocess: MaskPostprocessor) -> FrameProcessor:
            return RemoteFrameProcessor(client, info, background, postprocess, config.name,
                                        incarnation, first_events, config.max_side,
                                        config.min_side)

        super().__init__(config, info, observer, remote)
        self.skip_to = skip_to

    def frames(self, source: Source) -> Iterator[Frame]:
        if source.live or self.skip_to <= 0:
            return iter(source)
        return (f for f in source if f.number > self.skip_to)


class StreamWorker:
    """One stream on a Ray actor. ``run`` blocks until the stream ends; ``poll``/``stop`` may be
    called meanwhile from the driver (the actor runs with ``max_concurrency`` > 1)."""

    def __init__(self, config: StreamConfig, model_actor: str, info: ModelInfo, run_id: str,
                 node: str = "") -> None:
        import ray

        assert config.background.state_dir is not None  # the driver always sets one
        self.config = config
        self.info = info
        self.node = node or ray.get_runtime_context().get_node_id()
        folder = Path(config.background.state_dir) / config.name
        folder.mkdir(parents=True, exist_ok=True)
        self.progress = _Progress(folder / f"ray-progress-{run_id}.json")
        self.progress.save()  # counts this incarnation even if it dies before any frame
        self.collector = _Collector(self.progress)
        self.stop_event = threading.Event()
        first_events = []
        if self.progress.restarts:
            detail = (f"restart {self.progress.restarts} on node {self.node[:12]}; "
                      f"resuming after frame {self.progress.number}")
            log.warning("stream %s: %s", config.name, detail)
            first_events.append(StreamEvent(RESTART_EVENT, config.name, time.time(), detail))
        client = RemoteModelClient(ray.get_actor(model_actor), config.name, ray.get)
        self.runner = _RayStreamRunner(config, info, self.collector, client,
                                       uuid.uuid4().hex[:12], first_events, self.progress.number)
        self.runner.report.frames = self.progress.frames
        self.collector.report = self.runner.report
        self._finished = False

    def ready(self) -> str:
        """The node this actor runs on (the driver's placement check)."""
        return self.node

    def run(self, max_frames: int | None = None) -> StreamSnapshot:
        if max_frames is not None:
            max_frames = max(1, max_frames - self.progress.frames)
        report = self.runner.run(self.stop_event, max_frames)
        self._finished = True
        if report.error is None and not self.collector.live:
            self.progress.remove()  # a later run of the same config starts from frame 1
        return self.poll()

    def poll(self) -> StreamSnapshot:
        results, events = self.collector.drain()
        report: StreamReport = self.runner.report
        c = self.collector
        return StreamSnapshot(
            report.name, c.started, c.live, c.total, results, events, report.frames,
            report.dropped, report.corrupt, report.reconnects, report.seconds_so_far(),
            report.error, replace(report.times), report.meter.window(), self.progress.restarts,
            self.node, self._finished,
        )

    def stop(self) -> None:
        self.stop_event.set()
        self.runner.interrupt()
