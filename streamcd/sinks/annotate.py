"""Draw a change mask onto a frame: tinted foreground, outlines, boxes and a status line."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..frames import Box

DRAW_CHOICES = ("contours", "boxes", "both")
TINT = (0, 0, 255)  # BGR red: foreground tint and outlines
BOX = (0, 255, 0)  # BGR green
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(
    image: np.ndarray,
    mask: np.ndarray,
    boxes: Sequence[Box] = (),
    *,
    draw: str = "both",
    alpha: float = 0.4,
    label: str = "",
    color: tuple[int, int, int] = TINT,
    box_color: tuple[int, int, int] = BOX,
) -> np.ndarray:
    """Return a copy of ``image`` (HxWx3 BGR uint8) with ``mask`` (HxW uint8, non-zero =
    foreground) tinted by ``alpha``, its outlines and/or ``boxes`` drawn (``draw``: contours,
    boxes or both) and ``label`` written top-left. The input is not modified::

        shown = annotate(frame.image, result.mask, result.boxes, label="#470  fg 3.2%")
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"image must be HxWx3 uint8 BGR, got {image.dtype} {image.shape}"
        )
    if mask.shape != image.shape[:2] or mask.dtype != np.uint8:
        raise ValueError(
            f"mask must be uint8 of the image's size {image.shape[:2]}, got {mask.dtype} {mask.shape}"
        )
    if draw not in DRAW_CHOICES:
        raise ValueError(f"draw must be one of {', '.join(DRAW_CHOICES)}, got {draw!r}")
    out = image.copy()
    height, width = mask.shape
    thickness = max(1, round(min(height, width) / 360))

    # Blend only the mask's bounding rectangle, then copy the blend through the mask in place:
    # far faster than numpy boolean indexing on a 1080p frame.
    x, y, w, h = cv2.boundingRect(mask)
    if alpha > 0 and w > 0 and h > 0:
        rows, cols = slice(y, y + h), slice(x, x + w)
        # cv2.merge of scalar planes: ~10x faster than np.full with a colour tuple.
        plane = cv2.merge([np.full((h, w), c, np.uint8) for c in color])
        tinted = cv2.addWeighted(image[rows, cols], 1.0 - alpha, plane, alpha, 0.0)
        cv2.copyTo(tinted, mask[rows, cols], out[rows, cols])

    if draw in ("contours", "both") and w > 0:
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, color, thickness)
    if draw in ("boxes", "both"):
        for b in boxes:
            cv2.rectangle(
                out, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), box_color, thickness
            )
    if label:
        _put_label(out, label)
    return out


def _put_label(image: np.ndarray, text: str) -> None:
    """White text on a black strip in the top-left corner, scaled to the frame height."""
    scale = max(0.35, image.shape[0] / 900)
    weight = 1 if scale < 1 else 2
    (tw, th), baseline = cv2.getTextSize(text, _FONT, scale, weight)
    pad = max(2, th // 3)
    cv2.rectangle(
        image, (0, 0), (tw + 2 * pad, th + baseline + 2 * pad), (0, 0, 0), cv2.FILLED
    )
    cv2.putText(
        image, text, (pad, pad + th), _FONT, scale, (255, 255, 255), weight, cv2.LINE_AA
    )
