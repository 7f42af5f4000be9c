"""A float16 variant of a model card, for GPUs (half the memory traffic, Tensor Cores).

Weights and activations of encoder and head become float16; the inputs and outputs keep their
types (uint8 image in, float32 features and distance out), so the card drops in anywhere the
float model runs, with the same threshold. Converted by ONNX Runtime's own
``onnxruntime.transformers.float16`` (needs the onnx package). It runs on CPU, but no faster
than float32 there (1.14x the time, docs/experiments.md); it is meant for ``provider: cuda``.
Usage::

    card = fp16_card(resolve_card(None), Path("export"))      # export/default-fp16.json
    model = OnnxChangeModel.load(card, provider="cuda")       # or model.name: default-fp16
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .onnx_model import ModelCard, shadows_entry
from .providers import import_ort
from .quantize import file_sha256, import_onnx

log = logging.getLogger(__name__)

METHOD = "onnxruntime.transformers.float16.convert_float_to_float16, keep_io_types"


def convert_graph(source: Path, target: Path) -> None:
    """Write ``source`` (an ONNX graph) with float16 weights and compute to ``target``."""
    onnx = import_onnx("fp16")
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))


def fp16_card(card_path: Path, out: Path, name: str | None = None) -> Path:
    """Write ``out/NAME.json`` (+ ``.encoder.onnx``, ``.head.onnx``), the float16 variant of a card."""
    card = ModelCard.read(card_path)
    name = name or f"{card.name}-fp16"
    out.mkdir(parents=True, exist_ok=True)
    encoder, head = out / f"{name}.encoder.onnx", out / f"{name}.head.onnx"
    convert_graph(card.encoder, encoder)
    convert_graph(card.head, head)
    raw = {k: v for k, v in card.raw.items() if k not in ("metrics", "validation", "quantization")}
    raw.update(name=name, encoder=encoder.name, head=head.name, precision={
        "weights": "float16",
        "compute": "float16 (inputs and outputs keep their types)",
        "method": METHOD,
        "onnxruntime": import_ort().__version__,
        "from_card": card.path.name,
        "from_encoder_sha256": file_sha256(card.encoder),
        "from_head_sha256": file_sha256(card.head),
    }, **shadows_entry(card.shadows, out))
    path = out / f"{name}.json"
    path.write_text(json.dumps(raw, indent=2) + "\n")
    log.info("wrote %s (encoder %.0f kB, head %.0f kB)", path, encoder.stat().st_size / 1e3,
             head.stat().st_size / 1e3)
    return path
