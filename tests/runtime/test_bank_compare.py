"""The bank comparison: numpy takes over from the head graph only where it gives its answer."""

from __future__ import annotations

import numpy as np
import pytest

from streamcd.errors import ModelError
from streamcd.runtime.bank_compare import BankComparer, mean_side_distance
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
