# Copyright (c) OpenMMLab. All rights reserved.
import math

import pytest
import torch

import mmstt  # noqa: F401
from mmstt.models.necks import factorized_attention as fa
from mmstt.models.necks.factorized_attention import (FactorizedAttention,
                                                     attention,
                                                     matmul_attention,
                                                     sdpa_attention)


def _qkv(dtype=torch.float32, requires_grad=False):
    """Strided q/k/v views of one fused tensor, as the module makes them."""
    torch.manual_seed(0)
    fused = torch.randn(3, 10, 4, 3, 8, dtype=dtype)
    fused.requires_grad_(requires_grad)
    # (batch, seq, heads, 3, d) -> 3 x (batch, heads, seq, d) views
    q, k, v = (t.transpose(1, 2) for t in fused.unbind(3))
    return fused, q, k, v


def _naive(q, k, v):
    q, k, v = q.double(), k.double(), v.double()
    scores = torch.einsum('bhld,bhsd->bhls', q, k) / math.sqrt(q.shape[-1])
    return torch.einsum('bhls,bhsd->bhld', scores.softmax(-1), v)


@pytest.mark.parametrize('fn', [sdpa_attention, matmul_attention])
def test_attention_kernels_match_the_definition(fn):
    fused, q, k, v = _qkv(requires_grad=True)
    out = fn(q, k, v)
    assert out.shape == (3, 4, 10, 8)
    assert torch.allclose(out.double(), _naive(q, k, v), atol=1e-5)
    grad = torch.randn_like(out)
    (got, ) = torch.autograd.grad(out, fused, grad)
    fused64 = fused.detach().double().requires_grad_()
    q, k, v = (t.transpose(1, 2) for t in fused64.unbind(3))
    (expect, ) = torch.autograd.grad(_naive(q, k, v), fused64, grad.double())
    assert torch.allclose(got.double(), expect, atol=1e-5)


def test_matmul_attention_dropout():
    _, q, k, v = _qkv()
    torch.manual_seed(1)
    dropped = matmul_attention(q, k, v, dropout_p=0.5)
    assert not torch.allclose(dropped, matmul_attention(q, k, v))


@pytest.mark.parametrize('dtype, impl, expect', [
    (torch.float32, 'auto', 'sdpa'),
    (torch.bfloat16, 'auto', 'matmul'),
    (torch.float16, 'auto', 'matmul'),
    (torch.bfloat16, 'sdpa', 'sdpa'),
    (torch.float32, 'matmul', 'matmul'),
])
def test_attention_dispatch(monkeypatch, dtype, impl, expect):
    used = []
    for name in ('sdpa_attention', 'matmul_attention'):
        real = getattr(fa, name)

        def spy(*args, _real=real, _name=name):
            used.append(_name.split('_')[0])
            return _real(*args)

        monkeypatch.setattr(fa, name, spy)
    _, q, k, v = _qkv(dtype)
    out = attention(q, k, v, impl=impl)
    assert used == [expect]
    assert out.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 5e-2
    assert torch.allclose(out.double(), _naive(q, k, v), atol=tol)


def test_bad_attn_impl():
    with pytest.raises(ValueError, match='attn_impl'):
        FactorizedAttention(16, 2, axis='spatial', attn_impl='flash')
