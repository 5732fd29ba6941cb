# Copyright (c) OpenMMLab. All rights reserved.
"""MMAction2's own divided space-time attention, wrapped as a neck.

The peer STT's neck is compared with: a stack of MMAction2's
``DividedTemporalAttentionWithNorm`` + ``DividedSpatialAttentionWithNorm``
+ ``FFNWithNorm`` (mmcv ``FFN`` with a pre-LayerNorm), the TimeSformer
block, taking the same input and returning the same clip feature as STT's
``SpatioTemporalTransformer``: (B, C, T, h, w) -> (B, D). Around the blocks
it has the same thin parts as STT: a linear token embedding, learnable
spatial/temporal position embeddings, a class token and a final LayerNorm.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmaction.models.common import (DividedSpatialAttentionWithNorm,
                                    DividedTemporalAttentionWithNorm,
                                    FFNWithNorm)

__all__ = ['MMActionDividedNeck']


class MMActionDividedNeck(nn.Module):
    """TimeSformer-style divided attention neck built from MMAction2 parts.

    Token layout is MMAction2's: (B, 1 + P * T, D) with the class token
    first and the patches ordered position-major, frame-minor.

    Args:
        in_channels (int): Channels C of the input feature map.
        embed_dims (int): Token width D.
        num_frames (int): Frames T.
        num_patches (int): Spatial tokens P = h * w per frame.
        depth (int): Number of blocks.
        num_heads (int): Attention heads.
        mlp_ratio (float): FFN hidden width over ``embed_dims``.
        drop_path_rates (Sequence[float], optional): Stochastic depth per
            block; defaults to a linear ramp 0 -> 0.1 as in STT.
    """

    def __init__(self,
                 in_channels: int = 256,
                 embed_dims: int = 512,
                 num_frames: int = 16,
                 num_patches: int = 49,
                 depth: int = 4,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.0,
                 drop_path_rates: Sequence[float] = None) -> None:
        super().__init__()
        if drop_path_rates is None:
            drop_path_rates = [
                0.1 * i / max(depth - 1, 1) for i in range(depth)
            ]
        self.num_frames = num_frames
        self.num_patches = num_patches
        self.embed = nn.Linear(in_channels, embed_dims)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches, 1, embed_dims))
        self.time_embed = nn.Parameter(
            torch.zeros(1, 1, num_frames, embed_dims))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        for param in (self.pos_embed, self.time_embed, self.cls_token):
            nn.init.trunc_normal_(param, std=0.02)
        layers: List[nn.Module] = []
        for rate in drop_path_rates:
            drop = dict(type='DropPath', drop_prob=rate)
            layers += [
                DividedTemporalAttentionWithNorm(
                    embed_dims,
                    num_heads,
                    num_frames,
                    dropout_layer=drop,
                    batch_first=False),
                DividedSpatialAttentionWithNorm(
                    embed_dims,
                    num_heads,
                    num_frames,
                    dropout_layer=drop,
                    batch_first=False),
                FFNWithNorm(
                    embed_dims=embed_dims,
                    feedforward_channels=int(embed_dims * mlp_ratio),
                    act_cfg=dict(type='GELU'),
                    dropout_layer=drop)
            ]
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed the feature map, run the blocks and return the class token.

        Args:
            x (torch.Tensor): Feature map (B, C, T, h, w) with
                T == ``num_frames`` and h * w == ``num_patches``.

        Returns:
            torch.Tensor: Clip features (B, D).
        """
        b, _, t, h, w = x.shape
        # (B, C, T, h, w) -> (B, h*w, T, C): position-major, frame-minor.
        tokens = self.embed(x.flatten(3).permute(0, 3, 2, 1))
        tokens = tokens + self.pos_embed + self.time_embed
        tokens = tokens.reshape(b, h * w * t, -1)
        tokens = torch.cat((self.cls_token.expand(b, -1, -1), tokens), 1)
        for layer in self.layers:
            tokens = layer(tokens)
        return self.norm(tokens[:, 0])
