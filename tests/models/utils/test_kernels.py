# Copyright (c) OpenMMLab. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from mmstt.models.utils import kernels


def _naive_attention(q, k, v):
    q, k, v = q.double(), k.double(), v.double()
    scores = torch.einsum('nhld,nhsd->nhls', q, k) / math.sqrt(q.shape[-1])
    return torch.einsum('nhls,nhsd->nhld', scores.softmax(-1), v)


def _qkv(dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    fused = torch.randn(3, 10, 3, 4, 8, generator=g).to(dtype)
    # (N, L, 3, H, d) -> 3 x (N, H, L, d) strided views
    return fused, fused.permute(2, 0, 3, 1, 4).unbind(0)


@pytest.fixture
def spy(monkeypatch):
    """Count calls of SDPA and of the 1x1-convolution linear."""
    calls = []
    sdpa, conv = F.scaled_dot_product_attention, kernels.conv1x1_linear

    def spy_sdpa(*args, **kwargs):
        calls.append('sdpa')
        return sdpa(*args, **kwargs)

    def spy_conv(*args, **kwargs):
        calls.append('conv')
        return conv(*args, **kwargs)

    monkeypatch.setattr(F, 'scaled_dot_product_attention', spy_sdpa)
    monkeypatch.setattr(kernels, 'conv1x1_linear', spy_conv)
    return calls


def test_conv1x1_linear_equals_linear_with_gradients():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 7, 16, generator=g, requires_grad=True)
    w = torch.randn(24, 16, generator=g, requires_grad=True)
    b = torch.randn(24, generator=g, requires_grad=True)
    out = kernels.conv1x1_linear(x, w, b)
    ref = F.linear(x, w, b)
    assert out.shape == (2, 5, 7, 24)
    assert torch.allclose(out, ref, atol=1e-5)
    grad = torch.randn_like(ref)
    got = torch.autograd.grad(out, (x, w, b), grad)
    expect = torch.autograd.grad(ref, (x, w, b), grad)
    for a, e in zip(got, expect):
        assert torch.allclose(a, e, atol=1e-4)
    empty = torch.zeros(0, 16)
    assert kernels.conv1x1_linear(empty, w, b).shape == (0, 24)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('kernel', ['auto', 'reference'])
def test_attention_matches_the_definition(kernel, dtype):
    fused, _ = _qkv(dtype)
    fused.requires_grad_()
    q, k, v = fused.permute(2, 0, 3, 1, 4).unbind(0)
    with kernels.use(kernel):
        out = kernels.attention(q, k, v)
    assert out.shape == (3, 4, 10, 8) and out.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    assert torch.allclose(out.double(), _naive_attention(q, k, v), atol=tol)
    grad = torch.randn(out.shape).to(dtype)
    (got, ) = torch.autograd.grad(out, fused, grad)
    f64 = fused.detach().double().requires_grad_()
    ref = _naive_attention(*f64.permute(2, 0, 3, 1, 4).unbind(0))
    (expect, ) = torch.autograd.grad(ref, f64, grad.double())
    assert torch.allclose(got.double(), expect, atol=tol * 5)


@pytest.mark.parametrize('kernel, dtype, expect', [
    ('auto', torch.float32, ['sdpa']),
    ('auto', torch.bfloat16, []),
    ('auto', torch.float16, []),
    ('reference', torch.bfloat16, ['sdpa']),
    (None, torch.bfloat16, ['sdpa']),
])
def test_attention_dispatch(spy, kernel, dtype, expect):
    _, (q, k, v) = _qkv(dtype)
    if kernel is None:  # outside any neck: the reference kernels
        kernels.attention(q, k, v)
    else:
        with kernels.use(kernel):
            kernels.attention(q, k, v)
    assert spy == expect


@pytest.mark.parametrize('kernel, beats, autocast, expect', [
    ('auto', True, False, ['conv']),
    ('auto', False, False, []),
    ('auto', True, True, []),
    ('reference', True, False, []),
])
def test_linear_dispatch(spy, monkeypatch, kernel, beats, autocast, expect):
    monkeypatch.setattr(kernels, 'conv_beats_blas', lambda: beats)
    x, w = torch.randn(6, 8), torch.randn(4, 8)
    with kernels.use(kernel), torch.autocast(
            'cpu', dtype=torch.bfloat16, enabled=autocast):
        out = kernels.linear(x, w)
    assert spy == expect
    assert torch.allclose(out.float(), F.linear(x, w), atol=5e-2)


def test_tracing_selects_the_reference_kernels(spy, monkeypatch):
    monkeypatch.setattr(kernels, 'conv_beats_blas', lambda: True)
    monkeypatch.setattr(torch.compiler, 'is_compiling', lambda: True)
    _, (q, k, v) = _qkv(torch.bfloat16)
    x = torch.randn(5000, 1, 1, 1)
    with kernels.use('auto'):
        kernels.attention(q, k, v)
        kernels.linear(torch.randn(6, 8), torch.randn(4, 8))
        assert kernels.clips_per_chunk(x) == 5000
    assert spy == ['sdpa']


def test_clips_per_chunk_counts_bytes():
    x = torch.zeros(50, 1, 16, 7, 7)  # 784 tokens per clip
    assert kernels.clips_per_chunk(x) == 50
    with kernels.use('auto'):
        assert kernels.clips_per_chunk(x) == 2
        assert kernels.clips_per_chunk(x.bfloat16()) == 5
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert kernels.clips_per_chunk(x) == 5
        assert kernels.clips_per_chunk(x[:, :, :1, :1, :1]) == 2048
    with kernels.use('reference'):
        assert kernels.clips_per_chunk(x) == 50


def test_low_precision_and_bad_kernel():
    x = torch.zeros(2)
    assert not kernels.low_precision(x)
    assert kernels.low_precision(x.bfloat16())
    assert kernels.low_precision(x.half())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert kernels.low_precision(x)
    with pytest.raises(ValueError, match='kernel'):
        kernels.use('fast')
