# Copyright (c) OpenMMLab. All rights reserved.
"""Attention maps of the STT neck, recomputed from the attention inputs.

The production attention path is fused (SDPA) and keeps no attention
weights. To look inside, :func:`compute_attention_maps` puts forward hooks
on every ``neck.blocks[i].spatial_attn`` / ``temporal_attn``, runs the
model once, and recomputes from each module's input and its ``qkv``
weights::

    A = softmax(q k^T / sqrt(d))        per head, (N, H, L, L)

and checks that ``proj(A @ v)`` reproduces the module's actual output
(:attr:`AttentionMaps.max_output_diff`), so a map is only shown if it is
the attention the model computed.

What is shown:

- **spatial, per block**: row 0 of ``A`` (the class token's query) over
  the ``h x w`` token grid of every frame, heads combined by their mean
  (``head_fusion='mean'``, or ``'max'``); the class token's weight on
  itself is dropped and the rest renormalised, so every map sums to 1
  over the grid. Without a class token (``output='mean'``) the map is the
  attention each token receives, averaged over all queries.
- **spatial, rolled out** (the default view): attention rollout (Abnar &
  Zuidema, 2020) over the spatial sub-layers of all blocks, per frame: each
  head-combined ``A`` is mixed with the identity for the residual,
  ``0.5 A + 0.5 I`` (rows renormalised), and the products are taken from
  the first block to the last; the class token's row is read as above.
  Temporal sub-layers mix frames, not positions, and are not part of the
  spatial rollout.
- **temporal, per block**: the ``T x T`` attention between frames at the
  class token's position (rows: query frame, columns: key frame; each row
  sums to 1), heads combined the same way; without a class token the mean
  over all positions.
"""
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.structures import ActionDataSample

__all__ = [
    'AttentionMaps', 'attention_modules', 'capture_attention',
    'compute_attention_maps', 'recompute_attention', 'rollout'
]

HEAD_FUSIONS = ('mean', 'max')


@dataclass
class AttentionMaps:
    """Attention maps of one batch of clips.

    Attributes:
        spatial (np.ndarray): ``(B, depth, T, h, w)`` per-block spatial maps
            of the class token; each sums to 1 over ``h x w``.
        rollout (np.ndarray): ``(B, T, h, w)`` rolled-out spatial maps;
            each sums to 1 over ``h x w``.
        temporal (np.ndarray | None): ``(B, depth, T, T)`` attention
            between frames (rows sum to 1); None without temporal attention.
        grid (tuple[int, int]): ``(h, w)`` of the token grid.
        has_cls_token (bool): Whether the maps are of the class token.
        max_output_diff (float): Largest ``|proj(A v) - module output|``
            over all captured attention calls.
        output_scale (float): Largest ``|module output|`` over the same
            calls (float32 rounding of the module grows with it).
        scores (np.ndarray): ``(B, num_classes)`` predicted scores.
        head_fusion (str): How the heads were combined.
    """
    spatial: np.ndarray
    rollout: np.ndarray
    temporal: Optional[np.ndarray]
    grid: Tuple[int, int]
    has_cls_token: bool
    max_output_diff: float
    scores: np.ndarray
    head_fusion: str = 'mean'
    output_diffs: List[float] = field(default_factory=list)
    output_scale: float = 0.


def attention_modules(model: nn.Module) -> List[Tuple[int, str, nn.Module]]:
    """The attention modules of a recognizer's (or a neck's) blocks.

    Args:
        model (nn.Module): A recognizer with ``neck.blocks``, or the neck.

    Returns:
        list[tuple[int, str, nn.Module]]: ``(block index, 'spatial' |
        'temporal', module)`` in block order.

    Raises:
        ValueError: If there are no blocks with ``spatial_attn``.
    """
    neck = getattr(model, 'neck', model)
    blocks = getattr(neck, 'blocks', None)
    if blocks is None:
        raise ValueError(f'{type(neck).__name__} has no blocks; attention '
                         'maps need the STT neck')
    found = []
    for i, block in enumerate(blocks):
        for axis in ('spatial', 'temporal'):
            module = getattr(block, f'{axis}_attn', None)
            if module is not None:
                found.append((i, axis, module))
    if not any(axis == 'spatial' for _, axis, _ in found):
        raise ValueError('the neck has no spatial attention to show')
    return found


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[List[dict]]:
    """Record the input and output of every attention call.

    Args:
        model (nn.Module): A recognizer with an STT neck.

    Yields:
        list[dict]: Filled while the context is active: per call ``block``,
        ``axis``, ``module``, ``x`` (input ``(N, L, C)``), ``num_queries``
        and ``output``; the neck's input shape is in the first entry with
        ``axis='neck'``.
    """
    records: List[dict] = []
    handles = []

    def make_hook(block: int, axis: str):

        def hook(module, args, kwargs, output):
            x = args[0] if args else kwargs['x']
            num_queries = args[1] if len(args) > 1 else kwargs.get(
                'num_queries')
            records.append(
                dict(
                    block=block,
                    axis=axis,
                    module=module,
                    x=x.detach(),
                    num_queries=num_queries,
                    output=output.detach()))

        return hook

    def neck_hook(module, args):
        records.append(dict(axis='neck', shape=tuple(args[0].shape)))

    neck = getattr(model, 'neck', model)
    handles.append(neck.register_forward_pre_hook(neck_hook))
    for block, axis, module in attention_modules(model):
        handles.append(
            module.register_forward_hook(
                make_hook(block, axis), with_kwargs=True))
    try:
        yield records
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def recompute_attention(module: nn.Module,
                        x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Attention weights and output of one attention module, in float64.

    Args:
        module (nn.Module): An attention module with ``qkv`` (output
            features grouped ``(q/k/v, head, head_dim)``), ``proj`` and
            ``num_heads``.
        x (torch.Tensor): Its input ``(N, L, C)``.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: Weights ``(N, H, L, L)`` (rows
        sum to 1) and the output ``proj(A v)`` of shape ``(N, L, C)``.
    """
    n, length, c = x.shape
    h = int(module.num_heads)
    d = c // h
    x = x.double()
    bias = module.qkv.bias.double() if module.qkv.bias is not None else None
    qkv = F.linear(x, module.qkv.weight.double(), bias)
    # (N, L, 3C) -> (3, N, H, L, d)
    q, k, v = qkv.view(n, length, 3, h, d).permute(2, 0, 3, 1, 4).unbind(0)
    scale = float(getattr(module, 'scale', d**-0.5))
    weights = (q @ k.transpose(-2, -1) * scale).softmax(dim=-1)
    # (N, H, L, d) -> (N, L, H, d) -> (N, L, C)
    out = (weights @ v).transpose(1, 2).reshape(n, length, c)
    bias = module.proj.bias.double() if module.proj.bias is not None \
        else None
    out = F.linear(out, module.proj.weight.double(), bias)
    return weights, out


def _fuse_heads(weights: torch.Tensor, head_fusion: str) -> torch.Tensor:
    """``(N, H, L, L)`` -> ``(N, L, L)`` by the mean or max over heads."""
    if head_fusion == 'max':
        fused = weights.amax(dim=1)
        return fused / fused.sum(dim=-1, keepdim=True)
    return weights.mean(dim=1)


def rollout(weights: List[torch.Tensor]) -> torch.Tensor:
    """Attention rollout with an identity residual (Abnar & Zuidema).

    Args:
        weights (list[torch.Tensor]): Head-combined attention ``(N, L, L)``
            of each layer, first layer first (rows sum to 1).

    Returns:
        torch.Tensor: ``(N, L, L)``, the product of ``0.5 A + 0.5 I``
        (rows renormalised) from the first layer to the last.
    """
    eye = torch.eye(
        weights[0].shape[-1], dtype=weights[0].dtype, device=weights[0].device)
    result = None
    for attn in weights:
        mixed = 0.5 * attn + 0.5 * eye
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        result = mixed if result is None else mixed @ result
    return result


def _grid_map(attn: torch.Tensor, has_cls: bool) -> torch.Tensor:
    """``(N, L, L)`` -> ``(N, S)``: the class row over the grid, sum 1."""
    if has_cls:
        row = attn[:, 0, 1:]
    else:
        row = attn.mean(dim=1)
    return row / row.sum(dim=-1, keepdim=True)


def compute_attention_maps(model: nn.Module,
                           data: dict,
                           head_fusion: str = 'mean') -> AttentionMaps:
    """Run the model once and recompute its attention maps.

    Args:
        model (nn.Module): A recognizer with an STT neck, in eval mode.
        data (dict): A collated test batch (``inputs``: list of
            ``(1, 3, T, H, W)`` clips, one view each; ``data_samples``), as
            ``model.test_step`` takes.
        head_fusion (str): ``'mean'`` or ``'max'`` over heads (``'max'``
            rows are renormalised). Defaults to ``'mean'``.

    Returns:
        AttentionMaps: The maps and the check of the recomputation.
    """
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f'head_fusion must be one of {HEAD_FUSIONS}, got '
                         f'{head_fusion!r}')
    for inputs in data['inputs']:
        if inputs.dim() != 5 or inputs.shape[0] != 1:
            raise ValueError('attention maps take one view per clip, '
                             f'(1, 3, T, H, W), got {tuple(inputs.shape)}')
    with capture_attention(model) as records, torch.no_grad():
        samples: List[ActionDataSample] = model.test_step(data)
    neck = getattr(model, 'neck', model)
    has_cls = getattr(neck, 'cls_token', None) is not None
    neck_shape = next(r['shape'] for r in records if r['axis'] == 'neck')
    b, _, t, gh, gw = neck_shape
    # Chunked necks call each module once per chunk of clips; the chunks'
    # rows follow each other clip by clip, so they are concatenated.
    grouped: Dict[Tuple[int, str], List[torch.Tensor]] = {}
    diffs, scale = [], 0.
    for rec in records:
        if rec['axis'] == 'neck':
            continue
        weights, out = recompute_attention(rec['module'], rec['x'])
        actual = rec['output'].double()
        diffs.append(float((out[:, :actual.shape[1]] - actual).abs().max()))
        scale = max(scale, float(actual.abs().max()))
        grouped.setdefault((rec['block'], rec['axis']),
                           []).append(_fuse_heads(weights, head_fusion))
    spatial_full, spatial_rows, temporal_maps = [], [], []
    for (_, axis), parts in grouped.items():
        fused = torch.cat(parts)
        if axis == 'spatial':
            # (B*T, S', S')
            spatial_full.append(fused)
            spatial_rows.append(_grid_map(fused, has_cls))
        else:
            # (B*S', T, T) with rows b*S' + s; the class token is s = 0.
            per_clip = fused.view(b, -1, t, t)
            if has_cls:
                temporal_maps.append(per_clip[:, 0])
            else:
                temporal_maps.append(per_clip.mean(dim=1))
    # (depth, B*T, S) -> (B, depth, T, h, w)
    spatial = torch.stack(spatial_rows).view(-1, b, t, gh, gw)
    spatial = spatial.transpose(0, 1)
    rolled = _grid_map(rollout(spatial_full), has_cls).view(b, t, gh, gw)
    temporal = torch.stack(temporal_maps).transpose(0, 1) \
        if temporal_maps else None
    scores = np.stack(
        [s.pred_score.detach().float().cpu().numpy() for s in samples])
    return AttentionMaps(
        spatial=spatial.float().cpu().numpy(),
        rollout=rolled.float().cpu().numpy(),
        temporal=temporal.float().cpu().numpy()
        if temporal is not None else None,
        grid=(gh, gw),
        has_cls_token=bool(has_cls),
        max_output_diff=max(diffs),
        scores=scores,
        head_fusion=head_fusion,
        output_diffs=diffs,
        output_scale=scale)
