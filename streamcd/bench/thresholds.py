"""Pixel counts above each candidate distance threshold, accumulated frame by frame.

One pass over the frames gives TP, FP and FN for every threshold of a grid: distances of the
positive and negative pixels are binned by the grid's edges, and the counts at or above each
edge are read off the cumulative sums. Used for the benchmark's precision-recall curve and for
threshold selection in training; pure numpy (no torch). Usage::

    counts = ThresholdCounts(np.linspace(0.0, 2.0, 201))
    for distance, gt in frames:
        counts.add(distance, positive=gt == 255, negative=gt == 0)
    tp, fp, fn = counts.tp(), counts.fp(), counts.fn()    # one value per edge
"""

from __future__ import annotations

import numpy as np


class ThresholdCounts:
    """Positive and negative pixels per bin of the ascending threshold grid ``edges``.

    A pixel counts as foreground at threshold ``edges[i]`` when its distance is at or above it
    (bins are left-closed, as ``np.digitize`` and ``np.histogram`` make them: a distance exactly
    on an edge counts above it). Distances below ``edges[0]`` are negatives at every threshold;
    those at or above ``edges[-1]`` are foreground at every threshold.
    """

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = np.asarray(edges, dtype=np.float64)
        if self.edges.ndim != 1 or self.edges.size < 1:
            raise ValueError(f"edges must be a non-empty 1-D array of thresholds, got shape "
                             f"{self.edges.shape}")
        # bin 0: below edges[0]; bin i: edges[i-1] <= d < edges[i]; last: at or above edges[-1]
        self.positives = np.zeros(self.edges.size + 1, np.int64)
        self.negatives = np.zeros(self.edges.size + 1, np.int64)

    def add(self, distance: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> None:
        """Count the pixels of ``distance`` where ``positive`` / ``negative`` (bool masks of its
        shape) are True; pixels in neither mask (ignored labels, outside the ROI) are left out."""
        index = np.digitize(distance, self.edges)
        n = self.edges.size + 1
        self.positives += np.bincount(index[positive], minlength=n)
        self.negatives += np.bincount(index[negative], minlength=n)

    def tp(self) -> np.ndarray:
        """Positive pixels at or above each edge (one count per edge)."""
        return _at_or_above(self.positives)

    def fp(self) -> np.ndarray:
        """Negative pixels at or above each edge."""
        return _at_or_above(self.negatives)

    def fn(self) -> np.ndarray:
        """Positive pixels below each edge."""
        return self.total_positives - self.tp()

    @property
    def total_positives(self) -> int:
        return int(self.positives.sum())


def _at_or_above(per_bin: np.ndarray) -> np.ndarray:
    # Edge i is the lower edge of bin i+1: its count is the sum of bins i+1 .. last.
    return np.cumsum(per_bin[::-1])[::-1][1:]
