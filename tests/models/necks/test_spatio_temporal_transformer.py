# Copyright (c) OpenMMLab. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

import mmstt  # noqa: F401
from mmstt.models.necks import Attention, SpatioTemporalTransformer, STTBlock
from mmstt.models.necks.spatio_temporal_transformer import (resize_spatial,
                                                            resize_temporal)
from mmstt.models.utils import kernels

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


def _ref_attention(x, block: STTBlock, axis: str):
    """Explicit softmax(QK^T / sqrt(d)) V along one axis of (B, T, S, C)."""
    b, t, s, c = x.shape
    attn = getattr(block, f'{axis}_attn')
    h = attn.num_heads
    d = c // h
    # Output features grouped (q/k/v, head, head_dim), as in timm.
    qkv = _lin(_ln(x, getattr(block, f'{axis}_norm')),
               attn.qkv).reshape(b, t, s, 3, h, d)
    q, k, v = qkv[..., 0, :, :], qkv[..., 1, :, :], qkv[..., 2, :, :]
    if axis == 'spatial':
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
        tokens = tokens + resize_spatial(neck.pos_embed_spatial,
                                         neck.grid_size, (gh, gw)).double()
    pos_t = 0.
    if neck.pos_embed_temporal is not None:
        pos_t = resize_temporal(neck.pos_embed_temporal, t).double()
        tokens = tokens + pos_t
    if neck.output == 'cls':
        cls = (neck.cls_token.double() + pos_t).expand(b, t, 1, -1)
        tokens = torch.cat([cls, tokens], dim=2)
    for block in neck.blocks:
        for axis in block.attn_order:
            tokens = tokens + _ref_attention(tokens, block, axis)
        mlp = block.mlp
        hidden = _lin(_ln(tokens, block.mlp_norm), mlp.fc1)
        hidden = 0.5 * hidden * (1 + torch.erf(hidden / math.sqrt(2)))
        tokens = tokens + _lin(hidden, mlp.fc2)
    if neck.output == 'cls':
        pooled = tokens[:, :, 0].mean(1)
    else:
        pooled = tokens.mean((1, 2))
    return _ln(pooled, neck.norm)


# 'auto+all' is 'auto' with both probed rules (1x1-convolution linear,
# float32 GEMMs for low precision) forced on and one clip per chunk, so that
# their paths are checked on machines where the probes turn them off.
KERNELS = ['reference', 'auto', 'auto+all']


@pytest.fixture
def kernel(request, monkeypatch):
    if request.param == 'auto+all':
        monkeypatch.setattr(kernels, 'conv_beats_blas', lambda: True)
        monkeypatch.setattr(kernels, 'low_precision_is_emulated',
                            lambda dtype: True)
        monkeypatch.setattr(kernels, 'CHUNK_BYTES', 1)
        return 'auto'
    return request.param


def _check(neck, x, atol=1e-5):
    with torch.no_grad():
        out = neck(x)
        ref = _ref_neck(neck, x)
    assert out.shape == (x.shape[0], DIMS)
    err = (out.double() - ref).abs().max()
    assert err < atol, err


@pytest.mark.parametrize('kernel', KERNELS, indirect=True)
@pytest.mark.parametrize('output', ['mean', 'cls'])
@pytest.mark.parametrize('order', [('spatial', 'temporal'),
                                   ('temporal', 'spatial')])
def test_matches_naive_reference(kernel, output, order):
    _check(_neck(output=output, attn_order=order, kernel=kernel), _feats(b=5))


@pytest.mark.parametrize('kernel', KERNELS, indirect=True)
def test_matches_reference_with_resized_embeddings(kernel):
    # Different T and grid than configured: embeddings are interpolated.
    _check(_neck(output='cls', kernel=kernel), _feats(t=9, grid=(5, 2)))


@pytest.mark.parametrize('kernel', KERNELS, indirect=True)
def test_matches_reference_without_temporal_parts(kernel):
    neck = _neck(
        use_temporal_attn=False, use_temporal_embed=False, kernel=kernel)
    assert neck.blocks[0].temporal_attn is None
    assert neck.blocks[0].temporal_norm is None
    assert neck.pos_embed_temporal is None
    _check(neck, _feats())


@pytest.mark.parametrize('kernel', KERNELS, indirect=True)
@pytest.mark.parametrize('output', ['mean', 'cls'])
def test_gradients_match_the_reference_kernels(kernel, output):
    nets = [_neck(output=output, kernel=k) for k in ('reference', kernel)]
    x = _feats(b=5)
    grads = []
    for neck in nets:
        xg = x.clone().requires_grad_()
        neck(xg).square().sum().backward()
        grads.append({n: p.grad for n, p in neck.named_parameters()})
        grads[-1]['input'] = xg.grad
    for name, grad in grads[0].items():
        assert torch.allclose(grads[1][name], grad, atol=1e-4, rtol=1e-4), \
            name


def test_auto_processes_cpu_clips_in_chunks_of_fixed_bytes(monkeypatch):
    # A clip's MLP activations: 6 x (1 + 12) tokens x 128 channels; 2 clips
    # fit in 80,000 float32 bytes, 4 in bfloat16; 'reference' takes all 5.
    monkeypatch.setattr(kernels, 'CHUNK_BYTES', 80000)
    x = _feats(b=5)
    sizes = []
    for kernel in ('auto', 'reference'):
        neck = _neck(output='cls', kernel=kernel)
        neck.blocks[0].register_forward_hook(
            lambda m, i, o: sizes.append(o.shape[0]))
        with torch.no_grad():
            out = neck(x)
            with torch.autocast('cpu', dtype=torch.bfloat16):
                neck(x)
        assert out.shape == (5, DIMS)
    assert sizes == [2, 2, 1, 4, 1, 5, 5], sizes


def _sublayer_outputs_with_frame_3_changed(axis: str):
    """First block's ``axis`` attention output ``(B, T, L, C)`` for clips,
    and for the same clips with frame 3 of the input changed."""
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
    b, s = x.shape[0], GRID[0] * GRID[1]
    if axis == 'spatial':
        # (B*T, S, C) -> (B, T, S, C)
        return [o.view(b, FRAMES, s, DIMS) for o in captured]
    # (B*S, T, C) -> (B, S, T, C) -> (B, T, S, C)
    return [o.view(b, s, FRAMES, DIMS).transpose(1, 2) for o in captured]


def test_spatial_sublayer_is_frame_local():
    a, b = _sublayer_outputs_with_frame_3_changed('spatial')
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
    rates = [blk.drop_path.drop_prob for blk in neck.blocks]
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
    assert resize_spatial(emb, (3, 4), (3, 4)) is emb
    out = resize_spatial(emb, (3, 4), (6, 8))
    expect = F.interpolate(
        emb.reshape(1, 3, 4, 5).permute(0, 3, 1, 2),
        size=(6, 8),
        mode='bicubic',
        align_corners=False).permute(0, 2, 3, 1).reshape(1, 1, 48, 5)
    assert torch.allclose(out, expect)
    temb = torch.randn(1, 4, 1, 5)
    assert resize_temporal(temb, 4) is temb
    out = resize_temporal(temb, 8)
    assert out.shape == (1, 8, 1, 5)
    expect = F.interpolate(
        temb[:, :, 0].transpose(1, 2),
        size=8,
        mode='linear',
        align_corners=False).transpose(1, 2)
    assert torch.allclose(out[:, :, 0], expect)


@pytest.mark.parametrize('kernel', KERNELS, indirect=True)
def test_bf16_autocast_inference_and_training(kernel):
    neck = _neck(output='cls', kernel=kernel)
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
    with pytest.raises(ValueError, match='attn_order'):
        STTBlock(16, 2, attn_order=('depth', ))
    with pytest.raises(ValueError, match='kernel'):
        SpatioTemporalTransformer(kernel='fast')
    with pytest.raises(ValueError, match=r'\(B, C, T, h, w\)'):
        _neck()(torch.randn(2, IN_CH, 4, 4))


def test_registered_and_default_sizes():
    from mmaction.registry import MODELS
    neck = MODELS.build(dict(type='SpatioTemporalTransformer'))
    assert neck.output == 'mean' and neck.kernel == 'auto'
    assert neck.embed_dims == 512 and len(neck.blocks) == 4
    attn = neck.blocks[0].spatial_attn
    assert isinstance(attn, Attention) and attn.num_heads == 8
    assert attn.qkv.weight.shape == (1536, 512)
    assert attn.proj.weight.shape == (512, 512)
    assert neck.blocks[0].mlp.fc1.out_features == 2048
    assert neck.blocks[-1].drop_path.drop_prob == pytest.approx(0.1)
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


def test_attention_module_contract():
    """(N, L, C) in and out; q/k/v rows grouped (q/k/v, head, head_dim)."""
    torch.manual_seed(0)
    attn = Attention(DIMS, HEADS).eval()
    x = torch.randn(3, 7, DIMS)
    with torch.no_grad():
        out = attn(x)
        first = attn(x, num_queries=2)
    d = DIMS // HEADS
    q, k, v = F.linear(x, attn.qkv.weight,
                       attn.qkv.bias).view(3, 7, 3, HEADS, d).unbind(2)
    probs = torch.einsum('nlhd,nmhd->nhlm', q, k).div(d**0.5).softmax(-1)
    expect = torch.einsum('nhlm,nmhd->nlhd', probs, v).reshape(3, 7, DIMS)
    expect = attn.proj(expect)
    assert out.shape == (3, 7, DIMS)
    assert torch.allclose(out, expect, atol=1e-5)
    assert torch.allclose(first, expect[:, :2], atol=1e-5)


@pytest.mark.parametrize('kernel', kernels.KERNELS)
@pytest.mark.parametrize('mode', ['inference_mode', 'frozen'])
def test_first_token_queries_run_as_one_gemm(kernel, mode):
    """The queries of the first tokens are one 2-D GEMM. On a strided 3-D
    slice F.linear broadcasts a weight that needs no gradient into an
    (N, C, C) batch (a bmm of N weight copies): in inference mode, or
    with frozen weights."""
    attn = Attention(DIMS, HEADS).eval()
    if mode == 'frozen':
        attn.requires_grad_(False)
    x = torch.randn(40, 7, DIMS)
    grad_mode = torch.inference_mode() if mode == 'inference_mode' \
        else torch.no_grad()
    with grad_mode, kernels.use(kernel), torch.profiler.profile() as prof:
        attn(x, num_queries=1)
    assert 'aten::bmm' not in {event.key for event in prof.key_averages()}


def _legacy_state_dict(neck):
    """The neck's weights in the layout before the q/k/v change: norms
    inside the attention/MLP modules, qkv rows grouped (head, q/k/v, d)."""
    state = {}
    h, d = HEADS, DIMS // HEADS
    for key, value in neck.state_dict().items():
        for part, module in (('spatial', 'spatial_attn'),
                             ('temporal', 'temporal_attn'), ('mlp', 'mlp')):
            key = key.replace(f'.{part}_norm.', f'.{module}.norm.')
        if '_attn.qkv.' in key:
            value = value.reshape(3, h, d,
                                  -1).transpose(0, 1).reshape(value.shape)
        state['neck.' + key] = value.clone()
    return state


def test_legacy_checkpoints_are_converted_on_load():
    old = _neck(output='cls')
    legacy = _legacy_state_dict(old)
    assert 'neck.blocks.0.spatial_attn.norm.weight' in legacy
    new = _neck(output='cls', drop_path_rate=0.)
    with torch.no_grad():
        for p in new.parameters():
            p.zero_()
    wrapper = torch.nn.Module()
    wrapper.neck = new
    wrapper.load_state_dict(legacy, strict=True)
    x = _feats()
    with torch.no_grad():
        assert torch.equal(new(x), old(x))
    # A current checkpoint is left as it is.
    other = _neck(output='cls')
    other.load_state_dict(old.state_dict())
    for name, value in old.state_dict().items():
        assert torch.equal(other.state_dict()[name], value), name
