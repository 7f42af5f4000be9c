"""``streamcd run`` on a live RTSP camera, stopped by signals: the first SIGINT/SIGTERM
finishes every output (the annotated MP4 decodes) and exits 0; a second one exits at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import av
import pytest

from .conftest import pipeline_config, rtsp_stream, wait_until

YAML = """\
model: {{provider: cpu, threads: 1}}
streams:
  - name: cam
    source: {{type: rtsp, url: "{url}", open_timeout_s: 2, read_timeout_s: {read_timeout}}}
    background: {{frames: 3, stride: 1}}
    sinks:
      - {{type: jsonl, path: out/cam.jsonl}}
      - {{type: annotated_video, path: out/cam.mp4}}
"""


def start_cli(tmp_path, url: str, read_timeout: float = 1) -> subprocess.Popen:
    (tmp_path / "pipeline.yaml").write_text(YAML.format(url=url, read_timeout=read_timeout))
    return subprocess.Popen([sys.executable, "-m", "streamcd.cli", "run", "pipeline.yaml"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def frame_lines(tmp_path) -> list[dict]:
    path = tmp_path / "out" / "cam.jsonl"
    if not path.exists():
        return []
    return [x for x in map(json.loads, path.read_text().splitlines()) if "frame" in x]


def wait_for_frames(proc: subprocess.Popen, tmp_path, n: int) -> None:
    def ready() -> bool:
        assert proc.poll() is None, proc.communicate()[1]
        return len(frame_lines(tmp_path)) >= n

    wait_until(ready, 60, f"{n} frames from the CLI")


def finish(proc: subprocess.Popen, timeout_s: float) -> str:
    try:
        return proc.communicate(timeout=timeout_s)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_finishes_a_playable_mp4_and_exits_0(rtsp_server, tmp_path, signum):
    proc = start_cli(tmp_path, rtsp_server.url)
    wait_for_frames(proc, tmp_path, 10)
    proc.send_signal(signum)
    stderr = finish(proc, 30)
    assert proc.returncode == 0, stderr
    assert f"{signal.Signals(signum).name} received" in stderr and "Traceback" not in stderr
    with av.open(str(tmp_path / "out" / "cam.mp4")) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == len(frame_lines(tmp_path)) >= 10
    assert frames[0].shape == (120, 160, 3)
    assert not list((tmp_path / "out").glob(".*partial*"))


def test_second_signal_exits_at_once(rtsp_server, tmp_path):
    # A frozen camera with a long read timeout keeps the graceful stop waiting for the reader.
    proc = start_cli(tmp_path, rtsp_server.url, read_timeout=30)
    wait_for_frames(proc, tmp_path, 5)
    rtsp_server.freeze()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    assert proc.poll() is None  # still finishing
    second = time.monotonic()
    proc.send_signal(signal.SIGINT)
    finish(proc, 10)
    assert time.monotonic() - second < 3
    # Our handler exits with 130; once `main` has returned and restored Python's own handlers,
    # the signal kills the interpreter directly (-2). Both are "exit at once".
    assert proc.returncode in (128 + signal.SIGINT, -signal.SIGINT)


def test_stop_finishes_outputs_without_waiting_for_a_blocked_read(rtsp_server, live_run, tmp_path):
    stream = rtsp_stream("cam", rtsp_server.url, tmp_path, read_timeout_s=6)
    stream["sinks"].append({"type": "annotated_video", "path": str(tmp_path / "cam.mp4")})
    run = live_run(pipeline_config(stream))
    run.wait_results("cam", 10, 20)
    rtsp_server.freeze()  # the reader now blocks in FFmpeg until read_timeout_s
    time.sleep(0.5)
    stopped = time.monotonic()
    run.stop_event.set()
    wait_until((tmp_path / "cam.mp4").exists, 3, "the finished MP4")
    assert time.monotonic() - stopped < 3  # not after the 6 s read timeout
    report = run.stop(timeout_s=10)
    with av.open(str(tmp_path / "cam.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == report.streams[0].frames
