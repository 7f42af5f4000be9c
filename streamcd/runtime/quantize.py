"""An int8 variant of a model card: static QDQ quantisation of the encoder's convolutions.

Calibrated on CDnet *training* frames only (``CdnetVideo.training_range()``), never on the
held-out ones. Kept in float: the first convolution (its 3-channel input gains little, and
quantising it moves the input normalisation after the layout change, where ONNX Runtime runs it
17-34x slower) and the 1x1 embedding convolutions that feed the L2 normalisation (half the
distance error for ~8 % of the time). The head (distances) stays float. Usage::

    card = quantize_card(resolve_card(None), [CdnetVideo.open(p) for p in folders], Path("export"))
    model = OnnxChangeModel.load(card)        # or model.name: default-int8 in a pipeline YAML
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..cdnet_layout import CdnetVideo
from ..errors import ModelError
from .geometry import model_input_size, to_model_input
from .onnx_model import ModelCard, shadows_entry
from .providers import import_ort

log = logging.getLogger(__name__)

#: Calibration frames per video, spread evenly over its training range.
CALIBRATION_FRAMES = 32


def calibration_frames(videos: Sequence[CdnetVideo], per_video: int, multiple: int) -> Iterator[np.ndarray]:
    """BGR frames from each video's training range (never held-out frames), model-sized."""
    import cv2

    for video in videos:
        first, last = video.training_range()
        if last < first:
            raise ModelError(f"{video.key}: no training frames to calibrate on")
        for number in np.unique(np.linspace(first, last, per_video).round().astype(int)):
            image = cv2.imread(str(video.input_path(int(number))), cv2.IMREAD_COLOR)
            if image is None:
                raise ModelError(f"{video.input_path(int(number))}: cannot be decoded")
            h, w = image.shape[:2]
            yield to_model_input(image, model_input_size((w, h), multiple))


def import_onnx(command: str = "quantize"):
    """The onnx package, or a ModelError naming ``streamcd COMMAND`` and the install hint."""
    try:
        import onnx
    except ImportError as e:
        raise ModelError(f"streamcd {command} needs the onnx package: pip install 'streamcd[quantize]'") from e
    return onnx


def float_convs(model_path: Path) -> list[str]:
    """Conv nodes kept in float: those on the 3-channel input and those feeding an L2 norm."""
    onnx = import_onnx()
    model = onnx.load(str(model_path))
    weights = {t.name: tuple(t.dims) for t in model.graph.initializer}
    consumers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node.op_type)
    keep = []
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        shape = weights.get(node.input[1], ())
        first = len(shape) == 4 and shape[1] == 3
        embeds = any(op in ("ReduceL2", "Div") for op in consumers.get(node.output[0], []))
        if first or embeds:
            keep.append(node.name)
    return keep


def quantize_card(card_path: Path, videos: Sequence[CdnetVideo], out: Path, name: str | None = None,
                  per_video: int = CALIBRATION_FRAMES) -> Path:
    """Write ``out/NAME.json`` (+ ``.encoder.onnx``, ``.head.onnx``), the int8 variant of a card."""
    import_onnx()  # onnxruntime.quantization needs it too
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    card = ModelCard.read(card_path)
    name = name or f"{card.name}-int8"
    if not videos:
        raise ModelError("int8 calibration needs at least one CDnet video folder")
    frames = list(calibration_frames(videos, per_video, card.multiple))
    input_name = _input_name(card.encoder)

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(frames)

        def get_next(self) -> dict | None:
            image = next(self._it, None)
            return None if image is None else {input_name: image[None]}

    out.mkdir(parents=True, exist_ok=True)
    encoder, head = out / f"{name}.encoder.onnx", out / f"{name}.head.onnx"
    with tempfile.TemporaryDirectory(prefix="streamcd-quantize-") as tmp:
        # Symbolic shape inference fails on the exported dynamic Expand; ONNX's is enough here.
        prepared = Path(tmp) / "encoder.onnx"
        quant_pre_process(str(card.encoder), str(prepared), skip_symbolic_shape=True)
        keep = float_convs(prepared)
        quantize_static(str(prepared), str(Path(tmp) / "int8.onnx"), Frames(),
                        quant_format=QuantFormat.QDQ, per_channel=True, op_types_to_quantize=["Conv"],
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=keep)
        shutil.move(str(Path(tmp) / "int8.onnx"), encoder)
    if card.head.resolve() != head.resolve():
        shutil.copyfile(card.head, head)
    raw = {k: v for k, v in card.raw.items() if k not in ("metrics", "validation")}
    raw.update(name=name, encoder=encoder.name, head=head.name, quantization={
        "method": "onnxruntime static QDQ, per-channel int8 weights, uint8 activations, MinMax",
        "onnxruntime": import_ort().__version__,
        "from_card": card.path.name,
        "from_encoder_sha256": file_sha256(card.encoder),
        "float_convs": keep,
        "calibration": {v.key: {"training_range": list(v.training_range()), "frames": per_video}
                        for v in videos},
    }, **shadows_entry(card.shadows, out))
    path = out / f"{name}.json"
    path.write_text(json.dumps(raw, indent=2) + "\n")
    log.info("wrote %s (%d calibration frames, %d convs kept in float)", path, len(frames), len(keep))
    return path


def _input_name(encoder: Path) -> str:
    ort = import_ort()
    session = ort.InferenceSession(str(encoder), providers=["CPUExecutionProvider"])
    return session.get_inputs()[0].name


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
