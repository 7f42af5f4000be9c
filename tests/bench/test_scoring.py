"""Pixel rules and metric formulas of the CDnet 2014 comparator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamcd.bench.scoring import Confusion, Metrics, confusion_of
from streamcd.errors import DatasetError

ALL = np.ones((1, 4), bool)


def row(*values):
    return np.array([values], np.uint8)


@pytest.mark.parametrize(
    ("prediction", "groundtruth", "roi", "expected"),
    [
        # one pixel of each outcome: tp, fp, fn, tn
        (row(255, 255, 0, 0), row(255, 0, 255, 0), ALL, Confusion(1, 1, 1, 1)),
        # hard shadow (50) is negative: detected -> fp (and a shadow error), missed -> tn
        (row(255, 0, 255, 0), row(50, 50, 50, 255), ALL, Confusion(0, 2, 1, 1, shadow_errors=2)),
        # outside ROI (85) and unknown motion (170) are not scored, whatever the prediction
        (row(255, 0, 255, 0), row(85, 85, 170, 170), ALL, Confusion(0, 0, 0, 0)),
        (row(255, 255, 0, 0), row(255, 85, 170, 0), ALL, Confusion(1, 0, 0, 1)),
        # ROI zero: not scored
        (
            row(255, 255, 0, 0),
            row(255, 0, 255, 0),
            np.array([[1, 0, 0, 1]], bool),
            Confusion(1, 0, 0, 1),
        ),
        # prediction 127 (MOG2/KNN shadow) and any value but 255 is background
        (row(127, 127, 254, 1), row(255, 0, 255, 0), ALL, Confusion(0, 0, 2, 2)),
        # 127 on a GT shadow is a true negative, not a shadow error
        (row(127, 127, 127, 127), row(50, 50, 50, 50), ALL, Confusion(0, 0, 0, 4)),
    ],
    ids=[
        "outcomes",
        "shadow",
        "ignored-85-170",
        "mixed-ignored",
        "roi",
        "pred-127",
        "127-on-shadow",
    ],
)
def test_confusion_of_pixel_rules(prediction, groundtruth, roi, expected):
    assert confusion_of(prediction, groundtruth, roi) == expected


def test_confusion_of_counts_a_larger_frame():
    rng = np.random.default_rng(0)
    gt = rng.choice(np.array([0, 50, 85, 170, 255], np.uint8), (60, 80))
    pred = rng.choice(np.array([0, 127, 255], np.uint8), (60, 80))
    roi = rng.random((60, 80)) > 0.2
    scored = roi & (gt != 85) & (gt != 170)
    fg = pred == 255
    expected = Confusion(
        tp=int(np.sum(scored & fg & (gt == 255))),
        fp=int(np.sum(scored & fg & (gt != 255))),
        fn=int(np.sum(scored & ~fg & (gt == 255))),
        tn=int(np.sum(scored & ~fg & (gt != 255))),
        shadow_errors=int(np.sum(scored & fg & (gt == 50))),
    )
    assert confusion_of(pred, gt, roi) == expected
    assert expected.total == int(scored.sum())


@pytest.mark.parametrize("bad", [1, 100, 128, 254])
def test_invalid_groundtruth_value_is_named(bad):
    with pytest.raises(DatasetError, match=rf"\[{bad}\]"):
        confusion_of(row(0, 0, 0, 0), row(0, bad, 255, 50), ALL)


@pytest.mark.parametrize(
    ("prediction", "message"),
    [
        (np.zeros((1, 5), np.uint8), "prediction is 5x1 but groundtruth is 4x1"),  # wrong width
        (np.zeros((1, 4, 3), np.uint8), "prediction is 4x1x3"),  # colour result
    ],
)
def test_size_mismatch_is_a_dataset_error(prediction, message):
    with pytest.raises(DatasetError, match=message):
        confusion_of(prediction, row(0, 0, 0, 0), ALL)


def test_confusion_adds():
    assert Confusion(1, 2, 3, 4, 1) + Confusion(10, 20, 30, 40) == Confusion(11, 22, 33, 44, 1)
    assert sum([Confusion(1, 0, 0, 0)] * 3, Confusion(0, 0, 0, 0)) == Confusion(3, 0, 0, 0)


def test_metrics_follow_the_official_formulas():
    tp, fp, fn, tn = 6, 2, 3, 89
    m = Confusion(tp, fp, fn, tn).metrics()
    re, pr = tp / (tp + fn), tp / (tp + fp)
    assert m == Metrics(
        recall=re,
        specificity=tn / (tn + fp),
        fpr=fp / (fp + tn),
        fnr=fn / (tp + fn),
        pwc=100.0 * (fn + fp) / (tp + fn + fp + tn),
        precision=pr,
        f_measure=2.0 * (re * pr) / (re + pr),
    )


NAN = math.nan


@pytest.mark.parametrize(
    ("confusion", "expected"),
    [
        # no positive pixel, no detection: recall, fnr, precision and F undefined
        (Confusion(0, 0, 0, 10), Metrics(NAN, 1.0, 0.0, NAN, 0.0, NAN, NAN)),
        # no positive pixel, false alarms only: F = 0
        (Confusion(0, 5, 0, 5), Metrics(NAN, 0.5, 0.5, NAN, 50.0, 0.0, 0.0)),
        # positives all missed, nothing detected: precision undefined, F = 0
        (Confusion(0, 0, 4, 6), Metrics(0.0, 1.0, 0.0, 1.0, 40.0, NAN, 0.0)),
        # every scored pixel positive and found: specificity and fpr undefined
        (Confusion(4, 0, 0, 0), Metrics(1.0, NAN, NAN, 0.0, 0.0, 1.0, 1.0)),
        # nothing scored at all
        (Confusion(0, 0, 0, 0), Metrics(NAN, NAN, NAN, NAN, NAN, NAN, NAN)),
    ],
    ids=["no-positives", "false-alarms-only", "all-missed", "all-positive", "empty"],
)
def test_zero_division_conventions(confusion, expected):
    got = confusion.metrics().as_dict()
    for name, value in expected.as_dict().items():
        assert got[name] == pytest.approx(value, nan_ok=True), name


def test_mean_leaves_undefined_values_out():
    a = Metrics(1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0)
    b = Metrics(NAN, 0.5, 0.5, NAN, 10.0, 0.0, 0.0)
    m = Metrics.mean([a, b])
    assert m.recall == 1.0  # b has no positives: left out
    assert m.specificity == 0.75
    assert m.f_measure == 0.5
    assert math.isnan(Metrics.mean([b]).recall)
