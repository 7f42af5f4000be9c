"""ImagesSource: natural order, numbering, greyscale input, corrupt files, real UCSD frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.errors import SourceError
from streamcd.sources import CORRUPT, ImagesSource
from streamcd.sources.images import frame_numbers, natural_key


def write_sequence(folder, names, size=(32, 24)):
    """One PNG per name, filled with a distinct grey level (10 * position) to check order."""
    w, h = size
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((h, w, 3), 10 * (i + 1), np.uint8))


@pytest.mark.parametrize(
    "names, expected",
    [
        (["frame_1", "frame_2", "frame_10"], [1, 2, 10]),  # trailing numbers kept
        (["rain_75", "rain_76", "rain_88"], [75, 76, 88]),  # not from 1 (UCSD rain)
        (["a", "b", "c"], [1, 2, 3]),  # no numbers: positions
        (["x_3", "y_1"], [1, 2]),  # numbers not increasing in sort order: positions
        (["frame_1", "frame_1b"], [1, 2]),  # not every name ends in a number: positions
    ],
)
def test_frame_numbers(names, expected):
    assert frame_numbers([f"/data/{n}.png" for n in names]) == expected


def test_natural_key_orders_numbers_by_value():
    names = ["f_10.png", "f_2.png", "f_1.png", "g_1.png"]
    assert sorted(names, key=natural_key) == ["f_1.png", "f_2.png", "f_10.png", "g_1.png"]


def test_natural_order_and_numbers(tmp_path):
    names = [f"frame_{n}.png" for n in range(1, 13)]  # as text, frame_10 < frame_2
    write_sequence(tmp_path, names)
    with ImagesSource(str(tmp_path / "frame_*.png"), fps=10) as source:
        assert source.frame_count == 12
        frames = list(source)
    assert [f.number for f in frames] == list(range(1, 13))
    assert [int(f.image[0, 0, 0]) for f in frames] == [10 * n for n in range(1, 13)]
    assert [f.timestamp for f in frames] == pytest.approx([i / 10 for i in range(12)])
    assert source.fps == 10 and source.stats.frames == 12


def test_greyscale_becomes_bgr(tmp_path):
    grey = np.tile(np.arange(64, dtype=np.uint8), (48, 1))
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    with ImagesSource(str(tmp_path / "*.png")) as source:
        (frame,) = list(source)
    assert frame.image.shape == (48, 64, 3) and frame.number == 1
    assert all((frame.image[..., c] == grey).all() for c in range(3))


def test_real_ucsd_rain_numbered_from_75(shared_data):
    pattern = str(shared_data / "ucsd" / "rain_" / "rain" / "in" / "frame_*.jpg")
    with ImagesSource(pattern) as source:
        frames = list(source)
    assert [f.number for f in frames] == list(range(75, 89))
    assert all(f.size == (308, 228) and f.image.shape[2] == 3 for f in frames)


@pytest.mark.parametrize("on_corrupt", ["skip", "stop"])
def test_corrupt_image(tmp_path, on_corrupt):
    write_sequence(tmp_path, [f"f_{n}.png" for n in range(1, 6)])
    (tmp_path / "f_3.png").write_bytes(b"\x89PNG broken")
    events = []
    source = ImagesSource(str(tmp_path / "*.png"), on_corrupt=on_corrupt, on_event=events.append)
    seen = []
    if on_corrupt == "skip":
        seen = [f.number for f in source]
        assert seen == [1, 2, 4, 5] and source.stats.corrupt == 1
        assert [e.kind for e in events] == [CORRUPT] and "f_3.png" in events[0].detail
    else:
        with pytest.raises(SourceError, match="f_3.png"):
            seen.extend(f.number for f in source)
        assert seen == [1, 2]


def test_no_match_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="no files match"):
        ImagesSource(str(tmp_path / "*.png"))
