"""The pictures the live page shows for one stream: annotated frame, mask, reference background."""

from __future__ import annotations

from typing import Literal, get_args

import cv2
import numpy as np

from ..frames import Result
from ..sinks.annotate import annotate

View = Literal["annotated", "mask", "reference"]
VIEWS: tuple[str, ...] = get_args(View)
#: JPEG quality of the live view: ~15 kB for a 320x240 frame, artefacts hardly visible.
JPEG_QUALITY = 80


def render(view: View, result: Result, reference: np.ndarray | None) -> np.ndarray | None:
    """The BGR (or grey, for ``mask``) image of ``view``; None when it does not exist yet
    (``reference`` before the background manager is ready)."""
    if view == "annotated":
        frame = result.frame
        label = f"#{frame.number}  fg {result.foreground_fraction:.1%}"
        return annotate(frame.image, result.mask, result.boxes, label=label)
    if view == "mask":
        return result.mask
    if view == "reference":
        return reference
    raise ValueError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # only for shapes OpenCV cannot write, which render() never makes
        raise ValueError(f"cannot encode a {image.dtype} {image.shape} image as JPEG")
    return data.tobytes()
