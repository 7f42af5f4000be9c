"""FrameProcessor with ``background.model: reference``: the threshold it masks with; what
ClientFrameProcessor needs for a feature bank."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.background import BackgroundManager
from streamcd.config import BackgroundConfig, PostprocessConfig
from streamcd.frames import Frame
from streamcd.postprocess import MaskPostprocessor
from streamcd.processor import ClientFrameProcessor, FrameProcessor
from tests.conftest import square_frames


class NoisyModel:
    """Stand-in change model: distance = mean absolute colour difference / 128 at stride 1."""

    threshold = 0.8
    provider = "cpu"
    multiple = 8
    stride = 1

    def __init__(self):
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
    """Feed ``images`` as a stream does: held while the median is collected, then processed."""
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


@pytest.mark.parametrize(("postprocess", "expected"), [
    (PostprocessConfig(), 0.8),  # the model card's threshold, as it is
    (PostprocessConfig(threshold=0.5), 0.5),  # the config's
])
def test_reference_mode_masks_at_the_card_or_the_configured_threshold(postprocess, expected):
    frames = with_sensor_noise(square_frames(12)[0])  # a quiet scene: nothing lowers the threshold
    model = NoisyModel()
    processor = processor_for(model, postprocess)
    run(processor, frames)
    assert processor.postprocess.threshold == expected
    assert model.distance_calls == 12  # each frame once: the median's frames are not re-scored
    # the frames of the median are let go (only a feature bank is built from them)
    assert processor.background.take_init_frames() is None


def test_a_client_processor_with_a_feature_bank_needs_the_head():
    # the encoder runs behind the client; the bank's comparison needs the head on this side
    model = NoisyModel()
    for kind, head, fails in [("bank", None, True), ("bank", model, False), ("reference", None, False)]:
        background = BackgroundManager(BackgroundConfig(model=kind), "cam")
        post = MaskPostprocessor(PostprocessConfig(), model.threshold)
        if fails:
            with pytest.raises(ValueError, match="background.model bank needs the model's head"):
                ClientFrameProcessor(None, model, background, post, "cam", head=head)
        else:
            assert ClientFrameProcessor(None, model, background, post, "cam", head=head).head is head


def test_bank_storage_is_float32_when_small_and_int8_for_unit_features_when_large():
    import numpy as np

    from streamcd.processor import BANK_FLOAT32_MAX_BYTES, _storage

    rng = np.random.default_rng(0)
    side = rng.normal(size=(1, 8, 360, 640)).astype(np.float32)  # a 1280x720 frame's side 0
    unit_side = side / np.linalg.norm(side, axis=1, keepdims=True)
    assert unit_side.nbytes * 8 > BANK_FLOAT32_MAX_BYTES
    assert _storage("auto", 8, (unit_side,)) is np.int8
    assert _storage("auto", 8, (side,)) is np.float16  # beyond +-1: int8 could not hold it
    assert _storage("auto", 8, (unit_side[:, :, :120, :160],)) is np.float32
    assert _storage("float16", 8, (unit_side,)) is np.float16
    assert _storage("float32", 8, (unit_side,)) is np.float32
