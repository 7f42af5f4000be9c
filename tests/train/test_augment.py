"""Training pairs: alternate references of a camera and how a pair picks one."""

import numpy as np
import pytest

from streamcd.train.augment import AugmentConfig, sample_pair
from streamcd.train.data import LabelledVideo, with_alternate_references


def brightening_video(n=60, size=(48, 40)):
    """Frame i is uniformly 3*i grey: a median of frames tells which stretch it came from."""
    w, h = size
    frames = np.stack([np.full((h, w, 3), 3 * i, np.uint8) for i in range(n)])
    labels = np.zeros((n, h, w), np.uint8)
    return LabelledVideo("test/brightening", np.zeros((h, w, 3), np.uint8), frames, labels,
                         tuple(range(1, n + 1)))


def test_alternates_are_medians_of_stretches_of_the_videos_frames():
    video = with_alternate_references(brightening_video(), np.random.default_rng(0), count=4, frames=15)
    assert video.alternates.shape == (4, 40, 48, 3)
    for alternate in video.alternates:
        assert alternate.min() == alternate.max()  # uniform, like every frame
        assert 0 <= alternate[0, 0, 0] <= 3 * 59  # made of the video's own frames
    assert len({int(a[0, 0, 0]) for a in video.alternates}) > 1  # other stretches, other medians


def test_a_short_video_keeps_its_single_reference():
    video = brightening_video(n=20)
    assert with_alternate_references(video, np.random.default_rng(0), frames=15).alternates is None


def test_subset_keeps_the_alternates():
    video = with_alternate_references(brightening_video(), np.random.default_rng(0))
    assert video.subset(np.arange(60) < 10).alternates is video.alternates


@pytest.mark.parametrize(("probability", "expected"), [(0.0, {0}), (1.0, {200})])
def test_pairs_use_an_alternate_with_its_probability(probability, expected):
    video = brightening_video()
    video = LabelledVideo(video.name, video.reference, video.frames, video.labels, video.numbers,
                          np.full((2, 40, 48, 3), 200, np.uint8))
    cfg = AugmentConfig(crop=24, jitter_px=2, photometric_prob=0.0, grey_prob=0.0,
                        alternate_prob=probability)
    rng = np.random.default_rng(1)
    seen = {int(sample_pair(video, rng, cfg)[0].max()) for _ in range(20)}
    assert seen == expected
