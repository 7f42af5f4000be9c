"""The float16 model variant: the card it writes, its graph types, masks close to the float model."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from streamcd.runtime.assets import resolve_card, shipped_models
from streamcd.runtime.fp16 import fp16_card
from streamcd.runtime.onnx_model import OnnxChangeModel
from tests.conftest import SHARED_DATA, square_frames

onnx = pytest.importorskip("onnx", reason="streamcd fp16 needs onnx (streamcd[quantize])")
CDNET = SHARED_DATA / "cdnet2014"
FLOAT16 = 10  # onnx.TensorProto.FLOAT16


@pytest.fixture(scope="module")
def fp32():
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return fp16_card(resolve_card(None), tmp_path_factory.mktemp("fp16"))


def test_card_is_the_float_card_with_fp16_graphs(written, fp32):
    raw = json.loads(written.read_text())
    float_raw = json.loads(resolve_card(None).read_text())
    assert written.name == "default-fp16.json" and raw["name"] == "default-fp16"
    assert raw["threshold"] == float_raw["threshold"] and "metrics" not in raw
    assert raw["input"] == float_raw["input"] and raw["output"] == float_raw["output"]
    encoder = resolve_card(None).parent / float_raw["encoder"]
    assert raw["precision"]["from_encoder_sha256"] == hashlib.sha256(encoder.read_bytes()).hexdigest()
    graphs = {part: onnx.load(str(written.parent / raw[part])).graph for part in ("encoder", "head")}
    kernels = [w for w in graphs["encoder"].initializer if len(w.dims) == 4]
    assert kernels and all(w.data_type == FLOAT16 for w in kernels)
    for part, graph in graphs.items():  # the inputs are cast to float16 inside the graph
        casts = [a.i for n in graph.node if n.op_type == "Cast" for a in n.attribute if a.name == "to"]
        assert FLOAT16 in casts, part
    # inputs and outputs keep their types: a drop-in for the float model
    model = OnnxChangeModel.load(written, provider="cpu", threads=1)
    for a, b in ((model._encoder, fp32._encoder), (model._head, fp32._head)):
        assert [(i.name, i.type) for i in a.get_inputs()] == [(i.name, i.type) for i in b.get_inputs()]
        assert [(o.name, o.type) for o in a.get_outputs()] == [(o.name, o.type) for o in b.get_outputs()]


def test_fp16_distances_close_to_float(written, fp32):
    fp16 = OnnxChangeModel.load(written, provider="cpu", threads=1)
    frames, _ = square_frames(6, size=(160, 120))
    images = np.stack(frames[1:])
    want = fp32.distance(fp32.encode(frames[0][None]), images)
    got = fp16.distance(fp16.encode_reference(frames[0][None]), images)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=0.02)
    assert np.mean((got > fp16.threshold) != (want > fp32.threshold)) < 0.002


@pytest.mark.skipif(not (CDNET / "baseline" / "highway").is_dir(), reason="CDnet data not in ../shared/data")
@pytest.mark.skipif("default-fp16" not in shipped_models(), reason="no shipped fp16 card")
@pytest.mark.parametrize("video", ["baseline/highway", "cameraJitter/traffic"])
def test_shipped_fp16_masks_match_float_on_heldout_frames(fp32, video):
    from streamcd.cdnet_layout import CdnetVideo
    from tests.runtime.test_quantize import mask_disagreement

    fp16 = OnnxChangeModel.load(None, "default-fp16", provider="cpu", threads=1)
    assert mask_disagreement(fp32, fp16, CdnetVideo.open(CDNET / video)) < 0.002


@pytest.mark.skipif("default-fp16" not in shipped_models(), reason="no shipped fp16 card")
def test_shipped_fp16_is_derived_from_the_shipped_float_model():
    raw = json.loads(resolve_card(None, "default-fp16").read_text())
    folder = resolve_card(None).parent
    for part in ("encoder", "head"):
        graph = folder / f"default.{part}.onnx"
        assert raw["precision"][f"from_{part}_sha256"] == hashlib.sha256(graph.read_bytes()).hexdigest(), (
            "export/default-fp16.* is stale (default was re-exported): run streamcd fp16 --model "
            "export/default.json --out export --name default-fp16")


def test_fp16_command(tmp_path, capsys):
    from streamcd.cli import main

    assert main(["--log-level", "WARNING", "fp16", "--out", str(tmp_path), "--name", "h"]) == 0
    assert "float16 weights" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "h.encoder.onnx", "h.head.onnx", "h.json", "shadows.onnx"]  # the card's shadow network goes along
    assert OnnxChangeModel.load(tmp_path / "h.json", provider="cpu").card.name == "h"
