"""Losses on distance maps: contrastive, Thresholded Contrastive Loss (TCL), DASNet double margin.

All are class-balanced: the unchanged and changed terms are averaged over their own pixels and
then combined with equal weight (inverse class frequency), and pixels labelled IGNORE count
for nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = 255


def _balanced(unchanged_term: torch.Tensor, changed_term: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    label = label.unsqueeze(1) if label.dim() == unchanged_term.dim() - 1 else label
    neg = (label == 0).float()
    pos = (label == 1).float()
    loss = (unchanged_term * neg).sum() / neg.sum().clamp_min(1.0)
    if pos.sum() > 0:
        loss = 0.5 * loss + 0.5 * (changed_term * pos).sum() / pos.sum()
    return loss


def tcl(distance: torch.Tensor, label: torch.Tensor, tau: float = 0.1, margin: float = 1.0) -> torch.Tensor:
    """Thresholded contrastive loss: unchanged pairs pay only above tolerance ``tau``.

    unchanged: max(0, D - tau)^2, changed: max(0, margin - D)^2. tau = 0 is the plain
    contrastive loss.
    """
    return _balanced(F.relu(distance - tau) ** 2, F.relu(margin - distance) ** 2, label)


def double_margin(distance: torch.Tensor, label: torch.Tensor, m1: float = 0.3, m2: float = 2.2) -> torch.Tensor:
    """DASNet's double-margin contrastive loss: max(D - m1, 0)^2 and max(m2 - D, 0)^2."""
    return _balanced(F.relu(distance - m1) ** 2, F.relu(m2 - distance) ** 2, label)


def contrastive(distance: torch.Tensor, label: torch.Tensor, tau: float = 0.0, margin: float = 1.0) -> torch.Tensor:
    """Plain contrastive loss (TCL without tolerance; ``tau`` is ignored)."""
    return tcl(distance, label, 0.0, margin)


#: name -> loss(distance, label, a, b); a/b are (tau, margin) for tcl and contrastive and
#: (m1, m2) for double_margin.
LOSSES = {"tcl": tcl, "contrastive": contrastive, "double_margin": double_margin}


def mlso_loss(sides: list[torch.Tensor], fused: torch.Tensor, label: torch.Tensor, *, kind: str = "tcl",
              tau: float = 0.1, margin: float = 1.0, beta: tuple[float, ...] = (0.5, 0.5, 0.5)) -> torch.Tensor:
    """The loss on the fused map plus beta-weighted losses on each side output (MLSO).

    Side maps are upsampled to the fused map's size (stride 2), where ``label`` lives.
    """
    fn = LOSSES[kind]
    total = fn(fused, label, tau, margin)
    for side, b in zip(sides, beta):
        if b:
            up = F.interpolate(side, size=fused.shape[-2:], mode="bilinear", align_corners=False)
            total = total + b * fn(up, label, tau, margin)
    return total
