"""Temporal median of a few frames: the usual way to get a clean background from a busy scene.

A pixel covered by a moving object in fewer than half of the frames gets its background value
(``temporal_median``). ``still_median`` does better when objects linger: per pixel it takes the
median of only the frames with the least motion around that pixel, so an object that moves
through a spot in most frames but not in all of them is still left out.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

#: Most bytes the frame stack of one median may hold. 30 frames of 1080p (187 MB) fit; bigger
#: requests keep fewer frames spread over the same time span (see MedianCollector).
MEDIAN_MEMORY_BYTES = 256 * 2**20
#: Bytes of one horizontal band of the stack partitioned at a time (bounds the temporary copy).
BAND_BYTES = 16 * 2**20


def _check_stack(stack: np.ndarray) -> None:
    if stack.ndim != 4 or stack.dtype != np.uint8 or stack.shape[0] == 0:
        raise ValueError(
            f"expected a non-empty (N, H, W, C) uint8 stack, got {stack.dtype} {stack.shape}"
        )


def temporal_median(stack: np.ndarray, band_bytes: int = BAND_BYTES) -> np.ndarray:
    """Per-pixel, per-channel median of an (N, H, W, C) uint8 stack, as (H, W, C) uint8.

    For an even N the two middle values are averaged, rounding half up. The work is done in
    bands of rows so that the temporary copy ``np.partition`` makes stays near ``band_bytes``.
    """
    _check_stack(stack)
    n, h = stack.shape[:2]
    lo, hi = (n - 1) // 2, n // 2
    row_bytes = n * stack[0, 0].nbytes
    rows = max(1, band_bytes // row_bytes)
    out = np.empty(stack.shape[1:], np.uint8)
    for r in range(0, h, rows):
        part = np.partition(stack[:, r : r + rows], (lo, hi), axis=0)
        out[r : r + rows] = (part[lo].astype(np.uint16) + part[hi] + 1) // 2
    return out


#: Per pixel, ``still_median`` keeps this share of the frames: those with the least motion.
STILL_KEEP = 0.5
#: Side of the box that spreads frame-to-frame motion over an object's flat inside, as a
#: share of the image's shorter side.
STILL_WINDOW = 0.1
#: Motion is measured on frames scaled down to this shorter side (it is blurred anyway).
STILL_WORK_SIDE = 240
#: Fewer frames than this: ``still_median`` is the plain median.
STILL_MIN_FRAMES = 4


def still_median(stack: np.ndarray, keep: float = STILL_KEEP, window: float = STILL_WINDOW,
                 band_bytes: int = BAND_BYTES) -> np.ndarray:
    """Per-pixel median of the ``keep`` share of the frames with the least local motion.

    Motion of frame k at a pixel is the larger grey-level change to its neighbours k-1 and k+1
    in the stack, averaged over a box ``window`` x the shorter image side wide (so the flat
    inside of a moving object counts as moving too). A pixel that a moving object covers in
    most frames gets its value from the frames where the object is elsewhere. Same input and
    output as :func:`temporal_median`; fewer than ``STILL_MIN_FRAMES`` frames give that median.
    """
    _check_stack(stack)
    n, h = stack.shape[:2]
    if n < STILL_MIN_FRAMES:
        return temporal_median(stack, band_bytes)
    count = max(1, round(keep * n))
    order = _stillest(stack, window, count)
    out = np.empty(stack.shape[1:], np.uint8)
    # A band holds the gathered frames and their gather index (one intp per frame and pixel).
    width, channels = stack.shape[2:]
    rows = max(1, band_bytes // (count * width * (channels + np.dtype(np.intp).itemsize)))
    for r in range(0, h, rows):
        index = order[:, r : r + rows, :, None].astype(np.intp)
        out[r : r + rows] = temporal_median(np.take_along_axis(stack[:, r : r + rows], index, axis=0))
    return out


def _stillest(stack: np.ndarray, window: float, count: int) -> np.ndarray:
    """(count, H, W) int16: per pixel, the indices of the ``count`` frames with least motion."""
    n, h, w = stack.shape[:3]
    scale = min(1.0, STILL_WORK_SIDE / min(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    grey = np.stack([
        cv2.resize(_grey(frame), size, interpolation=cv2.INTER_AREA) for frame in stack
    ]).astype(np.float32)
    change = np.abs(np.diff(grey, axis=0))
    motion = np.empty_like(grey)
    motion[0], motion[-1] = change[0], change[-1]
    np.maximum(change[:-1], change[1:], out=motion[1:-1])
    box = max(1, round(window * min(size))) | 1
    for k in range(n):
        motion[k] = cv2.blur(motion[k], (box, box))
    order = np.argsort(motion, axis=0, kind="stable")[:count].astype(np.int16)
    if scale < 1.0:
        order = np.stack([cv2.resize(o, (w, h), interpolation=cv2.INTER_NEAREST) for o in order])
    return order


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.shape[2] == 3 else frame[..., 0]


def background_median(stack: np.ndarray, method: str = "still") -> np.ndarray:
    """The reference a median initialisation makes: ``still`` (:func:`still_median`) or
    ``all`` (:func:`temporal_median` of every frame)."""
    if method == "still":
        return still_median(stack)
    if method == "all":
        return temporal_median(stack)
    raise ValueError(f"unknown median method {method!r}; use 'still' or 'all'")


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

    def __init__(self, frames: int, stride: int, memory_bytes: int = MEDIAN_MEMORY_BYTES,
                 method: str = "still"):
        if frames < 1 or stride < 1:
            raise ValueError(f"frames and stride must be >= 1, got {frames}, {stride}")
        self.method = method
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
        """Median of the frames held (all of them, or fewer after a short stream), by
        ``method`` (:func:`background_median`)."""
        if self._stack is None or self._kept == 0:
            raise ValueError("no frame was collected for the background median")
        return background_median(self._stack[: self._kept], self.method)

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
