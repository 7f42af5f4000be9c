"""``streamcd train-shadows`` on a generated CDnet video whose cars cast labelled hard shadows."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from streamcd.background.shadows import ShadowGate
from streamcd.cli import main
from streamcd.train.shadows import ShadowNet

W, H, WARMUP, FRAMES = 256, 192, 20, 40


def _road(rng) -> np.ndarray:
    grey = rng.normal(110, 6, (H, W)).clip(0, 255)
    road = np.stack([grey + 8, grey, grey - 4], axis=2)  # asphalt, a little blue
    return cv2.GaussianBlur(road, (3, 3), 0).astype(np.uint8)


def write_video(root, with_shadows: bool = True, seed: int = 0):
    """CDnet layout: WARMUP empty frames, then FRAMES with a coloured car and (labelled 50) its
    shadow: the road below and right of it at 25 % of the light, bluer."""
    rng = np.random.default_rng(seed)
    road = _road(rng)
    video = root / "cdnet2014" / "synthetic" / "road"
    (video / "input").mkdir(parents=True)
    (video / "groundtruth").mkdir()
    (video / "temporalROI.txt").write_text(f"{WARMUP + 1} {WARMUP + FRAMES}")
    for n in range(1, WARMUP + FRAMES + 1):
        frame = (road.astype(np.int16) + rng.integers(-3, 4, road.shape)).clip(0, 255).astype(np.uint8)
        truth = np.zeros((H, W), np.uint8)
        if n > WARMUP:
            x, y = int(rng.integers(10, W - 90)), int(rng.integers(10, H - 80))
            if with_shadows:
                shadow = np.s_[y + 12:y + 52, x + 12:x + 82]
                frame[shadow] = (frame[shadow] * np.array([0.32, 0.25, 0.22])).astype(np.uint8)
                truth[shadow] = 50
            colour = rng.integers(0, 256, 3)
            frame[y:y + 40, x:x + 70] = (colour + rng.integers(-20, 21, (40, 70, 3))).clip(0, 255)
            truth[y:y + 40, x:x + 70] = 255
        cv2.imwrite(str(video / "input" / f"in{n:06d}.jpg"), frame)
        cv2.imwrite(str(video / "groundtruth" / f"gt{n:06d}.png"), truth)
    return video


@pytest.mark.parametrize("stride", [1, 2])
def test_train_shadows_learns_generated_shadows_and_exports_what_it_learnt(tmp_path, stride):
    write_video(tmp_path)
    out = tmp_path / "run"
    assert main(["train-shadows", "--data", str(tmp_path), "--out", str(out), "--steps", "150",
                 "--threads", "2", "--stride", str(stride)]) == 0
    assert json.loads((out / "shadows.json").read_text())["videos"] == ["synthetic/road"]
    # a new frame of the same road: shadow pixels score higher than the car's
    rng = np.random.default_rng(7)
    road = _road(np.random.default_rng(0))
    frame = road.copy()
    frame[62:102, 62:132] = (frame[62:102, 62:132] * np.array([0.32, 0.25, 0.22])).astype(np.uint8)
    frame[50:90, 50:120] = rng.integers(0, 256, 3)
    half = (W // 2, H // 2)
    image = cv2.resize(frame, half, interpolation=cv2.INTER_AREA)
    picture = cv2.resize(road, half, interpolation=cv2.INTER_AREA)
    gate = ShadowGate(out / "shadows.onnx")
    p = gate.probability(image, picture)
    shadow = p[47:50, 40:64].mean()  # the shadow's strip below the car, on the grid
    car = p[27:42, 27:58].mean()
    assert shadow > 0.5 > car
    # the ONNX graph answers what the torch network does
    ckpt = torch.load(out / "shadows.pt", weights_only=False)
    assert ckpt["stride"] == stride
    net = ShadowNet(ckpt["width"], ckpt["stride"])
    net.load_state_dict(ckpt["state_dict"])
    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(image)[None], torch.from_numpy(picture)[None])[0].numpy()
    assert np.abs(expected - p).max() < 1e-4


def test_a_dataset_without_shadow_labels_is_refused(tmp_path, capsys):
    write_video(tmp_path, with_shadows=False)
    assert main(["train-shadows", "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                 "--steps", "5"]) != 0
    assert "no video with shadow labels" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_shadows_needs_a_cdnet_folder(tmp_path, capsys):
    assert main(["train-shadows", "--data", str(tmp_path), "--out", str(tmp_path / "run")]) != 0
    assert "no cdnet2014/ folder" in capsys.readouterr().err


@pytest.mark.parametrize("stride", [1, 2])
def test_output_convolution_before_upsampling_equals_it_after(stride):
    """The network applies its 1x1 output convolution to each stage before scaling it up (the
    fast form); that must equal the convolution of the upsampled, concatenated stages."""
    torch.manual_seed(0)
    net = ShadowNet(8, stride).eval()
    for p in net.parameters():  # not the zero-ish initial output layer: every weight matters
        torch.nn.init.normal_(p, std=0.3)
    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.integers(0, 256, (2, 45, 67, 3), dtype=np.uint8))
    background = torch.from_numpy(rng.integers(0, 256, (2, 45, 67, 3), dtype=np.uint8))
    with torch.no_grad():
        fast = net.logits(frame, background)
        f, b = frame.permute(0, 3, 1, 2).float(), background.permute(0, 3, 1, 2).float()
        x = torch.cat([f / 255 - 0.5, b / 255 - 0.5, torch.log((f + 4) / (b + 4))], 1)
        a = net.stage1(x)
        c2 = net.stage2(a)
        c3 = net.stage3(c2)
        up = [torch.nn.functional.interpolate(c, size=a.shape[2:], mode="bilinear", align_corners=False)
              for c in (c2, c3)]
        plain = net.out(torch.cat([a, *up], 1))
        if stride > 1:
            plain = torch.nn.functional.interpolate(plain, size=(45, 67), mode="bilinear",
                                                    align_corners=False)
    assert fast.shape == (2, 45, 67)
    assert torch.allclose(fast, plain[:, 0], atol=1e-4)
    assert fast.std() > 0.05  # a real answer, not a constant
