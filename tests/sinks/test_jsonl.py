"""JsonlSink: one parseable JSON object per line, frames every n-th, events always."""

from __future__ import annotations

import json

import pytest

from streamcd.config import JsonlSinkConfig
from streamcd.errors import SinkError
from streamcd.frames import StreamEvent
from streamcd.sinks import JsonlSink


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("every", "n", "indices"),
    [
        (1, 5, [0, 1, 2, 3, 4]),  # every frame
        (3, 10, [0, 3, 6, 9]),  # first, then every third
        (20, 5, [0]),  # fewer frames than `every`: just the first
    ],
)
def test_frames_every_nth(tmp_path, results, every, n, indices):
    path = tmp_path / "log" / "frames.jsonl"
    written = results(n, first_number=100)
    with JsonlSink(JsonlSinkConfig(path=path, every=every)) as sink:
        for r in written:
            sink.write(r)
    lines = read_lines(path)
    assert [line["index"] for line in lines] == indices
    for line in lines:
        r = written[line["index"]]
        b = r.boxes[0]
        assert line == {
            "stream": "cam",
            "frame": r.frame.number,
            "index": r.frame.index,
            "time": r.frame.timestamp,
            "foreground": round(r.foreground_fraction, 6),
            "boxes": [[b.x, b.y, b.w, b.h, b.area]],
        }


def test_events_are_recorded_in_order_and_lines_flushed(tmp_path, results):
    path = tmp_path / "frames.jsonl"
    first, second = results(2)
    sink = JsonlSink(JsonlSinkConfig(path=path))
    assert not path.exists()  # created by the first line
    sink.write(first)
    sink.event(StreamEvent("disconnect", "cam", 12.5, "read timeout after 5 s"))
    sink.event(StreamEvent("reconnect", "cam", 14.0))
    sink.write(second)
    lines = read_lines(path)  # readable before close: each line is flushed
    sink.close()
    sink.close()  # idempotent
    assert [line.get("event") for line in lines] == [
        None,
        "disconnect",
        "reconnect",
        None,
    ]
    assert lines[1] == {
        "event": "disconnect",
        "stream": "cam",
        "time": 12.5,
        "detail": "read timeout after 5 s",
    }
    with pytest.raises(SinkError, match="closed"):
        sink.write(first)


def test_appends_to_an_existing_log(tmp_path, results):
    path = tmp_path / "frames.jsonl"
    for _ in range(2):  # a restarted stream keeps its history
        with JsonlSink(JsonlSinkConfig(path=path)) as sink:
            sink.write(results(1)[0])
    assert len(read_lines(path)) == 2


def test_path_that_is_a_folder_fails_at_construction(tmp_path):
    with pytest.raises(SinkError, match="is a folder; give the path of a file to write"):
        JsonlSink(JsonlSinkConfig(path=tmp_path))


@pytest.mark.parametrize(
    ("before", "lines"),
    [
        (None, 0),  # nothing written: no file, no folder
        ('{"frame": 1}\n', 1),  # an earlier run's log is left as it was
    ],
)
def test_no_line_no_file(tmp_path, before, lines):
    path = tmp_path / "logs" / "frames.jsonl"
    if before is not None:
        path.parent.mkdir()
        path.write_text(before)
    with JsonlSink(JsonlSinkConfig(path=path)):
        pass
    if before is None:
        assert list(tmp_path.iterdir()) == []
    else:
        assert path.read_text() == before and len(read_lines(path)) == lines


def test_an_event_alone_creates_the_file(tmp_path):
    path = tmp_path / "logs" / "frames.jsonl"
    with JsonlSink(JsonlSinkConfig(path=path)) as sink:
        sink.event(StreamEvent("disconnect", "cam", 1.0, "read timeout"))
    assert [line["event"] for line in read_lines(path)] == ["disconnect"]
