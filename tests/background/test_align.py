"""Camera shake: finding a frame's shift against a reference, and the bank's masks under shake."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.background.align import Shift, ShiftFinder, aligned, shifted
from streamcd.detector import Detector


def scene(size=(320, 240), seed=0) -> np.ndarray:
    """A textured still scene (BGR uint8), larger than the view so that shifted views are real."""
    w, h = size
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (h + 40, w + 40, 3), dtype=np.uint8), (0, 0), 1.5)


def view(picture: np.ndarray, dx: int, dy: int, size=(320, 240)) -> np.ndarray:
    """The camera's view of ``picture`` with the camera moved by (-dx, -dy): the scene appears
    shifted by (dx, dy)."""
    w, h = size
    return picture[20 - dy: 20 - dy + h, 20 - dx: 20 - dx + w].copy()


@pytest.mark.parametrize(("dx", "dy"), [(6, -4), (-3, 0), (0, 9)])
def test_a_shaken_view_is_found_and_moved_back(dx, dy):
    picture = scene()
    finder = ShiftFinder(view(picture, 0, 0))
    frame = view(picture, dx, dy)
    shift = finder.find(frame)
    assert shift.dx == pytest.approx(dx, abs=0.3) and shift.dy == pytest.approx(dy, abs=0.3)
    back = shifted(frame, -shift)
    inside = (slice(12, -12), slice(12, -12))
    assert cv2.absdiff(back, view(picture, 0, 0))[inside].mean() < 0.2 * cv2.absdiff(
        frame, view(picture, 0, 0))[inside].mean()


def test_shifts_are_found_on_a_smaller_reference_in_the_frames_pixels():
    picture = scene()
    reference = cv2.resize(view(picture, 0, 0), (160, 120), interpolation=cv2.INTER_AREA)
    shift = ShiftFinder(reference).find(view(picture, 8, -6))
    assert shift.dx == pytest.approx(8, abs=0.6) and shift.dy == pytest.approx(-6, abs=0.6)


def test_a_still_camera_with_something_moving_in_front_is_not_shifted():
    picture = view(scene(), 0, 0)
    finder = ShiftFinder(picture)
    for x in range(0, 280, 20):  # a bright 40 px square crossing the view
        frame = picture.copy()
        frame[100:140, x: x + 40] = (40, 220, 250)
        assert not finder.find(frame)


def test_an_object_the_reference_holds_that_moved_does_not_shift_the_view():
    # a faint scene with a bright square in the reference, the square 6 px further in the frame:
    # the square alone pulls the correlation's peak; only its quarter of the view gets closer
    rng = np.random.default_rng(3)
    faint = cv2.GaussianBlur(rng.integers(60, 100, (120, 160, 3), dtype=np.uint8), (0, 0), 3)
    reference, frame = faint.copy(), faint.copy()
    reference[40:80, 20:60] = (40, 220, 250)
    frame[40:80, 26:66] = (40, 220, 250)
    finder = ShiftFinder(reference)
    (dx, _), _ = cv2.phaseCorrelate(cv2.cvtColor(reference, cv2.COLOR_BGR2GRAY).astype(np.float32),
                                    cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32))
    assert dx > 3  # the peak is the square's
    assert not finder.find(frame)


def test_shifts_under_the_minimum_or_of_a_quarter_of_the_view_are_left_alone():
    picture = scene()
    finder = ShiftFinder(view(picture, 0, 0), min_shift=2.0)
    assert not finder.find(view(picture, 1, 1))
    assert finder.find(view(picture, 3, 0))
    assert not ShiftFinder(view(picture, 0, 0)[:60, :80]).find(view(picture, 16, 0)[:60, :80])


def test_the_frames_a_bank_is_made_of_are_aligned_onto_its_reference():
    picture = scene()
    reference = view(picture, 0, 0)
    frames = [view(picture, dx, dy) for dx, dy in [(0, 0), (5, 3), (-7, 2), (1, 0)]]
    out = aligned(reference, frames, min_shift=2.0)
    assert out[0] is frames[0] and out[3] is frames[3]  # no shift / under the minimum: as they are
    inside = (slice(12, -12), slice(12, -12))
    for frame in out[1:3]:
        assert cv2.absdiff(frame, reference)[inside].mean() < 5


def test_shift_arithmetic():
    assert not Shift() and Shift(1, 0) and -Shift(2, -3) == Shift(-2, 3)
    assert Shift(2, -3).scaled(0.5) == Shift(1, -1.5)


def shaking_video(n: int, seed: int = 1):
    """A camera shaking by up to 6 px from the first frame, over a textured scene, with a bright
    square crossing it: frames and the square's true masks."""
    picture = scene()
    rng = np.random.default_rng(seed)
    frames, masks = [], []
    for i in range(n):
        dx, dy = (int(v) for v in rng.integers(-6, 7, 2))
        frame = view(picture, dx, dy)
        mask = np.zeros(frame.shape[:2], bool)
        x = 10 + 4 * i
        frame[100:140, x: x + 40] = (40, 220, 250)
        mask[100:140, x: x + 40] = True
        frames.append(frame)
        masks.append(mask)
    return frames, masks


def test_a_shaking_camera_shows_its_object_and_not_its_edges():
    frames, masks = shaking_video(60)
    f_measure = {}
    for align in (True, False):
        detector = Detector(provider="cpu", background={"frames": 10, "stride": 1,
                                                        "bank": {"align": align}})
        out = [detector.apply(f) > 0 for f in frames]
        f_measure[align] = np.mean([2 * (m & t).sum() / (m.sum() + t.sum())
                                    for m, t in zip(out[20:], masks[20:])])
    # aligned, the square is found and the scene's edges stay background (measured 0.85); not
    # aligned, edges that moved by more than the bank's samples cover turn foreground (0.69)
    assert f_measure[True] > 0.8 and f_measure[False] < f_measure[True] - 0.1
