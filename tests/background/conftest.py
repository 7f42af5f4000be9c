"""Fixtures of the background tests: a clean scene with a moving square, and a stand-in model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.config import BackgroundConfig
from tests.conftest import square_frames


@pytest.fixture
def square():
    """(frames, masks, background) of 12 frames 160x120; the square moves ~12 px per frame."""
    frames, masks = square_frames(12)
    # The square's first and last positions do not overlap: together they show every pixel bare.
    background = np.where(masks[0][..., None], frames[-1], frames[0])
    return frames, masks, background


@pytest.fixture
def background_png(tmp_path, square):
    """The square scene's empty background as a PNG, for init 'image'."""
    path = tmp_path / "empty.png"
    cv2.imwrite(str(path), square[2])
    return path


@pytest.fixture
def model():
    """Stands in for the change model: 255 where any channel differs by more than 30 levels."""

    def change_mask(reference: np.ndarray, image: np.ndarray) -> np.ndarray:
        diff = np.abs(reference.astype(np.int16) - image).max(axis=2)
        return np.where(diff > 30, 255, 0).astype(np.uint8)

    return change_mask


@pytest.fixture
def image_config(background_png):
    """Factory of BackgroundConfig with init 'image' on the square scene's empty background."""

    def make(**fields) -> BackgroundConfig:
        return BackgroundConfig(init="image", image=background_png, **fields)

    return make
