"""The change network's options: dual attention, distances, MLSO on/off, and their export."""

from __future__ import annotations

import argparse

import pytest

torch = pytest.importorskip("torch", reason="the network needs torch: pip install 'streamcd[train]'")

from streamcd.train.attention import ChannelAttention, DualAttention, SpatialAttention
from streamcd.train.cli import add_recipe_arguments, recipe_from_args
from streamcd.train.loss import mlso_loss
from streamcd.train.net import ChangeNet, NetConfig

pytestmark = [
    pytest.mark.filterwarnings("ignore:# The axis name:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*treespec, LeafSpec:FutureWarning"),
]

TINY = {"widths": (4, 8, 8), "embed": (4, 4, 6)}


def _images(seed: int = 0, n: int = 2, h: int = 32, w: int = 40) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, h, w, 3), generator=g, dtype=torch.uint8)


@pytest.mark.parametrize("block", [SpatialAttention(8), ChannelAttention(), DualAttention(8)])
def test_attention_is_identity_until_its_gates_open(block):
    x = torch.randn(2, 8, 5, 7)
    assert torch.equal(block(x), x)
    with torch.no_grad():
        for p in block.parameters():
            if p.shape == (1,):
                p.fill_(0.5)
    assert not torch.allclose(block(x), x)


def test_attention_network_starts_equal_to_plain_one_and_learns_its_gates():
    torch.manual_seed(0)
    plain = ChangeNet(NetConfig(**TINY)).eval()
    attended = ChangeNet(NetConfig(**TINY, attention=True)).eval()
    attended.load_state_dict(plain.state_dict(), strict=False)
    ref, query = _images(0), _images(1)
    assert torch.allclose(plain(ref, query)[1], attended(ref, query)[1])
    attended.train()
    sides, fused = attended(ref, query)
    label = (torch.rand(fused.shape[0], *fused.shape[-2:]) > 0.7).long()
    mlso_loss(sides, fused, label).backward()
    gates = [p for n, p in attended.named_parameters() if n.endswith("gate")]
    assert len(gates) == 2 and all(g.grad is not None and g.grad.abs().item() > 0 for g in gates)


def test_distances_differ_and_stay_in_range():
    torch.manual_seed(0)
    l2 = ChangeNet(NetConfig(**TINY)).eval()
    cos = ChangeNet(NetConfig(**TINY, distance="cosine")).eval()
    cos.load_state_dict(l2.state_dict())
    ref, query = _images(0), _images(1)
    d_l2, d_cos = l2(ref, query)[1], cos(ref, query)[1]
    assert 0 <= d_cos.min() and d_cos.max() <= 2 + 1e-5 and d_l2.max() <= 2 + 1e-5
    # on unit vectors ||a-b||^2 = 2 (1 - cos): per side, before fusing
    for s_l2, s_cos in zip(l2(ref, query)[0], cos(ref, query)[0]):
        assert torch.allclose(s_l2 ** 2, 2 * s_cos, atol=1e-4)


def test_recipe_options_reach_the_train_config():
    parser = argparse.ArgumentParser()
    add_recipe_arguments(parser)
    default = recipe_from_args(parser.parse_args([]))
    assert default.net.side_weights == (1.0, 1.0, 1.0) and default.beta == (0.5, 0.5, 0.5)
    assert not default.net.attention and default.net.distance == "l2" and default.tau == 0.1
    cfg = recipe_from_args(parser.parse_args(["--no-mlso", "--attention", "--distance", "cosine",
                                              "--tau", "0.4"]), max_steps=7)
    assert cfg.net.side_weights == (0.0, 0.0, 1.0) and cfg.beta == (0.0, 0.0, 0.0)
    assert cfg.net.attention and cfg.net.distance == "cosine" and cfg.tau == 0.4 and cfg.max_steps == 7


def test_without_mlso_only_the_deepest_side_predicts():
    torch.manual_seed(0)
    net = ChangeNet(NetConfig(**TINY, side_weights=(0.0, 0.0, 1.0))).eval()
    sides, fused = net(_images(0), _images(1))
    deepest = torch.nn.functional.interpolate(sides[-1], size=fused.shape[-2:], mode="bilinear",
                                              align_corners=False)
    assert torch.allclose(fused, deepest, atol=1e-6)


@pytest.mark.slow
def test_attention_network_exports_to_onnx_equal_to_torch(tmp_path):
    pytest.importorskip("onnxscript", reason="torch.onnx (dynamo) needs onnxscript")
    from streamcd.train.export import export_onnx, parity

    cfg = NetConfig(**TINY, attention=True)
    torch.manual_seed(0)
    net = ChangeNet(cfg)
    with torch.no_grad():
        for n, p in net.named_parameters():
            if n.endswith("gate"):
                p.fill_(0.3)
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"net": cfg.as_dict(), "state_dict": net.eval().state_dict(), "threshold": 0.5,
                "validation": {"mean_f": 0.5, "per_video_f": {}}, "train": {"steps": 1}}, checkpoint)
    card = export_onnx(checkpoint, tmp_path / "out", "attn")
    assert parity(checkpoint, card) < 1e-4
    assert parity(checkpoint, card, size=(64, 48), seed=1) < 1e-4
