# Copyright (c) OpenMMLab. All rights reserved.
"""The analytic FLOP counts of the benchmark match PyTorch's counter."""
import torch

from benchmarks.flops import (counted_flops, factorised_neck_flops,
                              resnet_tokenizer_flops, stt_flops)
from benchmarks.reference import MMActionDividedNeck


def test_reference_neck_flops_match_counter() -> None:
    """MMAction2's TimeSformer layout: cls once, temporal_fc counted."""
    neck = MMActionDividedNeck(
        in_channels=8,
        embed_dims=16,
        num_frames=3,
        num_patches=4,
        depth=2,
        num_heads=2).eval()
    x = torch.randn(2, 8, 3, 2, 2)
    with torch.no_grad():
        counted = counted_flops(lambda: neck(x))
    analytic = factorised_neck_flops(
        2, 3, (2, 2), 8, 16, 2, spatial_extra=1, mlp_extra=1, temporal_fc=True)
    assert counted == analytic['total']
    assert analytic['attention'] > 0


def test_resnet_flops_formula() -> None:
    """ResNet-18 to layer3 at 112x112: 7x7 grid, known per-frame count."""
    flops, grid = resnet_tokenizer_flops(112, 112, out_stage=3)
    assert grid == (7, 7)
    # conv1 alone: 2 * 3 * 7 * 7 * 64 * 56 * 56.
    assert flops > 2 * 3 * 49 * 64 * 56 * 56
    assert flops == 701259776
    total = stt_flops(2, 4, 112, 112)
    assert total['backbone'] == 2 * 4 * flops
    assert total['total'] == total['backbone'] + total['neck'] + \
        total['head']
