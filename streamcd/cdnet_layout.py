"""The CDnet 2014 folder layout: where inputs, groundtruth, ROI and temporalROI live.

One video folder holds ``input/in%06d.jpg``, ``groundtruth/gt%06d.png``, ``ROI.bmp`` and
``temporalROI.txt`` ("first last", 1-based, inclusive). Frame numbers start at 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DatasetError

#: Fraction of each video's temporalROI, at its end, held out from training for testing.
HELDOUT_FRACTION = 0.35
#: Frames between the last training frame and the first held-out frame.
HELDOUT_GAP = 50
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

    @classmethod
    def open(cls, root: str | Path) -> CdnetVideo:
        root = Path(root)
        if not (root / "input").is_dir():
            raise DatasetError(f"{root}: not a CDnet video folder (no input/ subfolder)")
        numbers = sorted(int(p.stem[2:]) for p in (root / "input").glob("in*.jpg"))
        if not numbers:
            raise DatasetError(f"{root}/input: no in%06d.jpg frames")
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
        return cls(root, root.parent.name, root.name, first, last, len(numbers))

    @property
    def key(self) -> str:
        return f"{self.category}/{self.name}"

    def input_path(self, number: int) -> Path:
        return self.root / "input" / f"in{number:06d}.jpg"

    def groundtruth_path(self, number: int) -> Path:
        return self.root / "groundtruth" / f"gt{number:06d}.png"

    def roi_mask(self, size: tuple[int, int]) -> np.ndarray:
        """Spatial ROI as HxW bool for frames of ``size`` (w, h); all True when there is no file.

        ROI.bmp is read with OpenCV (Pillow misreads some of them). A ROI whose size differs from
        the frames is accepted only when it is uniform (the known cameraJitter/traffic defect);
        otherwise it is an error.
        """
        import cv2

        w, h = size
        path = self.root / "ROI.bmp"
        if not path.exists():
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


def find_videos(dataset: str | Path) -> list[CdnetVideo]:
    """Every CDnet video folder below ``dataset`` (``<category>/<video>/input``), sorted."""
    dataset = Path(dataset)
    if not dataset.is_dir():
        raise DatasetError(f"{dataset}: dataset folder not found")
    return [CdnetVideo.open(p.parent) for p in sorted(dataset.glob("*/*/input"))]
