"""Ten kill/restart cycles of the RTSP server under a running pipeline: every cycle reconnects,
and threads (Python and native) and file descriptors stay flat."""

from __future__ import annotations

import os
import threading

import pytest

from streamcd.sources import DISCONNECT, RECONNECT

from .conftest import pipeline_config, rtsp_stream, wait_until

CYCLES = 10


def resources() -> tuple[int, int, int]:
    """(Python threads, native threads of this process, open file descriptors)."""
    return (threading.active_count(), len(os.listdir("/proc/self/task")),
            len(os.listdir("/proc/self/fd")))


@pytest.mark.slow
def test_ten_kill_restart_cycles_leak_nothing(rtsp_server, live_run, tmp_path):
    before_run = resources()
    run = live_run(pipeline_config(rtsp_stream(
        "cam", rtsp_server.url, tmp_path, reconnect={"initial_delay_s": 0.1, "max_delay_s": 0.5})))
    run.wait_results("cam", 5, 20)

    def cycle(i: int) -> None:
        rtsp_server.kill()
        wait_until(lambda: run.recorder.kinds().count(DISCONNECT) > i, 5, f"disconnect {i + 1}")
        count = run.recorder.count("cam")
        rtsp_server.start()
        wait_until(lambda: run.recorder.kinds().count(RECONNECT) > i, 10, f"reconnect {i + 1}")
        run.wait_results("cam", count + 3, 10)

    cycle(0)  # warm-up: lazily created pools (decoder, logging) exist from here on
    baseline = resources()
    for i in range(1, CYCLES):
        cycle(i)
    after = resources()
    report = run.stop()
    assert report.ok and report.streams[0].reconnects == CYCLES
    assert after[0] == baseline[0], f"Python threads {baseline[0]} -> {after[0]}"
    assert after[1] <= baseline[1] + 1, f"native threads {baseline[1]} -> {after[1]}"
    assert after[2] <= baseline[2] + 1, f"file descriptors {baseline[2]} -> {after[2]}"
    wait_until(lambda: resources()[0] <= before_run[0], 5, "the pipeline's threads to end")
