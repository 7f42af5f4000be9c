"""The Ray backend on a local Ray: a file and an RTSP stream together, a killed stream actor that
restarts and resumes, a stream that cannot be placed, and the CLI's --backend ray."""

from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest

from streamcd.cli import main
from streamcd.cluster.ray_backend import RayPipeline
from streamcd.cluster.stream_worker import RESTART_EVENT
from streamcd.config import MetricsConfig
from streamcd.pipeline import Pipeline, RunObserver
from streamcd.stats import StreamStats
from tests.conftest import square_frames, write_clip

from .conftest import file_stream, ray_config, rtsp_stream

pytest.importorskip("ray", reason="needs the ray extra: pip install 'streamcd[ray]'")


def jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def numbered(n: int) -> list[str]:
    return [f"bin{i:06d}.png" for i in range(1, n + 1)]


class Counter(RunObserver):
    """Counts results per stream; ``on_count(stream, n)`` is called after each one."""

    def __init__(self, on_count=None) -> None:
        self.counts: dict[str, int] = {}
        self.events: list = []
        self.on_count = on_count

    def on_result(self, stream, result) -> None:
        self.counts[stream] = self.counts.get(stream, 0) + 1
        if self.on_count:
            self.on_count(stream, self.counts[stream])

    def on_event(self, event) -> None:
        self.events.append(event)


def test_file_and_rtsp_streams(local_ray, rtsp_server, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(40)[0])
    out = tmp_path / "out"
    config = ray_config(file_stream("file", clip, out), rtsp_stream("cam", rtsp_server.url, out))
    stop = threading.Event()
    counter = Counter()

    def stop_when_done():  # the file stream ends by itself; the camera when it has 20 results
        if counter.counts.get("cam", 0) >= 20 and counter.counts.get("file", 0) >= 40:
            stop.set()

    t0 = time.monotonic()
    report = RayPipeline(config).run(observer=counter, stop=stop, on_wait=stop_when_done)
    assert time.monotonic() - t0 < 60
    assert report.ok, [s.error for s in report.streams]
    by_name = {s.name: s for s in report.streams}
    assert by_name["file"].frames == 40 and not by_name["file"].live
    assert by_name["cam"].live and by_name["cam"].frames >= 20
    assert sorted(p.name for p in (out / "file").iterdir()) == numbered(40)
    cam_lines = [x for x in jsonl(out / "cam.jsonl") if "frame" in x]
    assert len(cam_lines) == by_name["cam"].frames
    # cluster-wide: one model actor ran every frame of both streams, and encoded the camera's
    # feature bank (its default background model) and the file stream's reference
    [model] = report.models
    assert by_name["cam"].times.reference_encodes >= 3 + 1  # its bank: 3 frames and their median
    assert model.frames == report.frames + by_name["cam"].times.reference_encodes
    assert model.reference_encodes >= 1
    assert report.fps > 0 and report.restarts == {"file": 0, "cam": 0}

    # same YAML on the local backend: the same masks (batched ONNX runs may round differently)
    local_out = tmp_path / "local"
    Pipeline(ray_config(file_stream("file", clip, local_out))).run()
    for name in numbered(40):
        a = cv2.imread(str(out / "file" / name), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(local_out / "file" / name), cv2.IMREAD_UNCHANGED)
        assert np.mean(a != b) < 0.002, name


def test_the_default_feature_bank_runs_on_ray_with_the_masks_of_the_local_backend(local_ray,
                                                                                 tmp_path):
    # background.model bank (the default): the model actor encodes, the stream actor keeps the
    # bank (persisted in state_dir) and compares each frame with it through the card's head
    clip = write_clip(tmp_path / "clip.mp4", square_frames(40)[0])
    out, state = tmp_path / "out", tmp_path / "state"
    report = RayPipeline(ray_config(file_stream("cam", clip, out, state, model="bank"))).run()
    assert report.ok, [s.error for s in report.streams]
    [cam] = report.streams
    assert cam.frames == 40 and cam.times.reference_encodes == 5 + 1  # the bank: 5 frames + median
    [model] = report.models
    assert model.frames == 40 + 5 + 1 and model.reference_encodes == 0  # features, no reference
    assert (state / "cam" / "bank.npz").exists()

    local_out = tmp_path / "local"
    local = Pipeline(ray_config(file_stream("cam", clip, local_out, tmp_path / "local-state",
                                            model="bank"))).run()
    assert local.ok and local.streams[0].times.reference_encodes == 5 + 1
    for name in numbered(40):
        a = cv2.imread(str(out / "cam" / name), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(local_out / "cam" / name), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_killed_stream_actor_restarts_and_resumes(local_ray, tmp_path):
    # long enough that the stream is still running when the (asynchronous) kill lands: with 150
    # frames and the kill after 30 results, a fast machine sometimes finished first (no restart)
    n = 400
    clip = write_clip(tmp_path / "long.mp4", square_frames(n)[0])
    out = tmp_path / "out"
    pipeline = RayPipeline(ray_config(file_stream("cam", clip, out, tmp_path / "state")))
    killed = []

    def kill_once(stream, count):
        if count == 10 and not killed:
            killed.append(count)
            local_ray.kill(pipeline.stream_actors["cam"], no_restart=False)  # as if it crashed

    counter = Counter(kill_once)
    report = pipeline.run(observer=counter)
    assert killed and report.ok, report.streams[0].error
    assert report.restarts == {"cam": 1}
    # every frame has its mask, once: the new actor skipped what the dead one had written
    assert sorted(p.name for p in (out / "cam").iterdir()) == numbered(n)
    lines = jsonl(out / "cam.jsonl")
    frames = [x["frame"] for x in lines if "frame" in x]
    assert sorted(set(frames)) == list(range(1, n + 1))
    assert len(frames) - n <= 1  # the one line between the sink and the progress record
    assert report.streams[0].frames in (n, n + 1)
    restarts = [x for x in lines if x.get("event") == RESTART_EVENT]
    assert len(restarts) == 1 and "resuming after frame" in restarts[0]["detail"]
    assert RESTART_EVENT in [e.kind for e in counter.events]
    # the background was resumed from state_dir, not collected again
    assert not [x for x in lines if x.get("event") == "background_reinit"]
    assert not list((tmp_path / "state" / "cam").glob("ray-progress-*"))  # removed at the end


def test_a_stream_that_cannot_be_placed_is_reported(local_ray, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(10)[0])
    out = tmp_path / "out"
    # the timeout also covers the model actor's start, which takes seconds on a busy machine
    config = ray_config(file_stream("cam", clip, out), stream_cpus=64, placement_timeout_s=10)
    metrics = tmp_path / "metrics.json"
    config = config.model_copy(update={"metrics": MetricsConfig(path=metrics)})
    report = RayPipeline(config).run()
    [stream] = report.streams
    assert not report.ok and stream.frames == 0
    assert "not placed" in stream.error and "no node of the cluster is that large" in stream.error
    # it never ran: not reported as running (it was, from seconds == 0.0), its time does not grow
    assert not StreamStats.of(stream).running and stream.seconds_so_far() == 0
    cam = json.loads(metrics.read_text())["streams"]["cam"]
    assert (cam["running"], cam["error"]) == (False, stream.error)


def test_cli_backend_ray(local_ray, tmp_path, capsys):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(12)[0])
    out = tmp_path / "out"
    yaml = tmp_path / "run.yaml"
    yaml.write_text(json.dumps(ray_config(file_stream("cam", clip, out)).model_dump(mode="json")))
    assert main(["run", str(yaml), "--backend", "ray", "--quiet"]) == 0
    assert sorted(p.name for p in (out / "cam").iterdir()) == numbered(12)
    assert main(["run", str(yaml), "--address", "auto"]) == 2  # --address needs --backend ray
    assert "--address needs --backend ray" in capsys.readouterr().err


def test_killed_model_actor_restarts_and_streams_go_on(local_ray, tmp_path):
    # long enough that the streams are still running when the (asynchronous) kill lands: with 80
    # frames they sometimes finished first, and the counters read were a fresh, idle incarnation's
    n = 240
    clip = write_clip(tmp_path / "clip.mp4", square_frames(n)[0])
    out = tmp_path / "out"
    pipeline = RayPipeline(ray_config(file_stream("a", clip, out), file_stream("b", clip, out)))
    killed = []

    def kill_once(stream, count):
        if count == 10 and not killed:
            killed.append(stream)
            local_ray.kill(pipeline.model_actors[0], no_restart=False)

    report = pipeline.run(observer=Counter(kill_once))
    assert killed and report.ok, [s.error for s in report.streams]
    for name in ("a", "b"):  # the restarted model actor got each stream's reference again
        assert sorted(p.name for p in (out / name).iterdir()) == numbered(n)
    [model] = report.models  # the new incarnation's counters
    assert model.reference_encodes >= 2 and model.frames < 2 * n
