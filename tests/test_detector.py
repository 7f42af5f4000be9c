"""``Detector``: ``apply(frame) -> mask`` and ``getBackgroundImage()``, as in OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.config import BackgroundConfig
from streamcd.detector import Detector
from streamcd.errors import ConfigError
from streamcd.runtime.onnx_model import OnnxChangeModel
from tests.conftest import square_frames


@pytest.fixture(scope="module")
def model():
    """The shipped model on CPU, loaded once for the module."""
    return OnnxChangeModel.load(None, provider="cpu")


def clean_background(size=(160, 120), seed=0) -> np.ndarray:
    """The empty scene of ``square_frames`` (same texture, no square)."""
    w, h = size
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(40, 120, (h, w, 3), dtype=np.uint8), (0, 0), 3)


def iou(mask: np.ndarray, truth: np.ndarray) -> float:
    found = mask > 0
    return float((found & truth).sum() / max((found | truth).sum(), 1))


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


@pytest.mark.parametrize(
    ("size", "to_grey"),
    [
        ((160, 120), False),
        ((150, 100), False),  # sides not multiples of 8: resized for the model and back
        ((161, 121), False),  # odd sides
        ((160, 120), True),  # grey HxW frames
    ],
)
def test_a_mask_for_every_frame_from_the_first(model, size, to_grey):
    frames, _ = square_frames(8, size=size)
    detector = Detector(model, background={"frames": 4, "stride": 2})
    for image in frames:
        mask = detector.apply(grey(image) if to_grey else image)
        assert mask.shape == (size[1], size[0]) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 255}
        assert detector.last_result.mask is mask
    assert detector.last_result.frame.index == len(frames) - 1


def test_finds_the_moving_square_once_the_median_is_ready(model):
    # 80 frames; the median takes every 3rd of the first 43, the square covers a pixel for ~15.
    frames, masks = square_frames(80)
    detector = Detector(model, background={"frames": 15, "stride": 3})
    ready_at = (15 - 1) * 3  # index of the frame that completes the median
    scores = []
    for i, (image, truth) in enumerate(zip(frames, masks)):
        if i < ready_at:
            # Start-up: compared with the first frame, which is the provisional background.
            detector.apply(image)
            np.testing.assert_array_equal(detector.getBackgroundImage(), frames[0])
        else:
            mask = detector.apply(image)
            assert (mask[truth] > 0).any(), f"frame {i}: the square is missed"
            scores.append(iou(mask, truth))
    assert np.median(scores) > 0.5, np.round(scores, 2)
    # The median of the moving square's frames is the empty scene.
    diff = np.abs(detector.getBackgroundImage().astype(int) - clean_background())
    assert diff.mean() < 2 and np.percentile(diff, 99) < 10


@pytest.mark.parametrize("to_grey", [False, True])
def test_given_background_image_is_ready_at_once(model, to_grey):
    frames, masks = square_frames(10)
    empty = clean_background()
    # each frame alone: the square jumps 14 px (over half its width) a frame, and the shipped
    # card's 2-frame temporal mean would halve where it just arrived (test_temporal.py)
    detector = Detector(model, background=grey(empty) if to_grey else empty,
                        postprocess={"temporal_mean": 1})
    reference = detector.getBackgroundImage()
    assert reference.shape == (120, 160, 3)
    expected = np.repeat(grey(empty)[..., None], 3, axis=2) if to_grey else empty
    np.testing.assert_array_equal(reference, expected)
    scores = [iou(detector.apply(grey(f) if to_grey else f), m) for f, m in zip(frames, masks)]
    # the square is found from the first frame (with frame 1 as the background it would score 0)
    assert min(scores) > 0.4 and np.median(scores) > 0.5, np.round(scores, 2)


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (2.5, 0),  # above the largest possible distance of unit vectors (2): nothing is changed
        (None, None),  # the model card's threshold: the square, not the whole frame
    ],
)
def test_threshold(model, threshold, expected):
    frames, _ = square_frames(3)
    detector = Detector(model, background=clean_background(), threshold=threshold)
    mask = detector.apply(frames[2])
    if expected is not None:
        assert (mask > 0).sum() == expected
    else:
        assert 0 < (mask > 0).mean() < 0.5


def test_keep_distance_and_config_objects(model):
    frames, _ = square_frames(2)
    detector = Detector(
        model,
        background=BackgroundConfig(frames=1),
        keep_distance=True,
        postprocess={"min_area": 5},
    )
    detector.apply(frames[0])
    distance = detector.last_result.distance
    assert distance.shape == (120, 160) and distance.dtype == np.float32
    assert detector.provider == "cpu"


@pytest.mark.parametrize(
    ("kwargs", "image", "error", "match"),
    [
        ({"background": {"frames": 0}}, None, ConfigError, "invalid BackgroundConfig"),
        ({"background": {"method": "median"}}, None, ConfigError, "method"),
        ({"postprocess": "open"}, None, ConfigError, "expected a PostprocessConfig or a dict"),
        ({}, np.zeros((120, 160, 3), np.float32), ValueError, "HxWx3 uint8"),
        ({}, np.zeros((120, 160, 4), np.uint8), ValueError, "HxWx3 uint8"),
    ],
)
def test_bad_arguments(model, kwargs, image, error, match):
    with pytest.raises(error, match=match):
        Detector(model, **kwargs).apply(image)


def test_a_ghost_of_an_object_present_at_start_heals_with_the_bank_only(model):
    # a square stands in the first 60 frames (the whole median), then leaves for good
    background = clean_background()
    with_object = background.copy()
    with_object[40:80, 60:100] = (40, 220, 250)
    ghost = {}
    for name, settings in [("default", {}), ("diffusion", {"bank": {"ghosts": False}}),
                           ("stopped", {"bank": {"ghosts": False, "still_update": 128}}),
                           ("reference", {"model": "reference"})]:
        # at the frame's own grid (min_side off): diffusion's pace is counted in grid cells
        detector = Detector(model, background={"frames": 30, "stride": 2, **settings},
                            min_side=None)
        for _ in range(60):
            detector.apply(with_object)
        share = [(detector.apply(background)[40:80, 60:100] > 0).mean() for _ in range(1000)]
        ghost[name] = next((i for i, s in enumerate(share) if s < 0.05), None), share
    # the bank flags the ghost at once; its outline is an edge of the bank, not of the frame, so
    # by default it is learnt within a few frames; without that test diffusion from its border
    # eats into it slowly; absorbing stopped foreground (still_update) clears it after a wait;
    # the single reference keeps it for ever (from the 2nd frame: at the card threshold the
    # card's 2-frame temporal mean halves a change in its first frame)
    assert ghost["default"][1][0] > 0.5 and ghost["default"][0] is not None and ghost["default"][0] < 30
    diffusion, stopped = ghost["diffusion"][1], ghost["stopped"]
    assert diffusion[0] > 0.5 and max(diffusion[-50:]) < 0.7 * diffusion[0]
    assert min(diffusion[:100]) > 0.3
    assert stopped[0] is not None and stopped[0] < 600
    assert min(ghost["reference"][1][1:]) > 0.9


def test_an_object_that_arrives_and_stands_still_stays_foreground(model):
    # the square arrives after the median and stays: its outline is in the frame, not a ghost
    background = clean_background()
    with_object = background.copy()
    with_object[40:80, 60:100] = (40, 220, 250)
    detector = Detector(model, background={"frames": 30, "stride": 2})
    for _ in range(60):
        detector.apply(background)
    share = [(detector.apply(with_object)[40:80, 60:100] > 0).mean() for _ in range(1000)]
    assert min(share) > 0.8


@pytest.mark.parametrize("gain", [0.75, 1.25])
def test_an_exposure_change_is_not_foreground(model, gain):
    # the camera's exposure steps (auto-exposure, a cloud) after the bank is made; the square
    # moves through the darker or brighter scene
    frames, masks = square_frames(60)
    outcome = {}
    for exposure in (True, False):
        detector = Detector(model, background={"bank": {"exposure": exposure}})
        for _ in range(30):
            detector.apply(clean_background())
        false_share, hit, union = [], 0, 0
        for image, truth in zip(frames, masks):
            found = detector.apply(np.clip(image * np.float32(gain), 0, 255).astype(np.uint8)) > 0
            false_share.append((found & ~truth).mean())
            hit, union = hit + (found & truth).sum(), union + (found | truth).sum()
        outcome[exposure] = max(false_share), float(np.mean(false_share)), hit / union
    assert outcome[True][0] < 0.01 and outcome[True][2] > 0.9  # matched: only the square
    assert outcome[False][1] > 0.02 and outcome[False][2] < 0.7  # as they are: the scene lights up
