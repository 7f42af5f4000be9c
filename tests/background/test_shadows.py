"""The shadow gate: the card's shadow network clears hard cast shadows from the bank's change map."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from streamcd.background.shadows import SHADOW_PROBABILITY, ShadowGate
from streamcd.errors import ModelError
from streamcd.runtime.assets import shipped_models_dir as model_dir
from streamcd.train.shadows import ShadowNet, export_shadows


def _constant_gate(tmp_path, probability: float) -> ShadowGate:
    """A shadow graph that answers ``probability`` everywhere (its last layer's bias)."""
    net = ShadowNet()
    with torch.no_grad():
        net.out.weight.zero_()
        net.out.bias.fill_(float(np.log(probability / (1 - probability))))
    return ShadowGate(export_shadows(net.eval(), tmp_path / "shadows.onnx"))


def test_only_darker_changed_pixels_the_network_calls_shadow_are_cleared(tmp_path):
    picture = np.full((60, 80, 3), 120, np.uint8)
    image = picture.copy()
    image[10:20, 10:20] = 40  # darker and changed: cleared
    image[30:40, 30:40] = 200  # brighter and changed: kept
    scaled = np.zeros((60, 80), np.float32)
    scaled[10:20, 10:20] = scaled[30:40, 30:40] = 0.9
    scaled[45:50, 5:10] = 0.2  # darker region below the gate's threshold: untouched
    image[45:50, 5:10] = 40
    before = scaled.copy()
    cleared = _constant_gate(tmp_path, 0.99).clear(scaled, image, picture, above=0.3)
    assert cleared == 100
    assert (scaled[10:20, 10:20] == 0).all()
    assert (scaled[30:40, 30:40] == before[30:40, 30:40]).all()
    assert (scaled[45:50, 5:10] == 0.2).all()


def test_an_unsure_network_clears_nothing(tmp_path):
    picture = np.full((60, 80, 3), 120, np.uint8)
    image = np.full((60, 80, 3), 40, np.uint8)
    scaled = np.full((60, 80), 0.9, np.float32)
    gate = _constant_gate(tmp_path, SHADOW_PROBABILITY - 0.05)
    assert gate.clear(scaled, image, picture, above=0.3) == 0
    assert (scaled == 0.9).all()


def test_a_graph_that_is_not_a_shadow_network_is_refused():
    with pytest.raises(ModelError, match="streamcd train-shadows"):
        ShadowGate(model_dir() / "default.head.onnx")


def test_the_network_starts_early_on_its_own_thread_on_the_box_of_the_last_changes(tmp_path, monkeypatch):
    """start() hands the verdict to another thread (the caller compares features meanwhile): at
    first over the whole grid, then over the box of the last frame's changes widened by the
    context and the reach; clear() uses it when this frame's changes fit, and computes the
    verdict on their own box when they do not. Either way the answer is clear() alone's."""
    import threading

    from streamcd.background.shadows import SHADOW_CONTEXT, SHADOW_REACH

    gate = _constant_gate(tmp_path, 0.99)
    seen = []
    real = gate.probability
    monkeypatch.setattr(gate, "probability",
                        lambda i, p: seen.append((i.shape[:2], threading.current_thread().name)) or real(i, p))
    picture = np.full((120, 160, 3), 120, np.uint8)

    def frame_with_shadow_at(y, x):
        image = picture.copy()
        image[y:y + 10, x:x + 10] = 30
        changed = np.zeros((120, 160), np.float32)
        changed[y:y + 10, x:x + 10] = 1.0
        return image, changed

    image, changed = frame_with_shadow_at(50, 70)
    assert gate.clear(changed, image, picture, above=0.3, verdict=gate.start(image, picture)) == 100
    assert seen[-1] == ((120, 160), seen[-1][1]) and seen[-1][1].startswith("shadows")
    early = 10 + 2 * (SHADOW_CONTEXT + SHADOW_REACH)
    image, changed = frame_with_shadow_at(54, 76)  # moved less than the reach: the early box holds
    assert gate.clear(changed, image, picture, above=0.3, verdict=gate.start(image, picture)) == 100
    assert seen[-1][0] == (early, early) and seen[-1][1].startswith("shadows")
    assert not changed.any()
    image, changed = frame_with_shadow_at(5, 140)  # elsewhere: computed here, on its own box
    assert gate.clear(changed, image, picture, above=0.3, verdict=gate.start(image, picture)) == 100
    assert seen[-1] == ((10 + SHADOW_CONTEXT + 5, 20 + SHADOW_CONTEXT), threading.current_thread().name)
    assert not changed.any()


def test_the_shipped_network_clears_most_hard_shadows_of_a_highway_frame_and_keeps_its_cars(highway):
    """Real frames: highway's shadow labels (50) against its cars (255), on the bank's grid."""
    from streamcd.cdnet_layout import CdnetVideo
    from streamcd.train.shadows import load_shadow_video

    video = load_shadow_video(CdnetVideo.open(highway), step=60)
    gate = ShadowGate(model_dir() / "shadows.onnx")
    shadow_kept, car_cleared, shadows, cars = 0, 0, 0, 0
    for pair, label in zip(video.pairs, video.labels):
        image, picture = np.ascontiguousarray(pair[..., :3]), np.ascontiguousarray(pair[..., 3:])
        changed = (label >= 0).astype(np.float32)
        gate.clear(changed, image, picture, above=0.5)
        shadows += int((label == 1).sum())
        cars += int((label == 0).sum())
        shadow_kept += int(((label == 1) & (changed > 0)).sum())
        car_cleared += int(((label == 0) & (changed == 0)).sum())
    assert shadows > 1000 and cars > 10000
    assert shadow_kept / shadows < 0.3
    assert car_cleared / cars < 0.05


def test_a_card_naming_a_missing_shadow_network_is_refused(tmp_path):
    import json

    from streamcd.runtime.onnx_model import ModelCard

    raw = json.loads((model_dir() / "default.json").read_text())
    for name in ("encoder", "head"):
        (tmp_path / raw[name]).write_bytes((model_dir() / raw[name]).read_bytes())
    raw["shadows"] = "missing.onnx"
    (tmp_path / "card.json").write_text(json.dumps(raw))
    with pytest.raises(ModelError, match="missing.onnx is missing"):
        ModelCard.read(tmp_path / "card.json")



def test_after_a_frame_without_darker_changes_the_network_waits_for_one(tmp_path, monkeypatch):
    """A quiet scene does not pay for the network: after a frame with nothing to clear, start()
    starts nothing, and clear() computes the verdict itself when a shadow candidate comes."""
    gate = _constant_gate(tmp_path, 0.99)
    runs = []
    real = gate.probability
    monkeypatch.setattr(gate, "probability", lambda i, p: runs.append(1) or real(i, p))
    picture = np.full((60, 80, 3), 120, np.uint8)
    quiet = np.zeros((60, 80), np.float32)
    first = gate.start(picture, picture)
    assert gate.clear(quiet, picture, picture, above=0.3, verdict=first) == 0
    first.probability.result()
    assert len(runs) == 1  # the first frame is started: nothing is known yet
    for _ in range(3):
        assert gate.start(picture, picture) is None
        assert gate.clear(quiet.copy(), picture, picture, above=0.3, verdict=None) == 0
    assert len(runs) == 1
    image = picture.copy()
    image[10:20, 10:20] = 40
    changed = np.zeros((60, 80), np.float32)
    changed[10:20, 10:20] = 0.9
    verdict = gate.start(image, picture)
    assert verdict is None
    assert gate.clear(changed, image, picture, above=0.3, verdict=verdict) == 100  # computed here
    started = gate.start(image, picture)  # a frame with shadows: the next one starts early
    assert started is not None
    started.probability.result()
    assert len(runs) == 3


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_worker_of_its_own(tmp_path):
    """A child forked after the gate's thread started has no such thread: it starts its own
    instead of waiting for ever on a verdict nobody computes."""
    import os
    import signal

    gate = _constant_gate(tmp_path, 0.99)
    picture = np.full((60, 80, 3), 120, np.uint8)
    image = picture.copy()
    image[10:20, 10:20] = 40
    gate.start(image, picture).probability.result()  # the parent's worker thread exists now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if a verdict arrives
        signal.alarm(20)
        changed = np.zeros((60, 80), np.float32)
        changed[10:20, 10:20] = 0.9
        cleared = gate.clear(changed, image, picture, above=0.3, verdict=gate.start(image, picture))
        os._exit(0 if cleared == 100 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
