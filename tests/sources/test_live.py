"""LiveReader: drop-oldest with a slow consumer, events in order, errors, prompt close."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from streamcd.errors import SourceError
from streamcd.sources import LiveReader


def numbered(n: int, every_s: float = 0.0):
    """A producer of n tiny images whose pixel value is their sequence number."""

    def produce(stop, post):
        for i in range(n):
            if stop.is_set():
                return
            yield np.full((4, 4, 3), i, np.uint8)
            time.sleep(every_s)

    return produce


def test_slow_consumer_gets_newest_frames_and_drops_are_counted():
    reader = LiveReader(numbered(60, every_s=0.002), queue_size=2)
    seen = []
    for frame in reader:
        seen.append(frame)
        time.sleep(0.03)  # much slower than the producer
    indices = [f.index for f in seen]
    assert indices == sorted(set(indices))  # in order, none handed out twice
    assert [int(f.image[0, 0, 0]) for f in seen] == indices
    assert indices[-1] == 59  # the newest frame is kept
    assert reader.stats.dropped > 0
    assert reader.stats.dropped + len(seen) == 60
    assert reader.stats.frames == len(seen)
    assert all(f.number == f.index + 1 for f in seen)
    assert all(a.arrival <= b.arrival for a, b in itertools.pairwise(seen))


def test_queue_large_enough_drops_nothing():
    reader = LiveReader(numbered(20), queue_size=20)
    assert [f.index for f in reader] == list(range(20))
    assert reader.stats.dropped == 0


def test_events_are_delivered_in_order_with_frames_on_the_consumer_thread():
    log, threads = [], set()

    def produce(stop, post):
        yield np.zeros((2, 2, 3), np.uint8)
        post("disconnect", "lost")
        post("reconnect", "back")
        yield np.zeros((2, 2, 3), np.uint8)

    def on_event(event):
        log.append(event.kind)
        threads.add(threading.current_thread())

    for frame in LiveReader(produce, queue_size=10, on_event=on_event):
        log.append(frame.index)
    assert log == [0, "disconnect", "reconnect", 1]
    assert threads == {threading.current_thread()}


def test_producer_error_reaches_the_consumer():
    def produce(stop, post):
        yield np.zeros((2, 2, 3), np.uint8)
        raise SourceError("camera gone")

    seen = []
    with pytest.raises(SourceError, match="camera gone"):
        seen.extend(LiveReader(produce, queue_size=4))
    assert len(seen) == 1


def test_close_from_another_thread_ends_iteration_and_joins():
    finished = threading.Event()

    def endless(stop, post):
        try:
            while True:
                yield np.zeros((2, 2, 3), np.uint8)
                time.sleep(0.005)
        finally:
            finished.set()  # the producer's own clean-up ran

    reader = LiveReader(endless, queue_size=2)
    closer = threading.Timer(0.2, reader.close)
    closer.start()
    start = time.monotonic()
    count = sum(1 for _ in reader)
    assert count > 0 and time.monotonic() - start < 2
    closer.join(10)  # close() returns only after the reader thread ended
    assert finished.is_set()


def test_leaving_the_loop_stops_the_producer():
    finished = threading.Event()

    def endless(stop, post):
        try:
            while True:
                yield np.zeros((2, 2, 3), np.uint8)
        finally:
            finished.set()

    with LiveReader(endless, queue_size=2) as reader:
        for _ in reader:
            break
        assert finished.wait(2)
