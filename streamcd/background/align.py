"""Camera shake: how far a frame is shifted against a reference picture, and shifting it back.

A shaking camera (wind on a pole, traffic on a bridge) moves the whole view by a few pixels.
The feature bank compares positions, so every edge of the scene turns into change. The shift is
found by phase correlation of the grey levels and taken off the frame before it is encoded; the
change map is shifted back onto the frame. A shift is taken only when it makes at least three
quarters of the view look more like the reference (an object moving in front of a still camera,
or one the reference holds, can pull the correlation's peak; it lies in one or two quarters),
and not when it is under one cell of the bank's grid: a still camera measures up to half a cell
of noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Shift:
    """How far (dx, dy) a frame is moved against the reference, in the frame's pixels."""

    dx: float = 0.0
    dy: float = 0.0

    def __bool__(self) -> bool:
        return self.dx != 0.0 or self.dy != 0.0

    def __neg__(self) -> Shift:
        return Shift(-self.dx, -self.dy)

    def scaled(self, factor: float) -> Shift:
        return Shift(self.dx * factor, self.dy * factor)


class ShiftFinder:
    """Finds a frame's shift against one reference picture (BGR uint8), at the reference's size."""

    def __init__(self, reference: np.ndarray, min_shift: float = 1.0):
        self.size = reference.shape[1], reference.shape[0]
        self._reference = _grey(reference)
        self._window = cv2.createHanningWindow(self.size, cv2.CV_32F)
        self.min_shift = min_shift

    def find(self, image: np.ndarray) -> Shift:
        """The shift of ``image`` (BGR uint8, any size) in its own pixels; Shift() when it is
        under ``min_shift`` reference pixels or taking it off does not bring three quarters of
        the frame closer to the reference."""
        small = image if (image.shape[1], image.shape[0]) == self.size else cv2.resize(
            image, self.size, interpolation=cv2.INTER_AREA)
        grey = _grey(small)
        (dx, dy), _ = cv2.phaseCorrelate(self._reference, grey, self._window)
        if dx * dx + dy * dy < self.min_shift ** 2:
            return Shift()
        margin = int(np.ceil(max(abs(dx), abs(dy))))  # what the shift uncovers is not compared
        if 4 * margin >= min(self.size):  # a quarter of the view is not shake (a moved camera
            return Shift()                # is a scene change: the bank is rebuilt)
        inside = slice(margin, -margin)
        before = _quarters(cv2.absdiff(grey, self._reference)[inside, inside])
        after = _quarters(cv2.absdiff(shifted(grey, Shift(-dx, -dy)), self._reference)[inside, inside])
        if (after < before).sum() < 3:  # the whole view moved, not one thing in it
            return Shift()
        return Shift(dx, dy).scaled(image.shape[1] / self.size[0])


def shifted(image: np.ndarray, shift: Shift) -> np.ndarray:
    """``image`` (any dtype OpenCV warps) moved by ``shift``; the uncovered border repeats the
    edge."""
    matrix = np.float32([[1, 0, shift.dx], [0, 1, shift.dy]])
    return cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def aligned(reference: np.ndarray, images: list[np.ndarray], min_shift: float) -> list[np.ndarray]:
    """``images`` (the reference's size) each shifted onto ``reference``: the frames a bank is
    made of, so that its samples of one place come from one place."""
    finder = ShiftFinder(reference, min_shift)
    out = []
    for image in images:
        shift = finder.find(image)
        out.append(shifted(image, -shift) if shift else image)
    return out


def _quarters(difference: np.ndarray) -> np.ndarray:
    """Mean of each quarter (2 x 2) of a difference image."""
    h, w = difference.shape[0] // 2, difference.shape[1] // 2
    return np.array([difference[:h, :w].mean(), difference[:h, w:].mean(),
                     difference[h:, :w].mean(), difference[h:, w:].mean()])


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
