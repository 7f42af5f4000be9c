"""Frame size <-> model input size: sides rounded to the encoder's multiple, distance back to frame size."""

from __future__ import annotations

import cv2
import numpy as np

#: The longer side under which frames are upscaled for the model by default (``min_side``): the
#: shipped networks learnt from 320- and 360-wide video, and find people and cars best at that
#: scale (a 160x120 camera upscaled: people +0.02 to +0.08 F, a shaking one -0.01 to -0.03).
TRAINING_SIDE = 320


def model_input_size(size: tuple[int, int], multiple: int, max_side: int | None = None,
                     min_side: int | None = None) -> tuple[int, int]:
    """(w, h) rounded to the nearest multiple (at least one multiple); first scaled, keeping the
    aspect ratio, so that the longer side is at most ``max_side`` and at least ``min_side``
    (each when given; ``max_side`` wins where they disagree)."""
    w, h = size
    longer = target = max(w, h)
    if min_side is not None:
        target = max(target, min_side)
    if max_side is not None:  # last: it wins
        target = min(target, max_side)
    if target != longer:
        scale = target / longer
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
