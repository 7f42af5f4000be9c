"""Fixtures for the live-server tests: the pipeline and ``streamcd serve``'s server on a real
127.0.0.1 port (picked free), fed by a generated clip or the real RTSP test server."""

from __future__ import annotations

import threading

import pytest

from streamcd.config import PipelineConfig
from streamcd.pipeline import Pipeline, PipelineReport
from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.serve import LiveHub
from streamcd.serve.app import create_app
from streamcd.serve.server import LiveServer
from tests.conftest import square_frames, wait_until, write_clip

from ..rtsp_fixtures import (  # noqa: F401 - fixtures are found by name
    RtspServer,
    rtsp_server,
    rtsp_server_available,
    rtsp_server_stopped,
)

pytest.importorskip("starlette", reason="streamcd serve needs pip install '.[serve]'")

FAST_RTSP = {"open_timeout_s": 2.0, "read_timeout_s": 1.0,
             "reconnect": {"initial_delay_s": 0.2, "max_delay_s": 1.0, "jitter": 0.1}}


@pytest.fixture(scope="session")
def model():
    """The shipped model on CPU, one thread (the machine is shared), loaded once."""
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


def config(*streams: dict) -> PipelineConfig:
    return PipelineConfig.model_validate({"model": {"provider": "cpu", "threads": 1},
                                          "streams": list(streams)})


def clip_stream(name: str, path, out) -> dict:
    return {"name": name, "source": {"type": "video", "path": str(path)},
            "background": {"frames": 3, "stride": 1},
            "sinks": [{"type": "jsonl", "path": str(out / f"{name}.jsonl")}]}


def rtsp_stream(name: str, url: str, out) -> dict:
    return {"name": name, "source": {"type": "rtsp", "url": url, **FAST_RTSP},
            "background": {"frames": 3, "stride": 1},
            "sinks": [{"type": "jsonl", "path": str(out / f"{name}.jsonl")}]}


@pytest.fixture
def clip(tmp_path):
    """A 60-frame 160x120 H.264 clip of a square moving over a textured background."""
    frames, _ = square_frames(60)
    return write_clip(tmp_path / "square.mp4", frames)


class Served:
    """A pipeline run on a thread with the live server beside it (as ``streamcd serve``)."""

    def __init__(self, cfg: PipelineConfig, model, token: str | None) -> None:
        self.hub = LiveHub([s.name for s in cfg.streams], provider="cpu")
        self.server = LiveServer(create_app(self.hub, token), "127.0.0.1", 0).__enter__()
        self.url = self.server.url
        self.stop_event = threading.Event()
        self.report: PipelineReport | None = None
        pipeline = Pipeline(cfg, model)
        self.thread = threading.Thread(
            target=lambda: setattr(self, "report", pipeline.run(observer=self.hub,
                                                                 stop=self.stop_event)),
            name="test-serve-pipeline", daemon=True)
        self.thread.start()

    def wait_frames(self, stream: str, n: int, timeout_s: float = 30.0) -> None:
        feed = self.hub.feeds[stream]
        wait_until(lambda: feed.seq >= n, timeout_s, f"{n} results on {stream} (have {feed.seq})")

    def close(self) -> None:
        self.stop_event.set()
        self.thread.join(15)
        self.server.__exit__()
        assert not self.thread.is_alive(), "pipeline did not stop"


@pytest.fixture
def serve(model):
    """``serve(config, token=None)`` -> Served; every one is stopped at teardown."""
    started: list[Served] = []

    def start(cfg: PipelineConfig, token: str | None = None) -> Served:
        started.append(Served(cfg, model, token))
        return started[-1]

    yield start
    for s in started:
        s.close()
