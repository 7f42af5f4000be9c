"""Mean of a stream's last few distance maps: flicker (waves, rain, sensor noise) averages out,
an object that is there frame after frame does not."""

from __future__ import annotations

from collections import deque

import numpy as np


class TemporalMean:
    """The mean of the distance maps of the last ``frames`` frames, this one included.

    ``frames`` 1 returns each map unchanged. The history restarts when the map size changes
    (a new resolution) and at ``reset()``; until it holds ``frames - 1`` maps, the mean is over
    those it has. Example::

        smooth = TemporalMean(2)
        for distance in maps:
            mask = smooth(distance) > threshold
    """

    def __init__(self, frames: int) -> None:
        if frames < 1:
            raise ValueError(f"temporal mean needs frames >= 1, got {frames}")
        self.frames = frames
        self._recent: deque[np.ndarray] = deque(maxlen=max(frames - 1, 1))

    def __call__(self, distance: np.ndarray) -> np.ndarray:
        if self.frames == 1:
            return distance
        if self._recent and self._recent[-1].shape != distance.shape:
            self._recent.clear()
        if self._recent:
            total = distance.astype(np.float32, copy=True)
            for previous in self._recent:
                total += previous
            mean = total * np.float32(1.0 / (len(self._recent) + 1))
        else:
            mean = distance
        self._recent.append(distance)
        return mean

    def reset(self) -> None:
        self._recent.clear()
