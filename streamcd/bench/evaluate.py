"""Score binary results against CDnet 2014 groundtruth, the way the official utilities do.

Results are laid out as the official ``results`` folder: ``RESULTS/<category>/<video>/bin%06d.png``
(8-bit, 255 = foreground). A video's confusion is summed over its scored frames; its metrics
come from that sum; a category's metrics are the mean of its videos' metrics; the overall
metrics are the mean of the categories' metrics.

Usage::

    report = score_results("data/cdnet2014", "out/mog2", frames_fn=CdnetVideo.heldout_range)
    print(report.to_markdown())
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..cdnet_layout import CdnetVideo, find_videos
from ..errors import DatasetError
from .scoring import Confusion, Metrics, confusion_of

logger = logging.getLogger(__name__)

#: File name of the binary result for frame n, as the official comparator expects.
RESULT_NAME = "bin{:06d}.png"


@dataclass(frozen=True)
class VideoScore:
    """One video's summed confusion over ``frames`` (first, last inclusive) and its metrics."""

    category: str
    video: str
    frames: tuple[int, int]
    confusion: Confusion
    metrics: Metrics

    @property
    def key(self) -> str:
        return f"{self.category}/{self.video}"


@dataclass(frozen=True)
class CategoryScore:
    """One category: the mean of its videos' metrics, and their summed confusion."""

    category: str
    videos: tuple[str, ...]
    confusion: Confusion
    metrics: Metrics


@dataclass(frozen=True)
class Report:
    """Per-video, per-category and overall scores of one results folder."""

    videos: tuple[VideoScore, ...]
    categories: tuple[CategoryScore, ...]
    overall: Metrics

    @classmethod
    def from_scores(cls, scores: Iterable[VideoScore]) -> Report:
        """Group video scores by category and average them as CDnet does."""
        scores = tuple(scores)
        if not scores:
            raise DatasetError("no video was scored: the report would be empty")
        by_category: dict[str, list[VideoScore]] = {}
        for s in scores:
            by_category.setdefault(s.category, []).append(s)
        categories = tuple(
            CategoryScore(
                category=name,
                videos=tuple(s.video for s in items),
                confusion=sum((s.confusion for s in items), Confusion(0, 0, 0, 0)),
                metrics=Metrics.mean([s.metrics for s in items]),
            )
            for name, items in sorted(by_category.items())
        )
        return cls(scores, categories, Metrics.mean([c.metrics for c in categories]))

    def to_dict(self) -> dict:
        """Plain data; an undefined (NaN) metric becomes None."""
        return {
            "overall": _metrics_dict(self.overall),
            "categories": {
                c.category: {
                    "videos": list(c.videos),
                    "confusion": _confusion_dict(c.confusion),
                    "metrics": _metrics_dict(c.metrics),
                }
                for c in self.categories
            },
            "videos": {
                v.key: {
                    "frames": list(v.frames),
                    "confusion": _confusion_dict(v.confusion),
                    "metrics": _metrics_dict(v.metrics),
                }
                for v in self.videos
            },
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON (undefined metrics are ``null``, never ``NaN``)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_markdown(self, digits: int = 4) -> str:
        """A table with one row per video, per category and the overall mean."""
        names = [f.name for f in fields(Metrics)]
        lines = [
            "| scope | frames | " + " | ".join(_HEADERS[n] for n in names) + " |",
            "| --- | --- |" + " ---: |" * len(names),
        ]

        def row(label: str, frames: str, m: Metrics) -> str:
            cells = (_fmt(getattr(m, n), digits) for n in names)
            return f"| {label} | {frames} | " + " | ".join(cells) + " |"

        for v in self.videos:
            lines.append(row(v.key, f"{v.frames[0]}..{v.frames[1]}", v.metrics))
        for c in self.categories:
            lines.append(row(f"**{c.category}** (mean of {len(c.videos)})", "", c.metrics))
        lines.append(row(f"**overall** (mean of {len(self.categories)})", "", self.overall))
        return "\n".join(lines)


_HEADERS = {
    "recall": "Re",
    "specificity": "Sp",
    "fpr": "FPR",
    "fnr": "FNR",
    "pwc": "PWC",
    "precision": "Pr",
    "f_measure": "F",
}


def _fmt(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _metrics_dict(m: Metrics) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else v) for k, v in m.as_dict().items()}


def _confusion_dict(c: Confusion) -> dict[str, int]:
    return {f.name: getattr(c, f.name) for f in fields(c)}


def read_groundtruth(path: Path) -> np.ndarray:
    """A CDnet groundtruth frame as HxW uint8 labels.

    The PNGs are palette images with a grey identity palette; OpenCV's greyscale decode gives
    the palette index exactly (checked on every frame of the shared videos), and
    :func:`confusion_of` rejects any value that is not a CDnet label.
    """
    import cv2

    if not path.is_file():
        raise DatasetError(f"groundtruth frame {path} is missing")
    gt = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gt is None:
        raise DatasetError(f"groundtruth frame {path} cannot be decoded")
    return gt


def read_result(path: Path) -> np.ndarray:
    """A binary result frame as HxW uint8 (255 = foreground)."""
    import cv2

    if not path.is_file():
        raise DatasetError(
            f"result frame {path} is missing: every scored frame needs its bin%06d.png"
        )
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise DatasetError(f"result frame {path} cannot be decoded as an image")
    return mask


def frame_range(video: CdnetVideo, frames: tuple[int, int] | None = None) -> tuple[int, int]:
    """``frames`` (first, last inclusive), by default the video's temporalROI, checked against
    the frames the video has."""
    first, last = frames if frames is not None else (video.first, video.last)
    if not 1 <= first <= last <= video.count:
        raise DatasetError(
            f"{video.key}: cannot score frames {first}..{last}; the video has frames "
            f"1..{video.count} (temporalROI {video.first}..{video.last})"
        )
    return first, last


def scored_frames(
    video: CdnetVideo, results_dir: Path, first: int, last: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """``(n, prediction, ground truth, ROI)`` for each frame ``first..last`` of ``video`` and its
    ``results_dir/bin%06d.png``: the frames a score is made of (only those are read)."""
    if not results_dir.is_dir():
        raise DatasetError(f"{video.key}: results folder {results_dir} not found")
    roi = None
    for n in range(first, last + 1):
        gt = read_groundtruth(video.groundtruth_path(n))
        if roi is None:
            roi = video.roi_mask((gt.shape[1], gt.shape[0]))
        yield n, read_result(results_dir / RESULT_NAME.format(n)), gt, roi


def score_video(
    video: CdnetVideo, results_dir: str | Path, frames: tuple[int, int] | None = None
) -> VideoScore:
    """Score ``results_dir/bin%06d.png`` of one video over ``frames`` (first, last inclusive).

    ``frames`` defaults to the video's temporalROI; pass ``video.heldout_range()`` to score the
    held-out test frames only. Frames outside the range are neither read nor required.
    """
    first, last = frame_range(video, frames)
    total = Confusion(0, 0, 0, 0)
    for n, prediction, gt, roi in scored_frames(video, Path(results_dir), first, last):
        try:
            total = total + confusion_of(prediction, gt, roi)
        except DatasetError as e:
            raise DatasetError(f"{video.key} frame {n}: {e}") from e
    score = VideoScore(video.category, video.name, (first, last), total, total.metrics())
    logger.info(
        "%s frames %d..%d: F=%.4f Pr=%.4f Re=%.4f",
        video.key,
        first,
        last,
        score.metrics.f_measure,
        score.metrics.precision,
        score.metrics.recall,
    )
    return score


def score_results(
    dataset_root: str | Path,
    results_root: str | Path,
    videos: Iterable[str | CdnetVideo] | None = None,
    frames_fn: Callable[[CdnetVideo], tuple[int, int]] | None = None,
) -> Report:
    """Score ``results_root/<category>/<video>/`` against every video of ``dataset_root``.

    videos: restrict to these (keys like ``"baseline/highway"`` or CdnetVideo objects);
        default: every video in the dataset, each of which then needs a results folder.
    frames_fn: the frames to score per video (e.g. ``CdnetVideo.heldout_range``);
        default: each video's temporalROI.
    """
    results_root = Path(results_root)
    available = {v.key: v for v in find_videos(dataset_root)}
    if videos is None:
        selected = list(available.values())
    else:
        selected = []
        for item in videos:
            key = item.key if isinstance(item, CdnetVideo) else str(item).strip("/")
            if key not in available:
                raise DatasetError(
                    f"video {key!r} is not in {dataset_root}; available: "
                    f"{', '.join(sorted(available)) or 'none'}"
                )
            selected.append(available[key])
    if not selected:
        raise DatasetError(f"{dataset_root}: no CDnet video (<category>/<video>/input) to score")
    scores = [
        score_video(v, results_root / v.category / v.name, frames_fn(v) if frames_fn else None)
        for v in selected
    ]
    return Report.from_scores(scores)
