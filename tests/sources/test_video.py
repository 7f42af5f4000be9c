"""VideoSource on real H.264 clips written by PyAV: order, numbering, time, limits, damage."""

from __future__ import annotations

import os

import numpy as np
import pytest

from streamcd.errors import SourceError
from streamcd.sources import Source, VideoSource

from ..conftest import square_frames, write_clip


def test_reads_every_frame_in_order(square_clip):
    path, originals, _ = square_clip
    with VideoSource(path) as source:
        assert isinstance(source, Source) and not source.live
        assert source.fps == pytest.approx(25) and source.frame_count == 40
        frames = list(source)
    assert len(frames) == 40 == source.stats.frames
    assert [f.index for f in frames] == list(range(40))
    assert [f.number for f in frames] == list(range(1, 41))
    assert all(f.size == (160, 120) and f.image.dtype == np.uint8 for f in frames)
    times = np.array([f.timestamp for f in frames])
    assert np.all(np.diff(times) > 0)
    assert times == pytest.approx(np.arange(40) / 25, abs=1e-6)
    # BGR order and content: the decoded frames match what was encoded (lossy, so roughly).
    for frame, original in zip(frames, originals, strict=True):
        assert np.abs(frame.image.astype(int) - original).mean() < 6


@pytest.mark.parametrize(
    "max_frames, expected",
    [
        (None, 40),  # no limit: the whole clip
        (10, 10),  # stops early
        (100, 40),  # a limit past the end changes nothing
    ],
)
def test_max_frames(square_clip, max_frames, expected):
    with VideoSource(square_clip[0], max_frames=max_frames) as source:
        assert source.frame_count == expected
        assert [f.number for f in source] == list(range(1, expected + 1))


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),  # missing file
        (b"", "cannot open video"),  # empty file
        (os.urandom(4096), "cannot open video"),  # garbage bytes
    ],
    ids=["missing", "empty", "garbage"],
)
def test_unreadable_files_fail_at_open(tmp_path, content, message):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as info:
        VideoSource(path)
    assert str(path) in str(info.value)


FASTSTART = {"movflags": "faststart"}  # MP4 with its index first: playable when cut short


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        # Matroska declares its duration
        ("clip.mkv", None, r"after frame (\d+) \(at [\d.]+ s\), [\d.]+ s before the end it declares"),
        # MP4 declares its frame count; its last packet is cut short
        ("clip.mp4", FASTSTART, r"after frame (\d+) of the 40 it declares \(its last packet is incomplete\)"),
    ],
)
def test_truncated_file_yields_what_decodes_then_raises(tmp_path, name, options, expected):
    clip = write_clip(tmp_path / name, square_frames(40)[0], options=options)
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 6 // 10])
    decoded = []
    with VideoSource(clip) as source, pytest.raises(SourceError, match=expected) as info:
        decoded.extend(source)  # every frame that decodes comes before the error
    assert 0 < len(decoded) < 40
    assert [f.number for f in decoded] == list(range(1, len(decoded) + 1))
    message = str(info.value)
    assert message.startswith(f"{clip}: decoding stopped after frame {len(decoded)}")
    assert "the file is truncated or damaged" in message


def test_truncated_file_read_up_to_max_frames_is_complete(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", square_frames(40)[0], options=FASTSTART)
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size * 8 // 10])
    with VideoSource(clip, max_frames=5) as source:
        assert len(list(source)) == 5  # the cut lies beyond what was asked for


@pytest.mark.parametrize(
    ("name", "options"),
    [("clip.mkv", None), ("clip.ts", None), ("clip.mp4", FASTSTART)],
)
def test_complete_files_end_without_error(tmp_path, name, options):
    # The truncation checks must not fire on whole files of each container.
    clip = write_clip(tmp_path / name, square_frames(40)[0], options=options)
    with VideoSource(clip) as source:
        assert len(list(source)) == 40


def test_file_cut_before_its_first_frame_fails_at_open(tmp_path):
    frames, _ = square_frames(40)
    clip = write_clip(tmp_path / "clip.mp4", frames)  # MP4: the index (moov) is at the end
    clip.write_bytes(clip.read_bytes()[:2000])
    with pytest.raises(SourceError, match="clip.mp4"):
        VideoSource(clip)


def test_is_read_once(square_clip):
    with VideoSource(square_clip[0], max_frames=2) as source:
        list(source)
        with pytest.raises(SourceError, match="read once"):
            list(source)
