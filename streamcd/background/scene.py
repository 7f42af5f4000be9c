"""Global scene change: most of the frame turns foreground for a while (lights, camera moved)."""

from __future__ import annotations

import numpy as np


class SceneChangeDetector:
    """Fires when the foreground fraction stays above ``fraction`` for ``frames`` frames in a row.

    A single bright flash or a truck filling the view for a moment does not count; a light
    switched on or a camera knocked to a new view does, because it lasts.

    Example::

        scene = SceneChangeDetector(fraction=0.7, frames=10)
        if scene.update(mask):
            ...  # re-initialise the background
    """

    def __init__(self, fraction: float, frames: int):
        self.fraction = fraction
        self.frames = frames
        self._run = 0

    @property
    def run(self) -> int:
        """Consecutive frames above the fraction so far."""
        return self._run

    def update(self, mask: np.ndarray) -> bool:
        """Count one mask (nonzero = foreground); True when the change is confirmed (then resets)."""
        foreground = np.count_nonzero(mask) / max(mask.size, 1)
        self._run = self._run + 1 if foreground > self.fraction else 0
        if self._run >= self.frames:
            self._run = 0
            return True
        return False

    def reset(self) -> None:
        self._run = 0
