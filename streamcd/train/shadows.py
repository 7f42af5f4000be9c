"""``streamcd train-shadows``: the network that tells a hard cast shadow from an object.

The change network compares a frame's features with the background's one side at a time, and a
hard shadow (the road under a car, 10-50 % of its light, its hue shifted) changes the features
as much as the car does. This small network sees the frame *and* the background picture
together (their colours and the log of their ratio, over about 60 pixels of context) and gives
per pixel the probability that a change is a shadow. It learns from CDnet's shadow labels
(ground truth 50) against objects (255): every video of the data with shadow labels, less
``exclude``. Frame and background are taken at the feature bank's grid (half the model input),
where it runs (:mod:`streamcd.background.shadows`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cdnet_layout import CdnetVideo, find_videos
from ..errors import DatasetError
from ..runtime.geometry import to_model_input
from .export import OPSET

log = logging.getLogger(__name__)

SHADOW, OBJECT, IGNORED = 1, 0, -1
#: Frames of each video read for training (every FRAME_STEP-th of its temporalROI).
FRAME_STEP = 3
#: Frames before the temporalROI whose median is the background (every 4th of the last 120).
BACKGROUND_SPAN, BACKGROUND_STEP = 120, 4


def _block(inputs: int, outputs: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride, dilation, dilation, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU())


class ShadowNet(nn.Module):
    """(frame, background) uint8 NHWC BGR at the bank's grid -> shadow probability (N, H, W).

    Inputs are normalised inside: colours to [-0.5, 0.5] and the per-channel log ratio
    ``log((frame + 4) / (background + 4))``. Three stages (strides ``stride``, 2x and 4x that;
    the last dilated) fused at the first one's resolution; the logits are scaled back to the
    input's size. ``stride`` 2 costs about a third of 1 and sees twice as far, but blurs where
    a car meets its shadow: on cameras it never saw it took more of the cars (docs: Hard shadows).
    """

    def __init__(self, width: int = 8, stride: int = 1):
        super().__init__()
        w = width
        self.stride = stride
        self.stage1 = nn.Sequential(_block(9, w, stride), _block(w, w))
        self.stage2 = nn.Sequential(_block(w, 2 * w, 2), _block(2 * w, 2 * w))
        self.stage3 = nn.Sequential(_block(2 * w, 3 * w, 2), _block(3 * w, 3 * w, 1, 2),
                                    _block(3 * w, 3 * w, 1, 4))
        self.out = nn.Conv2d(6 * w, 1, 1)

    def logits(self, frame: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
        f = frame.permute(0, 3, 1, 2).float()
        b = background.permute(0, 3, 1, 2).float()
        x = torch.cat([f / 255 - 0.5, b / 255 - 0.5, torch.log((f + 4) / (b + 4))], 1)
        a = self.stage1(x)
        c2 = self.stage2(a)
        c3 = self.stage3(c2)
        size = a.shape[2:]
        # the 1x1 output convolution of [a, up(c2), up(c3)], each part applied before its
        # upsampling (both are linear): one channel is scaled up instead of 40 (half the
        # network's time, the same logits)
        wa, w2, w3 = self.out.weight.split([a.shape[1], c2.shape[1], c3.shape[1]], dim=1)
        logits = (F.conv2d(a, wa, self.out.bias)
                  + F.interpolate(F.conv2d(c2, w2), size=size, mode="bilinear", align_corners=False)
                  + F.interpolate(F.conv2d(c3, w3), size=size, mode="bilinear", align_corners=False))
        if self.stride > 1:
            logits = F.interpolate(logits, size=frame.shape[1:3], mode="bilinear", align_corners=False)
        return logits[:, 0]

    def forward(self, frame: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(frame, background))


@dataclass(frozen=True)
class ShadowTrainConfig:
    data: Path  # folder holding cdnet2014/
    out: Path
    exclude: tuple[str, ...] = ()
    steps: int = 1500
    batch: int = 16
    crop: int = 64  # grid pixels (128 at the model input)
    lr: float = 2e-3
    width: int = 8
    stride: int = 1  # the first stage's stride on the grid (2: a third of the cost, more cars lost)
    seed: int = 0
    threads: int | None = None


@dataclass
class ShadowVideo:
    """Frames and background of one video at the bank's grid, with shadow/object labels."""

    key: str
    pairs: np.ndarray  # (N, h, w, 6) uint8: frame BGR, background BGR
    labels: np.ndarray  # (N, h, w) int8: SHADOW, OBJECT, IGNORED


def _background(video: CdnetVideo) -> np.ndarray:
    """Median of the frames before the temporalROI (or spread over the video without any)."""
    if video.first > 10:
        numbers = range(max(1, video.first - BACKGROUND_SPAN), video.first, BACKGROUND_STEP)
    else:
        numbers = np.linspace(1, video.count, 30).astype(int)
    frames = [cv2.imread(str(video.input_path(int(n)))) for n in numbers]
    return np.median(np.stack(frames), axis=0).astype(np.uint8)


def load_shadow_video(video: CdnetVideo, step: int = FRAME_STEP) -> ShadowVideo | None:
    """The video's labelled frames with shadows or objects (None without any). A video without
    shadow labels still teaches what objects look like. Each frame is moved onto the background
    by phase correlation first (a shaking camera)."""
    background = _background(video)
    grey = cv2.cvtColor(background, cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = background.shape[:2]
    roi = video.roi_mask((w, h))
    pairs, labels, shadows = [], [], 0
    for n in range(video.first, video.last + 1, step):
        truth = cv2.imread(str(video.groundtruth_path(n)), cv2.IMREAD_GRAYSCALE)
        if truth is None or not ((truth == 50) | (truth == 255)).any():
            continue
        frame = cv2.imread(str(video.input_path(n)))
        (dx, dy), _ = cv2.phaseCorrelate(grey, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32))
        if abs(dx) >= 1 or abs(dy) >= 1:
            move = np.float32([[1, 0, -dx], [0, 1, -dy]])
            frame = cv2.warpAffine(frame, move, (w, h), borderMode=cv2.BORDER_REPLICATE)
            truth = cv2.warpAffine(truth, move, (w, h), flags=cv2.INTER_NEAREST, borderValue=85)
        label = np.full((h, w), IGNORED, np.int8)
        label[truth == 50] = SHADOW
        label[truth == 255] = OBJECT
        label[~roi] = IGNORED
        shadows += int((label == SHADOW).sum())
        grid = (w // 2, h // 2)  # the bank's grid, resized as it resizes frames
        pairs.append(np.concatenate([to_model_input(frame, grid), to_model_input(background, grid)],
                                    axis=2))
        labels.append(label[::2, ::2][: h // 2, : w // 2])
    if not pairs:
        return None
    log.info("%s: %d frames, %d shadow pixels", video.key, len(pairs), shadows)
    return ShadowVideo(video.key, np.stack(pairs), np.stack(labels))


def _batch(videos: list[ShadowVideo], cfg: ShadowTrainConfig, rng: np.random.Generator):
    pairs, labels = [], []
    for _ in range(cfg.batch):
        video = videos[int(rng.integers(len(videos)))]
        k = int(rng.integers(len(video.pairs)))
        h, w = video.labels.shape[1:]
        y0, x0 = int(rng.integers(0, h - cfg.crop + 1)), int(rng.integers(0, w - cfg.crop + 1))
        pair = video.pairs[k, y0:y0 + cfg.crop, x0:x0 + cfg.crop].astype(np.float32)
        label = video.labels[k, y0:y0 + cfg.crop, x0:x0 + cfg.crop]
        if rng.random() < 0.5:
            pair, label = pair[:, ::-1], label[:, ::-1]
        pair = np.clip(pair * rng.uniform(0.85, 1.15), 0, 255)  # exposure: the same gain on both
        pairs.append(np.ascontiguousarray(pair))
        labels.append(np.ascontiguousarray(label))
    x = torch.from_numpy(np.stack(pairs))
    return x[..., :3], x[..., 3:], torch.from_numpy(np.stack(labels)).long()


def train_shadows(cfg: ShadowTrainConfig) -> Path:
    """Train, export ``cfg.out/shadows.onnx`` (and ``shadows.pt``); returns the ONNX path."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    excluded = set(cfg.exclude)
    videos = [v for v in find_videos(cfg.data / "cdnet2014")
              if v.key not in excluded and v.name not in excluded]
    loaded = [s for s in (load_shadow_video(v) for v in videos) if s is not None]
    if not any((s.labels == SHADOW).any() for s in loaded):
        raise DatasetError(f"{cfg.data}/cdnet2014: no video with shadow labels (groundtruth 50) "
                           f"left to learn from (excluded: {sorted(excluded) or 'none'})")
    small = [s.key for s in loaded if min(s.labels.shape[1:]) < cfg.crop]
    if small:
        raise DatasetError(f"{', '.join(small)}: frames smaller than {2 * cfg.crop} px")
    net = ShadowNet(cfg.width, cfg.stride)
    opt = torch.optim.AdamW(net.parameters(), cfg.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    start = time.time()
    for step in range(cfg.steps):
        frame, background, label = _batch(loaded, cfg, rng)
        known = label >= 0
        if not known.any():
            continue
        target = label[known].float()
        share = float(target.mean().clamp(1e-3, 1 - 1e-3))  # shadows and objects weigh alike
        weight = torch.where(target > 0, 0.5 / share, 0.5 / (1 - share))
        loss = F.binary_cross_entropy_with_logits(net.logits(frame, background)[known], target,
                                                  weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if step % 250 == 0:
            log.info("step %d loss %.4f (%.0f s)", step, loss.item(), time.time() - start)
    cfg.out.mkdir(parents=True, exist_ok=True)
    net.eval()
    torch.save({"state_dict": net.state_dict(), "width": cfg.width, "stride": cfg.stride,
                "videos": [s.key for s in loaded]}, cfg.out / "shadows.pt")
    path = export_shadows(net, cfg.out / "shadows.onnx")
    (cfg.out / "shadows.json").write_text(json.dumps(
        {"videos": [s.key for s in loaded], "steps": cfg.steps, "seed": cfg.seed,
         "width": cfg.width, "stride": cfg.stride}, indent=2))
    return path


def export_shadows(net: ShadowNet, path: Path) -> Path:
    """ONNX graph ``frame``, ``background`` (uint8 N x H x W x 3) -> ``shadow`` (N x H x W)."""
    example = (torch.zeros(1, 60, 80, 3, dtype=torch.uint8), torch.zeros(1, 60, 80, 3, dtype=torch.uint8))
    torch.onnx.export(net.eval(), example, str(path), input_names=["frame", "background"],
                      output_names=["shadow"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"frame": {0: "n", 1: "h", 2: "w"},
                                    "background": {0: "n", 1: "h", 2: "w"},
                                    "shadow": {0: "n", 1: "h", 2: "w"}})
    return path
