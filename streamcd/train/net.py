"""CosimNet-style siamese metric network (torch), split as encoder + head for export.

The encoder maps one BGR uint8 image (NHWC, as OpenCV gives it) to per-pixel L2-normalised
feature maps at strides 2, 4 and 8 (the multi-layer side outputs, MLSO). The head compares
reference and query features: per side, the per-pixel L2 distance of unit vectors (range 0..2),
upsampled to stride 2 and averaged with the side weights. Running the encoder once per reference
and once per frame is what lets the runtime cache the background's features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import DualAttention

# ImageNet statistics in BGR order (the network sees OpenCV's channel order).
_MEAN_BGR = (0.406 * 255, 0.456 * 255, 0.485 * 255)
_STD_BGR = (0.225 * 255, 0.224 * 255, 0.229 * 255)


@dataclass(frozen=True)
class NetConfig:
    """Architecture of the change network; stored in the model card."""

    widths: tuple[int, ...] = (16, 32, 64)
    embed: tuple[int, ...] = (16, 24, 32)
    side_weights: tuple[float, ...] = (1.0, 1.0, 1.0)
    distance: str = "l2"  # "l2" or "cosine" (1 - cos), both on unit vectors
    encoder: str = "scratch"  # "scratch" or "lite0" (EfficientNet-Lite0 ImageNet trunk)
    attention: bool = False  # DASNet dual attention on the deepest trunk features

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _conv_bn(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Encoder(nn.Module):
    """uint8 NHWC BGR image -> list of unit-normalised feature maps (strides 2, 4, 8)."""

    def __init__(self, cfg: NetConfig = NetConfig(), pretrained: bool = False):
        super().__init__()
        self.register_buffer("mean", torch.tensor(_MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD_BGR).view(1, 3, 1, 1), persistent=False)
        if cfg.encoder == "lite0":
            from .pretrained import SIDE_CHANNELS, LiteTrunk

            self.trunk = LiteTrunk()
            if pretrained:
                self.trunk.load_imagenet()
            channels = SIDE_CHANNELS
        elif cfg.encoder == "scratch":
            self.trunk = ScratchTrunk(cfg.widths)
            channels = cfg.widths
        else:
            raise ValueError(f"unknown encoder {cfg.encoder!r}; use 'scratch' or 'lite0'")
        self.sides = nn.ModuleList(nn.Conv2d(c, e, 1) for c, e in zip(channels, cfg.embed))
        self.attention = DualAttention(channels[-1]) if cfg.attention else None

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = (image.permute(0, 3, 1, 2).float() - self.mean) / self.std
        features = self.trunk(x)
        if self.attention is not None:
            features = [*features[:-1], self.attention(features[-1])]
        return [F.normalize(side(f), dim=1, eps=1e-6) for side, f in zip(self.sides, features)]


class ScratchTrunk(nn.Module):
    """Small from-scratch FCN: per stage two 3x3 conv+BN+ReLU, the first with stride 2."""

    def __init__(self, widths: tuple[int, ...]):
        super().__init__()
        stages, cin = [], 3
        for i, width in enumerate(widths):
            dilation = 2 if i == len(widths) - 1 else 1
            stages.append(nn.Sequential(_conv_bn(cin, width, 2), _conv_bn(width, width, 1, dilation)))
            cin = width
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out


def side_distances(ref: list[torch.Tensor], query: list[torch.Tensor], kind: str = "l2") -> list[torch.Tensor]:
    """Per-side distance maps (N,1,h,w) between unit-normalised features."""
    out = []
    for r, q in zip(ref, query):
        if kind == "l2":
            # diff * diff, not diff ** 2: ONNX Runtime's Mul is cheaper than its Pow. (2 - 2 r.q
            # would be cheaper still, but cancels near 0: 1e-4 off in float32, 0.03 in float16.)
            diff = r - q
            d = torch.sqrt((diff * diff).sum(1, keepdim=True) + 1e-8)
        elif kind == "cosine":
            d = 1.0 - (r * q).sum(1, keepdim=True)
        else:
            raise ValueError(f"unknown distance {kind!r}; use 'l2' or 'cosine'")
        out.append(d)
    return out


def fuse(distances: list[torch.Tensor], weights: tuple[float, ...]) -> torch.Tensor:
    """Weighted mean of the side distances, upsampled to the finest side (stride 2)."""
    size = distances[0].shape[-2:]
    total = sum(weights)
    fused = distances[0] * (weights[0] / total)
    for d, w in zip(distances[1:], weights[1:]):
        fused = fused + F.interpolate(d, size=size, mode="bilinear", align_corners=False) * (w / total)
    return fused


class Head(nn.Module):
    """(reference features, query features) -> fused distance map (N,1,H/2,W/2)."""

    def __init__(self, cfg: NetConfig = NetConfig()):
        super().__init__()
        self.cfg = cfg

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        k = len(features) // 2
        return fuse(side_distances(list(features[:k]), list(features[k:]), self.cfg.distance), self.cfg.side_weights)


class ChangeNet(nn.Module):
    """Encoder + head, used for training; ``forward`` returns side and fused distances."""

    def __init__(self, cfg: NetConfig = NetConfig(), pretrained: bool = False):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg, pretrained)
        self.head = Head(cfg)

    def forward(self, reference: torch.Tensor, query: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        sides = side_distances(self.encoder(reference), self.encoder(query), self.cfg.distance)
        return sides, fuse(sides, self.cfg.side_weights)
