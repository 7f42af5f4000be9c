"""Mask and annotated H.264 sinks: written, then decoded back with PyAV."""

from __future__ import annotations

import struct
from fractions import Fraction

import av
import numpy as np
import pytest

from streamcd.config import AnnotatedVideoSinkConfig, MaskVideoSinkConfig
from streamcd.errors import SinkError
from streamcd.sinks import AnnotatedVideoSink, H264Writer, MaskVideoSink

KINDS = [
    (MaskVideoSink, MaskVideoSinkConfig),
    (AnnotatedVideoSink, AnnotatedVideoSinkConfig),
]


def decode(path, format="gray"):
    """(stream facts, list of decoded frames as arrays) of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.width, stream.height),
            "rate": stream.average_rate,
        }
        frames = [f.to_ndarray(format=format) for f in container.decode(stream)]
    return facts, frames


def top_level_atoms(path):
    """[(type, offset)] of the MP4's top-level boxes."""
    data, pos, atoms = path.read_bytes(), 0, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        atoms.append((kind, pos))
        pos += size
    return atoms


@pytest.mark.parametrize(("sink_cls", "config_cls"), KINDS)
@pytest.mark.parametrize(
    ("size", "coded"),
    [((160, 120), (160, 120)), ((161, 121), (162, 122))],  # odd sizes padded to even
)
def test_h264_faststart_exact_frames(
    tmp_path, results, sink_cls, config_cls, size, coded
):
    path = tmp_path / "out" / "video.mp4"
    written = results(12, size=size)
    with sink_cls(config_cls(path=path), fps=30.0) as sink:
        for r in written:
            sink.write(r)
        assert not path.exists()  # nothing under the final name before close()
    assert path.exists() and [p.name for p in path.parent.iterdir()] == ["video.mp4"]
    facts, frames = decode(path)
    assert facts == {"codec": "h264", "pix_fmt": "yuv420p", "size": coded, "rate": 30}
    assert len(frames) == len(written)
    atoms = dict(top_level_atoms(path))
    assert atoms[b"moov"] < atoms[b"mdat"]  # +faststart: the index comes first


@pytest.mark.parametrize("size", [(160, 120), (161, 121)])
def test_mask_video_decodes_to_the_masks(tmp_path, results, size):
    path = tmp_path / "mask.mp4"
    written = results(10, size=size)
    with MaskVideoSink(MaskVideoSinkConfig(path=path), fps=None) as sink:
        for r in written:
            sink.write(r)
    _, frames = decode(path)
    for r, gray in zip(written, frames):
        got = gray[: size[1], : size[0]] >= 128
        truth = r.mask > 0
        iou = (got & truth).sum() / (got | truth).sum()
        assert iou > 0.95


def test_annotated_video_tints_the_foreground(tmp_path, results):
    path = tmp_path / "annotated.mp4"
    written = results(6)
    with AnnotatedVideoSink(
        AnnotatedVideoSinkConfig(path=path, alpha=0.5, draw="boxes")
    ) as sink:
        for r in written:
            sink.write(r)
    _, frames = decode(path, format="bgr24")
    for r, bgr in zip(written, frames):
        inside = r.mask > 0
        # square is (40, 220, 250) BGR; a 50% red tint takes its green to ~110
        green_drop = r.frame.image[inside][:, 1].mean() - bgr[inside][:, 1].mean()
        assert green_drop > 80
        far = np.ones_like(inside)  # away from the square, the box and the label
        far[:20] = False
        box = r.boxes[0]
        far[box.y - 4 : box.y + box.h + 4, box.x - 4 : box.x + box.w + 4] = False
        diff = np.abs(bgr[far].astype(int) - r.frame.image[far]).mean()
        assert diff < 6


@pytest.mark.parametrize(
    ("config_fps", "source_fps", "rate"),
    [
        (None, None, 25),  # nothing known: 25
        (None, 12.5, Fraction(25, 2)),  # the source's rate
        (10.0, 30.0, 10),  # config wins
        (None, 30000 / 1001, Fraction(30000, 1001)),  # NTSC kept exact
    ],
)
def test_frame_rate(tmp_path, results, config_fps, source_fps, rate):
    path = tmp_path / "m.mp4"
    with MaskVideoSink(
        MaskVideoSinkConfig(path=path, fps=config_fps), fps=source_fps
    ) as sink:
        for r in results(3):
            sink.write(r)
    facts, frames = decode(path)
    assert facts["rate"] == rate and len(frames) == 3


@pytest.mark.parametrize(("sink_cls", "config_cls"), KINDS)
def test_interrupted_run_still_gives_a_playable_video(
    tmp_path, results, sink_cls, config_cls
):
    path = tmp_path / "v.mp4"
    with (
        pytest.raises(KeyboardInterrupt),
        sink_cls(config_cls(path=path), fps=25.0) as sink,
    ):
        for r in results(5):
            sink.write(r)
        raise KeyboardInterrupt  # Ctrl-C mid-stream: `with` still closes the sink
    facts, frames = decode(path)
    assert len(frames) == 5 and facts["codec"] == "h264"


def test_close_is_idempotent_and_no_frames_means_no_file(tmp_path, results):
    path = tmp_path / "v.mp4"
    sink = MaskVideoSink(MaskVideoSinkConfig(path=path))
    sink.close()
    sink.close()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SinkError, match="closed"):
        sink.write(results(1)[0])


def test_writer_resizes_later_frames_of_another_size(tmp_path):
    path = tmp_path / "w.mp4"
    with H264Writer(path, fps=25) as writer:
        writer.write(np.zeros((64, 96, 3), np.uint8))
        writer.write(np.full((32, 48, 3), 255, np.uint8))
        writer.write(np.zeros((64, 96), np.uint8))  # gray is fine too
    facts, frames = decode(path)
    assert facts["size"] == (96, 64) and len(frames) == 3
    assert frames[1].mean() > 200
