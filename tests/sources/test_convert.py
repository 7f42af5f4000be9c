"""Decoded frames -> BGR: the OpenCV path for yuv420p agrees with FFmpeg's swscale."""

from __future__ import annotations

import av
import numpy as np
import pytest

from streamcd.sources.convert import to_bgr
from tests.conftest import square_frames


@pytest.mark.parametrize(("fmt", "size"), [("yuv420p", (160, 120)), ("yuv420p", (161, 121)),
                                           ("yuvj420p", (160, 120)), ("rgb24", (160, 120))])
def test_to_bgr_matches_swscale(fmt, size):
    image = square_frames(1, size=size)[0][0]
    frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=fmt)
    got = to_bgr(frame)
    expected = frame.to_ndarray(format="bgr24")
    assert got.shape == (size[1], size[0], 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - expected).max() <= 4
    # and both stay close to the picture that was encoded (chroma subsampling blurs edges)
    assert np.abs(got.astype(int) - image).mean() < 3
