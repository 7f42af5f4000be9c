"""Fixtures for the live-pipeline tests: the real RTSP server (tests/rtsp_fixtures.py), the
shipped model, and a Pipeline running on a thread that records what reaches the observer."""

from __future__ import annotations

import threading
import time

import pytest

from streamcd.config import PipelineConfig
from streamcd.frames import Result, StreamEvent
from streamcd.pipeline import Pipeline, PipelineReport, RunObserver
from streamcd.runtime.onnx_model import OnnxChangeModel
from tests.conftest import wait_until

from ..rtsp_fixtures import (  # noqa: F401 - fixtures are found by name
    RtspServer,
    free_port,
    rtsp_server,
    rtsp_server_available,
    rtsp_server_stopped,
)

# Short timeouts and backoff so that each outage test stays within a few seconds.
FAST_RTSP = {"open_timeout_s": 2.0, "read_timeout_s": 1.0,
             "reconnect": {"initial_delay_s": 0.2, "max_delay_s": 1.0, "jitter": 0.1}}


@pytest.fixture(scope="session")
def model():
    """The shipped model on CPU, one thread (the machine is shared), loaded once."""
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


def rtsp_stream(name: str, url: str, out, **source) -> dict:
    """A stream of ``url`` with a 3-frame median background and a JSONL sink ``out/<name>.jsonl``."""
    return {"name": name, "source": {"type": "rtsp", "url": url, **FAST_RTSP, **source},
            "background": {"frames": 3, "stride": 1},
            "sinks": [{"type": "jsonl", "path": str(out / f"{name}.jsonl")}]}


def pipeline_config(*streams: dict, **top) -> PipelineConfig:
    return PipelineConfig.model_validate(
        {"model": {"provider": "cpu", "threads": 1}, "streams": list(streams), **top})


class Recorder(RunObserver):
    """Keeps (monotonic time, Result) per stream and every event, as they come."""

    def __init__(self) -> None:
        self.results: dict[str, list[tuple[float, Result]]] = {}
        self.events: list[StreamEvent] = []

    def on_result(self, stream: str, result: Result) -> None:
        self.results.setdefault(stream, []).append((time.monotonic(), result))

    def on_event(self, event: StreamEvent) -> None:
        self.events.append(event)

    def count(self, stream: str) -> int:
        return len(self.results.get(stream, ()))

    def kinds(self, stream: str | None = None) -> list[str]:
        return [e.kind for e in self.events if stream is None or e.stream == stream]


class LiveRun:
    """``Pipeline.run`` on a thread; ``stop()`` ends it as Ctrl-C does and returns the report."""

    def __init__(self, config: PipelineConfig, model) -> None:
        self.pipeline = Pipeline(config, model)
        self.recorder = Recorder()
        self.stop_event = threading.Event()
        self.report: PipelineReport | None = None
        self.thread = threading.Thread(target=self._run, name="test-pipeline", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.report = self.pipeline.run(observer=self.recorder, stop=self.stop_event)

    def wait_results(self, stream: str, n: int, timeout_s: float) -> None:
        wait_until(lambda: self.recorder.count(stream) >= n, timeout_s,
                   f"{n} results on {stream} (have {self.recorder.count(stream)})")

    def stop(self, timeout_s: float = 10.0) -> PipelineReport:
        self.stop_event.set()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), f"pipeline did not stop within {timeout_s} s"
        return self.report


@pytest.fixture
def live_run(model):
    """Starts a LiveRun: ``live_run(config)``; every run is stopped at teardown."""
    runs: list[LiveRun] = []

    def start(config: PipelineConfig) -> LiveRun:
        runs.append(LiveRun(config, model))
        return runs[-1]

    yield start
    for run in runs:
        if run.thread.is_alive():
            run.stop()
