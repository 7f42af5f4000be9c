"""annotate(): tint only inside the mask, outlines, boxes, label; the input is left alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.frames import Box
from streamcd.sinks import annotate
from streamcd.sinks.annotate import BOX, TINT


@pytest.fixture
def scene():
    rng = np.random.default_rng(1)
    image = rng.integers(30, 200, (90, 120, 3), dtype=np.uint8)
    mask = np.zeros((90, 120), np.uint8)
    mask[30:60, 40:80] = 255
    cv2.circle(mask, (100, 20), 8, 255, -1)  # a second, round blob
    return image, mask


@pytest.mark.parametrize("alpha", [0.25, 0.4, 1.0])
def test_tint_only_inside_mask(scene, alpha):
    image, mask = scene
    before = image.copy()
    out = annotate(
        image, mask, draw="boxes", alpha=alpha
    )  # no boxes, no label: tint only
    np.testing.assert_array_equal(image, before)  # input untouched
    inside = mask > 0
    np.testing.assert_array_equal(out[~inside], image[~inside])
    expected = image[inside] * (1 - alpha) + np.array(TINT) * alpha
    assert np.abs(out[inside].astype(float) - expected).max() <= 1.0


def test_alpha_zero_and_empty_mask_leave_the_image(scene):
    image, mask = scene
    np.testing.assert_array_equal(annotate(image, mask, draw="boxes", alpha=0.0), image)
    empty = np.zeros_like(mask)
    np.testing.assert_array_equal(annotate(image, empty, draw="both", alpha=0.5), image)


@pytest.mark.parametrize(
    ("draw", "outline", "box"),
    [("contours", True, False), ("boxes", False, True), ("both", True, True)],
)
def test_draw_choices(scene, draw, outline, box):
    image, mask = scene
    boxes = (Box(10, 70, 30, 15, 450),)  # a box away from the mask, to see it alone
    out = annotate(image, mask, boxes, draw=draw, alpha=0.0)
    assert (tuple(out[30, 60]) == TINT) == outline  # top edge of the rectangle blob
    assert (tuple(out[70, 25]) == BOX) == box  # top edge of the box
    assert (tuple(out[84, 25]) == BOX) == box  # bottom edge: y + h - 1


def test_label_is_drawn_top_left(scene):
    image, mask = scene
    out = annotate(image, np.zeros_like(mask), label="#12  fg 3.4%")
    assert (out[:8, :60] != image[:8, :60]).any()
    np.testing.assert_array_equal(out[40:, :], image[40:, :])


@pytest.mark.parametrize(
    ("image", "mask", "kwargs", "match"),
    [
        (np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4), np.uint8), {}, "size"),
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), {}, "HxWx3"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), bool), {}, "uint8"),
        (
            np.zeros((4, 4, 3), np.uint8),
            np.zeros((4, 4), np.uint8),
            {"draw": "x"},
            "contours",
        ),
    ],
)
def test_bad_arguments(image, mask, kwargs, match):
    with pytest.raises(ValueError, match=match):
        annotate(image, mask, **kwargs)
