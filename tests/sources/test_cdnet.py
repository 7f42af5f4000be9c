"""CdnetSource on real CDnet highway frames: a 30-frame copy in tmp_path, and the real folder."""

from __future__ import annotations

import itertools
import logging
import shutil

import cv2
import pytest

from streamcd.errors import SourceError
from streamcd.sources import CORRUPT, CdnetSource, Source


@pytest.fixture
def small_highway(tmp_path, highway):
    """baseline/highway cut to its first 30 frames, with temporalROI ``11 25``."""
    root = tmp_path / "baseline" / "highway"
    (root / "input").mkdir(parents=True)
    for n in range(1, 31):
        name = f"in{n:06d}.jpg"
        shutil.copyfile(highway / "input" / name, root / "input" / name)
    (root / "temporalROI.txt").write_text("11 25\n")
    return root


def damage(path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes(
        {"garbage": b"not a jpeg" * 50, "cut": data[: len(data) // 2], "empty": b""}[how]
    )


def test_reads_all_frames_numbered_as_files(small_highway):
    with CdnetSource(small_highway) as source:
        assert isinstance(source, Source) and not source.live and source.fps == 25
        frames = list(source)
    assert [f.number for f in frames] == list(range(1, 31))
    assert [f.index for f in frames] == list(range(30))
    assert [f.timestamp for f in frames] == pytest.approx([(n - 1) / 25 for n in range(1, 31)])
    assert all(f.size == (320, 240) for f in frames)
    expected = cv2.imread(str(small_highway / "input" / "in000007.jpg"))
    assert (frames[6].image == expected).all()
    assert source.stats.frames == 30 and source.stats.corrupt == 0


def test_temporal_roi_only_keeps_file_numbers(small_highway):
    with CdnetSource(small_highway, temporal_roi_only=True) as source:
        assert source.frame_count == 15
        frames = list(source)
    assert [f.number for f in frames] == list(range(11, 26))
    assert [f.index for f in frames] == list(range(15))


@pytest.mark.parametrize("how", ["garbage", "cut", "empty"])
def test_corrupt_frame_is_skipped_counted_and_reported(small_highway, caplog, how):
    damage(small_highway / "input" / "in000005.jpg", how)
    events = []
    caplog.set_level(logging.WARNING, logger="streamcd.sources")
    with CdnetSource(small_highway, on_corrupt="skip", on_event=events.append) as source:
        numbers = [f.number for f in source]
    assert numbers == [n for n in range(1, 31) if n != 5]
    assert source.stats.corrupt == 1
    assert [e.kind for e in events] == [CORRUPT] and "in000005.jpg" in events[0].detail
    assert any("in000005.jpg" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("how", ["garbage", "cut"])
def test_corrupt_frame_stops_when_asked(small_highway, how):
    damage(small_highway / "input" / "in000005.jpg", how)
    seen = []
    source = CdnetSource(small_highway, on_corrupt="stop")
    with pytest.raises(SourceError, match="in000005.jpg"):
        seen.extend(f.number for f in source)
    assert seen == [1, 2, 3, 4]


def test_real_highway_folder(highway):
    with CdnetSource(highway, temporal_roi_only=True) as source:
        first = list(itertools.islice(source, 3))
    assert [f.number for f in first] == [470, 471, 472]
    assert first[0].size == (320, 240)


def test_not_a_cdnet_folder(tmp_path):
    with pytest.raises(SourceError, match="no input/ subfolder"):
        CdnetSource(tmp_path)
