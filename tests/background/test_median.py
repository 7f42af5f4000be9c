"""Temporal median and the frame collector behind every median initialisation."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from streamcd.background.median import (
    MedianCollector,
    background_median,
    still_median,
    temporal_median,
)
from tests.conftest import cv2_blur, square_frames


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


def lingering_object(n=40, size=(160, 120), scale=1, seed=3):
    """A textured background and a textured object that drifts 2 px a frame, so that a band of
    pixels is covered in ~60 % of the frames (the plain median keeps it). Returns the frames,
    the clean background and the mask of pixels covered in more than half of the frames."""
    w, h = size[0] * scale, size[1] * scale
    rng = np.random.default_rng(seed)
    background = cv2_blur(rng.integers(40, 120, (h, w, 3), dtype=np.uint8))
    tile = np.kron((np.indices((8, 8)).sum(0) % 2), np.ones((4, 4), int))[..., None]
    texture = np.where(tile, 160, 250).astype(np.uint8).repeat(3, axis=2)  # 32x32 checkerboard
    side, step = 50 * scale, 2 * scale
    patch = np.tile(texture, (side // 32 + 1, side // 32 + 1, 1))[:side, :side]
    y = (h - side) // 2
    frames, covered = [], np.zeros((h, w), int)
    for i in range(n):
        x = 10 * scale + step * i
        img = background.copy()
        img[y : y + side, x : x + side] = patch
        covered[y : y + side, x : x + side] += 1
        frames.append(img)
    return np.stack(frames), background, covered > n // 2


@pytest.mark.parametrize("scale", [1, 3])  # 3: motion measured on frames scaled down to 240 rows
def test_still_median_leaves_out_an_object_that_lingers(scale):
    stack, background, lingering = lingering_object(scale=scale)
    plain = np.abs(temporal_median(stack).astype(int) - background).max(axis=2)[lingering]
    still = np.abs(still_median(stack).astype(int) - background).max(axis=2)[lingering]
    assert np.mean(plain > 20) > 0.5  # the plain median shows the object there
    assert np.mean(still > 20) < 0.02, f"{np.mean(still > 20):.3f} of the lingering pixels wrong"


def test_still_median_of_a_moving_square_matches_the_clean_background():
    frames, masks = square_frames(40)
    error = np.abs(still_median(np.stack(frames)).astype(int) - clean_background(frames, masks))
    assert error.max() <= 1


def test_still_median_of_few_frames_is_the_plain_median():
    stack = np.random.default_rng(0).integers(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(still_median(stack), temporal_median(stack))


@pytest.mark.parametrize("band_bytes", [1, 10**9])
def test_still_median_bands_give_the_same_result(band_bytes):
    stack, _, _ = lingering_object(n=12)
    np.testing.assert_array_equal(still_median(stack, band_bytes=band_bytes), still_median(stack))


@pytest.mark.parametrize(("method", "expected"), [("all", temporal_median), ("still", still_median)])
def test_collector_median_method(method, expected):
    stack, _, _ = lingering_object(n=12)
    collector = MedianCollector(frames=12, stride=1, method=method)
    for frame in stack:
        collector.offer(frame)
    np.testing.assert_array_equal(collector.median(), expected(stack))


def test_unknown_median_method_is_refused():
    with pytest.raises(ValueError, match="still"):
        background_median(np.zeros((5, 4, 4, 3), np.uint8), "mode")
