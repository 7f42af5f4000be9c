"""Training pairs: (reference background, query frame, label) from CDnet and UCSD folders.

Labels: 1 changed, 0 unchanged (CDnet static 0 and shadow 50), 255 ignored (CDnet 85 outside
ROI, 170 unknown motion, and pixels outside ROI.bmp). References are made the way the background
manager makes them at run time (temporal median of the stream's first frames, or of the CDnet
frames before temporalROI), not hand-picked clean frames.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..background.median import temporal_median
from ..cdnet_layout import CdnetVideo, find_videos
from ..errors import DatasetError

log = logging.getLogger(__name__)

IGNORE = 255


@dataclass(frozen=True)
class LabelledVideo:
    """Frames of one video with their labels and the reference the model is paired with."""

    name: str
    reference: np.ndarray  # HxWx3 uint8
    frames: np.ndarray  # NxHxWx3 uint8
    labels: np.ndarray  # NxHxW uint8 (0, 1, IGNORE)
    numbers: tuple[int, ...]

    def subset(self, keep: np.ndarray) -> LabelledVideo:
        idx = np.flatnonzero(keep)
        return LabelledVideo(
            self.name, self.reference, self.frames[idx], self.labels[idx],
            tuple(self.numbers[i] for i in idx),
        )


def cdnet_labels(gt: np.ndarray, roi: np.ndarray) -> np.ndarray:
    """CDnet groundtruth values -> training labels (official scoring rules)."""
    label = np.full(gt.shape, IGNORE, np.uint8)
    label[(gt == 0) | (gt == 50)] = 0
    label[gt == 255] = 1
    label[~roi] = IGNORE
    return label


def _read(path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise DatasetError(f"{path}: missing or cannot be decoded")
    return img


def cdnet_reference(video: CdnetVideo, frames: int = 30) -> np.ndarray:
    """Temporal median of up to ``frames`` frames evenly spread before temporalROI."""
    last = video.first - 1
    if last < 1:
        raise DatasetError(f"{video.root}: no frames before temporalROI to build a reference from")
    numbers = np.unique(np.linspace(1, last, min(frames, last)).round().astype(int))
    return temporal_median(np.stack([_read(video.input_path(int(n))) for n in numbers]))


def load_cdnet(video: CdnetVideo, first: int, last: int, step: int = 1) -> LabelledVideo:
    """Frames ``first..last`` (inclusive, every ``step``-th) of a CDnet video with labels."""
    numbers = tuple(range(first, last + 1, step))
    frames = np.stack([_read(video.input_path(n)) for n in numbers])
    h, w = frames.shape[1:3]
    roi = video.roi_mask((w, h))
    labels = np.stack(
        [cdnet_labels(_read(video.groundtruth_path(n), cv2.IMREAD_GRAYSCALE), roi) for n in numbers]
    )
    return LabelledVideo(video.key, cdnet_reference(video), frames, labels, numbers)


def cdnet_train_val(
    dataset: Path, val_fraction: float = 0.15, step: int = 1, exclude: tuple[str, ...] = ()
) -> tuple[list[LabelledVideo], list[LabelledVideo]]:
    """Training and validation frames of every CDnet video; the held-out test frames are never loaded.

    ``exclude``: video keys (``category/video``) left out entirely (leave-one-video-out).
    """
    train, val = [], []
    for video in find_videos(dataset):
        if video.key in exclude:
            log.info("%s: left out of training", video.key)
            continue
        first, last = video.training_range()
        data = load_cdnet(video, first, last, step)
        n = len(data.numbers)
        is_val = np.arange(n) >= n - max(1, int(n * val_fraction))
        train.append(data.subset(~is_val))
        val.append(data.subset(is_val))
        log.info("%s: %d training, %d validation frames", video.key, (~is_val).sum(), is_val.sum())
    return train, val


_NUMBER = re.compile(r"(\d+)$")


def load_ucsd(dataset: Path, median_frames: int = 30, stride: int = 2) -> list[LabelledVideo]:
    """UCSD clips (``<name>_/<name>/in/frame_N.jpg`` + ``groundtruth/gtNNNN.png``), all frames.

    The clips have no warm-up frames, so the reference is the median of the first
    ``median_frames`` frames taken every ``stride``-th, as the "median" background init does.
    """
    out = []
    for clip in sorted(p for p in Path(dataset).glob("*_/*") if (p / "in").is_dir()):
        paths = sorted((clip / "in").glob("frame_*.jpg"), key=lambda p: int(_NUMBER.search(p.stem)[1]))
        numbers = tuple(int(_NUMBER.search(p.stem)[1]) for p in paths)
        frames = np.stack([_read(p) for p in paths])
        labels = []
        for n in numbers:
            gt = _read(clip / "groundtruth" / f"gt{n:04d}.png", cv2.IMREAD_GRAYSCALE)
            labels.append((gt > 127).astype(np.uint8))
        reference = temporal_median(frames[: median_frames * stride : stride])
        out.append(LabelledVideo(f"ucsd/{clip.name}", reference, frames, np.stack(labels), numbers))
    return out
