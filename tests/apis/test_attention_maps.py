# Copyright (c) OpenMMLab. All rights reserved.
"""Attention maps recomputed from the attention inputs of the STT neck."""
import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

from mmstt.apis.attention_maps import (attention_modules,
                                       compute_attention_maps,
                                       recompute_attention, rollout)
from mmstt.models.necks.attention import Attention
from .helpers import tiny_config

# Frames of 48x32 pixels give a 3x2 token grid (stride 16), so a swapped
# height and width would show in the shapes.
T, H, W = 4, 48, 32
GRID = (3, 2)


def _model(output: str = 'cls',
           depth: int = 2,
           temporal: bool = True) -> nn.Module:
    cfg = tiny_config(clip_len=T)
    cfg.model.neck.update(
        depth=depth,
        output=output,
        num_frames=T,
        grid_size=GRID,
        use_temporal_attn=temporal)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    # Larger q/k weights than the 0.02 initialisation: peaked attention.
    for _, _, module in attention_modules(model):
        module.qkv.weight.data.mul_(40)
    return model


def _batch(num_clips: int, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(
            0, 256, (1, 3, T, H, W), generator=gen, dtype=torch.uint8)
        for _ in range(num_clips)
    ]
    return dict(
        inputs=inputs,
        data_samples=[ActionDataSample() for _ in range(num_clips)])


def test_maps_shapes_sum_to_one_and_match_the_model():
    model = _model()
    maps = compute_attention_maps(model, _batch(2))
    assert maps.grid == GRID and maps.has_cls_token
    assert maps.spatial.shape == (2, 2, T) + GRID
    assert maps.rollout.shape == (2, T) + GRID
    assert maps.temporal.shape == (2, 2, T, T)
    for arr in (maps.spatial, maps.rollout, maps.temporal):
        assert (arr >= 0).all()
    assert torch.allclose(
        torch.from_numpy(maps.spatial).sum((-2, -1)).double(),
        torch.ones(2, 2, T, dtype=torch.float64),
        atol=1e-5)
    assert abs(maps.rollout.sum((-2, -1)) - 1).max() < 1e-5
    assert abs(maps.temporal.sum(-1) - 1).max() < 1e-5
    # Every spatial and temporal call of both blocks was checked, including
    # the last block's class-token-only spatial attention.
    assert len(maps.output_diffs) == 4
    assert maps.max_output_diff <= 1e-5
    assert 0 < maps.output_scale < 1e3
    # The attention is peaked, not uniform, so the checks above mean
    # something: some map is well above 1 / grid size.
    assert maps.spatial.max() > 2.0 / (GRID[0] * GRID[1])
    # The prediction comes with the maps.
    with torch.no_grad():
        want = model.test_step(_batch(2))
    got = torch.from_numpy(maps.scores)
    assert torch.allclose(got, torch.stack([s.pred_score for s in want]))


def test_recomputed_weights_equal_multihead_attention():
    """An independent reference: torch's MultiheadAttention weights."""
    torch.manual_seed(0)
    attn = Attention(16, 4).eval()
    attn.qkv.weight.data.mul_(10)
    mha = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    # timm's fused (q/k/v, head, head_dim) rows are MHA's in_proj layout.
    mha.in_proj_weight.data.copy_(attn.qkv.weight.data)
    mha.in_proj_bias.data.copy_(attn.qkv.bias.data)
    mha.out_proj.weight.data.copy_(attn.proj.weight.data)
    mha.out_proj.bias.data.copy_(attn.proj.bias.data)
    x = torch.randn(3, 7, 16)
    weights, out = recompute_attention(attn, x)
    with torch.no_grad():
        ref_out, ref_weights = mha(
            x, x, x, need_weights=True, average_attn_weights=False)
        actual = attn(x)
        first = attn(x, num_queries=1)
    assert weights.shape == (3, 4, 7, 7)
    assert torch.allclose(weights.float(), ref_weights, atol=1e-5)
    assert torch.allclose(out.float(), ref_out, atol=1e-5)
    # The production (SDPA) output equals the recomputation to float32
    # rounding (outputs up to about 6 here; SDPA's AVX-512 kernel rounds
    # differently from the AVX2 one).
    assert torch.allclose(actual, out.float(), rtol=1e-5, atol=1e-5)
    assert torch.allclose(first, out[:, :1].float(), rtol=1e-5, atol=1e-5)


def test_rollout_formula():
    a1 = torch.tensor([[[0.5, 0.5], [0.0, 1.0]]], dtype=torch.float64)
    a2 = torch.tensor([[[0.2, 0.8], [0.6, 0.4]]], dtype=torch.float64)
    eye = torch.eye(2, dtype=torch.float64)
    m1, m2 = 0.5 * a1 + 0.5 * eye, 0.5 * a2 + 0.5 * eye
    want = m2 @ m1
    assert torch.allclose(rollout([a1, a2]), want)
    # [[0.6, 0.4], [0.3, 0.7]] @ [[0.75, 0.25], [0, 1]]
    assert torch.allclose(want[0, 0],
                          torch.tensor([0.45, 0.55], dtype=torch.float64))


def test_maps_without_class_token_or_temporal_attention():
    model = _model(output='mean', depth=1, temporal=False)
    maps = compute_attention_maps(model, _batch(1), head_fusion='max')
    assert not maps.has_cls_token and maps.temporal is None
    assert maps.spatial.shape == (1, 1, T) + GRID
    assert abs(maps.spatial.sum((-2, -1)) - 1).max() < 1e-5
    assert maps.max_output_diff <= 1e-5


def test_bad_input_is_refused():
    model = _model(depth=1)
    data = _batch(1)
    data['inputs'] = [torch.zeros(2, 3, T, H, W, dtype=torch.uint8)]
    with pytest.raises(ValueError, match='one view per clip'):
        compute_attention_maps(model, data)
    with pytest.raises(ValueError, match='head_fusion'):
        compute_attention_maps(model, _batch(1), head_fusion='min')
    with pytest.raises(ValueError, match='no blocks'):
        attention_modules(nn.Linear(2, 2))
