"""Slow update: blend toward the frame only where the mask says background."""

from __future__ import annotations

import numpy as np

from streamcd.background.update import SlowUpdate


def test_blend_only_where_mask_is_background():
    reference = np.full((8, 8, 3), 100, np.uint8)
    image = np.full((8, 8, 3), 200, np.uint8)
    mask = np.zeros((8, 8), np.uint8)
    mask[:, :4] = 255  # left half foreground
    updated = SlowUpdate(reference, rate=0.25).apply(image, mask)
    assert (updated[:, :4] == 100).all()
    assert (updated[:, 4:] == 125).all()
    assert updated is not reference and (reference == 100).all()


def test_small_rate_does_not_stall_on_rounding():
    # 0.04 * 10 = 0.4 grey levels per step: a uint8 blend would round it away every time.
    reference = np.full((4, 4, 3), 100, np.uint8)
    image = np.full((4, 4, 3), 110, np.uint8)
    update = SlowUpdate(reference, rate=0.04)
    mask = np.zeros((4, 4), np.uint8)
    for _ in range(50):
        updated = update.apply(image, mask)
    assert (updated >= 108).all()
