"""DASNet-style dual attention: a spatial (position) and a channel attention block whose outputs
are added to the input through learnable gates initialised to 0, so a freshly built network
computes exactly what it did without attention and learns how much of it to use."""

from __future__ import annotations

import torch
from torch import nn


class SpatialAttention(nn.Module):
    """Every position attends to every other one (query/key projections at channels // 8)."""

    def __init__(self, channels: int):
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # N, HW, C'
        k = self.key(x).flatten(2)  # N, C', HW
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # N, HW, HW
        v = self.value(x).flatten(2)  # N, C, HW
        out = torch.bmm(v, attn.transpose(1, 2)).reshape(n, c, h, w)
        return x + self.gate * out


class ChannelAttention(nn.Module):
    """Every channel attends to every other one through their Gram matrix."""

    def __init__(self):
        super().__init__()
        self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        flat = x.flatten(2)  # N, C, HW
        energy = torch.bmm(flat, flat.transpose(1, 2))  # N, C, C
        # DANet subtracts from the row maximum so that dissimilar channels weigh more.
        energy = energy.amax(dim=-1, keepdim=True) - energy
        attn = torch.softmax(energy, dim=-1)
        out = torch.bmm(attn, flat).reshape(n, c, h, w)
        return x + self.gate * out


class DualAttention(nn.Module):
    """Sum of spatial and channel attention on one feature map (shape preserved)."""

    def __init__(self, channels: int):
        super().__init__()
        self.spatial = SpatialAttention(channels)
        self.channel = ChannelAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(x) + self.channel(x) - x
