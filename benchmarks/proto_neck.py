# Copyright (c) OpenMMLab. All rights reserved.
"""A diagnosis-only prototype of a fast factorised-attention neck.

Not part of the product: the benchmark uses it to measure which layout and
fusion choices pay off on the machine at hand, so that recommendations for
``mmstt.models.necks`` come with numbers. Same interface as STT's neck:
(B, C, T, h, w) -> (B, D).

Design choices, each switchable for the ablation:

* ``fused_qkv``: one (D, 3D) projection per attention instead of three.
* tokens live as (B, T, S, D) frame-major, so spatial attention is a free
  view; temporal attention reads q/k/v through strided views (no copy on
  the way in) and pays one permuting copy on the way out.
* ``sdpa``: ``F.scaled_dot_product_attention`` (fused flash kernel on CPU)
  instead of explicit ``softmax(q k^T) v``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['ProtoFactorisedNeck']


class _Attention(nn.Module):
    """Multi-head self-attention over (N, L, D) sequences.

    Args:
        dims (int): Token width D.
        num_heads (int): Heads.
        fused_qkv (bool): One fused q/k/v projection.
        sdpa (bool): Use the fused SDPA kernel.
    """

    def __init__(self, dims: int, num_heads: int, fused_qkv: bool,
                 sdpa: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.fused_qkv = fused_qkv
        self.sdpa = sdpa
        if fused_qkv:
            self.qkv = nn.Linear(dims, 3 * dims)
        else:
            self.q = nn.Linear(dims, dims)
            self.k = nn.Linear(dims, dims)
            self.v = nn.Linear(dims, dims)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend along the sequence axis.

        Args:
            x (torch.Tensor): Normalised tokens (N, L, D), contiguous.

        Returns:
            torch.Tensor: Attention output after projection (N, L, D).
        """
        n, length, d = x.shape
        heads = self.num_heads
        if self.fused_qkv:
            # (N, L, 3, H, d) -> three (N, H, L, d) strided views.
            qkv = self.qkv(x).view(n, length, 3, heads, d // heads)
            q, k, v = qkv.unbind(2)
        else:
            q, k, v = (
                lin(x).view(n, length, heads, d // heads)
                for lin in (self.q, self.k, self.v))
        q, k, v = (y.transpose(1, 2) for y in (q, k, v))
        if self.sdpa:
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            attn = (q * q.shape[-1]**-0.5) @ k.transpose(-2, -1)
            out = attn.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(n, length, d))


class _Block(nn.Module):
    """Pre-norm spatial -> temporal -> MLP block with residuals.

    Args:
        dims (int): Token width.
        num_heads (int): Heads.
        drop_path (float): Stochastic depth of each residual branch.
        fused_qkv (bool): See :class:`_Attention`.
        sdpa (bool): See :class:`_Attention`.
    """

    def __init__(self, dims: int, num_heads: int, drop_path: float,
                 fused_qkv: bool, sdpa: bool) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims)
        self.spatial = _Attention(dims, num_heads, fused_qkv, sdpa)
        self.norm2 = nn.LayerNorm(dims)
        self.temporal = _Attention(dims, num_heads, fused_qkv, sdpa)
        self.norm3 = nn.LayerNorm(dims)
        self.fc1 = nn.Linear(dims, 4 * dims)
        self.fc2 = nn.Linear(4 * dims, dims)
        self.drop_path = drop_path

    def _drop(self, y: torch.Tensor) -> torch.Tensor:
        """Per-sample stochastic depth on a residual branch (training)."""
        if not self.training or self.drop_path == 0:
            return y
        keep = 1.0 - self.drop_path
        mask = y.new_empty((y.shape[0], ) + (1, ) * (y.dim() - 1))
        return y * mask.bernoulli_(keep).div_(keep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the block on (B, T, S, D) tokens and return the same shape."""
        b, t, s, d = x.shape
        # Spatial: sequences of S tokens, batch B*T, a free view.
        y = self.spatial(self.norm1(x).view(b * t, s, d)).view(b, t, s, d)
        x = x + self._drop(y)
        # Temporal: one permuting copy of the normalised tokens in, a
        # strided residual add out.
        y = self.norm2(x).transpose(1, 2).reshape(b * s, t, d)
        y = self.temporal(y).view(b, s, t, d).transpose(1, 2)
        x = x + self._drop(y)
        x = x + self._drop(self.fc2(F.gelu(self.fc1(self.norm3(x)))))
        return x


class ProtoFactorisedNeck(nn.Module):
    """Prototype factorised spatio-temporal transformer neck.

    Args:
        in_channels (int): Channels of the input feature map.
        embed_dims (int): Token width.
        num_frames (int): Frames for the temporal embedding.
        num_patches (int): Spatial tokens per frame for the embedding.
        depth (int): Blocks.
        num_heads (int): Heads.
        cls_token (bool): Add one class token slot per frame (joins spatial
            attention; the class slots also attend to each other over
            time); the output is its mean over frames. Otherwise the output
            is the mean of all tokens.
        fused_qkv (bool): Fused q/k/v projection.
        sdpa (bool): Fused SDPA kernel.
    """

    def __init__(self,
                 in_channels: int = 256,
                 embed_dims: int = 512,
                 num_frames: int = 16,
                 num_patches: int = 49,
                 depth: int = 4,
                 num_heads: int = 8,
                 cls_token: bool = True,
                 fused_qkv: bool = True,
                 sdpa: bool = True) -> None:
        super().__init__()
        self.embed = nn.Linear(in_channels, embed_dims)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, 1, num_patches, embed_dims))
        self.time_embed = nn.Parameter(
            torch.zeros(1, num_frames, 1, embed_dims))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 1, embed_dims)) \
            if cls_token else None
        for param in (self.pos_embed, self.time_embed, self.cls_token):
            if param is not None:
                nn.init.trunc_normal_(param, std=0.02)
        rates = [0.1 * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            _Block(embed_dims, num_heads, rate, fused_qkv, sdpa)
            for rate in rates)
        self.norm = nn.LayerNorm(embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed (B, C, T, h, w) features and return (B, D) clip features.

        Args:
            x (torch.Tensor): Feature map (B, C, T, h, w).

        Returns:
            torch.Tensor: Clip features (B, D).
        """
        b, _, t, h, w = x.shape
        tokens = self.embed(x.flatten(3).permute(0, 2, 3, 1))
        tokens = tokens + self.pos_embed + self.time_embed
        if self.cls_token is not None:
            cls = self.cls_token.expand(b, t, 1, -1).to(tokens.dtype)
            tokens = torch.cat((cls, tokens), 2)
        for block in self.blocks:
            tokens = block(tokens)
        if self.cls_token is not None:
            return self.norm(tokens[:, :, 0].mean(1))
        return self.norm(tokens).mean((1, 2))
