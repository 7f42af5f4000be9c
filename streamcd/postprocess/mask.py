"""Threshold, clean up and measure a change-distance map, with OpenCV only (runs per frame)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..config import PostprocessConfig
from ..frames import Box


class MaskPostprocessor:
    """Turns a model's HxW float32 distance map into a 0/255 mask, its blobs' boxes and fraction.

    Steps: foreground iff ``distance > threshold``, grown into the pixels above ``hysteresis`` x
    threshold connected to it (from blobs of at least the minimum area); morphological opening
    then closing with elliptical kernels (``open_px`` / ``close_px`` wide, 0 = off); holes
    (background enclosed by foreground, not reaching the frame's edge) filled (``fill_holes``);
    connected components (8-way) smaller than ``min_area`` pixels or than ``min_area_fraction``
    of the frame removed. Boxes come in OpenCV label order (raster order of each blob's first
    pixel)::

        post = MaskPostprocessor(PostprocessConfig(open_px=3, min_area=50), default_threshold=0.5)
        mask, boxes, fraction = post(distance)
    """

    def __init__(self, config: PostprocessConfig, default_threshold: float) -> None:
        self.config = config
        self.threshold = float(
            config.threshold if config.threshold is not None else default_threshold
        )
        self._open = _ellipse(config.open_px)
        self._close = _ellipse(config.close_px)

    def __call__(
        self, distance: np.ndarray
    ) -> tuple[np.ndarray, tuple[Box, ...], float]:
        """Return (mask uint8 0/255 HxW, boxes of the kept blobs, foreground fraction 0..1)."""
        if distance.ndim != 2:
            raise ValueError(
                f"distance must be a 2-D HxW map, got shape {distance.shape}"
            )
        if distance.dtype != np.float32:
            distance = distance.astype(np.float32)
        mask = cv2.compare(distance, self.threshold, cv2.CMP_GT)
        if self.config.hysteresis < 1:
            mask = self._grow(distance, mask)
        if self._open is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        if self._close is not None:
            # OpenCV's default border counts outside pixels as foreground when eroding, so a
            # plain closing grows blobs out to a nearby image edge; close inside a zero frame.
            pad = self._close.shape[0] // 2 + 1
            padded = cv2.copyMakeBorder(
                mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0
            )
            closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, self._close)
            mask = np.ascontiguousarray(closed[pad:-pad, pad:-pad])

        if self.config.fill_holes:
            mask = fill_holes(mask)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]  # label 0 is the background
        keep = areas >= self.min_area(mask.size)
        if not keep.all():
            # One table lookup over the label image instead of one pass per removed blob.
            lut = np.zeros(count, np.uint8)
            lut[1:][keep] = 255
            mask = np.take(lut, labels)
        boxes = tuple(
            Box(int(x), int(y), int(w), int(h), int(a))
            for x, y, w, h, a in stats[1:][keep]
        )
        return mask, boxes, cv2.countNonZero(mask) / mask.size

    def _grow(self, distance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The regions above ``hysteresis`` x threshold (8-connected) that hold a blob of
        ``mask`` at least ``min_area`` large; smaller blobs neither grow nor stay (they would be
        removed anyway, and grown they could take a whole moving background with them)."""
        weak = cv2.compare(distance, self.config.hysteresis * self.threshold, cv2.CMP_GT)
        count, labels = cv2.connectedComponents(weak, connectivity=8)
        if count <= 1:  # nothing above even the lower threshold
            return weak
        # areas by counting labels (the stats' boxes and centroids cost 8x the labelling here),
        # at the blobs' pixels only: a few percent of the frame
        blobs, blob_labels = cv2.connectedComponents(mask, connectivity=8)
        strong = np.flatnonzero(mask)
        blob_of, region_of = blob_labels.ravel()[strong], labels.ravel()[strong]
        large = np.bincount(blob_of, minlength=blobs) >= self.min_area(mask.size)
        keep = np.zeros(count, np.uint8)  # a blob's pixels are above the threshold: never label 0
        keep[region_of[large[blob_of]]] = 255
        return np.take(keep, labels)

    def min_area(self, pixels: int) -> int:
        """The smallest blob kept in a frame of ``pixels`` pixels."""
        share = round(self.config.min_area_fraction * pixels, 6)  # 0.001 * 1000 is not 1.0 exactly
        return max(self.config.min_area, math.ceil(share))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` (uint8 0/255) with every background region that does not reach the frame's
    edge (4-connected) turned to 255: the inside of an object that looks like what it covers
    (a plain shirt on a plain wall) is missed by the comparison but enclosed by its outline."""
    # one flood from a ring around the frame marks the background that reaches the edge (128);
    # whatever is neither that nor foreground is a hole
    reach = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(reach, None, (0, 0), 128)
    return cv2.compare(reach[1:-1, 1:-1], 128, cv2.CMP_NE)


def _ellipse(size: int) -> np.ndarray | None:
    if size <= 1:  # a 1-pixel kernel changes nothing
        return None
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
