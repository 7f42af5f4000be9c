"""Mean of a stream's last few distance maps, the earlier ones capped by the newest: flicker
(waves, rain, sensor noise) that is there in one frame only averages down, an object that is
there frame after frame does not, and nothing trails behind an object that moved on."""

from __future__ import annotations

from collections import deque

import numpy as np


class TemporalMean:
    """The mean of the distance maps of the last ``frames`` frames, this one included, where
    each earlier map counts at most as much as this one: per pixel
    ``mean(d_t, min(d_t, d_t-1), ..., min(d_t, d_t-frames+1))``.

    An earlier frame can only lower a pixel, never raise it: a one-frame sparkle is averaged
    down, a place an object has just left gets no trail (a plain mean would keep half of the
    object there). ``frames`` 1 returns each map unchanged. The history restarts when the map
    size changes (a new resolution) and at ``reset()``; until it holds ``frames - 1`` maps, the
    mean is over those it has. Example::

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
                total += np.minimum(previous, distance)
            mean = total * np.float32(1.0 / (len(self._recent) + 1))
        else:
            mean = distance
        self._recent.append(distance)
        return mean

    def reset(self) -> None:
        self._recent.clear()
