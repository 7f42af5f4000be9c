"""Temporal median and the frame collector behind every median initialisation."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from streamcd.background.median import MedianCollector, temporal_median
from tests.conftest import square_frames


def clean_background(frames, masks):
    # The square's first and last positions do not overlap: together they show every pixel bare.
    return np.where(masks[0][..., None], frames[-1], frames[0])


def test_median_of_moving_square_recovers_background():
    frames, masks = square_frames(40)
    reference = temporal_median(np.stack(frames))
    error = np.abs(reference.astype(int) - clean_background(frames, masks))
    assert error.max() <= 1


@pytest.mark.parametrize("n", [1, 2, 5, 6])  # odd and even counts (even: mean of the middle two)
@pytest.mark.parametrize("band_bytes", [1, 10**9])  # one row per band / a single band
def test_median_matches_numpy(n, band_bytes):
    stack = np.random.default_rng(n).integers(0, 256, (n, 7, 5, 3), dtype=np.uint8)
    expected = np.floor(np.median(stack, axis=0) + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(temporal_median(stack, band_bytes=band_bytes), expected)


@pytest.mark.parametrize(
    "stack",
    [
        np.zeros((0, 4, 4, 3), np.uint8),  # no frame
        np.zeros((3, 4, 4, 3), np.float32),  # not uint8
        np.zeros((4, 4, 3), np.uint8),  # a single image, not a stack
    ],
)
def test_median_rejects_bad_stacks(stack):
    with pytest.raises(ValueError, match="stack"):
        temporal_median(stack)


@pytest.mark.parametrize(
    ("frames", "stride", "offers", "kept", "wanted", "done"),
    [
        (3, 2, 0, 0, 5, False),  # keeps offers 0, 2, 4
        (3, 2, 1, 1, 4, False),
        (3, 2, 4, 2, 1, False),
        (3, 2, 5, 3, 0, True),
        (3, 2, 8, 3, 0, True),  # offers after completion are ignored
        (1, 5, 1, 1, 0, True),  # a single frame needs no stride
        (4, 1, 3, 3, 1, False),
    ],
)
def test_collector_counts(frames, stride, offers, kept, wanted, done):
    collector = MedianCollector(frames, stride)
    for i in range(offers):
        collector.offer(np.full((4, 4, 3), i, np.uint8))
    assert (collector.kept, collector.wanted, collector.done) == (kept, wanted, done)


def test_collector_keeps_every_stride_th_frame():
    collector = MedianCollector(frames=3, stride=2)
    for i in range(5):
        collector.offer(np.full((2, 2, 3), 10 * i, np.uint8))
    assert collector.median().max() == collector.median().min() == 20  # median of 0, 20, 40


def test_collector_caps_memory_keeping_the_time_span(caplog):
    frame = np.zeros((10, 10, 3), np.uint8)
    collector = MedianCollector(frames=10, stride=3, memory_bytes=4 * frame.nbytes)
    with caplog.at_level(logging.WARNING):
        collector.offer(frame)
    assert (collector.frames, collector.stride) == (4, 9)
    assert collector.wanted + 1 <= 9 * 3 + 1  # never longer than the configured span
    assert "budget" in caplog.text


def test_collector_restarts_on_size_change(caplog):
    collector = MedianCollector(frames=3, stride=1)
    collector.offer(np.zeros((4, 4, 3), np.uint8))
    collector.offer(np.zeros((4, 4, 3), np.uint8))
    with caplog.at_level(logging.WARNING):
        collector.offer(np.zeros((6, 8, 3), np.uint8))
    assert collector.kept == 1
    assert collector.median().shape == (6, 8, 3)
    assert "size changed" in caplog.text


def test_collector_without_frames_has_no_median():
    with pytest.raises(ValueError, match="no frame"):
        MedianCollector(3, 1).median()
