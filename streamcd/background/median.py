"""Temporal median of a few frames: the usual way to get a clean background from a busy scene.

A pixel covered by a moving object in fewer than half of the frames gets its background value.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

#: Most bytes the frame stack of one median may hold. 30 frames of 1080p (187 MB) fit; bigger
#: requests keep fewer frames spread over the same time span (see MedianCollector).
MEDIAN_MEMORY_BYTES = 256 * 2**20
#: Bytes of one horizontal band of the stack partitioned at a time (bounds the temporary copy).
BAND_BYTES = 16 * 2**20


def temporal_median(stack: np.ndarray, band_bytes: int = BAND_BYTES) -> np.ndarray:
    """Per-pixel, per-channel median of an (N, H, W, C) uint8 stack, as (H, W, C) uint8.

    For an even N the two middle values are averaged, rounding half up. The work is done in
    bands of rows so that the temporary copy ``np.partition`` makes stays near ``band_bytes``.
    """
    if stack.ndim != 4 or stack.dtype != np.uint8 or stack.shape[0] == 0:
        raise ValueError(
            f"expected a non-empty (N, H, W, C) uint8 stack, got {stack.dtype} {stack.shape}"
        )
    n, h = stack.shape[:2]
    lo, hi = (n - 1) // 2, n // 2
    row_bytes = n * stack[0, 0].nbytes
    rows = max(1, band_bytes // row_bytes)
    out = np.empty(stack.shape[1:], np.uint8)
    for r in range(0, h, rows):
        part = np.partition(stack[:, r : r + rows], (lo, hi), axis=0)
        out[r : r + rows] = (part[lo].astype(np.uint16) + part[hi] + 1) // 2
    return out


class MedianCollector:
    """Keeps every ``stride``-th offered frame until it holds ``frames``, then gives their median.

    The stack is allocated once, on the first frame. When ``frames`` frames of that size would
    exceed ``memory_bytes``, fewer are kept and the stride grows so that they still span (at
    most) the same stretch of the stream; a warning says so. A frame of another size restarts
    the collection with that size.

    Example::

        collector = MedianCollector(frames=30, stride=2)
        for image in images:
            if collector.offer(image):
                break
        background = collector.median()
    """

    def __init__(self, frames: int, stride: int, memory_bytes: int = MEDIAN_MEMORY_BYTES):
        if frames < 1 or stride < 1:
            raise ValueError(f"frames and stride must be >= 1, got {frames}, {stride}")
        self.frames = frames
        self.stride = stride
        self._requested = (frames, stride)
        self._memory_bytes = memory_bytes
        self._stack: np.ndarray | None = None
        self._offered = 0
        self._kept = 0

    @property
    def kept(self) -> int:
        """Frames held so far."""
        return self._kept

    @property
    def done(self) -> bool:
        return self._kept >= self.frames

    @property
    def wanted(self) -> int:
        """Frames still to offer before the median is complete (0 when done)."""
        if self.done:
            return 0
        return (self.frames - 1) * self.stride + 1 - self._offered

    def offer(self, image: np.ndarray) -> bool:
        """Offer the next stream frame; returns True once the collection is complete."""
        if self.done:
            return True
        if self._stack is None or self._stack.shape[1:] != image.shape:
            if self._stack is not None:
                log.warning(
                    "frame size changed from %dx%d to %dx%d during the background median;"
                    " starting the collection again",
                    self._stack.shape[2],
                    self._stack.shape[1],
                    image.shape[1],
                    image.shape[0],
                )
            self._allocate(image.shape)
        assert self._stack is not None
        if self._offered % self.stride == 0:
            self._stack[self._kept] = image
            self._kept += 1
        self._offered += 1
        return self.done

    def held(self) -> np.ndarray:
        """The frames held so far, (kept, H, W, C) uint8 (a view: do not modify)."""
        if self._stack is None:
            return np.empty((0, 0, 0, 3), np.uint8)
        return self._stack[: self._kept]

    def median(self) -> np.ndarray:
        """Median of the frames held (all of them, or fewer after a short stream)."""
        if self._stack is None or self._kept == 0:
            raise ValueError("no frame was collected for the background median")
        return temporal_median(self._stack[: self._kept])

    def _allocate(self, shape: tuple[int, ...]) -> None:
        frames, stride = self._requested
        frame_bytes = int(np.prod(shape))
        fit = max(1, self._memory_bytes // frame_bytes)
        if fit < frames:
            # Same time span, fewer samples: (fit - 1) * stride' <= (frames - 1) * stride.
            stride = max(1, ((frames - 1) * stride) // (fit - 1)) if fit > 1 else 1
            log.warning(
                "background median: %d frames of %dx%d need %d MiB, over the %d MiB "
                "budget; keeping %d frames every %d instead",
                frames,
                shape[1],
                shape[0],
                frames * frame_bytes >> 20,
                self._memory_bytes >> 20,
                fit,
                stride,
            )
            frames = fit
        self.frames, self.stride = frames, stride
        self._stack = np.empty((frames, *shape), np.uint8)
        self._offered = self._kept = 0
