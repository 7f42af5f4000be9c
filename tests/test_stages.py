"""Stage threads (read ahead, write behind): order, errors, joins; and the pipeline using them."""

from __future__ import annotations

import json
import threading
import time

import cv2
import pytest

from streamcd.config import PipelineConfig
from streamcd.errors import SinkError
from streamcd.pipeline import Pipeline
from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.sinks import SINKS
from streamcd.sinks.jsonl import JsonlSink
from streamcd.stages import ReadAhead, WriteBehind
from tests.conftest import square_frames


def stage_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("read-ahead", "write-behind"))]


def test_read_ahead_keeps_order_and_stays_bounded():
    produced = []

    def items():
        for i in range(50):
            produced.append(i)
            yield i

    seen = []
    with ReadAhead(items(), depth=3) as ahead:
        for i in ahead:
            time.sleep(0.001 if i < 5 else 0)
            # the reader is at most depth queued + one in hand ahead of the consumer
            assert len(produced) - len(seen) <= 3 + 2
            seen.append(i)
    assert seen == list(range(50))
    assert stage_threads() == []


def test_read_ahead_reraises_after_the_items_before_the_error():
    def items():
        yield from (1, 2)
        raise OSError("disk gone")

    seen = []
    with ReadAhead(items()) as ahead, pytest.raises(OSError, match="disk gone"):
        seen.extend(ahead)
    assert seen == [1, 2]


def test_read_ahead_close_mid_stream_joins_the_reader():
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    with ReadAhead(endless(), depth=2) as ahead:
        for i in ahead:
            if i == 10:
                break
    assert stage_threads() == []


def test_relayed_events_run_on_the_consumer_thread_in_order():
    consumer = threading.current_thread()
    log = []
    ahead = ReadAhead(depth=2)
    on_event = ahead.relay(lambda name: log.append((name, threading.current_thread() is consumer)))

    def items():
        for i in range(6):
            if i == 3:
                on_event("corrupt")  # raised by the source while reading frame 3
            yield i

    ahead.start(items())
    with ahead:
        for i in ahead:
            log.append((i, True))
    assert log == [(0, True), (1, True), (2, True), ("corrupt", True), (3, True), (4, True), (5, True)]


def test_write_behind_delivers_in_order_on_its_own_thread():
    out, threads = [], set()

    def deliver(i):
        threads.add(threading.current_thread().name)
        out.append(i)

    with WriteBehind(deliver, depth=2) as writer:
        for i in range(100):
            writer.put(i)
    assert out == list(range(100))
    assert threads == {"write-behind"}
    assert stage_threads() == []


@pytest.mark.parametrize(
    ("fail_at", "items", "raised_by"),
    [
        (3, 100, "put"),  # a later put raises the writer's error
        (9, 10, "close"),  # the last item fails: close raises it
    ],
)
def test_write_behind_reraises_the_first_error(fail_at, items, raised_by):
    delivered = []

    def deliver(i):
        if i == fail_at:
            raise SinkError(f"cannot write {i}")
        delivered.append(i)

    writer = WriteBehind(deliver, depth=1)
    where = None
    with pytest.raises(SinkError, match=f"cannot write {fail_at}"):
        try:
            for i in range(items):
                writer.put(i)
        except SinkError:
            where = "put"
            raise
        where = "close"
        writer.close()
    writer.close()  # a second close neither raises again nor blocks
    assert where == raised_by
    assert delivered == list(range(fail_at))


def test_write_behind_does_not_hide_the_callers_exception():
    def deliver(i):
        raise SinkError("sink broke too")

    with pytest.raises(KeyError), WriteBehind(deliver) as writer:
        writer.put(1)
        raise KeyError("the stream's own error")


# --- the pipeline with its stage threads ---------------------------------------------------


@pytest.fixture(scope="module")
def model():
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


@pytest.fixture
def cdnet_folder(tmp_path):
    """A 20-frame CDnet folder whose frame 8 is a truncated JPEG."""
    frames, _ = square_frames(20)
    (tmp_path / "cd" / "input").mkdir(parents=True)
    for i, image in enumerate(frames, 1):
        cv2.imwrite(str(tmp_path / "cd" / "input" / f"in{i:06d}.jpg"), image)
    jpeg = tmp_path / "cd" / "input" / "in000008.jpg"
    jpeg.write_bytes(jpeg.read_bytes()[:300])
    return tmp_path / "cd"


def config(source: dict, out) -> PipelineConfig:
    return PipelineConfig.model_validate({"model": {"provider": "cpu"}, "streams": [{
        "name": "cam", "source": source, "background": {"frames": 3, "stride": 1},
        "sinks": [{"type": "jsonl", "path": str(out / "cam.jsonl")},
                  {"type": "cdnet", "dir": str(out / "masks")}]}]})


def test_pipeline_writes_one_mask_per_frame_in_order_with_events_in_place(tmp_path, model, cdnet_folder):
    report = Pipeline(config({"type": "cdnet", "path": str(cdnet_folder)}, tmp_path), model).run()
    assert report.ok and report.streams[0].frames == 19
    lines = [json.loads(x) for x in (tmp_path / "cam.jsonl").read_text().splitlines()]
    order = [x.get("frame", x.get("event")) for x in lines]
    assert order == [1, 2, 3, 4, 5, 6, 7, "corrupt", *range(9, 21)]
    masks = sorted(p.name for p in (tmp_path / "masks").iterdir())
    assert masks == [f"bin{i:06d}.png" for i in range(1, 21) if i != 8]
    assert stage_threads() == [] and not any(t.name.startswith(("decode-", "sinks-"))
                                             for t in threading.enumerate())


class _BreaksAtFrame5(JsonlSink):
    def write(self, result):
        if result.frame.number == 5:
            raise SinkError("disk full at frame 5")
        super().write(result)


def test_a_sink_error_stops_the_stream_with_its_message(tmp_path, model, cdnet_folder, monkeypatch):
    monkeypatch.setitem(SINKS, "jsonl", _BreaksAtFrame5)
    report = Pipeline(config({"type": "cdnet", "path": str(cdnet_folder)}, tmp_path), model).run()
    stream = report.streams[0]
    assert stream.error == "disk full at frame 5" and stream.frames == 4
    lines = [json.loads(x) for x in (tmp_path / "cam.jsonl").read_text().splitlines()]
    assert [x["frame"] for x in lines] == [1, 2, 3, 4]
    assert not any(t.name.startswith(("decode-", "sinks-")) for t in threading.enumerate())
