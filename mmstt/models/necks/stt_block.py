# Copyright (c) OpenMMLab. All rights reserved.
"""One block of the Spatio-Temporal Transformer."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn.bricks import DropPath

from .attention import Attention
from .mlp import Mlp

ATTN_AXES = ('spatial', 'temporal')


class STTBlock(nn.Module):
    """Pre-norm block: spatial and temporal attention, then an MLP.

    Works on a token grid ``(B, T, S, C)``; every sub-layer is
    ``x = x + DropPath(sublayer(norm(x)))``. Spatial attention attends among
    the ``S`` tokens of each frame (``(B*T, S, C)``), temporal attention
    among the ``T`` tokens of each position (``(B*S, T, C)``). Stochastic
    depth drops a branch per clip.

    Args:
        embed_dims (int): Token channels ``C``.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP hidden width over ``C``. Defaults to 4.
        qkv_bias (bool): Bias in the q/k/v projections. Defaults to True.
        drop (float): Dropout after the attention projections and in the
            MLP. Defaults to 0.
        attn_drop (float): Dropout on attention weights. Defaults to 0.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        attn_order (Sequence[str]): The attention sub-layers in order,
            distinct entries of ``('spatial', 'temporal')``. Defaults to
            ``('spatial', 'temporal')``.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.,
                 attn_order: Sequence[str] = ('spatial', 'temporal'),
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        attn_order = tuple(attn_order)
        if not attn_order or not set(attn_order) <= set(ATTN_AXES) \
                or len(set(attn_order)) != len(attn_order):
            raise ValueError('attn_order must be distinct entries of '
                             f'{ATTN_AXES}, got {attn_order}')
        self.attn_order = attn_order
        for axis in ATTN_AXES:
            used = axis in attn_order
            setattr(self, f'{axis}_norm',
                    nn.LayerNorm(embed_dims, eps=norm_eps) if used else None)
            setattr(
                self, f'{axis}_attn',
                Attention(embed_dims, num_heads, qkv_bias, attn_drop, drop)
                if used else None)
        self.mlp_norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), drop)
        self.drop_path = DropPath(drop_path)

    def spatial(self, x: torch.Tensor, cls_only: bool = False) -> torch.Tensor:
        """Spatial sub-layer with residual: ``(B, T, S, C)`` to the same,
        or to ``(B, T, 1, C)`` (first token only) with ``cls_only``."""
        b, t, s, c = x.shape
        # (B, T, S, C) -> (B*T, S, C) -> (B*T, n, C) -> (B, T, n, C)
        out = self.spatial_attn(
            self.spatial_norm(x).view(b * t, s, c),
            num_queries=1 if cls_only else None)
        out = out.view(b, t, -1, c)
        return x[:, :, :out.shape[2]] + self.drop_path(out)

    def temporal(self, x: torch.Tensor) -> torch.Tensor:
        """Temporal sub-layer with residual, ``(B, T, S, C)`` in and out."""
        b, t, s, c = x.shape
        # (B, T, S, C) -> (B, S, T, C) -> (B*S, T, C), contiguous also for
        # B = 1 (where reshape is a view), so that each linear is one GEMM
        y = self.temporal_norm(x).transpose(1, 2).contiguous()
        y = y.view(b * s, t, c)
        # (B*S, T, C) -> (B, S, T, C) -> (B, T, S, C), a view
        out = self.temporal_attn(y).view(b, s, t, c).transpose(1, 2)
        return x + self.drop_path(out)

    def forward(self, x: torch.Tensor, cls_only: bool = False) -> torch.Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Tokens of shape ``(B, T, S, C)``.
            cls_only (bool): Keep only the class token (position 0 of every
                frame) from the spatial attention on; the output equals the
                full block's output at that position. Defaults to False.

        Returns:
            torch.Tensor: ``(B, T, S, C)``, or ``(B, T, 1, C)``.
        """
        for axis in self.attn_order:
            x = self.spatial(x, cls_only) if axis == 'spatial' \
                else self.temporal(x)
        if cls_only:
            x = x[:, :, :1]
        return x + self.drop_path(self.mlp(self.mlp_norm(x)))
