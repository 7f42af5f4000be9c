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
