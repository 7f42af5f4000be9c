"""``streamcd export``: a torch checkpoint -> two ONNX graphs + model card, equal to torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export needs torch: pip install 'streamcd[train]'")
pytest.importorskip("onnxscript", reason="torch.onnx (dynamo) needs onnxscript")

from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.train.export import export_onnx, parity
from streamcd.train.net import ChangeNet, NetConfig

# torch.onnx names each dynamic axis and says so when two share one constraint: not a problem.
# torch's own deprecation inside torch.export is not ours to fix either.
pytestmark = [
    pytest.mark.filterwarnings("ignore:# The axis name:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*treespec, LeafSpec:FutureWarning"),
]

NET = NetConfig(widths=(4, 8, 8), embed=(4, 4, 6))  # tiny: the export takes seconds, not minutes


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(checkpoint, card) of a tiny random ChangeNet saved the way ``train()`` saves it."""
    folder = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    net = ChangeNet(NET)
    with torch.no_grad():  # non-trivial batch-norm statistics, as after training
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    checkpoint = folder / "checkpoint.pt"
    torch.save(
        {
            "net": NET.as_dict(),
            "state_dict": net.eval().state_dict(),
            "threshold": 0.4321987,
            "validation": {"mean_f": 0.5, "per_video_f": {"baseline/highway": 0.5}},
            "train": {"steps": 1, "loss": "tcl"},
        },
        checkpoint,
    )
    card = export_onnx(checkpoint, folder / "out", "tiny")
    return checkpoint, card


@pytest.mark.slow
def test_onnx_matches_torch(exported):
    checkpoint, card = exported
    assert parity(checkpoint, card) < 1e-4
    assert parity(checkpoint, card, size=(64, 48), seed=1) < 1e-4  # dynamic sizes


@pytest.mark.slow
def test_model_card(exported):
    _, card = exported
    raw = json.loads(card.read_text())
    assert card.name == "tiny.json"
    assert (card.parent / raw["encoder"]).name == "tiny.encoder.onnx"
    assert (card.parent / raw["head"]).exists()
    assert raw["threshold"] == 0.4322  # rounded to 4 places
    assert raw["net"] == NET.as_dict() and raw["features"] == len(NET.widths)
    assert raw["input"] == {"layout": "NHWC", "dtype": "uint8", "channels": "BGR", "multiple": 8}
    assert raw["validation"]["mean_f"] == 0.5 and raw["train"]["steps"] == 1
    assert raw["temporal_mean"] == 1  # a train record without one: each frame alone
    model = OnnxChangeModel.load(card, provider="cpu")
    assert model.threshold == pytest.approx(0.4322)
    for n, w, h in [(1, 320, 240), (3, 160, 120)]:
        frames = np.zeros((n, h, w, 3), np.uint8)
        assert model.compare(model.encode(frames[:1]), model.encode(frames)).shape == (
            n,
            h // 2,
            w // 2,
        )


@pytest.mark.slow
def test_the_card_carries_the_recipe_temporal_mean(exported, tmp_path):
    checkpoint, _ = exported
    ckpt = torch.load(checkpoint, weights_only=False)
    ckpt["train"]["temporal_mean"] = 2
    torch.save(ckpt, tmp_path / "c.pt")
    card = export_onnx(tmp_path / "c.pt", tmp_path, "tm")
    assert json.loads(card.read_text())["temporal_mean"] == 2
    assert OnnxChangeModel.load(card, provider="cpu").temporal_mean == 2


def test_checkpoint_with_pre_trunk_keys_loads(tmp_path):
    """Checkpoints written before the encoder got its ``trunk`` module (runs/v1) still load."""
    from streamcd.train.export import load_checkpoint

    torch.manual_seed(0)
    net = ChangeNet(NET)
    old = {k.replace("encoder.trunk.stages.", "encoder.stages."): v for k, v in net.state_dict().items()}
    assert any(k.startswith("encoder.stages.") for k in old)
    net_dict = {k: v for k, v in NET.as_dict().items() if k != "encoder"}  # old cards lack it
    torch.save({"net": net_dict, "state_dict": old, "threshold": 0.5}, tmp_path / "old.pt")
    loaded, _ = load_checkpoint(tmp_path / "old.pt")
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


@pytest.mark.slow
def test_the_card_carries_the_recipe_bank_threshold(exported, tmp_path):
    from streamcd.config import BANK_THRESHOLD

    checkpoint, card = exported
    assert json.loads(card.read_text())["bank_threshold"] == BANK_THRESHOLD  # record without one
    ckpt = torch.load(checkpoint, weights_only=False)
    ckpt["train"]["bank_threshold"] = 0.37
    torch.save(ckpt, tmp_path / "c.pt")
    card = export_onnx(tmp_path / "c.pt", tmp_path, "bt")
    assert OnnxChangeModel.load(card, provider="cpu").bank_threshold == pytest.approx(0.37)
