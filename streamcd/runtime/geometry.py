"""Frame size <-> model input size: sides rounded to the encoder's multiple, distance back to frame size."""

from __future__ import annotations

import cv2
import numpy as np


def model_input_size(size: tuple[int, int], multiple: int) -> tuple[int, int]:
    """(w, h) rounded to the nearest multiple (at least one multiple)."""
    w, h = size
    return max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple)


def to_model_input(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 -> resized (if needed) contiguous image of ``size`` (w, h)."""
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


def to_frame_size(distance: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Distance map (h', w') float32 -> (h, w) of the frame, bilinear."""
    return cv2.resize(distance, size, interpolation=cv2.INTER_LINEAR)
