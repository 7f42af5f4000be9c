"""The (capped) temporal mean of distance maps: alone, and in the FrameProcessor of a stream."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.config import PostprocessConfig
from streamcd.postprocess.temporal import TemporalMean
from tests.test_processor import NoisyModel, processor_for, run


def test_one_frame_returns_each_map_unchanged():
    smooth = TemporalMean(1)
    a = np.ones((4, 5), np.float32)
    assert smooth(a) is a and smooth(2 * a) is not a


def test_the_mean_rolls_over_the_last_frames_and_restarts_on_a_new_size():
    smooth = TemporalMean(3)
    maps = [np.full((2, 3), v, np.float32) for v in (3.0, 6.0, 9.0, 12.0)]
    got = [float(smooth(m)[0, 0]) for m in maps]
    assert got == pytest.approx([3.0, 4.5, 6.0, 9.0])  # 3; (6+3)/2; (9+3+6)/3; (12+6+9)/3
    assert smooth(np.full((4, 4), 1.0, np.float32))[0, 0] == 1.0  # another size: history dropped
    smooth.reset()
    assert smooth(np.full((4, 4), 7.0, np.float32))[0, 0] == 7.0
    assert smooth(np.full((4, 4), 1.0, np.float32)).dtype == np.float32


def test_earlier_maps_lower_a_pixel_but_never_raise_it():
    smooth = TemporalMean(3)
    got = [float(smooth(np.full((2, 2), v, np.float32))[0, 0]) for v in (9.0, 6.0, 0.0, 4.0)]
    # 9; (6+min(9,6))/2; (0+0+0)/3: a place an object left is clear at once; (4+min(6,4)+0)/3
    assert got == pytest.approx([9.0, 6.0, 0.0, 8.0 / 3])


def test_an_object_that_moved_on_leaves_no_trail():
    # a bright bar moves 4 pixels a frame: with a plain mean half of it would stay behind
    smooth = TemporalMean(2)
    for x in (0, 4, 8):
        d = np.zeros((4, 16), np.float32)
        d[:, x : x + 4] = 1.0
        out = smooth(d)
    assert (out[:, :8] == 0).all() and (out[:, 8:12] == 0.5).all()  # where it just arrived: half


def test_zero_frames_are_refused():
    with pytest.raises(ValueError, match="frames >= 1"):
        TemporalMean(0)


def sparkling_scene(n=24, size=(64, 48), seed=0):
    """Grey background; every frame 2 % of the pixels sparkle (a new random set each frame);
    from frame 14 on a bright square stays in place."""
    rng = np.random.default_rng(seed)
    w, h = size
    frames = []
    for i in range(n):
        f = np.full((h, w, 3), 100, np.uint8)
        f[rng.random((h, w)) < 0.02] = 200
        if i >= 14:
            f[10:30, 20:40] = 220
        frames.append(f)
    return frames


@pytest.mark.parametrize(
    ("configured", "card", "smoothed"),
    [
        (1, None, False),
        (2, None, True),
        (None, None, False),  # unset, a model without a card value: each frame alone
        (None, 2, True),  # unset: the model card's value
        (1, 2, False),  # the config wins over the card
    ],
)
def test_sparkle_of_single_frames_averages_out_and_a_staying_object_does_not(configured, card,
                                                                              smoothed):
    kept = []
    model = NoisyModel()
    if card is not None:
        model.temporal_mean = card
    # no closing / small-blob removal: each sparkle is a single pixel they would take away
    config = PostprocessConfig(threshold=0.5, temporal_mean=configured, close_px=0,
                               min_area_fraction=0.0)
    processor = processor_for(model, config, frames=10)
    process = processor.process
    processor.process = lambda frame: kept.append(process(frame)[0]) or kept[-1]
    run(processor, sparkling_scene())
    outside = np.ones((48, 64), bool)
    outside[8:32, 18:42] = False
    sparkle = np.mean([r.mask[outside].mean() / 255 for r in kept[16:]])
    square = np.mean([r.mask[12:28, 22:38].mean() / 255 for r in kept[16:]])
    assert square == 1.0  # the object is found either way
    if not smoothed:
        assert sparkle > 0.01  # each frame's sparkle is foreground
    else:
        assert sparkle < 0.001  # a one-frame change is half as far: under the threshold
