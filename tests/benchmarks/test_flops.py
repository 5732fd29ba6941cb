# Copyright (c) OpenMMLab. All rights reserved.
"""The shared FLOP counter against hand counts."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmstt.utils.flops import count_flops


class _Net(nn.Module):
    """A linear layer, an activation and a convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.act, self.conv = nn.Linear(6, 5), nn.ReLU(), \
            nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor, img: torch.Tensor) -> tuple:
        return self.act(self.fc(x)), self.conv(img)


def test_linear_and_conv_match_hand_counts() -> None:
    """2 FLOPs per multiply-add; per-child figures add up to the total."""
    model = _Net()
    x, img = torch.randn(7, 6), torch.randn(2, 3, 8, 8)
    flops = count_flops(lambda: model(x, img), model)
    linear = 2 * 7 * 6 * 5
    conv = 2 * 2 * (3 * 3 * 3) * 4 * 6 * 6  # 6x6 outputs per map
    assert flops == dict(total=linear + conv, fc=linear, act=0, conv=conv)


def test_attention_products_are_counted() -> None:
    """SDPA counts q k^T and p v (the fused kernel alone would count 0)."""
    q = torch.randn(2, 3, 5, 4)  # (N, heads, L, d)
    k, v = torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 4)
    flops = count_flops(lambda: F.scaled_dot_product_attention(q, k, v))
    assert flops['total'] == 2 * (2 * 3 * 5 * 6 * 4) * 2


def test_get_flops_uses_the_counter(load_tool) -> None:
    """The tool reports the same FLOPs, and MACs as half of them."""
    tool = load_tool('analysis/get_flops.py')
    model = nn.Module()
    model.backbone = nn.Linear(3 * 2 * 4 * 4, 8)

    def forward(x, mode, stage):
        return model.backbone(x.flatten(1))

    model.forward = forward
    result = tool.count(model, [1, 3, 2, 4, 4])
    assert result['flops'] == {'backbone': 2 * 96 * 8, 'total': 2 * 96 * 8}
    assert result['macs']['total'] == 96 * 8
    assert result['params']['total'] == 96 * 8 + 8


def test_first_use_work_is_not_counted() -> None:
    """One-off work of the first call (a kernel probe) stays out."""
    a = torch.randn(4, 4)
    calls = []

    def run() -> None:
        if not calls:
            a @ a @ a  # first use only
        calls.append(1)
        a @ a

    assert count_flops(run)['total'] == 2 * 4 * 4 * 4
    assert len(calls) == 2
