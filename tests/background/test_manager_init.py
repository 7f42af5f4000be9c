"""BackgroundManager initialisation: stream median, picture, CDnet warm-up frames."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from streamcd.background import BackgroundManager, temporal_median
from streamcd.config import BackgroundConfig
from streamcd.errors import ConfigError, SourceError


@pytest.mark.parametrize(
    ("frames", "stride", "wanted"),
    [
        (5, 2, 9),  # keeps stream frames 0, 2, 4, 6, 8
        (30, 2, 59),
        (4, 1, 4),
        (1, 3, 1),  # one frame: the stride never matters
    ],
)
def test_frames_wanted_before_the_first_frame(frames, stride, wanted):
    manager = BackgroundManager(BackgroundConfig(frames=frames, stride=stride), "cam")
    assert (manager.frames_wanted(), manager.ready, manager.version) == (wanted, False, 0)
    assert manager.reference is None


def test_the_default_window_is_the_first_30_frames_in_a_row():
    # a second of video at 30 fps: something that lingers there is in fewer poses than over two
    # seconds (the window was every 2nd frame of the first 59 before)
    manager = BackgroundManager(BackgroundConfig(), "cam")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (12, 16, 3), dtype=np.uint8) for _ in range(31)]
    released = [manager.feed(n, image) for n, image in enumerate(images, 1)]
    assert released[:29] == [[]] * 29 and released[29] == list(range(1, 31)) and released[30] == [31]
    np.testing.assert_array_equal(manager.take_init_frames(), np.stack(images[:30]))


def test_median_init_recovers_the_empty_scene(square):
    frames, _, background = square
    manager = BackgroundManager(BackgroundConfig(frames=5, stride=2), "cam")
    wanted = []
    for image in frames[:9]:
        wanted.append(manager.frames_wanted())
        manager.offer(image)
    assert wanted == [9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert (manager.frames_wanted(), manager.ready, manager.version) == (0, True, 1)
    assert np.abs(manager.reference.astype(int) - background).max() <= 1
    assert not manager.reference.flags.writeable
    with pytest.raises(RuntimeError, match="observe"):
        manager.offer(frames[9])


def test_finish_init_on_a_short_stream(square):
    frames, _, _ = square
    manager = BackgroundManager(BackgroundConfig(frames=10, stride=2), "cam")
    for image in frames[:3]:  # keeps frames 0 and 2 of the 10 wanted
        manager.offer(image)
    manager.finish_init()
    assert (manager.ready, manager.version) == (True, 1)
    np.testing.assert_array_equal(manager.reference, temporal_median(np.stack(frames[:3:2])))
    manager.finish_init()  # already ready: nothing happens
    assert manager.version == 1


def test_finish_init_without_frames_is_an_error():
    manager = BackgroundManager(BackgroundConfig(), "cam")
    with pytest.raises(SourceError, match="before any frame"):
        manager.finish_init()


def test_observe_before_ready_is_an_error(square):
    frames, _, _ = square
    manager = BackgroundManager(BackgroundConfig(), "cam")
    with pytest.raises(RuntimeError, match="not ready"):
        manager.observe(frames[0], np.zeros(frames[0].shape[:2], np.uint8))


def test_init_image_is_ready_at_once(image_config, square):
    manager = BackgroundManager(image_config(), "cam")
    assert (manager.ready, manager.version, manager.frames_wanted()) == (True, 1, 0)
    np.testing.assert_array_equal(manager.reference, square[2])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),  # no file
        (b"this is not a picture", "cannot be decoded"),  # unreadable file
    ],
)
def test_init_image_errors_name_the_key(tmp_path, content, message):
    path = tmp_path / "empty.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"background.image: .*{message}"):
        BackgroundManager(BackgroundConfig(init="image", image=path), "cam")


def test_init_cdnet_on_highway(highway):
    manager = BackgroundManager(BackgroundConfig(init="cdnet", frames=15), "highway", highway)
    assert (manager.ready, manager.version, manager.reference.shape) == (True, 1, (240, 320, 3))
    # An independent median over other pre-ROI frames (every 20th of 1..469) agrees closely.
    frames = [cv2.imread(str(highway / "input" / f"in{n:06d}.jpg")) for n in range(8, 470, 20)]
    diff = np.abs(np.median(np.stack(frames), axis=0) - manager.reference)
    assert diff.mean() < 2.0
    assert np.percentile(diff, 99) < 10


def test_init_cdnet_without_warmup_frames_falls_back_to_the_stream(tmp_path, square, caplog):
    frames, _, _ = square
    (tmp_path / "input").mkdir()
    for n, image in enumerate(frames[:3], start=1):
        cv2.imwrite(str(tmp_path / "input" / f"in{n:06d}.jpg"), image)
    (tmp_path / "temporalROI.txt").write_text("1 3\n")
    with caplog.at_level(logging.INFO):
        manager = BackgroundManager(
            BackgroundConfig(init="cdnet", frames=3, stride=1), "c", tmp_path
        )
    assert (manager.ready, manager.frames_wanted()) == (False, 3)
    assert "no frames before temporalROI" in caplog.text


def test_init_cdnet_needs_a_cdnet_folder():
    with pytest.raises(ConfigError, match="needs a CDnet source"):
        BackgroundManager(BackgroundConfig(init="cdnet"), "cam")
