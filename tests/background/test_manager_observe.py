"""BackgroundManager on a running stream: re-initialisation and the slow update."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.background import REINIT_EVENT, BackgroundManager


@pytest.mark.parametrize("call_prepare", [False, True])  # observe() alone, or prepare() first
def test_resolution_change_reinitialises(image_config, square, model, call_prepare):
    frames, _, _ = square
    big = [cv2.resize(f, (200, 150)) for f in frames]
    manager = BackgroundManager(image_config(frames=3, stride=1), "cam")
    events = manager.prepare(big[0]) if call_prepare else []
    # Without prepare() the model could not compare frames of two sizes: any mask will do here.
    mask = model(manager.reference, big[0]) if call_prepare else np.zeros((150, 200), np.uint8)
    events += manager.observe(big[0], mask)
    assert [(e.kind, e.stream, e.detail) for e in events] == [
        (REINIT_EVENT, "cam", "resolution 160x120 -> 200x150")
    ]
    # The frame itself is the reference at once; the frame buffer is never held back.
    assert manager.version == 2
    np.testing.assert_array_equal(manager.reference, big[0])
    for image in big[1:3]:
        assert manager.observe(image, model(manager.reference, image)) == []
        assert manager.version == 2
    manager.observe(big[3], model(manager.reference, big[3]))  # third frame after the change
    assert manager.version == 3
    np.testing.assert_array_equal(manager.reference, np.median(np.stack(big[1:4]), axis=0))


def test_scene_change_reinitialises_then_swaps_in_the_median(image_config, square, model):
    frames, _, background = square
    lit = [cv2.add(f, np.full_like(f, 80)) for f in frames]  # lights on: every pixel brighter
    manager = BackgroundManager(
        image_config(frames=5, stride=2, scene_change_frames=3, scene_change_fraction=0.7), "cam"
    )
    events = [manager.observe(image, model(manager.reference, image)) for image in lit[:3]]
    assert events[:2] == [[], []]
    assert [(e.kind, e.detail) for e in events[2]] == [(REINIT_EVENT, "scene change")]
    assert manager.version == 2
    np.testing.assert_array_equal(manager.reference, lit[2])
    for image in lit[3:11]:  # 8 of the 9 frames the median wants (keeps 3, 5, 7, 9, 11)
        assert manager.observe(image, model(manager.reference, image)) == []
    assert manager.version == 2
    manager.observe(lit[11], model(manager.reference, lit[11]))
    assert manager.version == 3
    # The square is gone from the median: the reference is the lit empty scene.
    assert np.abs(manager.reference.astype(int) - cv2.add(background, 80)).max() <= 1


def test_short_foreground_burst_is_not_a_scene_change(image_config, square):
    frames, _, _ = square
    manager = BackgroundManager(image_config(scene_change_frames=3), "cam")
    full, empty = np.full((120, 160), 255, np.uint8), np.zeros((120, 160), np.uint8)
    for mask in [full, full, empty, full, full, empty]:
        assert manager.observe(frames[0], mask) == []
    assert manager.version == 1


def test_slow_update_moves_only_background_pixels(image_config, square):
    _, _, background = square
    manager = BackgroundManager(image_config(update_rate=0.5, update_every=2), "cam")
    image = cv2.add(background, np.full_like(background, 40))
    mask = np.zeros((120, 160), np.uint8)
    mask[:, :80] = 255  # left half foreground
    manager.observe(image, mask)
    assert manager.version == 1  # every 2nd frame only
    manager.observe(image, mask)
    assert manager.version == 2
    reference = manager.reference.astype(int)
    np.testing.assert_array_equal(reference[:, :80], background[:, :80])
    expected = (background[:, 80:].astype(int) + image[:, 80:]) / 2
    assert np.abs(reference[:, 80:] - expected).max() <= 0.5


@pytest.mark.parametrize(
    ("rate", "step", "version"),
    [
        (0.0, 40, 1),  # slow update off
        (0.01, 1, 1),  # 0.01 grey levels: the uint8 reference does not change, nor the version
        (0.2, 40, 6),  # every frame changes it
    ],
)
def test_slow_update_version(image_config, square, rate, step, version):
    _, _, background = square
    manager = BackgroundManager(image_config(update_rate=rate, update_every=1), "cam")
    image = cv2.add(background, np.full_like(background, step))
    for _ in range(5):
        manager.observe(image, np.zeros((120, 160), np.uint8))
    assert manager.version == version


@pytest.mark.parametrize(
    ("image", "mask", "error", "message"),
    [
        (np.zeros((120, 160, 3), np.uint8), np.zeros((120, 161), np.uint8), ValueError, "mask is"),
        (np.zeros((120, 160), np.uint8), np.zeros((120, 160), np.uint8), ValueError, "HxWx3"),
        (np.zeros((120, 160, 3), np.float32), np.zeros((120, 160), np.uint8), ValueError, "uint8"),
        ([[0]], np.zeros((120, 160), np.uint8), TypeError, "HxWx3"),
        (np.zeros((120, 160, 3), np.uint8), [[0]], TypeError, "mask"),
    ],
)
def test_observe_rejects_bad_input(image_config, image, mask, error, message):
    manager = BackgroundManager(image_config(), "cam")
    with pytest.raises(error, match=message):
        manager.observe(image, mask)
    assert manager.version == 1
