"""ThresholdCounts: TP/FP/FN per candidate threshold, shared by the PR curve and training."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.bench.thresholds import ThresholdCounts

EDGES = np.array([0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("distance", "positive", "tp", "fp", "fn"),
    [
        # one positive and one negative between edges: above 0 and 0.5, below 1
        ([0.7, 0.6], [True, False], [1, 1, 0], [1, 1, 0], [0, 0, 1]),
        # a distance exactly on an edge counts at or above it
        ([0.5, 1.0], [True, True], [2, 2, 1], [0, 0, 0], [0, 0, 1]),
        # below the first edge: never foreground; at or above the last: always
        ([-0.1, 5.0], [True, False], [0, 0, 0], [1, 1, 1], [1, 1, 1]),
        # nothing at all
        ([], [], [0, 0, 0], [0, 0, 0], [0, 0, 0]),
    ],
)
def test_counts_at_or_above_each_edge(distance, positive, tp, fp, fn):
    counts = ThresholdCounts(EDGES)
    positive = np.array(positive, bool)
    counts.add(np.array(distance, float), positive, ~positive)
    assert counts.tp().tolist() == tp
    assert counts.fp().tolist() == fp
    assert counts.fn().tolist() == fn
    assert counts.total_positives == int(positive.sum())


def test_pixels_in_neither_mask_are_left_out_and_frames_add_up():
    counts = ThresholdCounts(EDGES)
    distance = np.array([[0.2, 0.8], [1.5, 0.9]])
    positive = np.array([[True, False], [False, False]])
    negative = np.array([[False, True], [False, False]])  # 1.5 and 0.9: ignored (85, 170)
    counts.add(distance, positive, negative)
    counts.add(distance, positive, negative)
    assert counts.tp().tolist() == [2, 0, 0] and counts.fp().tolist() == [2, 2, 0]
    assert counts.fn().tolist() == [0, 2, 2]


def _histogram_counts(distance, labels, bins):
    """The counting streamcd/train/validate.py did with np.histogram (a reference to match)."""
    pos = np.histogram(distance[labels == 1], bins)[0]
    neg = np.histogram(distance[labels == 0], bins)[0]
    pos_above = np.cumsum(pos[::-1])[::-1]
    neg_above = np.cumsum(neg[::-1])[::-1]
    return pos_above, neg_above, pos.sum() - pos_above


def test_matches_the_histogram_counting_of_training_for_distances_in_range():
    rng = np.random.default_rng(0)
    bins = np.linspace(0.0, 2.0, 401)
    distance = rng.uniform(0.0, 2.0, (3, 48, 64)).astype(np.float32)
    distance.flat[:401] = bins  # values exactly on every edge, 2.0 included
    labels = rng.integers(0, 3, distance.shape)  # 2: not scored
    counts = ThresholdCounts(bins)
    counts.add(distance, labels == 1, labels == 0)
    tp, fp, fn = _histogram_counts(distance, labels, bins)
    # training's thresholds are bins[:-1]: the last edge (2.0) is not a candidate
    np.testing.assert_array_equal(counts.tp()[:-1], tp)
    np.testing.assert_array_equal(counts.fp()[:-1], fp)
    np.testing.assert_array_equal(counts.fn()[:-1], fn)


def test_rejects_edges_that_are_not_a_1d_grid():
    with pytest.raises(ValueError, match="non-empty 1-D array"):
        ThresholdCounts(np.zeros((2, 2)))
