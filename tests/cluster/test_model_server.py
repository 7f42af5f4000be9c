"""ModelServer without Ray: batching across streams, the reference cache and its MISSING answer."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from streamcd.cluster.model_server import MISSING, ModelServer
from streamcd.config import ModelConfig
from tests.conftest import square_frames


@pytest.fixture(scope="module")
def server():
    return ModelServer(ModelConfig(provider="cpu", threads=1), max_batch=4, max_wait_ms=20)


async def _ask(server, calls):
    return await asyncio.gather(*(server.infer(*c) for c in calls))


def test_batches_streams_and_matches_the_model(server):
    frames, _ = square_frames(6, size=(160, 128))
    reference = frames[0]
    key = ("run", 1, (160, 128))
    # 4 streams at once, each sending its reference the first time: one batch of 4
    calls = [(f"s{i}", key, frames[i + 1], reference) for i in range(4)]
    answers = asyncio.run(_ask(server, calls))
    model = server.model
    expected = model.compare(model.encode(reference[None]), model.encode(np.stack(frames[1:5])))
    for answer, want in zip(answers, expected):
        assert answer.shape == (64, 80) and np.allclose(answer, want, atol=1e-4)
    stats = asyncio.run(server.stats())
    assert stats.largest_batch == 4 and stats.reference_encodes == 4


@pytest.mark.parametrize(
    ("key", "reference", "missing"),
    [
        (("run", 1, (160, 128)), False, False),  # cached key: no reference needed
        (("run", 2, (160, 128)), False, True),  # new version, no reference: ask for it
        (("other", 1, (160, 128)), False, True),  # restarted stream (new token): ask for it
        (("run", 2, (160, 128)), True, False),  # new version with its reference
    ],
)
def test_reference_cache(server, key, reference, missing):
    frames, _ = square_frames(3, size=(160, 128))
    asyncio.run(_ask(server, [("cam", ("run", 1, (160, 128)), frames[1], frames[0])]))
    [answer] = asyncio.run(_ask(server, [("cam", key, frames[2], frames[0] if reference else None)]))
    assert (isinstance(answer, str) and answer == MISSING) == missing


def test_encode_hands_streams_their_frames_features(server):
    # streams with a feature bank: one encoder batch, each stream its own frame's host features
    frames, _ = square_frames(3, size=(160, 128))
    calls = [server.encode(f"s{i}", frames[i]) for i in range(3)]
    before = asyncio.run(server.stats()).largest_batch

    async def ask():
        return await asyncio.gather(*calls)

    answers = asyncio.run(ask())
    for frame, features in zip(frames, answers):
        for got, alone in zip(features, server.model.encode(frame[None])):
            assert isinstance(got, np.ndarray) and got.shape[0] == 1
            np.testing.assert_array_equal(got, alone)
    assert asyncio.run(server.stats()).largest_batch == max(before, 3)


def test_info_hands_streams_what_the_card_says_about_postprocessing(server):
    info = asyncio.run(server.info())
    model = server.model
    assert (info.threshold, info.temporal_mean) == (model.threshold, model.temporal_mean)
    assert info.temporal_mean == 2  # the shipped default card: 2-frame mean for new cameras
    assert info.bank_threshold == model.bank_threshold == 0.4  # the feature bank's base
    assert info.head == model.card.head.read_bytes() and "head" not in repr(info)
