# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmstt  # noqa: F401
from mmstt.models.backbones import max_pool as max_pool_module
from mmstt.models.backbones import separable_max_pool_3x3_s2, stem_max_pool


@pytest.mark.parametrize('shape', [(2, 3, 1, 1), (2, 3, 1, 6), (1, 2, 2, 3),
                                   (2, 3, 5, 7), (3, 4, 8, 8), (1, 1, 9, 4)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_separable_equals_max_pool2d(shape, dtype):
    torch.manual_seed(0)
    # Signed values: border windows must not see the padding as zeros.
    x = torch.randn(shape).to(dtype)
    out = separable_max_pool_3x3_s2(x)
    assert torch.equal(out, F.max_pool2d(x, 3, stride=2, padding=1))


def test_separable_keeps_channels_last():
    x = torch.rand(2, 8, 10, 10).contiguous(memory_format=torch.channels_last)
    out = separable_max_pool_3x3_s2(x)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, F.max_pool2d(x, 3, 2, 1))


def _spy(monkeypatch):
    calls = []

    def spy(x):
        calls.append(x.dtype)
        return F.max_pool2d(x, 3, 2, 1)

    monkeypatch.setattr(max_pool_module, 'separable_max_pool_3x3_s2', spy)
    return calls


def test_stem_max_pool_dispatch(monkeypatch):
    calls = _spy(monkeypatch)
    pool = nn.MaxPool2d(3, stride=2, padding=1)
    x = torch.rand(1, 2, 6, 6)
    with torch.no_grad():
        stem_max_pool(x, pool)  # float32: PyTorch's kernel
        stem_max_pool(x.bfloat16(), pool)  # bf16 inference: separable
        stem_max_pool(x.bfloat16(), nn.MaxPool2d(3, 2))  # other padding
        stem_max_pool(x.bfloat16(), nn.MaxPool2d(3, 2, 1, ceil_mode=True))
    # bf16 that needs a gradient keeps PyTorch's differentiable kernel.
    y = x.bfloat16().requires_grad_()
    stem_max_pool(y, pool).float().sum().backward()
    assert calls == [torch.bfloat16]
    assert y.grad is not None
