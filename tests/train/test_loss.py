"""Training losses on distance maps: TCL, contrastive, double margin; IGNORE pixels are free."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="training needs torch: pip install 'streamcd[train]'")

from streamcd.train.loss import IGNORE, LOSSES, double_margin, mlso_loss, tcl

TAU, MARGIN = 0.1, 1.0


def maps(distances, labels):
    """(N,1,h,w) distances and (N,h,w) labels of a 1xk strip."""
    d = torch.tensor(distances, dtype=torch.float32).view(1, 1, 1, -1)
    y = torch.tensor(labels, dtype=torch.uint8).view(1, 1, -1)
    return d, y


@pytest.mark.parametrize(
    ("distance", "label", "expected"),
    [
        # unchanged pixels pay only above tau
        (0.0, 0, 0.0),
        (0.05, 0, 0.0),
        (TAU, 0, 0.0),
        (TAU + 0.2, 0, 0.2**2),
        (1.5, 0, (1.5 - TAU) ** 2),
        # changed pixels pay only below the margin (half weight: the other class is absent)
        (MARGIN, 1, 0.0),
        (MARGIN + 0.7, 1, 0.0),
        (0.4, 1, 0.5 * (MARGIN - 0.4) ** 2),
        (0.0, 1, 0.5 * MARGIN**2),
        # ignored pixels never pay
        (0.0, IGNORE, 0.0),
        (0.5, IGNORE, 0.0),
        (2.0, IGNORE, 0.0),
    ],
)
def test_tcl_per_pixel(distance, label, expected):
    d, y = maps([distance] * 4, [label] * 4)
    assert tcl(d, y, TAU, MARGIN).item() == pytest.approx(expected, abs=1e-6)


def test_classes_are_balanced():
    # 3 unchanged pixels paying 0.04 each, 1 changed pixel paying 0.36: mean of the class means.
    d, y = maps([0.3, 0.3, 0.3, 0.4], [0, 0, 0, 1])
    assert tcl(d, y, TAU, MARGIN).item() == pytest.approx(0.5 * 0.04 + 0.5 * 0.36)


def test_ignored_pixels_change_neither_loss_nor_gradient():
    labels = [0, 1, IGNORE, IGNORE, 0]
    low, y = maps([0.3, 0.6, 0.0, 0.0, 0.05], labels)
    high, _ = maps([0.3, 0.6, 2.0, 1.3, 0.05], labels)
    high.requires_grad_(True)
    loss = tcl(high, y, TAU, MARGIN)
    assert loss.item() == pytest.approx(tcl(low, y, TAU, MARGIN).item())
    loss.backward()
    grad = high.grad.view(-1)
    assert grad[2] == 0 and grad[3] == 0 and grad[4] == 0  # ignored, and unchanged below tau
    assert grad[0] > 0 and grad[1] < 0  # push unchanged down, changed up


def test_tau_zero_is_the_plain_contrastive_loss():
    d, y = maps([0.05, 0.05], [0, 0])
    assert tcl(d, y, 0.0, MARGIN).item() == pytest.approx(0.05**2)
    assert LOSSES["contrastive"](d, y).item() == pytest.approx(0.05**2)


@pytest.mark.parametrize(
    ("distance", "label", "expected"),
    [
        (0.3, 0, 0.0),  # unchanged: free up to m1 = 0.3
        (0.5, 0, 0.2**2),
        (2.2, 1, 0.0),  # changed: free from m2 = 2.2
        (1.2, 1, 0.5 * 1.0**2),
    ],
)
def test_double_margin(distance, label, expected):
    d, y = maps([distance], [label])
    assert double_margin(d, y).item() == pytest.approx(expected, abs=1e-6)


def test_label_may_carry_the_channel_axis():
    d, y = maps([0.3, 0.4], [0, 1])
    assert tcl(d, y.unsqueeze(1)).item() == pytest.approx(tcl(d, y).item())


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_mlso_is_zero_for_perfect_maps_and_adds_the_sides(kind):
    label = torch.zeros(2, 8, 8, dtype=torch.uint8)
    label[:, 2:6, 2:6] = 1
    perfect = torch.where(label.unsqueeze(1) == 1, 3.0, 0.0)  # beyond every margin
    assert mlso_loss([perfect] * 3, perfect, label, kind=kind).item() == pytest.approx(0.0)
    wrong = torch.full_like(perfect, 0.05)  # everything looks unchanged
    fused_only = mlso_loss([perfect] * 3, wrong, label, kind=kind, beta=(0, 0, 0)).item()
    assert fused_only > 0
    # Each side output adds beta times its own loss; coarse sides are upsampled to the label.
    coarse = [wrong, wrong[..., ::2, ::2], wrong[..., ::4, ::4]]
    assert mlso_loss(coarse, wrong, label, kind=kind, beta=(0.5, 0.5, 0.5)).item() == (
        pytest.approx(fused_only * 2.5)
    )
