"""RtspSource against a real RTSP server (gst-rtsp-server in a subprocess): frames, outages,
late start, frozen server; plus the backoff schedule and giving up, which need no server."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest

from streamcd.config import ReconnectConfig
from streamcd.errors import SourceError
from streamcd.sources import DISCONNECT, GAP, RECONNECT, RtspSource
from streamcd.sources.rtsp import backoff_delay, redact
from tests.conftest import wait_until

from .conftest import free_port

# Short timeouts so that each outage test stays well under 20 s.
FAST = ReconnectConfig(initial_delay_s=0.2, max_delay_s=1.0, multiplier=2.0, jitter=0.1)


def fast_source(url: str, events: list, **kw) -> RtspSource:
    options = {"open_timeout_s": 2.0, "read_timeout_s": 1.0, "reconnect": FAST}
    return RtspSource(url, on_event=events.append, **(options | kw))


class Consumer:
    """Iterates a source on a thread, as the pipeline does, recording frames as they come."""

    def __init__(self, source: RtspSource) -> None:
        self.source = source
        self.frames = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for frame in self.source:
                self.frames.append(frame)
        except BaseException as e:  # noqa: BLE001 - checked by the test
            self.error = e

    def wait_frames(self, n: int, timeout_s: float) -> None:
        wait_until(lambda: len(self.frames) >= n, timeout_s, f"{n} frames")

    def stop(self) -> None:
        self.source.close()
        self.thread.join(5)
        assert not self.thread.is_alive(), "iteration did not end after close()"


def open_timeouts(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "cannot connect: no answer" in r.getMessage()]


def kinds(events) -> list[str]:
    return [e.kind for e in events]


@pytest.mark.parametrize(
    "attempt, expected",
    [
        (1, 0.2),  # first retry waits the initial delay
        (2, 0.4),
        (3, 0.8),
        (4, 1.0),  # capped at max_delay_s
        (10, 1.0),
    ],
)
def test_backoff_delay_is_exponential_and_capped(attempt, expected):
    config = FAST.model_copy(update={"jitter": 0.0})
    assert backoff_delay(attempt, config) == pytest.approx(expected)


def test_backoff_jitter_stays_within_its_fraction():
    delays = [backoff_delay(3, FAST, random.Random(seed)) for seed in range(200)]
    assert min(delays) >= 0.8 * 0.9 and max(delays) <= 0.8 * 1.1
    assert len(set(delays)) > 100  # spread, not lockstep


@pytest.mark.parametrize(
    "url, expected",
    [
        ("rtsp://cam/stream", "rtsp://cam/stream"),
        ("rtsp://admin:secret@10.0.0.5:554/s1", "rtsp://admin:***@10.0.0.5:554/s1"),
    ],
)
def test_redact_hides_passwords(url, expected):
    assert redact(url) == expected


def test_gives_up_after_max_attempts_without_a_server():
    events = []
    config = FAST.model_copy(update={"max_attempts": 2})
    source = fast_source(f"rtsp://127.0.0.1:{free_port()}/none", events, reconnect=config)
    start = time.monotonic()
    with source, pytest.raises(SourceError, match="gave up after 2 reconnect attempts"):
        list(source)
    assert time.monotonic() - start < 5


def test_close_interrupts_a_backoff_wait():
    config = FAST.model_copy(update={"initial_delay_s": 30.0, "max_delay_s": 30.0})
    source = fast_source(f"rtsp://127.0.0.1:{free_port()}/none", [], reconnect=config)
    consumer = Consumer(source)
    time.sleep(0.5)  # first connect refused; now in a 30 s backoff wait
    start = time.monotonic()
    consumer.stop()
    assert time.monotonic() - start < 1.0
    assert consumer.error is None and consumer.frames == []


def test_frames_arrive_live(rtsp_server):
    events = []
    with fast_source(rtsp_server.url, events) as source:
        assert source.live
        frames = []
        for frame in source:
            frames.append(frame)
            if len(frames) == 10:
                break
    assert [f.size for f in frames] == [(160, 120)] * 10
    assert all(f.image.dtype.name == "uint8" and f.image.shape == (120, 160, 3) for f in frames)
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))  # increasing, never the same frame twice
    assert all(f.number == f.index + 1 for f in frames)
    assert abs(frames[-1].timestamp - time.time()) < 5  # wall clock
    assert source.fps == pytest.approx(25)
    assert events == []


def test_reconnects_after_server_restart(rtsp_server):
    events = []
    consumer = Consumer(fast_source(rtsp_server.url, events))
    try:
        consumer.wait_frames(5, 10)
        rtsp_server.kill()
        wait_until(lambda: DISCONNECT in kinds(events), 5, "a disconnect event")
        count_at_outage = len(consumer.frames)
        time.sleep(0.5)
        rtsp_server.start()
        consumer.wait_frames(count_at_outage + 5, 8)
    finally:
        consumer.stop()
    assert consumer.error is None
    order = kinds(events)
    assert order.index(DISCONNECT) < order.index(RECONNECT) < order.index(GAP)
    assert consumer.source.stats.reconnects >= 1
    indices = [f.index for f in consumer.frames]
    assert indices == sorted(set(indices))  # the last frame before the outage is not repeated
    outage = consumer.frames[count_at_outage].arrival - consumer.frames[count_at_outage - 1].arrival
    assert outage > 0.4


def test_backs_off_until_a_late_server_appears(rtsp_server_stopped, caplog):
    caplog.set_level(logging.INFO, logger="streamcd.sources.rtsp")
    events = []
    consumer = Consumer(fast_source(rtsp_server_stopped.url, events))
    try:
        time.sleep(1.5)  # refused at 0, then retries after ~0.2, 0.4, 0.8 s
        assert consumer.frames == []
        retries = [r for r in caplog.records if "reconnect attempt" in r.getMessage()]
        assert len(retries) >= 2
        rtsp_server_stopped.start()
        consumer.wait_frames(5, 8)
    finally:
        consumer.stop()
    assert consumer.error is None
    assert DISCONNECT not in kinds(events)  # never connected before: nothing was lost


def test_read_timeout_on_a_frozen_server_then_recovery(rtsp_server, caplog):
    caplog.set_level(logging.WARNING, logger="streamcd.sources.rtsp")
    events = []
    consumer = Consumer(fast_source(rtsp_server.url, events))
    try:
        consumer.wait_frames(5, 10)
        rtsp_server.freeze()
        frozen_at = time.monotonic()
        wait_until(lambda: DISCONNECT in kinds(events), 5, "a disconnect event")
        assert time.monotonic() - frozen_at < 3.5  # read_timeout_s=1 fired; no hang
        disconnect = next(e for e in events if e.kind == DISCONNECT)
        assert "timeout" in disconnect.detail
        count_at_outage = len(consumer.frames)
        # Still frozen: the kernel accepts the TCP connection, the RTSP request gets no answer.
        wait_until(lambda: open_timeouts(caplog), 4, "an open timeout")
        rtsp_server.thaw()
        consumer.wait_frames(count_at_outage + 5, 10)
    finally:
        consumer.stop()
    assert consumer.error is None
    assert RECONNECT in kinds(events)
