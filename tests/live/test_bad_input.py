"""Bad input to ``streamcd run``: one clear message, the documented exit code, nothing
half-written. Each case runs the CLI in-process on files generated in ``tmp_path``."""

from __future__ import annotations

import json
import os
import re
import tempfile
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
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "frame_1.png").write_bytes(b"not a picture")
    (tmp_path / "model.json").write_text("{not json")
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07\x12\x00\xff binary ONNX graph")
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
        # an ONNX graph given as the card: say what model.path wants, name the card beside it
        (pipeline("{type: video, path: clip.mp4}", model=", path: model.onnx"), 1,
         ("error: model.onnx: not a model card; model.path (or --model) wants the model card "
          ".json written by 'streamcd export' (it names the encoder and head .onnx files), or "
          "the folder holding it; use model.json\n")),
        # a video cut short before its index
        (pipeline("{type: video, path: cut.mp4}"), 1,
         "cannot open video cut.mp4: [Errno 1094995529] Invalid data found"),
        # output folder that cannot be created (a file is in the way)
        (pipeline("{type: video, path: clip.mp4}",
                  sinks="[{type: annotated_video, path: a_file/sub/cam.mp4}]"), 1,
         ("stream cam: annotated_video sink a_file/sub/cam.mp4: cannot write to folder a_file/sub: "
          "a_file is a file, not a folder")),
        # ... behind a good sink: checked before any sink opens, so out/ is not even created
        (pipeline("{type: video, path: clip.mp4}", sinks="[{type: jsonl, path: out/cam.jsonl}, "
                  "{type: cdnet, dir: out/res}, {type: mask_video, path: a_file/m.mp4}]"), 1,
         "mask_video sink a_file/m.mp4: cannot write to folder a_file: a_file is a file"),
        # an output file path that is a folder
        (pipeline("{type: video, path: clip.mp4}", sinks="[{type: jsonl, path: out/cam.jsonl}, "
                  "{type: jsonl, path: cd}]"), 1,
         "jsonl sink cd: cd is a folder; give the path of a file to write"),
        # a background picture that is missing: found before any output is opened
        (pipeline("{type: video, path: clip.mp4}").replace(
            "{frames: 3, stride: 1}", "{init: image, image: empty.png}"), 1,
         "background.image: empty.png does not exist"),
        # a video with no decodable frame at all fails at once
        (pipeline("{type: video, path: a_file}"), 1, "cannot open video a_file"),
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


@pytest.fixture
def read_only_dir(inputs) -> Path:
    """A folder this process cannot write in: mode 0555, or for root (who ignores modes) /sys."""
    if os.geteuid() != 0:
        locked = inputs / "locked"
        locked.mkdir(mode=0o555)
        return locked
    try:
        with tempfile.TemporaryFile(dir="/sys"):
            pass
    except OSError:
        return Path("/sys")
    pytest.skip("running as root and /sys is writable: no read-only folder to test with")


def test_read_only_output_folder(inputs, read_only_dir, capsys):
    before = sorted(read_only_dir.iterdir())
    sinks = f"[{{type: jsonl, path: out/cam.jsonl}}, {{type: cdnet, dir: {read_only_dir}/res}}]"
    (inputs / "pipeline.yaml").write_text(pipeline("{type: video, path: clip.mp4}", sinks))
    assert main(["--log-level", "ERROR", "run", "--quiet", "pipeline.yaml"]) == 1
    err = capsys.readouterr().err
    assert one_error(err)
    assert f"cdnet sink: cannot write to folder {read_only_dir}/res: Permission denied" in err
    assert not (inputs / "out").exists() and sorted(read_only_dir.iterdir()) == before


TRUNCATED = 40  # frames of the clip that is cut


@pytest.mark.parametrize("background", [3, 100])  # 100: the median is still collecting
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("cut.mkv", None),  # declares its duration
        ("cut.mp4", {"movflags": "faststart"}),  # index first: declares its frame count
    ],
)
def test_truncated_video_writes_what_decodes_then_fails(
    tmp_path, monkeypatch, capsys, name, options, background
):
    """The frames before the cut are processed and written (valid files), then one error names
    the file and the last frame read, and the run exits 1: a cut file is not a success."""
    monkeypatch.chdir(tmp_path)
    frames, _ = square_frames(TRUNCATED)
    full = write_clip(tmp_path / f"full{Path(name).suffix}", frames, options=options)
    data = full.read_bytes()
    (tmp_path / name).write_bytes(data[: int(len(data) * 0.6)])
    sinks = "[{type: jsonl, path: out/cam.jsonl}, {type: mask_video, path: out/cam.mp4}]"
    (tmp_path / "pipeline.yaml").write_text(
        pipeline(f"{{type: video, path: {name}}}", sinks).replace(
            "frames: 3", f"frames: {background}"))
    assert main(["--log-level", "ERROR", "run", "--quiet", "pipeline.yaml"]) == 1
    err = capsys.readouterr().err
    assert one_error(err)
    found = re.search(rf"error: stream cam: {name}: decoding stopped after frame (\d+)", err)
    assert found, err
    assert "the file is truncated or damaged" in err
    read = int(found.group(1))
    assert 0 < read < TRUNCATED
    lines = [json.loads(x) for x in (tmp_path / "out" / "cam.jsonl").read_text().splitlines()]
    assert [x["frame"] for x in lines] == list(range(1, read + 1))
    with av.open(str(tmp_path / "out" / "cam.mp4")) as container:  # finished, not partial
        assert sum(1 for _ in container.decode(video=0)) == read


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # every file corrupt and skipped: once this ended as a success with 0 frames
        ("{type: images, pattern: bad/*.png}", "no frame could be read (1 corrupt, skipped)"),
        ("{type: cdnet, path: cd, on_corrupt: skip, temporal_roi_only: true}",
         "no frame could be read (16 corrupt, skipped)"),
    ],
)
def test_a_source_without_a_single_good_frame_fails(inputs, capsys, source, message):
    if "cdnet" in source:  # spoil every frame the temporal ROI (5..20) reads
        for i in range(5, N + 1):
            (inputs / "cd" / "input" / f"in{i:06d}.jpg").write_bytes(b"\xff\xd8 cut")
    (inputs / "pipeline.yaml").write_text(pipeline(source))
    assert main(["--log-level", "ERROR", "run", "--quiet", "pipeline.yaml"]) == 1
    err = capsys.readouterr().err
    assert one_error(err) and f"error: stream cam: {message}" in err


def test_a_stream_without_sinks_runs_and_says_so(inputs, caplog):
    # Legal (a throughput or metrics-only run), but the results go nowhere: say it once.
    (inputs / "pipeline.yaml").write_text(pipeline("{type: video, path: clip.mp4}", sinks="[]"))
    assert main(["run", "--quiet", "pipeline.yaml"]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["stream cam has no sinks: its masks are computed but not kept"]
