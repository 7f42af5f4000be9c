"""Results built from the generated moving-square clip, for writing through real sinks."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.frames import Box, Frame, Result
from tests.conftest import square_frames


def make_results(n: int, size=(160, 120), first_number: int = 1, stream: str = "cam"):
    """``n`` Results whose masks are the square's true position (uint8 0/255), with its box."""
    frames, masks = square_frames(n, size=size)
    results = []
    for i, (image, truth) in enumerate(zip(frames, masks)):
        ys, xs = np.nonzero(truth)
        box = Box(
            int(xs.min()),
            int(ys.min()),
            int(np.ptp(xs)) + 1,
            int(np.ptp(ys)) + 1,
            int(truth.sum()),
        )
        frame = Frame(index=i, number=first_number + i, timestamp=i / 25, image=image)
        mask = truth.astype(np.uint8) * 255
        results.append(Result(frame, mask, (box,), float(truth.mean()), stream=stream))
    return results


@pytest.fixture
def results():
    """Factory: ``results(n, size=(w, h), first_number=1, stream="cam")``."""
    return make_results
