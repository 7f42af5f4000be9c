"""Initial references that do not come from the stream: a picture, or CDnet's warm-up frames."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from ..cdnet_layout import CdnetVideo
from ..errors import ConfigError, DatasetError
from .median import MedianCollector

log = logging.getLogger(__name__)


def load_image(path: Path) -> np.ndarray:
    """The picture at ``path`` as HxWx3 uint8 BGR; ConfigError when missing or unreadable."""
    if not path.is_file():
        raise ConfigError(
            f"background.image: {path} does not exist; give the path of a "
            "picture of the empty scene (PNG, JPEG, ...)"
        )
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ConfigError(
            f"background.image: {path} cannot be decoded as a picture; give a "
            "PNG or JPEG file of the empty scene"
        )
    return image


def cdnet_warmup(cdnet_dir: Path, frames: int, method: str = "still") -> MedianCollector | None:
    """Up to ``frames`` frames evenly sampled before the CDnet video's temporalROI, collected
    for their median (``collector.median()``, by ``method``; ``collector.held()`` gives the frames).

    Returns None when the temporalROI starts at frame 1 (no warm-up frames). Frames that
    cannot be decoded are skipped with a warning; DatasetError when none can be.
    """
    video = CdnetVideo.open(cdnet_dir)
    before = video.first - 1
    if before < 1:
        return None
    numbers = np.unique(np.linspace(1, before, num=min(frames, before)).round().astype(int))
    collector = MedianCollector(frames=len(numbers), stride=1, method=method)
    for number in numbers:
        path = video.input_path(int(number))
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            log.warning("%s: cannot be decoded, left out of the background median", path)
            continue
        if collector.offer(image):
            break
    if collector.kept == 0:
        raise DatasetError(
            f"{video.root}: none of the frames before temporalROI "
            f"({video.first}) could be decoded for the background median"
        )
    log.info("%s: background = median of %d frames in 1..%d", video.key, collector.kept, before)
    return collector
