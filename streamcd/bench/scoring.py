"""CDnet 2014 pixel scoring: one frame's confusion counts and the seven official metrics.

Rules, as in the official CDnet 2014 comparator (changedetection.net utilities):

- a pixel is scored only inside the spatial ROI and where the groundtruth is not 85
  (outside ROI) or 170 (unknown motion);
- groundtruth 255 (motion) is positive; 0 (static) and 50 (hard shadow) are negative;
- the prediction is foreground only where it is exactly 255; anything else (0, the 127 shadow
  label of MOG2/KNN, ...) is background.

Pure numpy; reading files belongs to :mod:`streamcd.bench.evaluate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ..errors import DatasetError

#: Groundtruth labels of CDnet 2014.
GT_STATIC, GT_SHADOW, GT_OUTSIDE_ROI, GT_UNKNOWN, GT_MOTION = 0, 50, 85, 170, 255
FOREGROUND = 255

_NEGATIVE, _POSITIVE, _IGNORED, _INVALID = 0, 1, 2, 3
# Class of each 8-bit groundtruth value, so that one table look-up labels a whole frame.
_GT_CLASS = np.full(256, _INVALID, np.uint8)
_GT_CLASS[[GT_STATIC, GT_SHADOW]] = _NEGATIVE
_GT_CLASS[GT_MOTION] = _POSITIVE
_GT_CLASS[[GT_OUTSIDE_ROI, GT_UNKNOWN]] = _IGNORED


@dataclass(frozen=True)
class Confusion:
    """Pixel counts of one frame, video or category; ``+`` sums them.

    ``shadow_errors`` counts hard-shadow pixels (GT 50) predicted as foreground; they are already
    in ``fp``. The official comparator reports it for the FPR-S metric of the shadow category.

    >>> Confusion(3, 1, 0, 10) + Confusion(1, 0, 2, 5)
    Confusion(tp=4, fp=1, fn=2, tn=15, shadow_errors=0)
    """

    tp: int
    fp: int
    fn: int
    tn: int
    shadow_errors: int = 0

    def __add__(self, other: Confusion) -> Confusion:
        if not isinstance(other, Confusion):
            return NotImplemented
        return Confusion(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def total(self) -> int:
        """Number of scored pixels."""
        return self.tp + self.fp + self.fn + self.tn

    def metrics(self) -> Metrics:
        return Metrics.from_confusion(self)


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


@dataclass(frozen=True)
class Metrics:
    """The seven CDnet 2014 metrics, computed from a :class:`Confusion` with the official formulas.

    The official code divides by zero (a Python ``ZeroDivisionError``) when a ratio is 0/0; here
    such a ratio is NaN instead:

    - no positive pixel (TP+FN = 0): recall and fnr are NaN;
    - no negative pixel (TN+FP = 0): specificity and fpr are NaN;
    - nothing predicted as foreground (TP+FP = 0): precision is NaN;
    - no scored pixel at all: pwc is NaN as well.

    F-measure is ``2*Pr*Re/(Pr+Re)`` whenever TP > 0 (where the official formula is defined).
    With TP = 0 it is 0 if there was anything to find or anything was found (FN+FP > 0: a
    detector that misses everything, or one that only raises false alarms, scores 0), and NaN
    when there was nothing to find and nothing was found.
    """

    recall: float
    specificity: float
    fpr: float
    fnr: float
    pwc: float
    precision: float
    f_measure: float

    @classmethod
    def from_confusion(cls, c: Confusion) -> Metrics:
        tp, fp, fn, tn = (float(v) for v in (c.tp, c.fp, c.fn, c.tn))
        recall = _ratio(tp, tp + fn)
        precision = _ratio(tp, tp + fp)
        if tp > 0:
            f_measure = 2.0 * (recall * precision) / (recall + precision)
        else:
            f_measure = 0.0 if fn + fp > 0 else math.nan
        return cls(
            recall=recall,
            specificity=_ratio(tn, tn + fp),
            fpr=_ratio(fp, fp + tn),
            fnr=_ratio(fn, tp + fn),
            pwc=_ratio(100.0 * (fn + fp), tp + fn + fp + tn),
            precision=precision,
            f_measure=f_measure,
        )

    @classmethod
    def mean(cls, items: list[Metrics] | tuple[Metrics, ...]) -> Metrics:
        """Per-metric mean, as CDnet averages videos into a category and categories overall.

        A NaN (undefined) metric of one item is left out of that metric's mean, so one video
        without positives does not make its category's recall undefined; a metric undefined
        for every item stays NaN.
        """
        if not items:
            raise ValueError("Metrics.mean needs at least one Metrics")
        values = np.array([[getattr(m, f.name) for f in fields(cls)] for m in items], float)
        defined = ~np.isnan(values)
        counts = defined.sum(axis=0)
        sums = np.where(defined, values, 0.0).sum(axis=0)
        means = [float(s / n) if n else math.nan for s, n in zip(sums, counts)]
        return cls(*means)

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def confusion_of(prediction: np.ndarray, groundtruth: np.ndarray, roi: np.ndarray) -> Confusion:
    """Confusion counts of one frame.

    prediction: HxW uint8 binary result (255 = foreground, any other value = background).
    groundtruth: HxW uint8 CDnet labels {0, 50, 85, 170, 255}.
    roi: HxW bool, True = scored.

    Raises DatasetError on a groundtruth value outside the CDnet labels or on a size mismatch.
    """
    if prediction.shape != groundtruth.shape:
        raise DatasetError(
            f"prediction is {_shape_text(prediction)} but groundtruth is "
            f"{_shape_text(groundtruth)}: results must be single-channel and the size of the "
            "groundtruth"
        )
    if roi.shape != groundtruth.shape:
        raise DatasetError(
            f"ROI mask is {_shape_text(roi)} but groundtruth is {_shape_text(groundtruth)}"
        )
    if groundtruth.dtype != np.uint8:
        raise DatasetError(f"groundtruth must be uint8, got {groundtruth.dtype}")
    label = _GT_CLASS[groundtruth]
    invalid = label == _INVALID
    if invalid.any():
        values = np.unique(groundtruth[invalid]).tolist()
        raise DatasetError(
            f"groundtruth holds value(s) {values}; CDnet labels are 0, 50, 85, 170 and 255"
        )
    scored = roi.astype(bool, copy=False) & (label != _IGNORED)
    foreground = prediction == FOREGROUND
    # 0 = tn, 1 = fp, 2 = fn, 3 = tp
    code = (label[scored] << 1) | foreground[scored]
    tn, fp, fn, tp = np.bincount(code, minlength=4).tolist()
    shadow_errors = int(np.count_nonzero(foreground & scored & (groundtruth == GT_SHADOW)))
    return Confusion(tp=tp, fp=fp, fn=fn, tn=tn, shadow_errors=shadow_errors)


def _shape_text(a: np.ndarray) -> str:
    """'WxH' (or 'WxHxC') for an image array, the way frame sizes are written elsewhere."""
    if a.ndim < 2:
        return f"shape {a.shape}"
    return "x".join(str(v) for v in (a.shape[1], a.shape[0], *a.shape[2:]))
