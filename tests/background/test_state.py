"""Persistence files: atomic writes, exact round trip, and refusal of anything inconsistent."""

from __future__ import annotations

import hashlib
import json
import logging
import os

import cv2
import numpy as np
import pytest

from streamcd.background.state import SavedState, StateStore


def make_state(**changes) -> SavedState:
    fields = {
        "stream": "cam",
        "version": 3,
        "width": 16,
        "height": 12,
        "frames_seen": 40,
        "saved_at": 1.5,
        "init": "median",
        "image": None,
        "provisional": False,
    }
    return SavedState(**{**fields, **changes})


@pytest.fixture
def saved(tmp_path):
    """A store holding a random 16x12 reference."""
    store = StateStore(tmp_path, "cam")
    reference = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    store.save(reference, make_state())
    return store, reference


def test_round_trip_is_exact(saved):
    store, reference = saved
    loaded, state = store.load()
    np.testing.assert_array_equal(loaded, reference)
    assert (state.version, state.width, state.height, state.frames_seen) == (3, 16, 12, 40)
    assert len(state.sha256) == 64


def test_saves_leave_only_the_two_files(saved):
    store, reference = saved
    for version in range(4, 8):
        store.save(reference, make_state(version=version))
    assert sorted(os.listdir(store.dir)) == ["reference.png", "state.json"]
    assert json.loads(store.state_path.read_text())["version"] == 7


def test_failed_write_leaves_old_files_and_no_temp(saved, monkeypatch):
    store, reference = saved
    before = store.state_path.read_bytes(), store.reference_path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.save(reference[::-1].copy(), make_state(version=9))
    assert sorted(os.listdir(store.dir)) == ["reference.png", "state.json"]
    assert (store.state_path.read_bytes(), store.reference_path.read_bytes()) == before


def test_absent_state_is_silent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert StateStore(tmp_path, "cam").load() is None
    assert caplog.text == ""


def edit_json(**changes):
    def corrupt(store):
        data = json.loads(store.state_path.read_text())
        data.update(changes)
        store.state_path.write_text(json.dumps(data))

    return corrupt


def other_size_png(store):
    # A decodable PNG of another size whose checksum is recorded: only the size check catches it.
    _, png = cv2.imencode(".png", np.zeros((5, 5, 3), np.uint8))
    store.reference_path.write_bytes(png.tobytes())
    edit_json(sha256=hashlib.sha256(png.tobytes()).hexdigest())(store)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda s: s.state_path.write_text("{not json"),  # garbage
        lambda s: s.state_path.write_text("[]"),  # JSON, not an object
        lambda s: s.state_path.write_bytes(b"\xff\xfe\x00"),  # not UTF-8
        edit_json(version="3"),  # wrong type
        edit_json(width=True),  # bool is not an int here
        edit_json(version=0),  # out of range
        edit_json(format=2),  # written by a future streamcd
        lambda s: s.state_path.unlink(),  # reference without its state
        lambda s: s.reference_path.unlink(),  # state without its reference
        lambda s: s.reference_path.write_bytes(s.reference_path.read_bytes()[:60]),  # truncated
        other_size_png,  # checksum matches, size does not
    ],
)
def test_corrupt_state_is_ignored_with_a_warning(saved, corrupt, caplog):
    store, _ = saved
    corrupt(store)
    with caplog.at_level(logging.WARNING):
        assert store.load() is None
    assert "starting fresh" in caplog.text
