"""The CDnet 2014 folder layout: where inputs, groundtruth, ROI and temporalROI live.

One video folder holds ``input/in%06d.jpg``, ``groundtruth/gt%06d.png``, ``ROI.bmp`` and
``temporalROI.txt`` ("first last", 1-based, inclusive). Frame numbers start at 1. Other
datasets converted to this layout often keep their own image formats: input frames may also be
``.png``, ``.bmp`` or ``.tif`` (one format per folder), groundtruth ``.bmp`` and the ROI
``ROI.png``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DatasetError

#: Fraction of each video's temporalROI, at its end, held out from training for testing.
HELDOUT_FRACTION = 0.35
#: Frames between the last training frame and the first held-out frame.
HELDOUT_GAP = 50
#: Formats of input frames, the CDnet one first (lossless ones are common in other datasets).
INPUT_SUFFIXES = (".jpg", ".png", ".bmp", ".tif", ".jpeg")
#: Formats of groundtruth frames and of the ROI file, the CDnet one first (never a lossy one:
#: JPEG blurs the 0/50/85/170/255 labels).
LABEL_SUFFIXES = (".png", ".bmp")
ROI_FILES = ("ROI.bmp", "ROI.png")
_INPUT_NAME = re.compile(r"in(\d+)$")

#: Fraction of the labelled training frames, at their end, kept for validation (threshold choice).
VALIDATION_FRACTION = 0.15


@dataclass(frozen=True)
class CdnetVideo:
    """One CDnet video folder. ``CdnetVideo.open(path)`` checks the layout."""

    root: Path
    category: str
    name: str
    first: int  # temporalROI start (1-based, inclusive)
    last: int  # temporalROI end (inclusive)
    count: int  # number of input frames
    suffix: str = ".jpg"  # the input frames' format

    @classmethod
    def open(cls, root: str | Path) -> CdnetVideo:
        root = Path(root)
        if not (root / "input").is_dir():
            raise DatasetError(f"{root}: not a CDnet video folder (no input/ subfolder)")
        suffix, numbers = _input_frames(root / "input")
        if numbers != list(range(1, len(numbers) + 1)):
            raise DatasetError(f"{root}/input: frame numbers are not contiguous from 1")
        roi_file = root / "temporalROI.txt"
        if roi_file.exists():
            try:
                first, last = (int(v) for v in roi_file.read_text().split()[:2])
            except ValueError as e:
                raise DatasetError(f"{roi_file}: expected two integers 'first last'") from e
            if not 1 <= first <= last:
                raise DatasetError(f"{roi_file}: invalid range {first} {last}")
            last = min(last, len(numbers))
        else:
            first, last = 1, len(numbers)
        return cls(root, root.parent.name, root.name, first, last, len(numbers), suffix)

    @property
    def key(self) -> str:
        return f"{self.category}/{self.name}"

    def input_path(self, number: int) -> Path:
        return self.root / "input" / f"in{number:06d}{self.suffix}"

    def groundtruth_path(self, number: int) -> Path:
        """``gt%06d.png``, or ``.bmp`` where only that exists."""
        paths = [self.root / "groundtruth" / f"gt{number:06d}{s}" for s in LABEL_SUFFIXES]
        return next((p for p in paths if p.exists()), paths[0])

    def roi_mask(self, size: tuple[int, int]) -> np.ndarray:
        """Spatial ROI as HxW bool for frames of ``size`` (w, h); all True when there is no file
        (``ROI.bmp``, else ``ROI.png``).

        The ROI is read with OpenCV (Pillow misreads some of them). A ROI whose size differs from
        the frames is accepted only when it is uniform (the known cameraJitter/traffic defect);
        otherwise it is an error.
        """
        import cv2

        w, h = size
        path = next((self.root / n for n in ROI_FILES if (self.root / n).exists()), None)
        if path is None:
            return np.ones((h, w), bool)
        roi = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if roi is None:
            raise DatasetError(f"{path}: cannot be decoded")
        if roi.shape != (h, w):
            if roi.min() == roi.max():
                return np.full((h, w), bool(roi.flat[0]), bool)
            raise DatasetError(
                f"{path}: ROI is {roi.shape[1]}x{roi.shape[0]} but frames are {w}x{h}"
            )
        return roi > 0

    def heldout_range(self) -> tuple[int, int]:
        """The test frames (inclusive): the last HELDOUT_FRACTION of the temporalROI."""
        span = self.last - self.first + 1
        start = self.last - round(span * HELDOUT_FRACTION) + 1
        return start, self.last

    def training_range(self, gap: int = HELDOUT_GAP) -> tuple[int, int]:
        """Labelled frames usable for training: temporalROI start up to ``gap`` frames before
        the test frames (short clips such as UCSD's use a smaller gap)."""
        return self.first, self.heldout_range()[0] - gap - 1

    def validation_range(self, gap: int = HELDOUT_GAP) -> tuple[int, int]:
        """The last VALIDATION_FRACTION of ``training_range(gap)`` (empty when first > last)."""
        first, last = self.training_range(gap)
        span = last - first + 1
        return last - max(1, int(span * VALIDATION_FRACTION)) + 1, last


def _input_frames(folder: Path) -> tuple[str, list[int]]:
    """(format, sorted frame numbers) of ``folder``'s ``in%06d`` frames, in one format."""
    found: dict[str, list[int]] = {}
    for path in folder.iterdir():
        match = _INPUT_NAME.match(path.stem)
        if match and path.suffix.lower() in INPUT_SUFFIXES:  # .JPG as it is named
            found.setdefault(path.suffix, []).append(int(match.group(1)))
    if not found:
        raise DatasetError(f"{folder}: no in%06d frames ({', '.join(INPUT_SUFFIXES)})")
    if len(found) > 1:
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(found.items()))
        raise DatasetError(f"{folder}: frames in more than one format ({counts}); keep one")
    suffix, numbers = found.popitem()
    return suffix, sorted(numbers)


def find_videos(dataset: str | Path) -> list[CdnetVideo]:
    """Every CDnet video folder below ``dataset`` (``<category>/<video>/input``), sorted."""
    dataset = Path(dataset)
    if not dataset.is_dir():
        raise DatasetError(f"{dataset}: dataset folder not found")
    return [CdnetVideo.open(p.parent) for p in sorted(dataset.glob("*/*/input"))]
