"""BackgroundManager.feed / drain: the one way callers hold frames until the median is ready."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.background import BackgroundManager
from streamcd.background.manager import Phase
from streamcd.config import BackgroundConfig
from streamcd.errors import BackgroundError, StreamcdError


def frames(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (12, 16, 3), dtype=np.uint8) for _ in range(n)]


def test_frames_are_held_until_the_median_is_complete_then_released_in_order():
    manager = BackgroundManager(BackgroundConfig(frames=3, stride=2), "cam")  # completes on frame 5
    images = frames(8)
    released, phases = [], []
    for number, image in enumerate(images, 1):
        phases.append(manager.phase)
        released.append(manager.feed(number, image))
    assert released == [[], [], [], [], [1, 2, 3, 4, 5], [6], [7], [8]]
    assert phases[:5] == [Phase.COLLECTING] * 5 and manager.phase is Phase.RUNNING
    assert manager.drain() == []


def test_a_stream_shorter_than_the_median_is_drained_at_its_end():
    manager = BackgroundManager(BackgroundConfig(frames=30, stride=2), "cam")
    images = frames(4)
    assert [manager.feed(n, image) for n, image in enumerate(images)] == [[], [], [], []]
    assert manager.drain() == [0, 1, 2, 3]
    assert manager.ready and manager.version == 1 and manager.phase is Phase.RUNNING


def test_a_reinitialisation_runs_on_while_the_new_median_fills():
    config = BackgroundConfig(frames=2, stride=1, scene_change_fraction=0.5, scene_change_frames=1)
    manager = BackgroundManager(config, "cam")
    images = frames(4)
    for n, image in enumerate(images[:2]):
        manager.feed(n, image)
    everything = np.full(images[0].shape[:2], 255, np.uint8)
    events = manager.observe(images[2], everything)  # the whole frame changed: a scene change
    assert [e.kind for e in events] == ["background_reinit"]
    assert manager.phase is Phase.REINITIALISING
    assert manager.feed("next", images[3]) == ["next"]  # never held back while running


def test_calls_out_of_order_are_streamcd_errors():
    manager = BackgroundManager(BackgroundConfig(frames=3), "cam")
    with pytest.raises(BackgroundError, match="not ready") as info:
        manager.prepare(frames(1)[0])
    assert isinstance(info.value, StreamcdError) and isinstance(info.value, RuntimeError)


def test_picture_is_the_reference_until_a_bank_with_colours_exists():
    from streamcd.background.bank import BankSettings, FeatureBank
    from streamcd.background.manager import PICTURE_FRAMES

    manager = BackgroundManager(BackgroundConfig(frames=1, stride=1), "cam")
    assert manager.picture() is None
    grey = np.full((12, 16, 3), 100, np.uint8)
    manager.feed(0, grey)
    assert manager.picture() is manager.reference
    # a bank on a 6x8 grid whose colour samples have all turned red
    features = (np.ones((1, 2, 6, 8), np.float32),)
    red = np.zeros((6, 8, 3), np.uint8)
    red[..., 2] = 200
    manager.bank = FeatureBank.from_frames([features], BankSettings(samples=2), base=0.5, images=[red])
    picture = manager.picture()
    assert picture.shape == grey.shape and (picture[..., 2] == 200).all() and (picture[..., 0] == 0).all()
    assert manager.picture() is picture  # the same array until PICTURE_FRAMES more frames
    manager.bank.frames += PICTURE_FRAMES
    assert manager.picture() is not picture
