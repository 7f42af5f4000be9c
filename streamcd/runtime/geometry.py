"""Frame size <-> model input size: sides rounded to the encoder's multiple, distance back to frame size."""

from __future__ import annotations

import cv2
import numpy as np


def model_input_size(size: tuple[int, int], multiple: int, max_side: int | None = None) -> tuple[int, int]:
    """(w, h) rounded to the nearest multiple (at least one multiple); first scaled down, keeping
    the aspect ratio, so that the longer side is at most ``max_side`` when given."""
    w, h = size
    if max_side is not None and max(w, h) > max_side:
        scale = max_side / max(w, h)
        w, h = w * scale, h * scale
    return max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple)


def to_model_input(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 -> resized (if needed) contiguous image of ``size`` (w, h)."""
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


def to_frame_size(distance: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Distance map (h', w') float32 -> (h, w) of the frame, bilinear."""
    return cv2.resize(distance, size, interpolation=cv2.INTER_LINEAR)
