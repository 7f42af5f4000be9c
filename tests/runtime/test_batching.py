"""Batching across streams: the shared BatchRunner, the local FrameBatcher and the stream client."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from streamcd.errors import ModelError
from streamcd.runtime.batch_runner import (
    MISSING,
    ActiveStreams,
    BatchItem,
    BatchRunner,
    EncodeItem,
    StreamClient,
)
from streamcd.runtime.binding import DeviceFeatures
from streamcd.runtime.local_batcher import FrameBatcher
from streamcd.runtime.onnx_model import OnnxChangeModel
from tests.conftest import square_frames


@pytest.fixture(scope="module")
def model():
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


@pytest.fixture(scope="module")
def bound():
    return OnnxChangeModel.load(None, provider="cpu", threads=1, io_binding=True)


def images(n: int, w: int = 160, h: int = 120, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list(rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8))


def alone(model, reference: np.ndarray, image: np.ndarray) -> np.ndarray:
    return model.distance(model.encode(reference[None]), image[None])[0]


@pytest.mark.parametrize("io_binding", [False, True])
def test_runner_matches_frames_run_alone(model, bound, io_binding):
    m = bound if io_binding else model
    runner = BatchRunner(m)
    refs, frames = images(3, seed=1), images(3, seed=2)
    big_ref, big = images(1, 320, 240, seed=3)[0], images(1, 320, 240, seed=4)[0]
    batch = [BatchItem(f"s{i}", ("run", 1), frames[i], refs[i]) for i in range(3)]
    batch.append(BatchItem("big", ("run", 1), big, big_ref))  # another input size: its own run
    answers = runner.run(batch)
    for item, answer in zip(batch, answers):
        np.testing.assert_allclose(answer, alone(model, item.reference, item.image), atol=1e-5)
    c = runner.counters
    assert (c.frames, c.batches, c.reference_encodes, c.largest) == (4, 2, 4, 3)
    if io_binding:  # references kept on the device, stacked ones uploaded
        assert all(isinstance(r.features, DeviceFeatures) for r in runner._refs.values())
        assert all(isinstance(s, DeviceFeatures) for s in runner._stacked.values())


def test_runner_hands_out_features_for_feature_banks(model):
    # encode items (streams with a feature bank) run as one encoder batch per input size, apart
    # from the distance items; each gets its own frame's features, as encoded alone
    runner = BatchRunner(model)
    frames, big = images(3, seed=11), images(1, 320, 240, seed=12)[0]
    batch = [EncodeItem("s0", frames[0]), BatchItem("s1", 1, frames[1], frames[2]),
             EncodeItem("s2", frames[2]), EncodeItem("big", big)]
    answers = runner.run(batch)
    for item in (batch[0], batch[2], batch[3]):
        got, alone_ = answers[batch.index(item)], model.encode(item.image[None])
        assert isinstance(got, tuple) and len(got) == len(alone_)
        for g, a in zip(got, alone_):
            assert g.shape[0] == 1 and g.base is None  # a copy, not a view of the batch
            np.testing.assert_array_equal(g, a)  # batched encodes are bit-identical on CPU
    np.testing.assert_allclose(answers[1], alone(model, frames[2], frames[1]), atol=1e-5)
    c = runner.counters
    assert (c.frames, c.batches, c.reference_encodes, c.largest) == (4, 3, 1, 2)


def test_runner_reference_cache_and_missing(model):
    runner = BatchRunner(model)
    ref, frame = images(1, seed=5)[0], images(1, seed=6)[0]
    [first] = runner.run([BatchItem("cam", 1, frame, ref)])
    # known key, no reference: served from the cache; new key without one: MISSING
    [again, missing] = runner.run([BatchItem("cam", 1, frame), BatchItem("other", 1, frame)])
    np.testing.assert_array_equal(again, first)
    assert isinstance(missing, str) and missing == MISSING
    assert runner.counters.reference_encodes == 1
    [stale] = runner.run([BatchItem("cam", 2, frame)])
    assert stale == MISSING
    runner.forget("cam")
    assert runner.run([BatchItem("cam", 1, frame)]) == [MISSING]


def test_stacked_references_are_reused_per_composition(model):
    runner = BatchRunner(model)
    refs, frames = images(2, seed=7), images(2, seed=8)
    batch = [BatchItem(f"s{i}", 1, frames[i], refs[i]) for i in range(2)]
    runner.run(batch)
    stacked = dict(runner._stacked)
    runner.run([BatchItem(f"s{i}", 1, frames[i]) for i in range(2)])
    assert runner._stacked == stacked and len(stacked) == 1  # same streams, same keys: reused
    [b, a] = runner.run([BatchItem(f"s{i}", 1, frames[i]) for i in (1, 0)])  # arrival order
    assert runner._stacked == stacked  # sorted by stream: still the same stack
    np.testing.assert_allclose(a, alone(model, refs[0], frames[0]), atol=1e-5)
    np.testing.assert_allclose(b, alone(model, refs[1], frames[1]), atol=1e-5)
    runner.run([BatchItem(f"s{i}", 2, frames[i], refs[1 - i]) for i in range(2)])  # new keys
    assert len(runner._stacked) == 2


def test_a_bad_reference_fails_only_its_stream(model):
    runner = BatchRunner(model)
    frame = images(1, seed=9)[0]
    bad = np.zeros((100, 100, 3), np.uint8)  # sides not multiples of 8
    good, broken = runner.run([BatchItem("a", 1, frame, frame), BatchItem("b", 1, frame, bad)])
    assert isinstance(good, np.ndarray) and good.max() < 0.01
    assert isinstance(broken, ModelError)


@pytest.mark.parametrize(
    ("active", "queued", "max_batch", "wait"),
    [
        (1, 1, 8, False),  # one stream: never wait
        (3, 1, 8, True),  # two active streams have not sent yet
        (3, 3, 8, False),  # every active stream has its frame queued
        (8, 4, 4, False),  # the batch is full
        (0, 1, 8, False),  # nobody seen lately counts as one stream
    ],
)
def test_active_streams_worth_waiting(active, queued, max_batch, wait):
    streams = ActiveStreams()
    for i in range(active):
        streams.seen(f"s{i}", 100.0)
    streams.seen("stale", 98.0)  # more than a second ago: not waited for
    assert streams.worth_waiting(queued, max_batch, 100.5) is wait


def test_stream_client_sends_the_reference_only_when_new():
    calls = []
    lost = {"after": 2}  # the runner forgets everything at the 2nd call (an actor restart)

    def call(stream, key, image, reference):
        calls.append((key, reference is not None))
        if len(calls) == lost["after"] and reference is None:
            return MISSING
        return np.zeros((2, 2), np.float32)

    client = StreamClient(call, "cam", lambda stream, image: (image[None].astype(np.float32),))
    made = []

    def reference():
        made.append(1)
        return np.zeros((8, 8, 3), np.uint8)

    image = np.zeros((8, 8, 3), np.uint8)
    for key in (1, 1, 1, 2):
        client.distance(image, key, reference)
    # new key: sent; same key: not sent; MISSING: sent again at once; next new key: sent
    assert calls == [(1, True), (1, False), (1, True), (1, False), (2, True)]
    assert len(made) == 3 and client.sent_key == 2
    assert client.encode(image)[0].shape == (1, 8, 8, 3) and len(calls) == 5  # no reference


def test_frame_batcher_runs_streams_together(model):
    frames, _ = square_frames(9, size=(160, 120))
    reference = frames[0]
    expected = [alone(model, reference, f) for f in frames[1:]]
    got: dict[str, list[np.ndarray]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def stream(name: str) -> None:
        client = batcher.client(name)
        start.wait()
        for f in frames[1:]:
            got[name].append(client.distance(f, ("run", 1), lambda: reference))

    with FrameBatcher(model, max_batch=4, max_wait_ms=200) as batcher:
        threads = [threading.Thread(target=stream, args=(n,)) for n in got]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    for answers in got.values():
        assert len(answers) == 8
        for a, b in zip(answers, expected):
            np.testing.assert_allclose(a, b, atol=1e-5)
    c = batcher.counters
    assert c.frames == 16 and c.largest == 2 and c.batches < 16 and c.reference_encodes == 2


def test_frame_batcher_hands_out_features(model):
    frames = images(8, seed=13)
    got: dict[str, list] = {}
    start = threading.Barrier(2)

    def stream(name: str, own: list[np.ndarray]) -> None:
        client = batcher.client(name)
        start.wait()
        got[name] = [client.encode(image) for image in own]

    # several frames per stream: a stream the batcher has not seen yet is not waited for
    with FrameBatcher(model, max_batch=4, max_wait_ms=200) as batcher:
        threads = [threading.Thread(target=stream, args=(f"s{i}", frames[i::2])) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    for i in range(2):
        for features, f in zip(got[f"s{i}"], frames[i::2], strict=True):
            for g, a in zip(features, model.encode(f[None])):
                np.testing.assert_array_equal(g, a)
    assert batcher.counters.largest == 2 and batcher.counters.reference_encodes == 0


def test_frame_batcher_single_stream_does_not_wait(model):
    import time

    frame = images(1, seed=10)[0]
    started = time.monotonic()
    with FrameBatcher(model, max_batch=8, max_wait_ms=10_000) as batcher:
        answer = batcher.infer("only", 1, frame, frame)
    assert answer.shape == (60, 80)
    assert time.monotonic() - started < 5  # one active stream is never waited for (10 s)


def test_frame_batcher_errors_reach_the_caller(model):
    odd = np.zeros((100, 100, 3), np.uint8)  # sides not multiples of 8
    with FrameBatcher(model, max_batch=2) as batcher, pytest.raises(ModelError, match="multiples of 8"):
        batcher.infer("cam", 1, odd, odd)
    with pytest.raises(ModelError, match="closed"):
        batcher.infer("cam", 1, images(1)[0])
    with pytest.raises(ValueError, match="max_batch"):
        FrameBatcher(model, max_batch=0)


def _pipeline(clips, out, max_batch: int, background: str):
    from streamcd.config import PipelineConfig

    return PipelineConfig.model_validate({
        "model": {"provider": "cpu", "threads": 1, "max_batch": max_batch, "max_wait_ms": 50},
        "streams": [{"name": name, "source": {"type": "video", "path": str(clip)},
                     "background": {"model": background, "frames": 5, "stride": 1},
                     "sinks": [{"type": "cdnet", "dir": str(out / name)}]}
                    for name, clip in clips.items()],
    })


@pytest.mark.parametrize(
    ("background", "encodes"),
    [
        ("reference", 0),  # each stream's median: encoded by the runner, as a reference
        ("bank", 2 * (5 + 1)),  # the bank's 5 frames and their median, per stream, through the runner
    ],
)
def test_two_streams_batched_give_the_masks_of_unbatched(tmp_path, model, monkeypatch, caplog,
                                                         background, encodes):
    import cv2

    from streamcd.pipeline import Pipeline
    from streamcd.runtime import local_batcher as batcher_module
    from tests.conftest import write_clip

    clips = {"a": write_clip(tmp_path / "a.mp4", square_frames(30, seed=0)[0]),
             "b": write_clip(tmp_path / "b.mp4", square_frames(30, seed=1)[0])}
    made: list[FrameBatcher] = []

    class Recorded(FrameBatcher):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(batcher_module, "FrameBatcher", Recorded)
    masks, reports = {}, {}
    for max_batch in (1, 4):
        out = tmp_path / f"out{max_batch}"
        report = Pipeline(_pipeline(clips, out, max_batch, background), model).run()
        assert report.ok and [s.frames for s in report.streams] == [30, 30]
        masks[max_batch] = {p.relative_to(out): cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                            for p in sorted(out.rglob("*.png"))}
        reports[max_batch] = report
    assert len(made) == 1  # max_batch 1: no batcher at all
    assert made[0].counters.frames == 60 + encodes and made[0].counters.largest == 2
    # the same background model on both paths: the bank is built (and used) through the batcher
    for unbatched, batched in zip(reports[1].streams, reports[4].streams):
        assert batched.times.reference_encodes == unbatched.times.reference_encodes
    assert "feature bank runs with" not in caplog.text  # no fallback to the median reference
    assert masks[1].keys() == masks[4].keys() and len(masks[1]) == 60
    assert sum(m.any() for m in masks[1].values()) >= 50  # the square is found, not all empty
    for name, mask in masks[1].items():
        np.testing.assert_array_equal(masks[4][name], mask, err_msg=str(name))
