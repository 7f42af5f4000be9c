"""Training pairs: (reference background, query frame, label) from CDnet and UCSD folders.

Labels: 1 changed, 0 unchanged (CDnet static 0 and shadow 50), 255 ignored (CDnet 85 outside
ROI, 170 unknown motion, and pixels outside ROI.bmp). References are made the way the background
manager makes them at run time (temporal median of the stream's first frames, or of the CDnet
frames before temporalROI), not hand-picked clean frames.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ..background.median import background_median
from ..cdnet_layout import VALIDATION_FRACTION, CdnetVideo, find_videos
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
    #: Other references of the same camera, KxHxW x3 (medians of other stretches of its frames).
    alternates: np.ndarray | None = None

    def subset(self, keep: np.ndarray) -> LabelledVideo:
        idx = np.flatnonzero(keep)
        return LabelledVideo(
            self.name, self.reference, self.frames[idx], self.labels[idx],
            tuple(self.numbers[i] for i in idx), self.alternates,
        )


def with_alternate_references(video: LabelledVideo, rng: np.random.Generator, count: int = 3,
                              frames: int = 15, method: str = "all") -> LabelledVideo:
    """``video`` with ``count`` more references: each the median (``method``) of ``frames`` frames,
    evenly spaced over a random stretch of the video's own frames. Training on them shows the
    model backgrounds with other noise, lighting and leftovers of objects than the one
    reference the run-time initialisation makes (one per video is few to generalise from)."""
    n = len(video.frames)
    if n < 2 * frames:
        return video
    alternates = []
    for _ in range(count):
        span = int(rng.integers(frames, n + 1))
        start = int(rng.integers(0, n - span + 1))
        picked = np.linspace(start, start + span - 1, frames).round().astype(int)
        alternates.append(background_median(video.frames[picked], method))
    return replace(video, alternates=np.stack(alternates))


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


def cdnet_reference_numbers(video: CdnetVideo, frames: int = 30) -> list[int]:
    """Up to ``frames`` frame numbers evenly spread before temporalROI (the "cdnet" init)."""
    last = video.first - 1
    if last < 1:
        raise DatasetError(f"{video.root}: no frames before temporalROI to build a reference from")
    return [int(n) for n in np.unique(np.linspace(1, last, min(frames, last)).round().astype(int))]


def cdnet_reference(video: CdnetVideo, frames: int = 30, method: str = "still") -> np.ndarray:
    """Median (``background.median`` ``method``) of the frames :func:`cdnet_reference_numbers` names."""
    numbers = cdnet_reference_numbers(video, frames)
    return background_median(np.stack([_read(video.input_path(n)) for n in numbers]), method)


def load_cdnet(video: CdnetVideo, first: int, last: int, step: int = 1,
               reference: np.ndarray | None = None) -> LabelledVideo:
    """Frames ``first..last`` (inclusive, every ``step``-th) of a CDnet video with labels.

    ``reference`` defaults to the median of the frames before temporalROI (init "cdnet").
    """
    return load_cdnet_frames(video, range(first, last + 1, step), reference)


def load_cdnet_frames(video: CdnetVideo, numbers: Iterable[int], reference: np.ndarray | None = None) -> LabelledVideo:
    """The given frame numbers of a CDnet video with labels (``reference`` as in load_cdnet)."""
    numbers = tuple(int(n) for n in numbers)
    frames = np.stack([_read(video.input_path(n)) for n in numbers])
    h, w = frames.shape[1:3]
    roi = video.roi_mask((w, h))
    labels = np.stack(
        [cdnet_labels(_read(video.groundtruth_path(n), cv2.IMREAD_GRAYSCALE), roi) for n in numbers]
    )
    if reference is None:
        reference = cdnet_reference(video)
    return LabelledVideo(video.key, reference, frames, labels, numbers)


def cdnet_train_val(
    dataset: Path, val_fraction: float = VALIDATION_FRACTION, step: int = 1,
    exclude: tuple[str, ...] = (), method: str = "still",
) -> tuple[list[LabelledVideo], list[LabelledVideo]]:
    """Training and validation frames of every CDnet video; the held-out test frames are never loaded.

    ``exclude``: video keys (``category/video``) left out entirely (leave-one-video-out).
    ``method``: how the reference median is made (``background.median``).
    """
    train, val = [], []
    for video in find_videos(dataset):
        if video.key in exclude:
            log.info("%s: left out of training", video.key)
            continue
        first, last = video.training_range()
        data = load_cdnet(video, first, last, step, reference=cdnet_reference(video, method=method))
        n = len(data.numbers)
        is_val = np.arange(n) >= n - max(1, int(n * val_fraction))
        train.append(data.subset(~is_val))
        val.append(data.subset(is_val))
        log.info("%s: %d training, %d validation frames", video.key, (~is_val).sum(), is_val.sum())
    return train, val


#: Frames between the last UCSD training frame and its held-out frames (the clips are short).
UCSD_GAP = 3


def load_ucsd(dataset: Path, median_frames: int = 30, stride: int = 2,
              exclude: tuple[str, ...] = (), method: str = "still") -> list[LabelledVideo]:
    """UCSD clips through the bench's CDnet-layout adapter, held-out frames left out.

    The held-out frames are the same as the bench scores (``CdnetVideo.heldout_range()`` of the
    converted clip, renumbered from 1), with a gap of UCSD_GAP frames. The clips have no warm-up
    frames, so the reference is the median (``method``) of the first ``median_frames`` frames
    taken every ``stride``-th, what the "median" background init computes at run time (labels
    are not used for it).
    """
    from ..bench.ucsd import ucsd_to_cdnet

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for video in find_videos(ucsd_to_cdnet(dataset, tmp)):
            if video.key in exclude:
                log.info("%s: left out of training", video.key)
                continue
            first, last = video.training_range(gap=UCSD_GAP)
            if last < first:
                continue
            data = load_cdnet(video, first, last, reference=stream_median(video, median_frames, stride, method))
            out.append(data)
    return out


def stream_median_numbers(video: CdnetVideo, frames: int = 30, stride: int = 2) -> list[int]:
    """The first ``frames`` frame numbers taken every ``stride``-th: the "median" init."""
    return list(range(1, min(video.count, (frames - 1) * stride + 1) + 1, stride))


def stream_median(video: CdnetVideo, frames: int = 30, stride: int = 2, method: str = "still") -> np.ndarray:
    """Median (``background.median`` ``method``) of the frames :func:`stream_median_numbers` names."""
    numbers = stream_median_numbers(video, frames, stride)
    return background_median(np.stack([_read(video.input_path(n)) for n in numbers]), method)
