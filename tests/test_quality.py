"""The shipped model against a trivial detector on held-out CDnet frames (never trained on).

Both methods get the same reference (the background manager's CDnet initialisation) and are
scored with the official CDnet rules on the same frames.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd import Detector
from streamcd.background.initial import cdnet_warmup
from streamcd.bench.evaluate import read_groundtruth
from streamcd.bench.scoring import Confusion, confusion_of
from streamcd.cdnet_layout import CdnetVideo

FRAMES = 60  # held-out frames per video, from the start of the held-out range


def _frame_difference(reference: np.ndarray, image: np.ndarray, threshold: int = 30) -> np.ndarray:
    """The trivial baseline: grey absolute difference to the reference above a fixed level."""
    diff = cv2.absdiff(cv2.cvtColor(reference, cv2.COLOR_BGR2GRAY), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    return np.where(diff > threshold, np.uint8(255), np.uint8(0))


def _score(video: CdnetVideo):
    reference = cdnet_warmup(video.root, 30).median()
    detector = Detector(background=reference, provider="cpu")
    roi = video.roi_mask((reference.shape[1], reference.shape[0]))
    model, trivial = Confusion(0, 0, 0, 0), Confusion(0, 0, 0, 0)
    start = video.heldout_range()[0]
    for n in range(start, start + FRAMES):
        image = cv2.imread(str(video.input_path(n)))
        gt = read_groundtruth(video.groundtruth_path(n))
        model = model + confusion_of(detector.apply(image), gt, roi)
        trivial = trivial + confusion_of(_frame_difference(reference, image), gt, roi)
    return model.metrics().f_measure, trivial.metrics().f_measure


@pytest.mark.parametrize("key", ["baseline/highway", "cameraJitter/traffic"])
def test_model_beats_frame_difference_on_heldout_frames(shared_data, key):
    video = CdnetVideo.open(shared_data / "cdnet2014" / key)
    model_f, trivial_f = _score(video)
    print(f"{key}: model F {model_f:.3f}, frame difference F {trivial_f:.3f}")
    assert model_f > trivial_f + 0.05
    assert model_f > 0.6
