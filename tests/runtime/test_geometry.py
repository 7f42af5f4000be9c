"""Frame size <-> model input size."""

from __future__ import annotations

import pytest

from streamcd.runtime.geometry import model_input_size


@pytest.mark.parametrize(("size", "max_side", "expected"), [
    ((320, 240), None, (320, 240)),
    ((321, 243), None, (320, 240)),  # rounded to the multiple
    ((4, 4), None, (8, 8)),  # at least one multiple
    ((640, 480), 320, (320, 240)),
    ((1920, 1080), 640, (640, 360)),
    ((480, 640), 320, (240, 320)),  # portrait: the longer side is the height
    ((320, 240), 320, (320, 240)),  # not larger: unchanged
    ((200, 100), 320, (200, 96)),  # smaller frames are never upscaled (96: 12.5 rounds to even)
])
def test_model_input_size(size, max_side, expected):
    assert model_input_size(size, 8, max_side) == expected


@pytest.mark.parametrize(("size", "max_side", "min_side", "expected"), [
    ((160, 120), None, 320, (320, 240)),  # a small camera seen at the networks' scale
    ((120, 160), None, 320, (240, 320)),  # portrait: the longer side is the height
    ((200, 136), None, 320, (320, 216)),  # 217.6 rounds to the multiple
    ((320, 240), None, 320, (320, 240)),  # not smaller: unchanged
    ((640, 480), None, 320, (640, 480)),  # larger frames are never downscaled by min_side
    ((1920, 1080), 640, 320, (640, 360)),  # max_side downscales as before
    ((160, 120), 240, 320, (240, 176)),  # max_side below min_side: max_side wins (180: 22.5 multiples, to even)
    ((160, 120), None, None, (160, 120)),  # min_side off
])
def test_min_side_upscales_small_frames_and_max_side_wins(size, max_side, min_side, expected):
    assert model_input_size(size, 8, max_side, min_side) == expected
