"""Slow update: blend the background toward the current frame where nothing moves."""

from __future__ import annotations

import numpy as np


class SlowUpdate:
    """Running blend ``ref = (1 - rate) * ref + rate * image`` restricted to background pixels.

    The blend runs on a float32 copy of the reference: with a small rate the per-step change is
    often below one grey level, and blending the uint8 image itself would round it away forever.

    Example::

        update = SlowUpdate(reference, rate=0.05)
        reference = update.apply(image, mask)   # a new uint8 array
    """

    def __init__(self, reference: np.ndarray, rate: float):
        self.rate = rate
        self._acc = reference.astype(np.float32)

    def apply(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Blend ``image`` in where ``mask == 0``; returns the new reference as uint8."""
        background = mask == 0
        acc = self._acc[background]
        acc += self.rate * (image[background].astype(np.float32) - acc)
        self._acc[background] = acc
        return np.clip(np.rint(self._acc), 0, 255).astype(np.uint8)
