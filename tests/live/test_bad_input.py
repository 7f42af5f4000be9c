"""Bad input to ``streamcd run``: one clear message, the documented exit code, nothing
half-written. Each case runs the CLI in-process on files generated in ``tmp_path``."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import pytest

from streamcd.cli import main
from tests.conftest import square_frames, write_clip

N = 20  # frames of the generated clip and CDnet folder


def pipeline(source: str, sinks: str = "[{type: jsonl, path: out/cam.jsonl}]", top: str = "",
             model: str = "") -> str:
    return (f"model: {{provider: cpu, threads: 1{model}}}\n{top}streams:\n  - name: cam\n"
            f"    source: {source}\n    sinks: {sinks}\n"
            "    background: {frames: 3, stride: 1}\n")


def one_error(stderr: str) -> bool:
    """One ``error:`` line first (details may follow, indented), no traceback."""
    heads = [line for line in stderr.splitlines() if not line.startswith(" ")]
    return len(heads) == 1 and heads[0].startswith("error: ") and "Traceback" not in stderr


@pytest.fixture
def inputs(tmp_path, monkeypatch) -> Path:
    """tmp_path as the working directory, holding every kind of good and bad input."""
    monkeypatch.chdir(tmp_path)
    frames, _ = square_frames(N)
    data = write_clip(tmp_path / "clip.mp4", frames).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # index (moov) lost
    (tmp_path / "cd" / "input").mkdir(parents=True)
    for i, image in enumerate(frames, 1):
        cv2.imwrite(str(tmp_path / "cd" / "input" / f"in{i:06d}.jpg"), image)
    (tmp_path / "cd" / "temporalROI.txt").write_text(f"5 {N}\n")
    jpeg = tmp_path / "cd" / "input" / "in000008.jpg"
    jpeg.write_bytes(jpeg.read_bytes()[:300])  # cut inside the image data
    (tmp_path / "model.json").write_text("{not json")
    (tmp_path / "a_file").write_text("not a folder")
    return tmp_path


@pytest.mark.parametrize(
    ("yaml", "code", "message"),
    [
        # YAML syntax error: file, line and column
        ("model: {provider: cpu\nstreams: []\n", 2, "pipeline.yaml: line 2, column 8: YAML syntax"),
        # unknown key: its path, line and the allowed keys
        (pipeline("{type: video, path: clip.mp4, colour: red}"), 2,
         "streams[0].source.colour (line 4): unknown key 'colour'; allowed keys: type, path"),
        # wrong type
        (pipeline("{type: video, path: clip.mp4, max_frames: many}"), 2,
         "streams[0].source.max_frames (line 4): Input should be a valid integer"),
        # metrics file with an unknown format
        (pipeline("{type: video, path: clip.mp4}", top="metrics: {path: m.txt}\n"), 2,
         "metrics.path (line 2): metrics.path must end in .json or .prom, got 'm.txt'"),
        # missing input file
        (pipeline("{type: video, path: absent.mp4}"), 1,
         "stream cam: video file not found: absent.mp4; check the source's `path`"),
        # unreadable model card
        (pipeline("{type: video, path: clip.mp4}", model=", path: model.json"), 1,
         "model.json: not a valid streamcd model card (JSONDecodeError"),
        # a video cut short before its index
        (pipeline("{type: video, path: cut.mp4}"), 1,
         "cannot open video cut.mp4: [Errno 1094995529] Invalid data found"),
        # output folder that cannot be created (a file is in the way)
        (pipeline("{type: video, path: clip.mp4}",
                  sinks="[{type: annotated_video, path: a_file/sub/cam.mp4}]"), 1,
         "cannot write to folder a_file/sub: Not a directory"),
        (pipeline("{type: video, path: clip.mp4}", top="metrics: {path: a_file/m.json}\n"), 1,
         "metrics file: cannot write to folder a_file"),
    ],
)
def test_bad_input_fails_with_one_message_and_writes_nothing(inputs, capsys, yaml, code, message):
    (inputs / "pipeline.yaml").write_text(yaml)
    assert main(["--log-level", "ERROR", "run", "--quiet", "pipeline.yaml"]) == code
    err = capsys.readouterr().err
    assert message in err
    assert one_error(err)
    assert not (inputs / "out").exists()


@pytest.mark.parametrize(
    ("on_corrupt", "code", "frames"),
    [
        ("skip", 0, N - 1),  # skipped, counted, logged as an event, the rest processed
        ("stop", 1, 7),  # stops at frame 8 with a message; outputs so far are complete
    ],
)
def test_corrupt_jpeg_in_a_cdnet_folder(inputs, capsys, on_corrupt, code, frames):
    sinks = "[{type: jsonl, path: out/cam.jsonl}, {type: mask_video, path: out/cam.mp4}]"
    (inputs / "pipeline.yaml").write_text(
        pipeline(f"{{type: cdnet, path: cd, on_corrupt: {on_corrupt}}}", sinks))
    assert main(["--log-level", "ERROR", "run", "--quiet", "pipeline.yaml"]) == code
    err = capsys.readouterr().err
    lines = [json.loads(x) for x in (inputs / "out" / "cam.jsonl").read_text().splitlines()]
    assert len([x for x in lines if "frame" in x]) == frames
    with av.open(str(inputs / "out" / "cam.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == frames
    if on_corrupt == "skip":
        events = [x for x in lines if "event" in x]
        assert [x["event"] for x in events] == ["corrupt"] and "in000008.jpg" in events[0]["detail"]
        assert err == ""
    else:
        assert one_error(err)
        assert "cd/input/in000008.jpg is a truncated JPEG (no end-of-image marker)" in err
        assert "set on_corrupt: skip" in err
