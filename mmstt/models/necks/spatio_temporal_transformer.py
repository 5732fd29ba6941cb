# Copyright (c) OpenMMLab. All rights reserved.
"""The factorised spatio-temporal attention neck of STT."""
import re
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from ..utils import kernels
from .stt_block import STTBlock

OUTPUTS = ('mean', 'cls')


@MODELS.register_module()
class SpatioTemporalTransformer(BaseModule):
    """Spatio-Temporal Transformer neck: CNN feature maps to a clip vector.

    Steps (``B`` clips, ``T`` frames, ``h x w`` grid, ``S = h*w``,
    ``C = embed_dims``):

    1. feature maps ``(B, C_in, T, h, w)`` -> linear tokens ``(B, T, S, C)``;
    2. plus a spatial embedding ``(1, 1, S, C)`` and a temporal embedding
       ``(1, T, 1, C)``, resized (bicubic / linear) when the run-time grid
       or ``T`` differs from ``grid_size`` / ``num_frames``;
    3. ``output='cls'``: every frame gets its own copy of a class token
       (with the temporal but no spatial embedding) at position 0,
       ``(B, T, 1 + S, C)``. In spatial attention the copy summarises its
       frame; in temporal attention the copies of all frames attend to each
       other like any other position;
    4. ``depth`` x :class:`STTBlock`;
    5. pooling to ``(B, C)``: ``'mean'`` averages all tokens, ``'cls'`` the
       ``T`` class-token copies; then a final LayerNorm.

    With ``output='cls'`` the last block computes only the class tokens
    after its spatial attention (``prune_last_block``); the output is the
    same.

    Args:
        in_channels (int): Channels of the feature maps. Defaults to 256.
        embed_dims (int): Token channels ``C``. Defaults to 512.
        num_frames (int): ``T`` of the temporal embedding. Defaults to 16.
        grid_size (tuple[int, int]): ``(h, w)`` of the spatial embedding.
            Defaults to ``(7, 7)``.
        depth (int): Number of blocks. Defaults to 4.
        num_heads (int): Attention heads. Defaults to 8.
        mlp_ratio (float): MLP hidden width over ``C``. Defaults to 4.
        qkv_bias (bool): Bias in the q/k/v projections. Defaults to True.
        drop_rate (float): Dropout after the embeddings, attention
            projections and in the MLPs. Defaults to 0.
        attn_drop_rate (float): Dropout on attention weights. Defaults to 0.
        drop_path_rate (float): Stochastic depth of the last block, rising
            linearly from 0 in the first. Defaults to 0.1.
        attn_order (Sequence[str]): Order of the attention sub-layers.
            Defaults to ``('spatial', 'temporal')``.
        output (str): ``'mean'`` or ``'cls'``. Defaults to ``'mean'``.
        use_temporal_attn (bool): Build temporal attention. Defaults to True.
        use_temporal_embed (bool): Add the temporal embedding. Defaults to
            True.
        use_spatial_embed (bool): Add the spatial embedding. Defaults to
            True.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
        prune_last_block (bool): Skip the last block's work on tokens the
            class-token pooling does not read. Defaults to True.
        kernel (str): ``'auto'`` (the speed rules of
            :mod:`mmstt.models.utils.kernels`) or ``'reference'`` (plain
            ``F.linear`` and SDPA). Defaults to ``'auto'``.
        init_cfg (dict or list[dict], optional): Initialisation config; the
            default is truncated-normal (std 0.02). Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 256,
                 embed_dims: int = 512,
                 num_frames: int = 16,
                 grid_size: Tuple[int, int] = (7, 7),
                 depth: int = 4,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 attn_order: Sequence[str] = ('spatial', 'temporal'),
                 output: str = 'mean',
                 use_temporal_attn: bool = True,
                 use_temporal_embed: bool = True,
                 use_spatial_embed: bool = True,
                 norm_eps: float = 1e-6,
                 prune_last_block: bool = True,
                 kernel: str = 'auto',
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if output not in OUTPUTS:
            raise ValueError(
                f'output must be one of {OUTPUTS}, got {output!r}')
        if depth < 1:
            raise ValueError(f'depth must be >= 1, got {depth}')
        self.embed_dims = embed_dims
        self.num_frames = num_frames
        self.grid_size = tuple(grid_size)
        self.output = output
        self.prune_last_block = prune_last_block
        self.kernel = kernels.check(kernel)
        if not use_temporal_attn:
            attn_order = [a for a in attn_order if a != 'temporal']

        self.token_proj = nn.Linear(in_channels, embed_dims)
        num_tokens = self.grid_size[0] * self.grid_size[1]
        self.pos_embed_spatial = nn.Parameter(
            torch.zeros(1, 1, num_tokens, embed_dims)) \
            if use_spatial_embed else None
        self.pos_embed_temporal = nn.Parameter(
            torch.zeros(1, num_frames, 1, embed_dims)) \
            if use_temporal_embed else None
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 1, embed_dims)) \
            if output == 'cls' else None
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, depth).tolist() \
            if depth > 1 else [drop_path_rate]
        self.blocks = nn.ModuleList([
            STTBlock(embed_dims, num_heads, mlp_ratio, qkv_bias, drop_rate,
                     attn_drop_rate, rate, attn_order, norm_eps)
            for rate in rates
        ])
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self._default_init()

    def _default_init(self) -> None:
        """Truncated-normal (std 0.02) weights and embeddings, zero biases."""
        for param in (self.pos_embed_spatial, self.pos_embed_temporal,
                      self.cls_token):
            if param is not None:
                trunc_normal_(param, std=.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Initialise from ``init_cfg`` if given, else the default scheme."""
        if self.init_cfg:
            super().init_weights()
        else:
            self._default_init()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps ``(B, C_in, T, h, w)`` to tokens ``(B, T, S', C)``.

        ``S' = S + 1`` with the class token first when ``output='cls'``.
        """
        b, _, t, h, w = x.shape
        # (B, C_in, T, h, w) -> (B*T*h*w, C_in) -> (B, T, S, C); 2-D, as a
        # frozen compiled graph turns F.linear on 4-D inputs into a
        # batched matmul of a broadcast weight
        tokens = x.permute(0, 2, 3, 4, 1).reshape(b * t * h * w, -1)
        tokens = kernels.linear(tokens, self.token_proj.weight,
                                self.token_proj.bias).view(b, t, h * w, -1)
        pos_t = 0
        if self.pos_embed_spatial is not None:
            pos = resize_spatial(self.pos_embed_spatial, self.grid_size,
                                 (h, w))
            tokens = tokens + pos.to(tokens.dtype)
        if self.pos_embed_temporal is not None:
            pos_t = resize_temporal(self.pos_embed_temporal, t)
            tokens = tokens + pos_t.to(tokens.dtype)
        if self.cls_token is not None:
            # (B, T, 1, C) ++ (B, T, S, C) -> (B, T, 1 + S, C)
            cls = (self.cls_token + pos_t).expand(b, t, 1, -1)
            tokens = torch.cat([cls.to(tokens.dtype), tokens], dim=2)
        return self.pos_drop(tokens)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Compute the clip embedding.

        Args:
            x (torch.Tensor): Feature maps of shape ``(B, C_in, T, h, w)``.
            **kwargs: Ignored (for example ``data_samples``).

        Returns:
            torch.Tensor: Clip embedding of shape ``(B, embed_dims)``, in
            the dtype of the final norm's parameters.
        """
        if x.dim() != 5:
            raise ValueError('SpatioTemporalTransformer expects feature maps '
                             f'of shape (B, C, T, h, w), got {tuple(x.shape)}')
        with kernels.use(self.kernel):
            # The MLP's hidden activations are the largest tensor of a clip.
            _, _, t, h, w = x.shape
            hidden = self.blocks[0].mlp.fc1.out_features
            tokens = t * (h * w + (self.cls_token is not None))
            return kernels.chunked(self._embed_clips, x, tokens * hidden)

    def _embed_clips(self, x: torch.Tensor) -> torch.Tensor:
        """Embed, run the blocks, pool: ``(b, C_in, T, h, w)`` -> ``(b, C)``.
        """
        x = self.embed(x)
        prune = self.prune_last_block and self.output == 'cls'
        for i, block in enumerate(self.blocks):
            x = block(x, cls_only=prune and i == len(self.blocks) - 1)
        dtype = self.norm.weight.dtype
        if self.output == 'cls':
            # (B, T, S', C) -> (B, T, C) -> (B, C)
            x = x[:, :, 0].mean(dim=1, dtype=dtype)
        else:
            x = x.mean(dim=(1, 2), dtype=dtype)
        return self.norm(x)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """Convert checkpoints of the earlier layout, then load.

        That layout, recognised by its ``blocks.i.*_attn.norm.*`` keys, kept
        the pre-norms inside the attention and MLP modules and grouped the
        ``qkv`` rows ``(head, q/k/v, head_dim)``; the conversion renames
        them to ``blocks.i.*_norm.*`` and regroups the rows.
        """
        old = re.compile(
            re.escape(prefix) +
            r'(blocks\.\d+\.)(spatial_attn|temporal_attn|mlp)\.(norm|qkv)\.')
        if any('_attn.norm.' in k for k in state_dict if old.match(k)):
            block = self.blocks[0]
            heads = (block.spatial_attn or block.temporal_attn).num_heads
            for key in list(state_dict):
                match = old.match(key)
                if match is None:
                    continue
                blk, module, part = match.groups()
                if part == 'norm':
                    new = f'{prefix}{blk}{module.replace("_attn", "")}_norm.'
                    state_dict[new + key[match.end():]] = state_dict.pop(key)
                else:
                    # rows (H, q/k/v, d) -> (q/k/v, H, d)
                    value = state_dict[key]
                    state_dict[key] = value.reshape(heads, 3, -1).transpose(
                        0, 1).reshape(value.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def resize_spatial(embed: torch.Tensor, src: Tuple[int, int],
                   dst: Tuple[int, int]) -> torch.Tensor:
    """Resize a spatial embedding ``(1, 1, h0*w0, C)`` bicubically.

    Args:
        embed (torch.Tensor): The embedding, made for the grid ``src``.
        src (tuple[int, int]): ``(h0, w0)``.
        dst (tuple[int, int]): ``(h, w)``.

    Returns:
        torch.Tensor: ``(1, 1, h*w, C)`` (``embed`` when the grids match).
    """
    if tuple(src) == tuple(dst):
        return embed
    c = embed.shape[-1]
    # (1, 1, h0*w0, C) -> (1, C, h0, w0) -> (1, C, h, w) -> (1, 1, h*w, C)
    grid = embed.reshape(1, *src, c).permute(0, 3, 1, 2).float()
    grid = F.interpolate(grid, size=dst, mode='bicubic', align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(1, 1, -1, c).to(embed.dtype)


def resize_temporal(embed: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Resize a temporal embedding ``(1, T0, 1, C)`` linearly.

    Args:
        embed (torch.Tensor): The embedding.
        num_frames (int): Target ``T``.

    Returns:
        torch.Tensor: ``(1, T, 1, C)`` (``embed`` when ``T == T0``).
    """
    if embed.shape[1] == num_frames:
        return embed
    # (1, T0, 1, C) -> (1, C, T0) -> (1, C, T) -> (1, T, 1, C)
    seq = embed[:, :, 0].transpose(1, 2).float()
    seq = F.interpolate(
        seq, size=num_frames, mode='linear', align_corners=False)
    return seq.transpose(1, 2).unsqueeze(2).to(embed.dtype)
