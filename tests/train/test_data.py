"""Training references: which median the training pairs and the run-time-like scenes use."""

import numpy as np
import pytest

from streamcd.background.median import still_median, temporal_median
from streamcd.cdnet_layout import CdnetVideo
from streamcd.train.data import (
    _read,
    cdnet_reference_numbers,
    cdnet_train_val,
    stream_median,
    stream_median_numbers,
)


@pytest.mark.parametrize(("method", "median"), [("all", temporal_median), ("still", still_median)])
def test_cdnet_training_pairs_use_the_requested_median(core_data, highway, method, median):
    video = CdnetVideo.open(highway)
    warmup = np.stack([_read(video.input_path(n)) for n in cdnet_reference_numbers(video)])
    train, val = cdnet_train_val(core_data / "cdnet2014", step=50, method=method,
                                 exclude=("cameraJitter/traffic",))
    assert [v.name for v in train] == ["baseline/highway"]
    np.testing.assert_array_equal(train[0].reference, median(warmup))
    np.testing.assert_array_equal(val[0].reference, median(warmup))


def test_still_and_plain_stream_medians_differ_on_a_busy_clip(traffic):
    # cameraJitter/traffic from frame 1: cars drive through the first 59 frames
    video = CdnetVideo.open(traffic)
    frames = np.stack([_read(video.input_path(n)) for n in stream_median_numbers(video)])
    still, plain = stream_median(video, method="still"), stream_median(video, method="all")
    np.testing.assert_array_equal(still, still_median(frames))
    np.testing.assert_array_equal(plain, temporal_median(frames))
    assert np.count_nonzero(np.abs(still.astype(int) - plain).max(axis=2) > 20) > 50
