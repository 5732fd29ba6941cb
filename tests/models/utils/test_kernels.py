# Copyright (c) OpenMMLab. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmstt.models.utils import kernels


@pytest.fixture
def spy(monkeypatch):
    """Record calls of the 1x1-convolution and float32-GEMM linears."""
    calls = []
    for name, fn in (('conv', kernels.conv1x1_linear),
                     ('upcast', kernels.upcast_linear)):

        def spied(*args, _name=name, _fn=fn, **kwargs):
            calls.append(_name)
            return _fn(*args, **kwargs)

        monkeypatch.setattr(kernels, fn.__name__, spied)
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


def test_upcast_linear_rounds_like_a_low_precision_gemm():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 64, generator=g, requires_grad=True)
    w = torch.randn(24, 64, generator=g, requires_grad=True)
    b = torch.randn(24, generator=g, requires_grad=True)
    grad = torch.randn(2, 5, 24, generator=g).bfloat16()
    outs = []
    for fn in (kernels.upcast_linear, F.linear):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = fn(x, w, b)
        outs.append((out, torch.autograd.grad(out, (x, w, b), grad)))
    (out, got), (ref, expect) = outs
    assert out.dtype == ref.dtype == torch.bfloat16
    # Within one bfloat16 rounding of each other.
    assert torch.allclose(out.float(), ref.float(), rtol=2**-7, atol=1e-2)
    for a, e in zip(got, expect):
        assert a.dtype == e.dtype
        assert torch.allclose(a, e, rtol=2**-7, atol=5e-2)
    assert kernels.upcast_linear(x.bfloat16(), w.bfloat16()).dtype == \
        torch.bfloat16


@pytest.mark.parametrize('kernel, beats, autocast, grad, expect', [
    ('auto', True, False, False, ['conv']),
    ('auto', True, False, True, []),
    ('auto', False, False, False, []),
    ('auto', True, True, False, ['upcast']),
    ('auto', True, True, True, ['upcast']),
    ('reference', True, False, False, []),
    ('reference', True, True, False, []),
])
def test_linear_dispatch(spy, monkeypatch, kernel, beats, autocast, grad,
                         expect):
    monkeypatch.setattr(kernels, 'conv_beats_blas', lambda: beats)
    monkeypatch.setattr(kernels, 'low_precision_is_emulated',
                        lambda dtype: beats)
    x, w = torch.randn(6, 8), torch.randn(4, 8, requires_grad=grad)
    with kernels.use(kernel), torch.autocast(
            'cpu', dtype=torch.bfloat16, enabled=autocast):
        out = kernels.linear(x, w)
    assert spy == expect
    assert out.requires_grad == grad
    assert torch.allclose(out.float(), F.linear(x, w), atol=5e-2)


def test_recorded_follows_grad_mode():
    leaf = torch.zeros(2, requires_grad=True)
    assert kernels.recorded(torch.zeros(2), leaf)
    assert not kernels.recorded(torch.zeros(2))
    with torch.no_grad():
        assert not kernels.recorded(leaf)


def test_tracing_selects_the_reference_kernels(spy, monkeypatch):
    monkeypatch.setattr(kernels, 'conv_beats_blas', lambda: True)
    clips = torch.randn(2, 3, 4, 5, 6)
    with kernels.use('auto'):
        kernels.linear(torch.randn(6, 8), torch.randn(4, 8))
        assert not kernels.frames(clips).is_contiguous()
        assert kernels.per_chunk(clips, 2**22) == 1
        monkeypatch.setattr(torch.compiler, 'is_compiling', lambda: True)
        kernels.linear(torch.randn(6, 8), torch.randn(4, 8))
        assert kernels.frames(clips).is_contiguous()
        assert kernels.per_chunk(clips, 2**22) == 2
    assert spy == ['conv']


def test_per_chunk_counts_bytes():
    x = torch.zeros(50, 1, 16, 7, 7)
    elements = kernels.CHUNK_BYTES // 12  # 3 float32 clips per chunk
    assert kernels.per_chunk(x, elements) == 50
    with kernels.use('auto'):
        assert kernels.per_chunk(x, elements) == 3
        assert kernels.per_chunk(x.bfloat16(), elements) == 6
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert kernels.per_chunk(x, elements) == 6
        assert kernels.per_chunk(x, 10 * elements) == 1


def test_probes_time_without_autocast():
    seen = []

    def record(x):
        seen.append(torch.is_autocast_enabled('cpu'))

    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert kernels._speedup(record, record, None) > 0
    assert seen and not any(seen)


def test_probes_answer_a_bool():
    assert isinstance(kernels.conv_beats_blas(), bool)
    assert isinstance(kernels.low_precision_is_emulated(torch.bfloat16), bool)
    assert isinstance(kernels.matmul_attention_is_faster(torch.bfloat16), bool)


def test_low_precision_and_bad_kernel():
    x = torch.zeros(2)
    assert not kernels.low_precision(x)
    assert kernels.low_precision(x.bfloat16())
    assert kernels.low_precision(x.half())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert kernels.low_precision(x)
    with pytest.raises(ValueError, match='kernel'):
        with kernels.use('fast'):
            pass


@pytest.mark.parametrize('batch', [1, 2])
def test_frames_layout_follows_the_rules(batch):
    clips = torch.randn(batch, 3, 4, 5, 6)
    expect = clips.transpose(1, 2).reshape(batch * 4, 3, 5, 6)
    plain = kernels.frames(clips)
    assert torch.equal(plain, expect)
    with kernels.use('auto'):
        fast = kernels.frames(clips)
    assert torch.equal(fast, expect)
    assert fast.is_contiguous(memory_format=torch.channels_last)
    assert not fast.is_contiguous()


@pytest.mark.parametrize('kernel, faster, dtype, grad, matmul', [
    ('auto', True, torch.bfloat16, True, True),
    ('auto', False, torch.bfloat16, True, False),
    ('auto', True, torch.float32, True, False),
    ('auto', True, torch.bfloat16, False, False),
    ('reference', True, torch.bfloat16, True, False),
])
def test_attention_kernel(monkeypatch, kernel, faster, dtype, grad, matmul):
    monkeypatch.setattr(kernels, 'matmul_attention_is_faster',
                        lambda dtype: faster)
    gen = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(3, 2, 5, 8, generator=gen).to(dtype) for _ in range(3))
    q.requires_grad_(grad)
    with kernels.use(kernel):
        out = kernels.attention(q, k, v)
    expect = F.scaled_dot_product_attention(q, k, v)
    assert out.dtype == dtype
    assert torch.allclose(out.float(), expect.float(), atol=2e-2)
    if grad:
        # The fused CPU kernel records its own backward node; the matmul
        # attention records the product of the weights with the values.
        fused = 'Flash' in type(out.grad_fn).__name__
        assert fused != matmul
        out.float().square().sum().backward()
        dq_auto = q.grad
        q.grad = None
        expect.float().square().sum().backward()
        assert torch.allclose(dq_auto.float(), q.grad.float(), atol=5e-2)


def test_matmul_attention_matches_sdpa_and_drops_weights():
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8, generator=gen) for _ in range(3))
    # first 2 queries against all 7 keys, as the last block's class tokens
    out = kernels.matmul_attention(q[:, :, :2], k, v)
    expect = F.scaled_dot_product_attention(q[:, :, :2], k, v)
    assert out.shape == (2, 3, 2, 8)
    assert torch.allclose(out, expect, atol=1e-6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = kernels.matmul_attention(q, k, v)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(
        low.float(), F.scaled_dot_product_attention(q, k, v), atol=3e-2)
    assert torch.count_nonzero(kernels.matmul_attention(q, k, v, 1.)) == 0
