"""MaskPostprocessor on synthetic distance maps whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.config import PostprocessConfig
from streamcd.frames import Box
from streamcd.postprocess import MaskPostprocessor


def raw(**settings) -> PostprocessConfig:
    """A postprocess config without the default clean-up (hysteresis, closing, hole filling,
    small-blob removal), plus ``settings``: each test switches on only what it measures."""
    return PostprocessConfig(**{"close_px": 0, "fill_holes": False, "hysteresis": 1.0,
                                "min_area_fraction": 0.0, **settings})


def rects(shape, *boxes, value=1.0):
    """A float32 distance map: 0 everywhere, ``value`` inside each (x, y, w, h)."""
    d = np.zeros(shape, np.float32)
    for x, y, w, h in boxes:
        d[y : y + h, x : x + w] = value
    return d


@pytest.mark.parametrize(
    ("config_threshold", "default", "value", "foreground"),
    [
        (None, 0.5, 0.6, True),  # default threshold used when the config sets none
        (
            None,
            0.5,
            0.5,
            False,
        ),  # strictly greater: equal to the threshold is background
        (None, 0.5, 0.4, False),  # below the threshold
        (0.7, 0.5, 0.6, False),  # config threshold wins over the model card's default
        (0.7, 0.5, 0.8, True),
        (0.2, 0.9, 0.3, True),  # ... also when it is lower
    ],
)
def test_threshold(config_threshold, default, value, foreground):
    post = MaskPostprocessor(raw(threshold=config_threshold), default)
    mask, boxes, fraction = post(rects((20, 30), (5, 5, 10, 10), value=value))
    assert post.threshold == (config_threshold or default)
    assert mask.dtype == np.uint8 and mask.shape == (20, 30)
    assert set(np.unique(mask)) <= {0, 255}
    if foreground:
        assert boxes == (Box(5, 5, 10, 10, 100),)
        assert fraction == pytest.approx(100 / 600)
        assert (mask[5:15, 5:15] == 255).all()
    else:
        assert boxes == () and fraction == 0.0 and not mask.any()


@pytest.mark.parametrize(
    ("config", "area", "speck", "hole", "corner"),
    [
        # no clean-up: 20x20 square with a 1-pixel hole (399) + an isolated pixel
        (raw(), 400, True, True, True),
        # a 1-pixel kernel is a no-op
        (raw(open_px=1, close_px=1), 400, True, True, True),
        # opening with a 3x3 ellipse (a cross): the speck and the square's 4 corners go
        (raw(open_px=3), 395, False, True, False),
        # closing fills the hole, keeps the speck and the corners
        (raw(close_px=3), 401, True, False, True),
        # opening first (speck, corners gone), then closing fills the hole
        (raw(open_px=3, close_px=3), 396, False, False, False),
    ],
)
def test_morphology(config, area, speck, hole, corner):
    d = rects((40, 40), (10, 10, 20, 20), (35, 35, 1, 1))
    d[20, 20] = 0
    mask, boxes, fraction = MaskPostprocessor(config, 0.5)(d)
    assert int((mask == 255).sum()) == area
    assert (mask[35, 35] == 255) == speck
    assert (mask[20, 20] == 0) == hole
    assert (mask[10, 10] == 255) == corner
    assert sum(b.area for b in boxes) == area
    assert fraction == pytest.approx(area / 1600)


def test_larger_kernels_remove_thin_lines_and_close_gaps():
    # a square and a 2-pixel-thick line: opening with 5 pixels keeps only the square
    d = rects((60, 60), (5, 5, 30, 30), (5, 45, 50, 2))
    _, boxes, _ = MaskPostprocessor(raw(open_px=5), 0.5)(d)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(5, 5, 30, 30)]
    # two squares 2 pixels apart, 2 pixels from the left edge: closing joins them and does
    # not grow the blob out to the edge
    two = rects((20, 40), (2, 5, 10, 10), (14, 5, 10, 10))
    _, boxes, _ = MaskPostprocessor(raw(close_px=5), 0.5)(two)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(2, 5, 22, 10)]


@pytest.mark.parametrize(
    "config", [raw(open_px=5), raw(close_px=5)]
)
def test_blob_on_the_image_edge_keeps_its_edge_pixels(config):
    _, boxes, _ = MaskPostprocessor(config, 0.5)(rects((20, 40), (0, 5, 10, 10)))
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(0, 5, 10, 10)]


# Three blobs of 4, 25 and 100 pixels.
BLOBS = [(1, 1, 2, 2), (10, 1, 5, 5), (20, 10, 10, 10)]


@pytest.mark.parametrize(
    ("min_area", "kept"),
    [
        (0, [4, 25, 100]),  # off
        (4, [4, 25, 100]),  # a blob exactly min_area is kept
        (5, [25, 100]),
        (26, [100]),
        (101, []),  # everything removed
    ],
)
def test_min_area(min_area, kept):
    mask, boxes, fraction = MaskPostprocessor(
        raw(min_area=min_area), 0.5
    )(rects((32, 32), *BLOBS))
    assert sorted(b.area for b in boxes) == kept
    assert int((mask == 255).sum()) == sum(kept)
    assert set(np.unique(mask)) <= ({0, 255} if kept else {0})
    assert fraction == pytest.approx(sum(kept) / 1024)
    for x, y, w, h in BLOBS:  # removed blobs are gone from the mask, kept ones intact
        assert (mask[y : y + h, x : x + w] == 255).all() == (w * h in kept)


def test_boxes_of_shapes():
    d = np.zeros((30, 40), np.float32)
    d[2:12, 3:5] = 1  # an L: vertical bar ...
    d[10:12, 3:13] = 1  # ... and foot; box is 10x10, area smaller than w*h
    d[20, 20] = d[21, 21] = 1  # two diagonal pixels: one blob (8-connectivity)
    d[25:28, 30:39] = 1  # a 9x3 rectangle
    _, boxes, _ = MaskPostprocessor(raw(), 0.5)(d)
    assert set(boxes) == {
        Box(3, 2, 10, 10, 20 + 20 - 4),
        Box(20, 20, 2, 2, 2),
        Box(30, 25, 9, 3, 27),
    }
    assert all(isinstance(v, int) for b in boxes for v in (b.x, b.y, b.w, b.h, b.area))


def test_accepts_other_float_types_and_rejects_non_2d():
    post = MaskPostprocessor(raw(), 0.5)
    mask, boxes, _ = post(rects((8, 8), (0, 0, 2, 2)).astype(np.float64))
    assert mask.dtype == np.uint8 and len(boxes) == 1
    with pytest.raises(ValueError, match="2-D"):
        post(np.zeros((8, 8, 3), np.float32))


def test_empty_map():
    mask, boxes, fraction = MaskPostprocessor(raw(min_area=10), 0.5)(
        np.zeros((1080, 1920), np.float32)
    )
    assert not mask.any() and boxes == () and fraction == 0.0


@pytest.mark.parametrize(
    ("shape", "fraction", "kept"),
    [
        ((32, 32), 0.0, [4, 25, 100]),  # off
        ((32, 32), 4 / 1024, [4, 25, 100]),  # a blob of exactly the share is kept
        ((32, 32), 5 / 1024, [25, 100]),
        ((64, 64), 5 / 1024, [25, 100]),  # 4x the pixels: 20 pixels is the cut
        ((64, 64), 26 / 4096, [100]),
    ],
)
def test_min_area_fraction_scales_with_the_frame(shape, fraction, kept):
    _, boxes, _ = MaskPostprocessor(raw(min_area_fraction=fraction), 0.5)(rects(shape, *BLOBS))
    assert sorted(b.area for b in boxes) == kept


def test_the_larger_of_min_area_and_min_area_fraction_applies():
    d = rects((32, 32), *BLOBS)
    for config, kept in ((raw(min_area=26, min_area_fraction=5 / 1024), [100]),
                         (raw(min_area=5, min_area_fraction=26 / 1024), [100]),
                         (raw(min_area=5, min_area_fraction=1 / 1024), [25, 100])):
        _, boxes, _ = MaskPostprocessor(config, 0.5)(d)
        assert sorted(b.area for b in boxes) == kept


def test_default_clean_up_fills_pinholes_and_drops_specks():
    # 320x240 frame: a 40x30 object with a 1-pixel hole, and a 5x5 speck (25 < 0.1 % of 76800)
    d = rects((240, 320), (100, 100, 40, 30), (10, 10, 5, 5))
    d[115, 120] = 0
    mask, boxes, _ = MaskPostprocessor(PostprocessConfig(), 0.5)(d)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(100, 100, 40, 30)]
    assert mask[115, 120] == 255 and not mask[10:15, 10:15].any()


def test_holes_enclosed_by_an_object_are_filled_and_open_ones_are_not():
    # a ring (an outline whose inside matched what it covers), a U open to the top edge,
    # and two rings touching: each inside is enclosed and filled, the U's inside reaches the edge
    d = np.zeros((60, 80), np.float32)
    d[10:30, 10:30] = 1
    d[14:26, 14:26] = 0  # the ring's inside, 12x12
    d[0:20, 40:60] = 1
    d[0:16, 44:56] = 0  # the U's inside reaches row 0
    d[35:55, 5:45] = 1
    d[39:51, 9:23] = 0  # two insides side by side, one wall between them
    d[39:51, 27:41] = 0
    mask, _, _ = MaskPostprocessor(raw(fill_holes=True), 0.5)(d)
    assert (mask[10:30, 10:30] == 255).all()
    assert not mask[0:16, 44:56].any() and (mask[16:20, 40:60] == 255).all()
    assert (mask[35:55, 5:45] == 255).all()
    assert int((mask == 255).sum()) == 400 + (400 - 192) + 800
    off, _, _ = MaskPostprocessor(raw(), 0.5)(d)
    assert not off[14:26, 14:26].any()


def test_background_joined_to_the_edge_only_diagonally_is_a_hole():
    # 4-connected background: a pocket whose only way out is a diagonal step is enclosed
    d = np.ones((8, 8), np.float32)
    d[1:4, 1:4] = 0  # pocket
    d[0, 0] = 0  # the edge, touching the pocket's corner only diagonally
    mask, _, _ = MaskPostprocessor(raw(fill_holes=True), 0.5)(d)
    assert (mask[1:4, 1:4] == 255).all() and mask[0, 0] == 0


def test_hysteresis_grows_large_blobs_into_the_weaker_change_they_touch():
    # a 20x20 blob above the threshold (1.0), a 20x10 band of weaker change (0.6) touching it,
    # a weak band touching nothing strong, and a 3x3 strong speck inside a weak band
    d = np.zeros((60, 80), np.float32)
    d[10:30, 10:30] = 1.0
    d[10:30, 30:40] = 0.6  # joins the blob
    d[40:50, 10:40] = 0.6  # alone: stays background
    d[40:50, 50:75] = 0.6
    d[44:47, 60:63] = 1.0  # a speck under the minimum area: neither grows nor stays
    post = MaskPostprocessor(raw(hysteresis=0.5, min_area=50), 0.8)
    mask, boxes, _ = post(d)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(10, 10, 30, 20)]
    assert not mask[40:50].any()
    # under the lower threshold nothing joins; 1 is plain thresholding (the speck is kept)
    assert [(b.x, b.y, b.w, b.h) for b in MaskPostprocessor(raw(hysteresis=0.8, min_area=50), 0.8)(d)[1]] \
        == [(10, 10, 20, 20)]
    mask, _, _ = MaskPostprocessor(raw(hysteresis=1.0), 0.8)(d)
    assert int((mask == 255).sum()) == 400 + 9


def test_hysteresis_by_default_takes_the_faint_inside_of_an_object():
    # an outline clearly changed, its inside only faintly (a shirt like the wall behind it)
    d = np.zeros((240, 320), np.float32)
    d[80:160, 100:140] = 0.35  # above 0.75 x 0.4, under the threshold 0.4
    d[80:160, 100:104] = d[80:160, 136:140] = d[80:84, 100:140] = 0.9
    mask, boxes, _ = MaskPostprocessor(PostprocessConfig(), 0.4)(d)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(100, 80, 40, 80)]
    assert (mask[80:160, 100:140] == 255).all()
