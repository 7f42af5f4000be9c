"""RunFollower, the caller's loop both backends share: stop passed on once, stats lines, metrics
file, on_wait; driven by a scripted ``wait`` instead of real streams."""

from __future__ import annotations

import json
import threading

import pytest

from streamcd.config import PipelineConfig
from streamcd.follow import RunFollower
from streamcd.pipeline import RunObserver, StreamReport


def config(tmp_path, **top) -> PipelineConfig:
    return PipelineConfig.model_validate({
        "streams": [{"name": "cam", "source": {"type": "video", "path": "clip.mp4"}}], **top})


class Stats(RunObserver):
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def on_stats(self, reports) -> None:
        self.calls.append([r.name for r in reports])


@pytest.mark.parametrize(
    ("waits", "stop_at", "told_after", "on_waits"),
    [
        (0, None, [], 0),  # every stream ended before the first look: nothing but the last write
        (3, None, [], 3),  # three rounds, no stop
        (4, 1, [1], 4),  # stop set during the first wait: streams told once, right after it
        (2, 0, [0], 2),  # stop set before the run: told before the first wait
    ],
)
def test_follow(tmp_path, waits, stop_at, told_after, on_waits):
    metrics = tmp_path / "metrics.json"
    cfg = config(tmp_path, stats_every_s=1e-6, metrics={"path": str(metrics), "every_s": 60})
    stop, observer = threading.Event(), Stats()
    told, looked, waited = [], [], []

    def wait() -> bool:
        looked.append(1)
        if stop_at is not None and len(looked) == stop_at:
            stop.set()
        return len(looked) <= waits

    if stop_at == 0:
        stop.set()
    follower = RunFollower(cfg, observer, stop, on_wait=lambda: waited.append(1))
    follower.follow([StreamReport("cam")], wait, interrupt=lambda: told.append(len(looked)))
    assert told == told_after and len(waited) == on_waits
    assert observer.calls == [["cam"]] * waits  # stats every round (stats_every_s is tiny)
    assert json.loads(metrics.read_text())["streams"]["cam"]["running"] is False  # last write


def test_a_metrics_folder_that_cannot_be_written_fails_before_any_stream_starts(tmp_path):
    (tmp_path / "file").write_text("")
    cfg = config(tmp_path, metrics={"path": str(tmp_path / "file" / "m.json")})
    with pytest.raises(OSError, match="metrics file"):
        RunFollower(cfg, RunObserver(), threading.Event())
