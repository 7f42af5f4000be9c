"""Pipeline and StreamRunner on generated clips and real CDnet frames; FrameProcessor's cache."""

from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest

from streamcd.background.state import StateStore
from streamcd.config import PipelineConfig
from streamcd.pipeline import Pipeline, RunObserver
from streamcd.processor import ReferenceCache, StageTimes
from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.stats import StreamStats
from tests.conftest import square_frames, write_clip


@pytest.fixture(scope="module")
def model():
    """The shipped model on CPU, loaded once for the module."""
    return OnnxChangeModel.load(None, provider="cpu")


def config(*streams: dict) -> PipelineConfig:
    return PipelineConfig.model_validate({"model": {"provider": "cpu"}, "streams": list(streams)})


def video_stream(name: str, clip, out, **extra) -> dict:
    """A video stream writing CDnet masks to ``out/<name>`` and JSON lines to ``out/<name>.jsonl``."""
    return {
        "name": name,
        "source": {"type": "video", "path": str(clip)},
        "sinks": [
            {"type": "cdnet", "dir": str(out / name)},
            {"type": "jsonl", "path": str(out / f"{name}.jsonl")},
        ],
        **extra,
    }


def mask_names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def numbered(first: int, n: int) -> list[str]:
    return [f"bin{i:06d}.png" for i in range(first, first + n)]


@pytest.mark.parametrize(
    ("frames", "background", "max_frames", "expected"),
    [
        (5, {}, None, 5),  # shorter than the default median window (30 frames, stride 1)
        (12, {"frames": 5, "stride": 2}, None, 12),  # median ready mid-clip, held frames flushed
        (40, {}, None, 40),  # the median never fills: finished at the end of the clip
        (40, {"frames": 4, "stride": 1}, 9, 9),  # --max-frames
        (40, {}, 3, 3),  # --max-frames inside the median window
        (1, {}, None, 1),  # a single frame
    ],
)
def test_one_mask_per_frame(tmp_path, model, frames, background, max_frames, expected):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(frames)[0])
    out = tmp_path / "out"
    pipeline = Pipeline(config(video_stream("cam", clip, out, background=background)), model)
    report = pipeline.run(max_frames=max_frames)
    assert report.ok and report.provider == "cpu"
    stream = report.streams[0]
    assert (stream.name, stream.frames, stream.error) == ("cam", expected, None)
    assert mask_names(out / "cam") == numbered(1, expected)
    lines = [json.loads(line) for line in (out / "cam.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(1, expected + 1))
    for name in mask_names(out / "cam"):
        mask = cv2.imread(str(out / "cam" / name), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (120, 160) and set(np.unique(mask)) <= {0, 255}


def test_a_failing_stream_does_not_stop_the_others(tmp_path, model):
    short = write_clip(tmp_path / "short.mp4", square_frames(5)[0])
    full = write_clip(tmp_path / "full.mp4", square_frames(30)[0])
    out = tmp_path / "out"
    cfg = config(
        video_stream("short", short, out),
        video_stream("missing", tmp_path / "absent.mp4", out),
        video_stream("full", full, out),
    )
    ended = []

    class Observer(RunObserver):
        def on_end(self, report):
            ended.append(report.name)

    report = Pipeline(cfg, model).run(observer=Observer())
    assert not report.ok
    assert [(s.name, s.frames) for s in report.streams] == [
        ("short", 5),
        ("missing", 0),
        ("full", 30),
    ]
    assert report.streams[0].error is None and report.streams[2].error is None
    assert "video file not found" in report.streams[1].error
    assert "absent.mp4" in report.streams[1].error
    assert sorted(ended) == ["full", "missing", "short"]
    assert mask_names(out / "short") == numbered(1, 5)
    assert mask_names(out / "full") == numbered(1, 30)
    assert not (out / "missing").exists()  # the source failed before any sink was opened


@pytest.mark.parametrize(
    ("background", "most"),
    [
        ({"model": "reference", "frames": 5, "stride": 2}, 1),  # update off: encoded once
        ({"model": "reference"}, 1),  # the median is finished at the end of the clip: one version
        ({"model": "reference", "frames": 5, "stride": 2, "update_rate": 0.5, "update_every": 10},
         1 + 40 // 10),
    ],
)
def test_reference_encoded_once_per_background_version(tmp_path, model, background, most):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(40)[0])
    report = Pipeline(
        config(video_stream("cam", clip, tmp_path, background=background)), model
    ).run()
    times = report.streams[0].times
    assert times.frames == 40
    assert 1 <= times.reference_encodes <= most


def test_feature_bank_is_built_once_from_the_median_frames(tmp_path, model):
    # background.model bank (the default): the 5 median frames and the median itself are
    # encoded once to build the bank; every later frame is compared with the bank, not re-encoded
    clip = write_clip(tmp_path / "clip.mp4", square_frames(40)[0])
    report = Pipeline(config(video_stream("cam", clip, tmp_path,
                                          background={"frames": 5, "stride": 2})), model).run()
    times = report.streams[0].times
    assert times.frames == 40 and times.reference_encodes == 5 + 1


def test_reference_cache_reencodes_only_on_a_new_version_or_size(model):
    frames, _ = square_frames(2)
    cache, times = ReferenceCache(), StageTimes()
    steps = [  # (version, size, encodes so far)
        (1, (160, 120), 1),
        (1, (160, 120), 1),  # same version and size: cached
        (2, (160, 120), 2),  # new background version
        (2, (80, 64), 3),  # new input size
        (2, (80, 64), 3),
    ]
    for version, size, encodes in steps:
        features = cache.get(model, frames[0], version, size, times)
        assert times.reference_encodes == encodes
        assert features[0].shape[0] == 1 and features[0].shape[-2:] == (size[1] // 2, size[0] // 2)


@pytest.mark.parametrize(("kind", "encodes"), [("reference", 1), ("bank", 0)])
def test_background_state_resumes_after_a_restart(tmp_path, model, kind, encodes):
    """Second run starts with the object in view: it must reuse the persisted reference.

    The reference model re-encodes the persisted reference once; the bank model resumes the
    persisted feature bank itself and encodes no reference at all.
    """
    state = tmp_path / "state"
    out = tmp_path / "out"
    background = {"model": kind, "frames": 8, "stride": 2, "state_dir": str(state)}
    clean = write_clip(tmp_path / "clean.mp4", square_frames(40)[0])
    first = Pipeline(
        config(video_stream("cam", clean, out / "1", background=background)), model
    ).run()
    assert first.ok
    saved = StateStore(state, "cam").load()
    assert saved is not None
    reference, saved_state = saved
    assert saved_state.frames_seen == 40 and not saved_state.provisional

    # The square stands still in the middle for the first 20 frames: a fresh median of them
    # would contain it, and the square would then be invisible to the detector.
    frames, masks = square_frames(40, seed=0)
    frames = [frames[20]] * 20 + frames[20:]
    masks = [masks[20]] * 20 + masks[20:]
    busy = write_clip(tmp_path / "busy.mp4", frames)
    second = Pipeline(
        config(video_stream("cam", busy, out / "2", background=background)), model
    ).run()
    assert second.ok and second.streams[0].frames == 40
    assert second.streams[0].times.reference_encodes == encodes
    assert (StateStore(state, "cam").load_bank(saved_state.version) is not None) == (kind == "bank")
    resumed, resumed_state = StateStore(state, "cam").load()
    np.testing.assert_array_equal(resumed, reference)
    assert resumed_state.version == saved_state.version
    assert resumed_state.frames_seen == 80  # counted on from the first run
    # The standing square is foreground from the very first frame of the second run.
    first_mask = cv2.imread(str(out / "2" / "cam" / "bin000001.png"), cv2.IMREAD_GRAYSCALE)
    assert (first_mask[masks[0]] > 0).mean() > 0.5


def test_stop_event_ends_all_streams_cleanly(tmp_path, model):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(20)[0])
    out = tmp_path / "out"
    cfg = config(
        video_stream("a", clip, out, background={"frames": 2, "stride": 1}),
        video_stream("b", clip, out, background={"frames": 2, "stride": 1}),
    )
    stop = threading.Event()

    class StopAfterFive(RunObserver):
        def on_result(self, stream, result):
            if result.frame.number >= 5:
                stop.set()

    report = Pipeline(cfg, model).run(observer=StopAfterFive(), stop=stop)
    assert report.ok
    assert max(s.frames for s in report.streams) >= 5
    for s in report.streams:  # each ended early, with its outputs complete up to where it was
        assert s.frames < 20
        assert mask_names(out / s.name) == numbered(1, s.frames)


def test_a_stream_stopped_before_its_first_result_leaves_no_empty_outputs(tmp_path, model):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(5)[0])
    out = tmp_path / "out"
    stream = video_stream("cam", clip, out)
    stream["sinks"] += [{"type": "mask_video", "path": str(out / "videos" / "m.mp4")},
                        {"type": "annotated_video", "path": str(out / "videos" / "a.mp4")}]
    stop = threading.Event()
    stop.set()  # Ctrl-C before the first frame: nothing was written, so nothing is left
    report = Pipeline(config(stream), model).run(stop=stop)
    assert report.ok and report.streams[0].frames == 0
    assert not out.exists()


def test_cdnet_source_names_masks_by_input_frame(tmp_path, model, highway):
    """Real CDnet frames: the reference is the median before temporalROI (470), masks from 470."""
    cfg = config(
        {
            "name": "highway",
            "source": {"type": "cdnet", "path": str(highway), "temporal_roi_only": True},
            "background": {"init": "cdnet", "frames": 10},
            "sinks": [{"type": "cdnet", "dir": str(tmp_path / "results")}],
        }
    )
    report = Pipeline(cfg, model).run(max_frames=6)
    assert report.ok and report.streams[0].frames == 6
    assert mask_names(tmp_path / "results") == numbered(470, 6)
    mask = cv2.imread(str(tmp_path / "results" / "bin000470.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (240, 320)
    truth = cv2.imread(str(highway / "groundtruth" / "gt000470.png"), cv2.IMREAD_GRAYSCALE)
    assert (mask[truth == 255] > 0).any()  # the cars of frame 470 are seen (no quality claim)


class ShapeSpy:
    """The shipped model, recording the input sizes (w, h) it was given."""

    def __init__(self, model):
        self.model, self.sizes = model, set()

    def __getattr__(self, name):
        return getattr(self.model, name)

    def encode_reference(self, images):
        self.sizes.add((images.shape[2], images.shape[1]))
        return self.model.encode_reference(images)

    def distance(self, reference, images):
        self.sizes.add((images.shape[2], images.shape[1]))
        return self.model.distance(reference, images)

    def encode(self, images):
        self.sizes.add((images.shape[2], images.shape[1]))
        return self.model.encode(images)


def _sizes_seen_and_square_found(tmp_path, model, size, square, **sides):
    """Run a clip of a moving square at ``size`` with the stream's ``sides`` settings; assert
    24 masks at frame size that find the square; return the input sizes the model saw."""
    frames, truth = square_frames(24, size=size, square=square)
    clip = write_clip(tmp_path / "clip.mp4", frames)
    spy = ShapeSpy(model)
    stream = video_stream("cam", clip, tmp_path, background={"frames": 5, "stride": 4}, **sides)
    report = Pipeline(config(stream), spy).run()
    assert report.ok
    masks = [cv2.imread(str(tmp_path / "cam" / name), cv2.IMREAD_GRAYSCALE)
             for name in mask_names(tmp_path / "cam")]
    assert len(masks) == 24 and all(m.shape == (size[1], size[0]) for m in masks)
    found, true = np.stack(masks)[-4:] > 0, np.stack(truth)[-4:]
    assert (found & true).sum() / (found | true).sum() > 0.6  # the square, at frame size
    return spy.sizes


@pytest.mark.parametrize(("max_side", "seen"), [(None, (320, 240)), (160, (160, 120)), (400, (320, 240))])
def test_max_side_downscales_the_model_input_only(tmp_path, model, max_side, seen):
    assert _sizes_seen_and_square_found(tmp_path, model, (320, 240), 48, max_side=max_side) == {seen}


@pytest.mark.parametrize(("sides", "seen"), [({}, (320, 240)), ({"min_side": None}, (160, 120))])
def test_min_side_upscales_a_small_camera_for_the_model_only(tmp_path, model, sides, seen):
    # a 160x120 camera is seen at the scale the networks learnt at (by default)
    assert _sizes_seen_and_square_found(tmp_path, model, (160, 120), 24, **sides) == {seen}


def test_reference_streams_threshold_at_the_card_value_unless_fixed(tmp_path, model):
    # background.model reference: the card's threshold as it is (no per-scene rule lowers it),
    # postprocess.threshold when set; the feature bank: the card's bank_threshold
    assert model.threshold != model.bank_threshold
    # the median's 20 frames show the empty scene (the removed rule lowered the threshold there)
    empty = square_frames(1, square=0)[0] * 20
    clip = write_clip(tmp_path / "clip.mp4", empty + square_frames(30)[0][20:])
    reference = {"model": "reference", "frames": 10, "stride": 2}
    streams = [video_stream("card", clip, tmp_path, background=reference),
               video_stream("fixed", clip, tmp_path, background=reference,
                            postprocess={"threshold": 0.5}),
               video_stream("bank", clip, tmp_path, background={"frames": 10, "stride": 2})]
    live = {}

    class Watcher(RunObserver):
        def on_attach(self, stream, state):
            live[stream] = state

    assert Pipeline(config(*streams), model).run(observer=Watcher()).ok
    used = {name: state.threshold() for name, state in live.items()}
    assert used == {"card": model.threshold, "fixed": 0.5, "bank": model.bank_threshold}


def test_reports_can_be_read_while_the_streams_run(tmp_path, model):
    """Another thread (a stats server's) reads every report while two streams run: counters only
    grow, ``running`` holds until each stream's end and then ``seconds`` is final; every hook
    runs on the thread the module docstring names."""
    n = 40
    clip = write_clip(tmp_path / "clip.mp4", square_frames(n)[0])
    background = {"frames": 3, "stride": 1}
    cfg = PipelineConfig.model_validate({
        "model": {"provider": "cpu"}, "stats_every_s": 0.02,
        "streams": [video_stream(name, clip, tmp_path, background=background) for name in "ab"]})
    handed = threading.Event()
    hooks: dict[str, set[str]] = {}
    handed_reports: list = []

    class Watcher(RunObserver):
        def _on(self, hook: str) -> None:
            hooks.setdefault(hook, set()).add(threading.current_thread().name)

        def on_start(self, stream, total, live):
            self._on("on_start")

        def on_result(self, stream, result):
            self._on("on_result")
            time.sleep(0.01)  # a slow consumer: the stream runs for a while

        def on_stats(self, reports):
            self._on("on_stats")
            handed_reports[:] = reports
            handed.set()

        def on_end(self, report):
            self._on("on_end")

    reads: list[tuple[str, bool, int, float]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def read_reports() -> None:
        handed.wait(30)
        while not done.is_set():
            for r in handed_reports:
                try:
                    running = r.running
                    reads.append((r.name, running, r.frames, r.seconds))
                    stats = StreamStats.of(r)  # the meter's window, under its lock
                    assert stats.frames >= reads[-1][2] and stats.seconds >= 0
                except BaseException as e:  # noqa: BLE001 - reported by the test's thread
                    failures.append(e)
            time.sleep(0.002)

    reader = threading.Thread(target=read_reports, name="reader")
    reader.start()
    try:
        report = Pipeline(cfg, model).run(observer=Watcher())
    finally:
        done.set()
        reader.join()
    assert not failures, failures
    assert report.ok and [s.frames for s in report.streams] == [n, n]
    final = {s.name: s for s in report.streams}
    for name in "ab":
        mine = [(running, frames, seconds) for s, running, frames, seconds in reads if s == name]
        assert any(running and frames < n for running, frames, _ in mine), "never read mid-run"
        assert [f for _, f, _ in mine] == sorted(f for _, f, _ in mine)  # never goes back
        # once a stream is seen ended, it stays ended with its final time
        ended = [(frames, seconds) for running, frames, seconds in mine if not running]
        assert all(e == (n, final[name].seconds) for e in ended)
        assert not final[name].running and final[name].seconds > 0
        assert StreamStats.of(final[name]).running is False
    assert hooks == {"on_start": {"stream-a", "stream-b"}, "on_result": {"sinks-a", "sinks-b"},
                     "on_stats": {threading.current_thread().name},
                     "on_end": {"stream-a", "stream-b"}}


def test_a_persisted_bank_of_other_settings_is_rebuilt_on_the_reference(tmp_path, model):
    state = tmp_path / "state"
    clip = write_clip(tmp_path / "clip.mp4", square_frames(20)[0])
    background = {"frames": 5, "stride": 1, "state_dir": str(state)}
    first = Pipeline(config(video_stream("cam", clip, tmp_path / "1", background=background)),
                     model).run()
    assert first.ok and first.streams[0].times.reference_encodes == 5 + 1
    same = Pipeline(config(video_stream("cam", clip, tmp_path / "2", background=background)),
                    model).run()
    assert same.streams[0].times.reference_encodes == 0  # resumed as saved
    changed = Pipeline(config(video_stream("cam", clip, tmp_path / "3", background=background,
                                           postprocess={"threshold": 0.6})), model).run()
    # another base threshold: a new bank from the persisted reference alone (one encode)
    assert changed.ok and changed.streams[0].times.reference_encodes == 1
