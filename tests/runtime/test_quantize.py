"""The int8 model variant: calibration frames, the card it writes, masks close to the float model."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from streamcd.cdnet_layout import CdnetVideo
from streamcd.runtime.assets import resolve_card, shipped_models
from streamcd.runtime.onnx_model import OnnxChangeModel
from streamcd.runtime.quantize import calibration_frames, float_convs, quantize_card
from tests.conftest import SHARED_DATA

onnx = pytest.importorskip("onnx", reason="streamcd quantize needs onnx (streamcd[quantize])")
CDNET = SHARED_DATA / "cdnet2014"
HIGHWAY = CDNET / "baseline" / "highway"
pytestmark = pytest.mark.skipif(not HIGHWAY.is_dir(), reason="CDnet data not in ../shared/data")


def heldout_pairs(video: CdnetVideo, n: int):
    """(reference, frame) pairs: an early frame against ``n`` held-out frames."""
    ref = cv2.imread(str(video.input_path(1)))
    first, last = video.heldout_range()
    for number in np.linspace(first, last, n).round().astype(int):
        yield ref, cv2.imread(str(video.input_path(int(number))))


def mask_disagreement(a: OnnxChangeModel, b: OnnxChangeModel, video: CdnetVideo, n: int = 6) -> float:
    out = []
    for ref, frame in heldout_pairs(video, n):
        da = a.compare(a.encode(ref), a.encode(frame))[0]
        db = b.compare(b.encode(ref), b.encode(frame))[0]
        out.append(np.mean((da > a.threshold) != (db > b.threshold)))
    return float(np.mean(out))


@pytest.fixture(scope="module")
def fp32():
    return OnnxChangeModel.load(None, provider="cpu", threads=1)


def test_calibration_reads_only_training_frames():
    video = CdnetVideo.open(HIGHWAY)
    first, last = video.training_range()
    assert last < video.heldout_range()[0]
    frames = list(calibration_frames([video], 5, 8))
    assert len(frames) == 5 and all(f.shape == (240, 320, 3) for f in frames)
    assert np.array_equal(frames[0], cv2.imread(str(video.input_path(first))))
    assert np.array_equal(frames[-1], cv2.imread(str(video.input_path(last))))


def test_quantize_writes_a_loadable_card_close_to_float(tmp_path, fp32):
    video = CdnetVideo.open(HIGHWAY)
    card = quantize_card(resolve_card(None), [video], tmp_path, per_video=4)
    raw = json.loads(card.read_text())
    assert card.name == "default-int8.json" and raw["name"] == "default-int8"
    assert raw["threshold"] == fp32.threshold and "metrics" not in raw
    assert raw["quantization"]["calibration"] == {
        "baseline/highway": {"training_range": list(video.training_range()), "frames": 4}}
    int8 = OnnxChangeModel.load(card, provider="cpu", threads=1)
    ops = {n.op_type for n in onnx.load(str(int8.card.encoder)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert mask_disagreement(fp32, int8, video) < 0.01


def test_float_convs_are_the_input_and_embedding_convs():
    names = float_convs(resolve_card(None).parent / "default.encoder.onnx")
    assert len(names) == 4  # the first 3x3 conv and the three 1x1 side embeddings


@pytest.mark.skipif("default-int8" not in shipped_models(), reason="no shipped int8 card")
@pytest.mark.parametrize("video", ["baseline/highway", "cameraJitter/traffic"])
def test_shipped_int8_masks_match_float_on_heldout_frames(fp32, video):
    int8 = OnnxChangeModel.load(None, "default-int8", provider="cpu", threads=1)
    assert mask_disagreement(fp32, int8, CdnetVideo.open(CDNET / video)) < 0.01


def test_quantize_command(tmp_path, capsys):
    from streamcd.cli import main

    assert main(["--log-level", "WARNING", "quantize", "--calibration", str(HIGHWAY), "--frames", "2",
                 "--out", str(tmp_path), "--name", "q"]) == 0
    assert "calibrated on the training frames of baseline/highway" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "q.encoder.onnx", "q.head.onnx", "q.json", "shadows.onnx"]  # the card's shadow network goes along
    assert OnnxChangeModel.load(tmp_path / "q.json", provider="cpu").card.name == "q"


@pytest.mark.skipif("default-int8" not in shipped_models(), reason="no shipped int8 card")
def test_shipped_int8_is_derived_from_the_shipped_float_model():
    import hashlib

    raw = json.loads(resolve_card(None, "default-int8").read_text())
    encoder = resolve_card(None).parent / "default.encoder.onnx"
    assert raw["quantization"]["from_encoder_sha256"] == hashlib.sha256(encoder.read_bytes()).hexdigest(), (
        "export/default-int8.* is stale (default was re-exported): run streamcd quantize --model "
        "export/default.json --calibration ../shared/data/cdnet2014 --out export --name default-int8")
