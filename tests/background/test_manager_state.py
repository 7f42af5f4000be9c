"""BackgroundManager persistence: a restarted pipeline resumes with the same background."""

from __future__ import annotations

import json
import logging
import os

import cv2
import numpy as np
import pytest

from streamcd.background import REINIT_EVENT, BackgroundManager
from streamcd.background import manager as manager_module
from streamcd.config import BackgroundConfig
from streamcd.errors import ConfigError


def read_state(state_dir, stream="cam") -> dict:
    return json.loads((state_dir / stream / "state.json").read_text())


def test_restart_resumes_the_median(tmp_path, square):
    frames, _, _ = square
    config = BackgroundConfig(frames=3, stride=1, state_dir=tmp_path / "state")
    with BackgroundManager(config, "cam") as first:
        for image in frames[:3]:
            first.offer(image)
        # Written as soon as it is ready, not only at close.
        assert read_state(config.state_dir)["version"] == 1
    second = BackgroundManager(config, "cam")
    assert (second.ready, second.frames_wanted(), second.version) == (True, 0, first.version)
    np.testing.assert_array_equal(second.reference, first.reference)
    assert sorted(os.listdir(config.state_dir / "cam")) == ["reference.png", "state.json"]


def test_slow_updates_are_saved_at_most_every_interval(tmp_path, image_config, square):
    _, _, background = square
    config = image_config(update_rate=0.5, update_every=1, state_dir=tmp_path / "state")
    image = cv2.add(background, np.full_like(background, 40))
    mask = np.zeros((120, 160), np.uint8)
    manager = BackgroundManager(config, "cam")
    manager.observe(image, mask)
    manager.observe(image, mask)
    assert manager.version == 3
    assert read_state(config.state_dir)["version"] == 1  # the 10 s interval has not passed
    manager.close()
    state = read_state(config.state_dir)
    assert (state["version"], state["frames_seen"], state["init"]) == (3, 2, "image")
    resumed = BackgroundManager(config, "cam")
    np.testing.assert_array_equal(resumed.reference, manager.reference)


def test_slow_update_saved_once_the_interval_passed(tmp_path, image_config, square, monkeypatch):
    _, _, background = square
    monkeypatch.setattr(manager_module, "SAVE_INTERVAL_S", 0.0)
    config = image_config(update_rate=0.5, update_every=1, state_dir=tmp_path / "state")
    manager = BackgroundManager(config, "cam")
    manager.observe(
        cv2.add(background, np.full_like(background, 40)), np.zeros((120, 160), np.uint8)
    )
    assert read_state(config.state_dir)["version"] == 2


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: (d / "state.json").write_text('{"version": '),  # torn JSON
        lambda d: (d / "reference.png").write_bytes(b"\x89PNG\r\n"),  # truncated picture
        lambda d: (d / "state.json").unlink(),  # half a state
    ],
)
def test_corrupt_state_starts_fresh_with_a_warning(tmp_path, square, corrupt, caplog):
    frames, _, _ = square
    config = BackgroundConfig(frames=1, state_dir=tmp_path / "state")
    with BackgroundManager(config, "cam") as manager:
        manager.offer(frames[0])
    corrupt(config.state_dir / "cam")
    with caplog.at_level(logging.WARNING):
        fresh = BackgroundManager(config, "cam")
    assert (fresh.ready, fresh.version, fresh.frames_wanted()) == (False, 0, 1)
    assert "starting fresh" in caplog.text


def test_persisted_reference_of_another_size_is_reinitialised(tmp_path, image_config):
    config = image_config(state_dir=tmp_path / "state")
    BackgroundManager(config, "cam").close()  # persists the 160x120 picture
    resumed = BackgroundManager(config, "cam")
    frame = np.zeros((240, 320, 3), np.uint8)
    events = resumed.prepare(frame)
    assert [(e.kind, e.detail) for e in events] == [(REINIT_EVENT, "resolution 160x120 -> 320x240")]
    assert resumed.reference.shape == (240, 320, 3)


def test_unfinished_reinitialisation_is_finished_after_restart(tmp_path, image_config, square):
    frames, _, _ = square
    config = image_config(frames=2, stride=1, scene_change_frames=1, state_dir=tmp_path / "state")
    full = np.full((120, 160), 255, np.uint8)
    with BackgroundManager(config, "cam") as manager:
        manager.observe(frames[0], full)  # scene change: frames[0] is a provisional reference
    assert read_state(config.state_dir)["provisional"] is True
    resumed = BackgroundManager(config, "cam")
    assert resumed.version == 2
    np.testing.assert_array_equal(resumed.reference, frames[0])
    empty = np.zeros((120, 160), np.uint8)
    resumed.observe(frames[1], empty)
    resumed.observe(frames[2], empty)
    assert resumed.version == 3  # the median of the two frames after the restart
    resumed.close()
    assert read_state(config.state_dir)["provisional"] is False


def test_state_of_another_init_is_not_resumed(tmp_path, image_config, caplog):
    state_dir = tmp_path / "state"
    BackgroundManager(image_config(state_dir=state_dir), "cam").close()
    with caplog.at_level(logging.INFO):
        manager = BackgroundManager(BackgroundConfig(state_dir=state_dir), "cam")
    assert not manager.ready
    assert "starting fresh" in caplog.text


def test_unwritable_state_dir_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="background.state_dir"):
        BackgroundManager(BackgroundConfig(state_dir=blocker), "cam")


def test_failed_save_does_not_stop_the_stream(tmp_path, image_config, square, monkeypatch, caplog):
    frames, _, _ = square
    config = image_config(scene_change_frames=1, state_dir=tmp_path / "state")
    manager = BackgroundManager(config, "cam")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING):
        patch.setattr(os, "fsync", disk_full)
        manager.observe(frames[0], np.full((120, 160), 255, np.uint8))  # re-init: saves at once
        for image in frames[1:4]:
            manager.observe(image, np.zeros((120, 160), np.uint8))
    assert manager.version == 2
    assert caplog.text.count("could not persist") == 1  # retried after the interval, not per frame
    assert sorted(os.listdir(config.state_dir / "cam")) == ["reference.png", "state.json"]
    manager.close()  # the disk is back
    assert read_state(config.state_dir)["version"] == 2
