"""``streamcd export``: checkpoint -> ``NAME.encoder.onnx`` + ``NAME.head.onnx`` + ``NAME.json``.

The JSON is the machine-readable model card the runtime reads (files, threshold, input rules,
training recipe, measured metrics). Both graphs have dynamic batch and image size axes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from ..config import BANK_THRESHOLD
from .net import ChangeNet, NetConfig

log = logging.getLogger(__name__)

CARD_VERSION = 1
INPUT_MULTIPLE = 8  # the encoder downsamples 3 times by 2
OUTPUT_STRIDE = 2  # the fused distance map is at half the input resolution
OPSET = 18


#: State-dict key prefixes renamed since a checkpoint was written (old -> new).
_RENAMED = {"encoder.stages.": "encoder.trunk.stages."}  # the trunk got its own module


def upgrade_state_dict(state: dict) -> dict:
    """The state dict with keys of older checkpoints renamed to the current ChangeNet's."""
    out = {}
    for key, value in state.items():
        for old, new in _RENAMED.items():
            if key.startswith(old):
                key = new + key[len(old):]
        out[key] = value
    return out


def load_checkpoint(path: Path) -> tuple[ChangeNet, dict]:
    """(ChangeNet in eval mode, the checkpoint dict) of a checkpoint written by ``train()``."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    cfg = NetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ckpt["net"].items()})
    net = ChangeNet(cfg)
    net.load_state_dict(upgrade_state_dict(ckpt["state_dict"]))
    return net.eval(), ckpt


def _export(module: torch.nn.Module, args: tuple, path: Path, input_names, output_names, dynamic) -> None:
    torch.onnx.export(
        module, args, str(path), input_names=input_names, output_names=output_names,
        dynamic_shapes=dynamic, dynamo=True, external_data=False, opset_version=OPSET,
        verbose=False,
    )


def export_onnx(checkpoint: Path, out_dir: Path, name: str = "default", extra: dict | None = None) -> Path:
    """Write the two ONNX graphs and the model card JSON; returns the JSON path."""
    net, ckpt = load_checkpoint(checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    n, h, w = torch.export.Dim("batch", min=1, max=256), torch.export.Dim("h8", min=2, max=540), torch.export.Dim("w8", min=2, max=960)
    image = torch.randint(0, 256, (2, 240, 320, 3), dtype=torch.uint8)
    enc_path = out_dir / f"{name}.encoder.onnx"
    _export(net.encoder, (image,), enc_path, ["image"], [f"feature{i}" for i in range(len(net.cfg.widths))],
            {"image": {0: n, 1: 8 * h, 2: 8 * w}})
    with torch.no_grad():
        feats = net.encoder(image)
    k = len(feats)
    head_path = out_dir / f"{name}.head.onnx"
    names = [f"reference{i}" for i in range(k)] + [f"query{i}" for i in range(k)]
    # Reference and query batches are equal (the runtime repeats a single reference).
    sizes = [{2: (2 ** (k - 1 - i)) * h, 3: (2 ** (k - 1 - i)) * w} for i in range(k)]
    dyn = (tuple([{0: n, **s} for s in sizes] * 2),)  # Head takes *features
    queries = tuple(f.clone() for f in feats)  # distinct tensors: export would alias identical inputs
    _export(net.head, tuple(feats) + queries, head_path, names, ["distance"], dyn)

    card = {
        "card_version": CARD_VERSION,
        "name": name,
        "encoder": enc_path.name,
        "head": head_path.name,
        "input": {"layout": "NHWC", "dtype": "uint8", "channels": "BGR",
                  "multiple": INPUT_MULTIPLE},
        "output": {"name": "distance", "stride": OUTPUT_STRIDE, "range": [0.0, 2.0]},
        "features": k,
        "threshold": round(float(ckpt["threshold"]), 4),
        "temporal_mean": int(ckpt.get("train", {}).get("temporal_mean", 1)),
        "bank_threshold": float(ckpt.get("train", {}).get("bank_threshold", BANK_THRESHOLD)),
        "net": ckpt["net"],
        "validation": ckpt.get("validation", {}),
        "train": ckpt.get("train", {}),
        **(extra or {}),
    }
    card_path = out_dir / f"{name}.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    log.info("exported %s (threshold %.3f)", card_path, card["threshold"])
    return card_path


def parity(checkpoint: Path, card_path: Path, size: tuple[int, int] = (320, 240), seed: int = 0) -> float:
    """Largest absolute difference between torch and ONNX Runtime distance maps on a random pair."""
    from ..runtime.onnx_model import OnnxChangeModel

    net, _ = load_checkpoint(checkpoint)
    rng = np.random.default_rng(seed)
    w, h = size
    ref = rng.integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    query = rng.integers(0, 256, (3, h, w, 3), dtype=np.uint8)
    with torch.no_grad():
        expected = net.head(*net.encoder(torch.from_numpy(ref)), *net.encoder(torch.from_numpy(query))).numpy()[:, 0]
    model = OnnxChangeModel.load(card_path, provider="cpu")
    got = model.compare(model.encode(ref), model.encode(query))
    return float(np.abs(got - expected).max())
