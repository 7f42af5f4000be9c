"""The per-scene threshold rule: statistic, frame choice, card round trip, and FrameProcessor use."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.background import BackgroundManager
from streamcd.config import BackgroundConfig, PostprocessConfig
from streamcd.frames import Frame
from streamcd.postprocess import MaskPostprocessor
from streamcd.postprocess.calibration import SceneCalibration, scene_statistic, spread
from streamcd.processor import FrameProcessor
from tests.conftest import square_frames


@pytest.mark.parametrize(("count", "most", "expected"), [
    (30, 15, None),
    (5, 15, [0, 1, 2, 3, 4]),
    (10, 3, [0, 4, 9]),  # linspace 0, 4.5, 9 rounds half to even
    (1, 15, [0]),
    (0, 15, []),
])
def test_spread_picks_evenly_with_both_ends(count, most, expected):
    got = spread(count, most)
    if expected is None:  # the 30 -> 15 case: check the properties, not a list
        assert len(got) == 15 and got[0] == 0 and got[-1] == 29
        assert max(np.diff(got)) - min(np.diff(got)) <= 1
    else:
        assert got == expected


def test_statistic_is_the_quantile_of_every_second_pixel():
    rng = np.random.default_rng(0)
    maps = [rng.random((40, 60), dtype=np.float32) for _ in range(3)]
    values = np.concatenate([m[::2, ::2].ravel() for m in maps])
    assert scene_statistic(maps, 0.9) == pytest.approx(np.quantile(values, 0.9))
    np.testing.assert_allclose(scene_statistic(maps, (0.5, 0.99)), np.quantile(values, (0.5, 0.99)))


def test_threshold_stays_between_a_tenth_of_the_ceiling_and_the_ceiling():
    rule = SceneCalibration(quantile=0.5, scale=2.0)
    quiet = [np.full((8, 8), 0.1, np.float32)]
    noisy = [np.full((8, 8), 0.6, np.float32)]
    still = [np.zeros((8, 8), np.float32)]  # a noise-free synthetic scene
    assert rule.threshold(quiet, ceiling=0.8) == pytest.approx(0.2)
    assert rule.threshold(noisy, ceiling=0.8) == 0.8
    assert rule.threshold(still, ceiling=0.8) == pytest.approx(0.08)


def test_card_round_trip_and_bad_values():
    rule = SceneCalibration(0.95, 1.9, 15)
    assert SceneCalibration.from_card({**rule.as_card(), "fitted_on": {"scenes": 3}}) == rule
    assert SceneCalibration.from_card(None) is None
    for bad in ({"quantile": 1.0, "scale": 1.0}, {"quantile": 0.9, "scale": 0.0},
                {"quantile": 0.9, "scale": 1.0, "frames": 0}):
        with pytest.raises(ValueError, match="calibration needs"):
            SceneCalibration.from_card(bad)


class NoisyModel:
    """Stand-in change model: distance = mean absolute colour difference / 128 at stride 1."""

    threshold = 0.8
    provider = "cpu"
    multiple = 8
    stride = 1

    def __init__(self, calibration):
        self.calibration = calibration
        self.distance_calls = 0

    def encode_reference(self, images):
        return (images.astype(np.float32),)

    def distance(self, reference, images):
        self.distance_calls += len(images)
        return np.abs(images.astype(np.float32) - reference[0]).mean(axis=3) / 128


def processor_for(model, postprocess: PostprocessConfig, frames=10, stride=1):
    background = BackgroundManager(BackgroundConfig(model="reference", frames=frames, stride=stride), "cam")
    return FrameProcessor(model, background, MaskPostprocessor(postprocess, model.threshold), "cam")


def run(processor, images):
    pending = []
    for i, image in enumerate(images):
        frame = Frame(i, i + 1, 0.0, image, 0.0)
        if processor.background.frames_wanted():
            processor.background.offer(image)
            pending.append(frame)
            if processor.background.frames_wanted():
                continue
            for held in pending:
                processor.process(held)
            continue
        processor.process(frame)


def with_sensor_noise(frames, sigma=4.0, seed=1):
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8) for f in frames]


def test_processor_lowers_the_threshold_on_a_quiet_scene():
    frames = with_sensor_noise(square_frames(12)[0])
    model = NoisyModel(SceneCalibration(quantile=0.9, scale=3.0, frames=3))
    processor = processor_for(model, PostprocessConfig())
    run(processor, frames)
    reference = processor.background.reference
    expected_maps = [np.abs(frames[i].astype(np.float32) - reference).mean(axis=2) / 128 for i in (0, 4, 9)]
    expected = min(0.8, 3.0 * scene_statistic(expected_maps, 0.9))
    assert processor.postprocess.threshold == pytest.approx(expected, rel=1e-5)
    assert 0.01 < processor.postprocess.threshold < 0.8
    # 3 picked init frames once, then the 12 frames: the init frames are not re-calibrated
    assert model.distance_calls == 3 + 12
    assert processor.background.take_init_frames() is None


@pytest.mark.parametrize("postprocess", [PostprocessConfig(threshold=0.8),
                                         PostprocessConfig(calibrate=False)])
def test_a_fixed_threshold_or_calibrate_off_keeps_the_card_value(postprocess):
    frames = with_sensor_noise(square_frames(12)[0])
    model = NoisyModel(SceneCalibration(quantile=0.9, scale=3.0, frames=3))
    processor = processor_for(model, postprocess)
    run(processor, frames)
    assert processor.postprocess.threshold == 0.8
    assert model.distance_calls == 12


def test_a_median_of_few_frames_is_not_calibrated(caplog):
    frames = with_sensor_noise(square_frames(8)[0])
    model = NoisyModel(SceneCalibration(quantile=0.9, scale=3.0, frames=3))
    processor = processor_for(model, PostprocessConfig(), frames=4)
    with caplog.at_level("INFO", logger="streamcd.processor"):
        run(processor, frames)
    assert processor.postprocess.threshold == 0.8 and model.distance_calls == 8
    assert "the background median had 4 frames, calibrating needs 10" in caplog.text


def test_a_model_without_a_rule_keeps_the_card_value():
    frames = with_sensor_noise(square_frames(12)[0])
    model = NoisyModel(None)
    processor = processor_for(model, PostprocessConfig())
    run(processor, frames)
    assert processor.postprocess.threshold == 0.8
