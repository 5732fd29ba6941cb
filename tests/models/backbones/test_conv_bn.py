# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch
import torch.nn as nn

import mmstt  # noqa: F401
from mmstt.models.backbones import (ResNetTokenizer, basic_block, can_fold,
                                    conv_bn, resnet_tokenizer)


def _pair(conv_bias: bool = False, groups: int = 1, affine: bool = True):
    """A double conv/BN pair with non-trivial statistics and affine."""
    torch.manual_seed(0)
    conv = nn.Conv2d(
        4, 6, 3, stride=2, padding=1, groups=groups, bias=conv_bias)
    bn = nn.BatchNorm2d(6, affine=affine)
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.)
        if affine:
            bn.weight.normal_()
            bn.bias.normal_()
    return conv.double(), bn.double()


@pytest.mark.parametrize('conv_bias,groups,affine', [(False, 1, True),
                                                     (True, 2, True),
                                                     (False, 1, False)])
def test_folded_equals_conv_then_bn(conv_bias, groups, affine):
    conv, bn = _pair(conv_bias, groups, affine)
    bn.eval()
    x = torch.randn(3, 4, 9, 9, dtype=torch.double)
    assert can_fold(conv, bn)
    with torch.no_grad():
        assert torch.allclose(
            conv_bn(x, conv, bn), bn(conv(x)), atol=1e-12, rtol=0)


def test_folded_runs_one_convolution_and_no_bn(monkeypatch):
    conv, bn = _pair()
    bn.eval()

    def no_bn(*args):
        raise AssertionError('BN ran although it is frozen')

    monkeypatch.setattr(bn, 'forward', no_bn)
    out = conv_bn(torch.randn(1, 4, 8, 8, dtype=torch.double), conv, bn)
    assert out.shape == (1, 6, 4, 4)


def test_folded_gradients_equal_unfolded():
    conv, bn = _pair(conv_bias=True)
    bn.eval()  # frozen BN inside a training model (norm_eval)
    x = torch.randn(2, 4, 7, 7, dtype=torch.double, requires_grad=True)
    params = [x, conv.weight, conv.bias, bn.weight, bn.bias]
    grads = []
    for fn in (lambda: conv_bn(x, conv, bn), lambda: bn(conv(x))):
        out = fn()
        grads.append(torch.autograd.grad((out * out.cos()).sum(), params))
    for folded, plain in zip(*grads):
        assert torch.allclose(folded, plain, atol=1e-10, rtol=0)


def test_training_bn_is_not_folded():
    conv, bn = _pair()
    bn.train()
    assert not can_fold(conv, bn)
    x = torch.randn(4, 4, 8, 8, dtype=torch.double)
    mean_before = bn.running_mean.clone()
    out = conv_bn(x, conv, bn)
    # Batch statistics: every channel of the output has zero mean.
    assert torch.allclose(
        out.mean(dim=(0, 2, 3)) - bn.bias,
        torch.zeros(6, dtype=torch.double),
        atol=1e-10)
    assert not torch.equal(bn.running_mean, mean_before)
    assert int(bn.num_batches_tracked) == 1


def test_unfoldable_pairs():
    conv, bn = _pair()
    bn.eval()
    reflect = nn.Conv2d(4, 6, 3, padding=1, padding_mode='reflect')
    assert not can_fold(reflect, bn.float())
    assert not can_fold(conv, nn.Identity())
    no_stats = nn.BatchNorm2d(6, track_running_stats=False).eval()
    assert not can_fold(conv, no_stats)
    x = torch.randn(1, 4, 6, 6, dtype=torch.double)
    assert torch.equal(conv_bn(x, conv, nn.Identity()), conv(x))


def test_backbone_eval_output_equals_unfolded(monkeypatch):
    torch.manual_seed(0)
    backbone = ResNetTokenizer(depth=18, out_stage=2, base_channels=8)
    with torch.no_grad():
        for m in backbone.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(std=0.1)
                m.running_var.uniform_(0.5, 2.)
    backbone.eval()
    x = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        folded = backbone(x)
        plain = [0]

        def unfolded(x, conv, bn):
            plain[0] += 1
            return bn(conv(x))

        monkeypatch.setattr(basic_block, 'conv_bn', unfolded)
        monkeypatch.setattr(resnet_tokenizer, 'conv_bn', unfolded)
        reference = backbone(x)
    # stem + 2 stages x 2 blocks x 2 convs + 1 projection shortcut
    assert plain[0] == 1 + 8 + 1
    assert torch.allclose(folded, reference, atol=1e-5, rtol=1e-5)
