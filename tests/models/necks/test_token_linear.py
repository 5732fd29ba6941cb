# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmstt  # noqa: F401
from mmstt.models.necks import token_linear as tl
from mmstt.models.necks.token_linear import (TokenLinear, conv1x1_linear,
                                             prefer_conv, token_linear)


def _layer(bias: bool = True) -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(24, 40, bias=bias)


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('shape', [(7, 24), (2, 3, 5, 24), (1, 24), (0, 24)])
def test_conv1x1_linear_equals_linear_forward_and_backward(bias, shape):
    layer = _layer(bias)
    x = torch.randn(*shape, requires_grad=True)
    ref = F.linear(x, layer.weight, layer.bias)
    out = conv1x1_linear(x, layer.weight, layer.bias)
    assert out.shape == ref.shape == shape[:-1] + (40, )
    assert torch.allclose(out, ref, atol=1e-5, rtol=0)
    if x.numel() == 0:
        return
    grad = torch.randn_like(ref)
    expect = torch.autograd.grad(ref, [x, layer.weight], grad)
    got = torch.autograd.grad(out, [x, layer.weight], grad)
    for e, g in zip(expect, got):
        assert torch.allclose(e, g, atol=1e-4, rtol=0)


def test_conv1x1_linear_accepts_strided_input():
    layer = _layer()
    x = torch.randn(3, 24, 5).transpose(1, 2)  # last dim not contiguous
    assert torch.allclose(
        conv1x1_linear(x, layer.weight, layer.bias),
        F.linear(x, layer.weight, layer.bias),
        atol=1e-5,
        rtol=0)


def test_prefer_conv_rule():
    w = torch.randn(4, 3, requires_grad=True)
    x = torch.randn(2, 3)
    # float32 on CPU: the convolution, with or without gradients.
    assert prefer_conv(x, w)
    assert prefer_conv(x.requires_grad_(), w)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # Low-precision training: F.linear (its weight gradient is faster).
        assert not prefer_conv(x, w)
        with torch.no_grad():
            # Low-precision inference: the convolution.
            assert prefer_conv(x, w)
    with torch.no_grad():
        assert prefer_conv(x.detach().bfloat16(), w.detach().bfloat16())
    assert not prefer_conv(
        torch.randn(2, 3, dtype=torch.bfloat16, requires_grad=True),
        w.detach().bfloat16())
    if not torch.cuda.is_available():
        pytest.skip('the non-CPU branch needs a CUDA device')
    assert not prefer_conv(x.cuda(), w.cuda())


@pytest.mark.parametrize('impl, grad, autocast, expect_conv', [
    ('auto', False, False, True),
    ('auto', True, False, True),
    ('auto', True, True, False),
    ('auto', False, True, True),
    ('linear', False, False, False),
    ('linear', True, False, False),
    ('conv', True, True, True),
])
def test_token_linear_dispatch(monkeypatch, impl, grad, autocast, expect_conv):
    calls = []
    real = tl.conv1x1_linear

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(tl, 'conv1x1_linear', spy)
    layer = TokenLinear(8, 6, impl=impl)
    x = torch.randn(3, 8)
    with torch.set_grad_enabled(grad), \
            torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        out = layer(x)
    assert bool(calls) == expect_conv
    assert out.dtype == (torch.bfloat16 if autocast else torch.float32)
    ref = F.linear(x, layer.weight, layer.bias)
    assert torch.allclose(out.float(), ref, atol=5e-2 if autocast else 1e-5)


def test_token_linear_is_a_drop_in_linear():
    linear = _layer()
    layer = TokenLinear(24, 40)
    assert isinstance(layer, nn.Linear)
    assert set(layer.state_dict()) == set(linear.state_dict())
    layer.load_state_dict(linear.state_dict())
    x = torch.randn(5, 24)
    assert torch.allclose(layer(x), linear(x), atol=1e-5, rtol=0)
    assert 'impl=auto' in repr(layer)
    assert torch.equal(
        token_linear(x, linear.weight, linear.bias, 'linear'), linear(x))


def test_bad_impl_name():
    with pytest.raises(ValueError, match='linear_impl'):
        TokenLinear(4, 4, impl='mkl')
