"""Global scene change: a run of mostly-foreground masks."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.background.scene import SceneChangeDetector


def mask_with(fraction: float) -> np.ndarray:
    mask = np.zeros(100, np.uint8)
    mask[: round(fraction * 100)] = 255
    return mask.reshape(10, 10)


@pytest.mark.parametrize(
    ("fractions", "frames", "fires_at"),
    [
        ([0.8, 0.8, 0.8], 3, [2]),  # three in a row
        ([0.8, 0.8, 0.1, 0.8, 0.8, 0.8], 3, [5]),  # a quiet frame restarts the count
        ([0.7] * 5, 2, []),  # at the threshold is not above it
        ([0.9] * 6, 3, [2, 5]),  # the count restarts after firing
        ([0.9], 1, [0]),
    ],
)
def test_scene_change_fires_after_consecutive_frames(fractions, frames, fires_at):
    scene = SceneChangeDetector(fraction=0.7, frames=frames)
    fired = [i for i, f in enumerate(fractions) if scene.update(mask_with(f))]
    assert fired == fires_at
