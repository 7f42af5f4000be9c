"""StreamFeed: newest result only, JPEG encoded once per result and view, health from events."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from streamcd.frames import Frame, Result, StreamEvent
from streamcd.pipeline import LiveState, StreamReport
from streamcd.serve import LiveHub, StreamFeed
from streamcd.sources import DISCONNECT, GAP, RECONNECT


def result(index: int, size=(64, 48)) -> Result:
    w, h = size
    image = np.full((h, w, 3), index % 256, np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[: h // 2, : w // 2] = 255
    return Result(Frame(index, index + 1, time.time(), image), mask, foreground_fraction=0.25)


def attached(reference: np.ndarray | None = None, error: str | None = None) -> StreamFeed:
    feed = StreamFeed("cam")
    report = StreamReport("cam", error=error)
    feed.live = LiveState(report, lambda: reference, lambda: 0.5)
    return feed


def test_encodes_once_per_result_and_view_and_only_when_asked():
    feed = attached(reference=np.zeros((48, 64, 3), np.uint8))
    for i in range(50):
        feed.publish(result(i))
    assert feed.encodes == 0 and feed.seq == 50  # nobody asked: nothing encoded
    first = feed.jpeg("annotated")
    assert first[0] == 50 and first[1][:2] == b"\xff\xd8"  # the newest result, a JPEG
    assert feed.jpeg("annotated") == first and feed.encodes == 1
    feed.jpeg("mask"), feed.jpeg("reference"), feed.jpeg("reference")
    assert feed.encodes == 3
    feed.publish(result(50))
    assert feed.jpeg("annotated")[0] == 51 and feed.encodes == 4
    assert feed.jpeg("reference")[1] is feed.jpeg("reference")[1]  # same reference: cached
    assert feed.encodes == 4


def test_concurrent_viewers_share_one_encode():
    feed = attached()
    feed.publish(result(1))
    got = []
    threads = [threading.Thread(target=lambda: got.append(feed.jpeg("annotated")))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert feed.encodes == 1 and len({id(g[1]) for g in got}) == 1


def test_no_picture_before_a_result_or_a_reference():
    feed = attached(reference=None)
    assert feed.jpeg("annotated") is None
    feed.publish(result(0))
    assert feed.jpeg("reference") is None and feed.jpeg("mask") is not None


def event(kind: str) -> StreamEvent:
    return StreamEvent(kind, "cam", time.time(), f"{kind} detail")


@pytest.mark.parametrize("kinds, error, ok, state", [
    ([], None, True, "running"),  # attached, frames coming, no event
    ([DISCONNECT], None, False, "disconnected"),  # camera gone
    ([DISCONNECT, RECONNECT, GAP], None, True, "running"),  # back again
    ([DISCONNECT, RECONNECT, DISCONNECT], None, False, "disconnected"),  # gone again
    ([], "cannot open rtsp://x", False, "failed"),  # stopped on an error
])
def test_status_follows_events(kinds, error, ok, state):
    feed = attached(error=error)
    feed.publish(result(0))
    for kind in kinds:
        feed.add_event(event(kind))
    status = feed.status()
    assert (status.ok, status.state) == (ok, state)
    if state == "disconnected":
        assert "disconnect detail" in status.reason


def test_hub_names_failing_streams():
    hub = LiveHub(["a", "b"])
    assert set(hub.failing()) == {"a", "b"}  # not opened yet
    report = StreamReport("a")
    hub.on_attach("a", LiveState(report, lambda: None, lambda: 0.5))
    assert hub.failing()["a"].reason.startswith("no frame processed yet")  # camera down at start
    hub.on_result("a", result(0))
    assert set(hub.failing()) == {"b"} and hub.failing()["b"].reason == "not opened yet"
    hub.on_event(StreamEvent(DISCONNECT, "a", time.time(), "read timeout"))
    assert hub.failing()["a"].reason.startswith("read timeout")
    assert len(hub.feeds["a"].events) == 1
