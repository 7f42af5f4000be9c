"""The bank comparison: numpy takes over from the head graph only where it gives its answer."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.errors import ModelError
from streamcd.runtime.bank_compare import (
    UNIT_AGREEMENT,
    BankComparer,
    mean_side_distance,
    quantised,
    unit_side_distance,
    widened,
)
from streamcd.runtime.onnx_model import OnnxChangeModel


@pytest.fixture(scope="module")
def model():
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


def features(model, n: int, seed: int):
    rng = np.random.default_rng(seed)
    return model.encode(rng.integers(0, 256, (n, 120, 160, 3), dtype=np.uint8))


class Session:
    """A head graph stand-in: the shipped head's answer times ``scale``; counts its runs."""

    def __init__(self, model, scale: float = 1.0):
        self.model, self.scale, self.runs = model, scale, 0

    def run(self, _outputs, feeds):
        self.runs += 1
        values = list(feeds.values())
        half = len(values) // 2
        return [self.scale * self.model.compare_bank(tuple(values[:half]), tuple(values[half:]))[:, None]]


class HeadGraph:
    """The shipped head graph itself (the model's own comparer may already run numpy)."""

    def __init__(self, model):
        self.model = model

    def run(self, outputs, feeds):
        return self.model._head.run(outputs, dict(zip(self.model._head_in, feeds.values())))


def test_the_numpy_arithmetic_is_the_shipped_heads(model):
    samples, query = features(model, 8, seed=1), features(model, 1, seed=2)
    graph = model._head.run(None, dict(zip(model._head_in, (*samples, *query))))[0][:, 0]
    ours = mean_side_distance(samples, query)
    assert ours.shape == graph.shape == (8, 60, 80) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, graph, atol=1e-5)


def test_numpy_takes_over_after_one_agreeing_comparison(model):
    session = Session(model)
    compare = BankComparer(session, ["r0", "r1", "r2", "q0", "q1", "q2"])
    samples = features(model, 4, seed=3)
    assert compare.uses_numpy is None
    first = compare(samples, features(model, 1, seed=4))
    assert compare.uses_numpy is True and session.runs == 1
    query = features(model, 1, seed=5)
    np.testing.assert_allclose(compare(samples, query), model.compare_bank(samples, query), atol=1e-5)
    assert session.runs == 1 and first.shape == (4, 60, 80)


@pytest.mark.parametrize("allow_numpy", [True, False])
def test_a_head_of_another_kind_keeps_running_as_the_graph(model, allow_numpy):
    session = Session(model, scale=2.0)  # not the mean of the sides' distances
    compare = BankComparer(session, ["r0", "r1", "r2", "q0", "q1", "q2"], allow_numpy=allow_numpy)
    samples = features(model, 4, seed=6)
    for seed in (7, 8):
        query = features(model, 1, seed=seed)
        np.testing.assert_allclose(compare(samples, query), 2 * model.compare_bank(samples, query),
                                   rtol=1e-5, atol=1e-5)
    assert compare.uses_numpy is False and session.runs == 2


def test_features_of_another_size_are_refused(model):
    compare = BankComparer(Session(model), ["r0", "r1", "r2", "q0", "q1", "q2"])
    with pytest.raises(ModelError, match="compare_bank needs bank samples"):
        compare(features(model, 4, seed=9), model.encode(np.zeros((1, 240, 320, 3), np.uint8)))


def test_unit_length_features_take_the_product_form_within_its_tolerance(model):
    """The shipped encoders L2-normalise every pixel: 2 - 2 b.f replaces the difference array,
    and stays within UNIT_AGREEMENT of the graph even where a sample is the frame itself."""
    samples = features(model, 4, seed=10)
    query = tuple(s[2:3] for s in samples)  # distance 0 to sample 2: the worst rounding
    graph = model._head.run(None, dict(zip(model._head_in, (*samples, *query))))[0][:, 0]
    assert np.abs(unit_side_distance(samples, query) - graph).max() <= UNIT_AGREEMENT
    compare = BankComparer(HeadGraph(model), ["r0", "r1", "r2", "q0", "q1", "q2"])
    compare(samples, query)
    assert compare.form == "unit_side_distance"


def test_samples_stored_in_float16_take_the_difference_form(model):
    """Widened float16 samples are no longer of unit length to float32 precision: 2 - 2 b.f
    would be off by ~1e-2 near 0, so the comparer keeps the exact difference form."""
    samples = tuple(s.astype(np.float16).astype(np.float32) for s in features(model, 4, seed=11))
    query = tuple(s[1:2] for s in samples)
    compare = BankComparer(HeadGraph(model), ["r0", "r1", "r2", "q0", "q1", "q2"])
    graph = compare(samples, query)
    assert compare.form == "mean_side_distance"
    np.testing.assert_allclose(compare(samples, query), graph, atol=1e-5)


def test_int8_samples_take_their_own_form_beside_a_float32_bank_of_the_same_model(model):
    """One model serves streams of several sizes: a small one's float32 bank takes the product
    form, a large one's int8 bank (no longer of unit length) must not inherit it: it takes the
    int8 form, which equals the difference form on the widened samples."""
    samples = features(model, 4, seed=12)
    query = tuple(s[3:4] for s in samples)  # distance 0 to sample 3: where 2 - 2 b.f is worst
    compare = BankComparer(HeadGraph(model), ["r0", "r1", "r2", "q0", "q1", "q2"])
    exact = compare(samples, query)
    assert compare.form == "unit_side_distance"
    small = tuple(quantised(s) for s in samples)
    assert all(s.dtype == np.int8 for s in small)
    ours = compare(small, query)
    assert compare.form == "int8_side_distance"
    np.testing.assert_allclose(ours, mean_side_distance(widened(small), query), atol=1e-3)
    # at most half a step (1/254) per component: sqrt(8, 16, 24 channels) / 254 averaged, 0.0153
    np.testing.assert_allclose(compare(small, query), exact, atol=0.016)
    compare(samples, query)
    assert compare.form == "unit_side_distance"
