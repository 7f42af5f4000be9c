"""The whole pipeline on a real RTSP server (gst-rtsp-server in a subprocess): masks, outages
(killed, frozen, late, resized server), events in the JSONL sink, the metrics file, and two
streams where one dies while the other keeps its rate."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from streamcd.sources import DISCONNECT, GAP, RECONNECT

from .conftest import RtspServer, free_port, pipeline_config, rtsp_stream, wait_until


def jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_streaming_writes_masks_events_and_metrics(rtsp_server, live_run, tmp_path):
    metrics = tmp_path / "metrics.json"
    run = live_run(pipeline_config(rtsp_stream("cam", rtsp_server.url, tmp_path),
                                   metrics={"path": str(metrics), "every_s": 0.5}))
    run.wait_results("cam", 20, 20)
    wait_until(metrics.exists, 5, "the metrics file")
    report = run.stop()
    assert report.ok and report.streams[0].live and report.streams[0].frames >= 20
    results = [r for _, r in run.recorder.results["cam"]]
    assert {r.mask.shape for r in results} == {(120, 160)}
    lines = jsonl(tmp_path / "cam.jsonl")
    assert len([x for x in lines if "frame" in x]) == report.streams[0].frames
    stats = json.loads(metrics.read_text())["streams"]["cam"]
    assert stats["frames"] == report.streams[0].frames  # final write at the end of the run
    assert 0 < stats["latency_p50_ms"] <= stats["latency_p99_ms"] < 2000
    assert stats["fps_in"] > 5 and stats["error"] is None


def test_udp_transport_is_selectable(rtsp_server, live_run, tmp_path):
    run = live_run(pipeline_config(rtsp_stream("cam", rtsp_server.url, tmp_path, transport="udp")))
    run.wait_results("cam", 10, 20)
    report = run.stop()
    assert report.ok and {r.mask.shape for _, r in run.recorder.results["cam"]} == {(120, 160)}


def test_prometheus_metrics_file(rtsp_server, live_run, tmp_path):
    metrics = tmp_path / "metrics.prom"
    run = live_run(pipeline_config(rtsp_stream("cam", rtsp_server.url, tmp_path),
                                   metrics={"path": str(metrics), "every_s": 0.5}))
    run.wait_results("cam", 10, 20)
    run.stop()
    text = metrics.read_text()
    assert "# TYPE streamcd_frames_total counter" in text
    samples = {(s.name, *sorted(s.labels.values())): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("streamcd_frames_total", "cam")] >= 10
    assert 0 < samples[("streamcd_latency_seconds", "0.99", "cam")] < 1


def test_server_killed_and_restarted_resumes_within_seconds(rtsp_server, live_run, tmp_path):
    run = live_run(pipeline_config(rtsp_stream("cam", rtsp_server.url, tmp_path)))
    run.wait_results("cam", 10, 20)
    rtsp_server.kill()
    wait_until(lambda: DISCONNECT in run.recorder.kinds(), 5, "a disconnect event")
    before = run.recorder.count("cam")
    restarted = time.monotonic()
    rtsp_server.start()
    run.wait_results("cam", before + 5, 10)
    resumed_after = run.recorder.results["cam"][before][0] - restarted
    report = run.stop()
    assert resumed_after < 5, f"first mask {resumed_after:.1f} s after the server came back"
    assert report.ok and report.streams[0].reconnects >= 1
    kinds = run.recorder.kinds("cam")
    assert kinds.index(DISCONNECT) < kinds.index(RECONNECT) < kinds.index(GAP)
    # The JSONL sink got the same events, in order, between the frames.
    logged = [x["event"] for x in jsonl(tmp_path / "cam.jsonl") if "event" in x]
    assert logged == kinds
    # Background kept across the reconnect: same size, so no re-initialisation.
    assert "background_reinit" not in kinds


def test_frozen_server_times_out_and_recovers_after_sigcont(rtsp_server, live_run, tmp_path):
    run = live_run(pipeline_config(rtsp_stream("cam", rtsp_server.url, tmp_path)))
    run.wait_results("cam", 10, 20)
    rtsp_server.freeze()
    frozen_at = time.monotonic()
    wait_until(lambda: DISCONNECT in run.recorder.kinds(), 6, "a disconnect event")
    assert time.monotonic() - frozen_at < 4  # read_timeout_s=1: no hang
    disconnect = next(e for e in run.recorder.events if e.kind == DISCONNECT)
    assert "timeout" in disconnect.detail
    before = run.recorder.count("cam")
    rtsp_server.thaw()
    run.wait_results("cam", before + 5, 12)
    report = run.stop()
    assert report.ok and RECONNECT in run.recorder.kinds()


def test_no_server_at_start_backs_off_then_streams(rtsp_server_stopped, live_run, tmp_path):
    run = live_run(pipeline_config(rtsp_stream("cam", rtsp_server_stopped.url, tmp_path)))
    time.sleep(1.5)  # refused, then retried after ~0.2, 0.4, 0.8 s
    assert run.recorder.count("cam") == 0 and run.thread.is_alive()
    rtsp_server_stopped.start()
    run.wait_results("cam", 5, 12)
    report = run.stop()
    assert report.ok and DISCONNECT not in run.recorder.kinds()


def test_new_resolution_after_reconnect_reinitialises_the_background(
    rtsp_server, live_run, tmp_path
):
    run = live_run(pipeline_config(rtsp_stream("cam", rtsp_server.url, tmp_path)))
    run.wait_results("cam", 10, 20)
    rtsp_server.kill()
    wait_until(lambda: DISCONNECT in run.recorder.kinds(), 5, "a disconnect event")
    before = run.recorder.count("cam")
    rtsp_server.start(size=(320, 240))
    run.wait_results("cam", before + 5, 12)
    run.stop()
    shapes = [r.mask.shape for _, r in run.recorder.results["cam"]]
    assert shapes[0] == (120, 160) and shapes[-1] == (240, 320)
    assert "background_reinit" in run.recorder.kinds("cam")


def test_one_dying_stream_does_not_slow_the_other(rtsp_server_available, live_run, tmp_path):
    healthy, dying = RtspServer(free_port()), RtspServer(free_port())
    healthy.start()
    dying.start()
    try:
        # The dying camera never comes back: its stream gives up after 3 attempts, with
        # open timeouts, backoff waits and a stream error happening beside the healthy stream.
        config = pipeline_config(
            rtsp_stream("ok", healthy.url, tmp_path),
            rtsp_stream("dies", dying.url, tmp_path,
                        reconnect={"initial_delay_s": 0.2, "max_delay_s": 0.5, "max_attempts": 3}),
        )
        run = live_run(config)
        run.wait_results("ok", 25, 20)
        run.wait_results("dies", 5, 10)
        time.sleep(2.5)  # past the burst of frames held for the median background
        killed_at = time.monotonic()
        dying.kill()
        wait_until(lambda: not any(t.name == "stream-dies" for t in threading.enumerate()),
                   45, "the dying stream to give up")
        given_up_at = time.monotonic()
        time.sleep(1.0)
        report = run.stop()
    finally:
        healthy.kill()
        dying.kill()
    by_name = {s.name: s for s in report.streams}
    assert by_name["ok"].error is None
    assert "gave up after 3 reconnect attempts" in by_name["dies"].error
    times = np.array([t for t, _ in run.recorder.results["ok"]])
    during = times[(times > killed_at) & (times < given_up_at + 1.0)]
    before = times[(times > killed_at - 2) & (times <= killed_at)]
    rate_before = (len(before) - 1) / (before[-1] - before[0])
    rate_during = (len(during) - 1) / (during[-1] - during[0])
    assert rate_during > 0.6 * rate_before, (rate_before, rate_during)
    assert np.diff(during).max() < 1.0  # never stalled while the other stream timed out
