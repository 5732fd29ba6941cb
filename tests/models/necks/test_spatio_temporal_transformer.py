# Copyright (c) OpenMMLab. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

import mmstt  # noqa: F401
from mmstt.models.necks import (FactorizedAttention, SpatioTemporalTransformer,
                                STTBlock, resize_spatial_embed,
                                resize_temporal_embed)
from mmstt.models.necks.spatio_temporal_transformer import chunk_budget

IN_CH, DIMS, HEADS, FRAMES, GRID = 12, 32, 4, 6, (3, 4)


def _neck(**kwargs) -> SpatioTemporalTransformer:
    cfg = dict(
        in_channels=IN_CH,
        embed_dims=DIMS,
        num_frames=FRAMES,
        grid_size=GRID,
        depth=2,
        num_heads=HEADS,
        drop_path_rate=0.)
    cfg.update(kwargs)
    torch.manual_seed(0)
    neck = SpatioTemporalTransformer(**cfg)
    # Weights of unit-gain scale (the 0.02 init makes attention almost
    # uniform and the branches tiny), non-trivial LayerNorm affine and
    # biases, so the tests exercise every parameter.
    with torch.no_grad():
        for name, param in neck.named_parameters():
            if name.endswith('bias') or 'norm' in name:
                param.add_(0.1 * torch.randn_like(param))
            elif param.dim() == 2:
                param.normal_(std=param.shape[1]**-0.5)
    return neck.eval()


def _feats(b: int = 2, t: int = FRAMES, grid=GRID) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(b, IN_CH, t, *grid)


# ---------------------------------------------------------------------------
# A naive reference written from the definition, using the module's weights
# ---------------------------------------------------------------------------
def _ln(x, norm):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean)**2).mean(-1, keepdim=True)
    w, b = norm.weight.double(), norm.bias.double()
    return (x - mean) / torch.sqrt(var + norm.eps) * w + b


def _lin(x, layer):
    out = x @ layer.weight.double().t()
    return out + layer.bias.double() if layer.bias is not None else out


def _ref_attention(x, attn: FactorizedAttention):
    """Explicit softmax(QK^T / sqrt(d)) V along one axis of (B, T, S, C)."""
    b, t, s, c = x.shape
    h = attn.num_heads
    d = c // h
    qkv = _lin(_ln(x, attn.norm), attn.qkv).reshape(b, t, s, h, 3, d)
    q, k, v = qkv[..., 0, :], qkv[..., 1, :], qkv[..., 2, :]
    if attn.axis == 'spatial':
        # Within a frame: sequence over s.
        scores = torch.einsum('btshd,btuhd->bthsu', q, k) / math.sqrt(d)
        probs = torch.softmax(scores, dim=-1)
        out = torch.einsum('bthsu,btuhd->btshd', probs, v)
    else:
        # Across frames at one position: sequence over t.
        scores = torch.einsum('btshd,bushd->bshtu', q, k) / math.sqrt(d)
        probs = torch.softmax(scores, dim=-1)
        out = torch.einsum('bshtu,bushd->btshd', probs, v)
    return _lin(out.reshape(b, t, s, c), attn.proj)


def _ref_neck(neck: SpatioTemporalTransformer, x: torch.Tensor):
    x = x.double()
    b, _, t, gh, gw = x.shape
    tokens = _lin(
        x.permute(0, 2, 3, 4, 1).reshape(b, t, gh * gw, -1), neck.token_proj)
    if neck.pos_embed_spatial is not None:
        tokens = tokens + resize_spatial_embed(
            neck.pos_embed_spatial, neck.grid_size, (gh, gw)).double()
    pos_t = 0.
    if neck.pos_embed_temporal is not None:
        pos_t = resize_temporal_embed(neck.pos_embed_temporal, t).double()
        tokens = tokens + pos_t
    if neck.output == 'cls':
        cls = (neck.cls_token.double() + pos_t).expand(b, t, 1, -1)
        tokens = torch.cat([cls, tokens], dim=2)
    for block in neck.blocks:
        for axis in block.attn_order:
            tokens = tokens + _ref_attention(tokens,
                                             getattr(block, f'{axis}_attn'))
        mlp = block.mlp
        hidden = _lin(_ln(tokens, mlp.norm), mlp.fc1)
        hidden = 0.5 * hidden * (1 + torch.erf(hidden / math.sqrt(2)))
        tokens = tokens + _lin(hidden, mlp.fc2)
    if neck.output == 'cls':
        pooled = tokens[:, :, 0].mean(1)
    else:
        pooled = tokens.mean((1, 2))
    return _ln(pooled, neck.norm)


@pytest.mark.parametrize('output', ['mean', 'cls'])
@pytest.mark.parametrize('order', [('spatial', 'temporal'),
                                   ('temporal', 'spatial')])
def test_matches_naive_reference(output, order):
    neck = _neck(output=output, attn_order=order)
    x = _feats()
    with torch.no_grad():
        out = neck(x)
        ref = _ref_neck(neck, x)
    assert out.shape == (2, DIMS)
    assert torch.allclose(out.double(), ref, atol=1e-5, rtol=0), \
        (out.double() - ref).abs().max()


def test_matches_reference_with_resized_embeddings():
    # Different T and grid than configured: embeddings are interpolated.
    neck = _neck(output='cls')
    x = _feats(t=9, grid=(5, 2))
    with torch.no_grad():
        out = neck(x)
        ref = _ref_neck(neck, x)
    assert out.shape == (2, DIMS)
    assert torch.allclose(out.double(), ref, atol=1e-5, rtol=0)


def test_matches_reference_without_temporal_parts():
    neck = _neck(use_temporal_attn=False, use_temporal_embed=False)
    assert neck.blocks[0].temporal_attn is None
    assert neck.pos_embed_temporal is None
    x = _feats()
    with torch.no_grad():
        assert torch.allclose(
            neck(x).double(), _ref_neck(neck, x), atol=1e-5, rtol=0)


def test_chunking_is_exact():
    neck = _neck(output='cls')
    x = _feats(b=5)
    with torch.no_grad():
        neck.chunk_tokens = 0
        whole = neck(x)
        # 2 clips per chunk (2 * 6 * 12 = 144 tokens).
        neck.chunk_tokens = 150
        chunked = neck(x)
    assert torch.allclose(whole, chunked, atol=1e-6)


def test_chunk_budget_counts_bytes():
    x = torch.zeros(1)
    assert chunk_budget(150, x) == 150
    assert chunk_budget(150, x.bfloat16()) == 300
    assert chunk_budget(150, x.half()) == 300
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert chunk_budget(150, x) == 300
    assert chunk_budget(150, x.double()) == 75


def test_bf16_chunks_hold_twice_the_clips():
    """Under bf16 autocast a 150-token budget holds 4 clips, not 2."""
    neck = _neck(output='cls')
    x = _feats(b=5)
    sizes = []
    neck.blocks[0].register_forward_hook(
        lambda m, i, o: sizes.append(o.shape[0]))
    neck.chunk_tokens = 150
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        chunked = neck(x)
        neck.chunk_tokens = 0
        whole = neck(x)
    assert sizes == [4, 1, 5]
    assert torch.allclose(whole.float(), chunked.float(), atol=2e-2)


def _sublayer_outputs_with_frame_3_changed(axis: str):
    """First block's ``axis`` attention output, for clips and for the same
    clips with frame 3 of the input feature maps changed."""
    neck = _neck()
    captured = []
    handle = getattr(neck.blocks[0], f'{axis}_attn').register_forward_hook(
        lambda mod, inp, out: captured.append(out.detach().clone()))
    x = _feats()
    x2 = x.clone()
    x2[:, :, 3] += torch.randn_like(x2[:, :, 3])
    with torch.no_grad():
        neck(x)
        neck(x2)
    handle.remove()
    return captured


def test_spatial_sublayer_is_frame_local():
    a, b = _sublayer_outputs_with_frame_3_changed('spatial')
    assert a.shape == (2, FRAMES, GRID[0] * GRID[1], DIMS)
    others = [i for i in range(FRAMES) if i != 3]
    assert torch.allclose(a[:, others], b[:, others], atol=1e-6)
    assert not torch.allclose(a[:, 3], b[:, 3], atol=1e-3)


def test_temporal_sublayer_mixes_frames():
    a, b = _sublayer_outputs_with_frame_3_changed('temporal')
    # Every frame's temporal attention output sees the changed frame.
    for i in range(FRAMES):
        assert not torch.allclose(a[:, i], b[:, i], atol=1e-4)


@pytest.mark.parametrize('output', ['mean', 'cls'])
def test_reversing_frames_changes_output(output):
    neck = _neck(output=output)
    x = _feats()
    with torch.no_grad():
        fwd, rev = neck(x), neck(x.flip(2))
    assert (fwd - rev).abs().max() > 1e-2


def test_temporal_attention_alone_is_order_invariant_after_pooling():
    # Without the temporal embedding, temporal attention is permutation
    # equivariant over frames; the frame order only matters through it.
    neck = _neck(use_temporal_embed=False)
    x = _feats()
    with torch.no_grad():
        assert torch.allclose(neck(x), neck(x.flip(2)), atol=1e-5)


@pytest.mark.parametrize('output', ['mean', 'cls'])
def test_order_invariant_without_temporal_parts(output):
    neck = _neck(
        output=output, use_temporal_attn=False, use_temporal_embed=False)
    x = _feats()
    perm = torch.randperm(FRAMES, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a, b, c = neck(x), neck(x.flip(2)), neck(x[:, :, perm])
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(a, c, atol=1e-5)


def test_temporal_embedding_alone_breaks_order_invariance():
    neck = _neck(use_temporal_attn=False, use_temporal_embed=True)
    x = _feats()
    with torch.no_grad():
        assert (neck(x) - neck(x.flip(2))).abs().max() > 1e-2


def test_stochastic_depth_schedule_and_effect():
    neck = _neck(depth=4, drop_path_rate=0.3)
    rates = [blk.drop_path for blk in neck.blocks]
    assert rates == pytest.approx([0., 0.1, 0.2, 0.3])
    x = _feats(b=8)
    neck.train()
    torch.manual_seed(0)
    a = neck(x)
    torch.manual_seed(1)
    b = neck(x)
    assert not torch.allclose(a, b)
    neck.eval()
    with torch.no_grad():
        assert torch.equal(neck(x), neck(x))


def test_dropout_options_active_in_training_only():
    neck = _neck(drop_rate=0.5, attn_drop_rate=0.5)
    x = _feats()
    neck.train()
    torch.manual_seed(0)
    a = neck(x)
    torch.manual_seed(1)
    assert not torch.allclose(a, neck(x))
    neck.eval()
    with torch.no_grad():
        assert torch.equal(neck(x), neck(x))


def test_gradients_reach_every_parameter():
    neck = _neck(output='cls', drop_path_rate=0.1).train()
    out = neck(_feats())
    out.pow(2).sum().backward()
    for name, param in neck.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_resize_helpers():
    emb = torch.randn(1, 1, 12, 5)
    assert resize_spatial_embed(emb, (3, 4), (3, 4)) is emb
    out = resize_spatial_embed(emb, (3, 4), (6, 8))
    expect = F.interpolate(
        emb.reshape(1, 3, 4, 5).permute(0, 3, 1, 2),
        size=(6, 8),
        mode='bicubic',
        align_corners=False).permute(0, 2, 3, 1).reshape(1, 1, 48, 5)
    assert torch.allclose(out, expect)
    temb = torch.randn(1, 4, 1, 5)
    assert resize_temporal_embed(temb, 4) is temb
    out = resize_temporal_embed(temb, 8)
    assert out.shape == (1, 8, 1, 5)
    expect = F.interpolate(
        temb[:, :, 0].transpose(1, 2),
        size=8,
        mode='linear',
        align_corners=False).transpose(1, 2)
    assert torch.allclose(out[:, :, 0], expect)


def test_bf16_autocast_inference_and_training():
    neck = _neck(output='cls')
    x = _feats()
    with torch.no_grad():
        ref = neck(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = neck(x)
    # Blocks in bf16, the pooled embedding normalised in float32.
    assert low.dtype == torch.float32
    cos = F.cosine_similarity(low, ref, dim=1)
    assert (cos > 0.99).all(), cos
    neck.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = neck(x)
    out.float().sum().backward()
    grads = [p.grad for p in neck.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_embedding_dtype_follows_the_norm_parameters():
    neck = _neck(output='mean').bfloat16()
    with torch.no_grad():
        out = neck(_feats().bfloat16())
    assert out.dtype == torch.bfloat16
    assert torch.isfinite(out).all()


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='output'):
        SpatioTemporalTransformer(output='max')
    with pytest.raises(ValueError, match='divisible'):
        SpatioTemporalTransformer(embed_dims=30, num_heads=4)
    with pytest.raises(ValueError, match='attn_order'):
        STTBlock(16, 2, attn_order=('spatial', 'spatial'))
    with pytest.raises(ValueError, match='axis'):
        FactorizedAttention(16, 2, axis='depth')
    with pytest.raises(ValueError, match=r'\(B, C, T, h, w\)'):
        _neck()(torch.randn(2, IN_CH, 4, 4))


def test_registered_and_default_sizes():
    from mmaction.registry import MODELS
    neck = MODELS.build(dict(type='SpatioTemporalTransformer'))
    assert neck.output == 'mean'
    assert neck.embed_dims == 512 and len(neck.blocks) == 4
    assert neck.blocks[0].spatial_attn.num_heads == 8
    assert neck.blocks[0].mlp.fc1.out_features == 2048
    assert neck.blocks[-1].drop_path == pytest.approx(0.1)
    assert neck.pos_embed_spatial.shape == (1, 1, 49, 512)
    assert neck.pos_embed_temporal.shape == (1, 16, 1, 512)


@pytest.mark.parametrize('output', ['mean', 'cls'])
@pytest.mark.parametrize('order', [('spatial', 'temporal'),
                                   ('temporal', 'spatial'), ('spatial', )])
def test_last_block_pruning_is_exact(output, order):
    pruned = _neck(output=output, attn_order=order, drop_path_rate=0.2)
    full = _neck(output=output, attn_order=order, drop_path_rate=0.2)
    full.load_state_dict(pruned.state_dict())
    full.prune_last_block = False
    x = _feats(b=3)
    with torch.no_grad():
        assert torch.allclose(pruned(x), full(x), atol=1e-5)
    # Training mode: same drop-path draws, same output and gradients.
    pruned.train()
    full.train()
    torch.manual_seed(5)
    a = pruned(x)
    torch.manual_seed(5)
    b = full(x)
    assert torch.allclose(a, b, atol=1e-5)
    a.sum().backward()
    b.sum().backward()
    grads = dict(full.named_parameters())
    for name, param in pruned.named_parameters():
        assert torch.allclose(param.grad, grads[name].grad, atol=1e-5), name


@pytest.mark.parametrize('output', ['mean', 'cls'])
@pytest.mark.parametrize('linear_impl, attn_impl', [('conv', 'sdpa'),
                                                    ('linear', 'matmul'),
                                                    ('conv', 'matmul')])
def test_kernel_choices_match_reference_and_gradients(output, linear_impl,
                                                      attn_impl):
    base = _neck(output=output, linear_impl='linear', attn_impl='sdpa')
    other = _neck(output=output, linear_impl=linear_impl, attn_impl=attn_impl)
    other.load_state_dict(base.state_dict())
    x = _feats()
    with torch.no_grad():
        ref = _ref_neck(base, x)
        assert torch.allclose(other(x).double(), ref, atol=1e-5, rtol=0)
    grads = []
    for neck in (base, other):
        neck.zero_grad()
        neck(x).square().sum().backward()
        grads.append({n: p.grad.clone() for n, p in neck.named_parameters()})
    for name, grad in grads[0].items():
        assert torch.allclose(grads[1][name], grad, atol=1e-4, rtol=1e-4), \
            name


def test_kernel_choices_agree_under_bf16_autocast():
    x = _feats()
    outs = []
    for linear_impl, attn_impl in (('linear', 'sdpa'), ('auto', 'auto'),
                                   ('conv', 'matmul')):
        neck = _neck(
            output='cls', linear_impl=linear_impl, attn_impl=attn_impl)
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            outs.append(neck(x).float())
    for out in outs[1:]:
        cos = F.cosine_similarity(out, outs[0], dim=1)
        assert (cos > 0.999).all(), cos


def test_kernel_choices_reach_every_layer():
    neck = _neck(linear_impl='linear', attn_impl='matmul')
    linears = [m for m in neck.modules() if isinstance(m, torch.nn.Linear)]
    # token projection + per block (2 attentions x (qkv, proj) + 2 MLP)
    assert len(linears) == 1 + 2 * 6
    assert all(m.impl == 'linear' for m in linears)
    attns = [m for m in neck.modules() if isinstance(m, FactorizedAttention)]
    assert len(attns) == 4 and all(a.attn_impl == 'matmul' for a in attns)
    with pytest.raises(ValueError, match='linear_impl'):
        _neck(linear_impl='blas')
