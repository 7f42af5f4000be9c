"""The model's precision-recall curve over distance thresholds, on validation frames only.

For each video, frames are sampled from ``CdnetVideo.training_range()`` (the labelled frames
before the held-out test frames, with a gap): the test frames are never looked at, so the
threshold chosen here does not peek at the scores. The curve is of the raw ``distance >
threshold`` decision (no morphology), pixels pooled over all sampled frames of all videos, with
the CDnet rules (ROI, 85/170 ignored, 50 negative). Usage::

    curve = model_pr_curve(videos, OnnxChangeModel.load(None))
    print(curve.best, curve.at(model.threshold))
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..cdnet_layout import CdnetVideo
from .evaluate import read_groundtruth
from .scoring import GT_MOTION, GT_OUTSIDE_ROI, GT_UNKNOWN
from .thresholds import ThresholdCounts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrPoint:
    threshold: float
    precision: float
    recall: float
    f_measure: float


@dataclass(frozen=True)
class PrCurve:
    """Precision and recall for each threshold (ascending), and which frames they came from."""

    thresholds: tuple[float, ...]
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    card_threshold: float
    frames: dict[str, tuple[int, ...]]  # video key -> frame numbers used

    @property
    def f_measure(self) -> tuple[float, ...]:
        return tuple(_f(p, r) for p, r in zip(self.precision, self.recall))

    def at(self, threshold: float) -> PrPoint:
        """The point of the grid threshold nearest to ``threshold``."""
        i = int(np.argmin(np.abs(np.asarray(self.thresholds) - threshold)))
        return PrPoint(self.thresholds[i], self.precision[i], self.recall[i], self.f_measure[i])

    @property
    def best(self) -> PrPoint:
        """The threshold with the highest F on these validation frames."""
        f = np.nan_to_num(np.asarray(self.f_measure), nan=-1.0)
        return self.at(self.thresholds[int(np.argmax(f))])

    def to_dict(self) -> dict:
        def clean(values):
            return [None if math.isnan(v) else v for v in values]

        card, best = self.at(self.card_threshold), self.best
        return {
            "frames": {k: list(v) for k, v in self.frames.items()},
            "card_threshold": self.card_threshold,
            "at_card_threshold": _point_dict(card),
            "best_on_validation": _point_dict(best),
            "thresholds": list(self.thresholds),
            "precision": clean(self.precision),
            "recall": clean(self.recall),
        }


def _point_dict(p: PrPoint) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in vars(p).items()}


def _f(p: float, r: float) -> float:
    if math.isnan(p) or math.isnan(r) or p + r == 0:
        return math.nan if math.isnan(p) or math.isnan(r) else 0.0
    return 2 * p * r / (p + r)


def validation_frames(video: CdnetVideo, limit: int) -> tuple[int, ...]:
    """Up to ``limit`` frame numbers evenly spread over ``video.validation_range()``.

    Those are the frames ``streamcd train`` keeps for validation (never trained on).
    """
    first, last = video.training_range()
    if last < first or limit < 1:
        return ()
    first, last = video.validation_range()
    return tuple(int(n) for n in np.unique(np.linspace(first, last, min(limit, last - first + 1))
                                           .round().astype(int)))


def model_pr_curve(videos: list[CdnetVideo], model, frames_per_video: int = 40,
                   bins: int = 200, on_frames: Callable[[int], None] | None = None) -> PrCurve | None:
    """The curve of ``model`` on the validation frames of ``videos``; None when none has any.

    Each video's reference is its streamcd background (median of the warm-up frames, or of the
    first frames when there are none), fixed over the sampled frames.
    """
    from ..background import BackgroundManager
    from ..config import BackgroundConfig, PostprocessConfig
    from ..postprocess import MaskPostprocessor
    from ..processor import FrameProcessor

    low, high = _distance_range(model)
    edges = np.linspace(low, high, bins + 1)
    counts = ThresholdCounts(edges)
    used: dict[str, tuple[int, ...]] = {}
    for video in videos:
        numbers = validation_frames(video, frames_per_video)
        if not numbers:
            log.info("%s: no validation frames before the held-out range; left out of the PR "
                     "curve", video.key)
            continue
        config = BackgroundConfig(init="cdnet", update_rate=0.0)
        with BackgroundManager(config, "pr-curve", video.root) as background:
            n = 1
            while not background.ready and n <= video.count:
                background.offer(_read(video, n))
                n += 1
            if not background.ready:
                background.finish_init()
            processor = FrameProcessor(model, background,
                                       MaskPostprocessor(PostprocessConfig(), model.threshold))
            roi = None
            for number in numbers:
                image = _read(video, number)
                distance = processor.distance(image, background.reference, background.version)
                gt = read_groundtruth(video.groundtruth_path(number))
                if roi is None:
                    roi = video.roi_mask((gt.shape[1], gt.shape[0]))
                scored = roi & (gt != GT_OUTSIDE_ROI) & (gt != GT_UNKNOWN)
                counts.add(distance, scored & (gt == GT_MOTION), scored & (gt != GT_MOTION))
                if on_frames:
                    on_frames(1)
        used[video.key] = numbers
    if not used:
        return None
    # Foreground at threshold edges[i] means distance >= edges[i] (a pixel exactly on an edge
    # counts above it: off by one grid step from the runtime's distance > threshold).
    tp, fp, total_pos = counts.tp(), counts.fp(), counts.total_positives
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        recall = tp / total_pos if total_pos else np.full(tp.shape, np.nan)
    return PrCurve(tuple(float(t) for t in edges), tuple(float(p) for p in precision),
                   tuple(float(r) for r in recall), float(model.threshold), used)


def _distance_range(model) -> tuple[float, float]:
    card = getattr(model, "card", None)
    try:
        low, high = card.raw["output"]["range"]
        return float(low), float(high)
    except (AttributeError, KeyError, TypeError, ValueError):
        return 0.0, max(2.0, 2 * float(model.threshold))


def _read(video: CdnetVideo, number: int) -> np.ndarray:
    import cv2

    from ..errors import DatasetError

    path = video.input_path(number)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"input frame {path} is missing or cannot be decoded")
    return image
