# Copyright (c) OpenMMLab. All rights reserved.
"""Resizing of learnable position embeddings to the run-time token grid."""
from typing import Tuple

import torch
import torch.nn.functional as F


def resize_spatial_embed(embed: torch.Tensor, src_grid: Tuple[int, int],
                         dst_grid: Tuple[int, int]) -> torch.Tensor:
    """Bicubically resize a spatial position embedding.

    Args:
        embed (torch.Tensor): Embedding of shape ``(1, 1, h0*w0, C)``.
        src_grid (tuple[int, int]): ``(h0, w0)`` the embedding was made for.
        dst_grid (tuple[int, int]): Target ``(h, w)``.

    Returns:
        torch.Tensor: Embedding of shape ``(1, 1, h*w, C)`` (``embed``
        itself when the grids match).
    """
    src_grid, dst_grid = tuple(src_grid), tuple(dst_grid)
    if src_grid == dst_grid:
        return embed
    c = embed.shape[-1]
    # (1, 1, h0*w0, C) -> (1, C, h0, w0)
    grid = embed.reshape(1, src_grid[0], src_grid[1], c).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid.float(), size=dst_grid, mode='bicubic',
        align_corners=False).to(embed.dtype)
    # (1, C, h, w) -> (1, 1, h*w, C)
    return grid.permute(0, 2, 3, 1).reshape(1, 1, dst_grid[0] * dst_grid[1], c)


def resize_temporal_embed(embed: torch.Tensor,
                          num_frames: int) -> torch.Tensor:
    """Linearly resize a temporal position embedding.

    Args:
        embed (torch.Tensor): Embedding of shape ``(1, T0, 1, C)``.
        num_frames (int): Target number of frames ``T``.

    Returns:
        torch.Tensor: Embedding of shape ``(1, T, 1, C)`` (``embed`` itself
        when ``T == T0``).
    """
    if embed.shape[1] == num_frames:
        return embed
    # (1, T0, 1, C) -> (1, C, T0)
    seq = embed[:, :, 0].transpose(1, 2)
    seq = F.interpolate(
        seq.float(), size=num_frames, mode='linear',
        align_corners=False).to(embed.dtype)
    # (1, C, T) -> (1, T, 1, C)
    return seq.transpose(1, 2).unsqueeze(2)
