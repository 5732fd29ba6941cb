# Copyright (c) OpenMMLab. All rights reserved.
"""Multi-head self-attention over a batch of token sequences."""
from typing import Optional

import torch
import torch.nn as nn

from ..utils import kernels


class Attention(nn.Module):
    """Multi-head self-attention with a fused q/k/v projection (as timm's).

    The ``qkv`` output features are grouped ``(q/k/v, head, head_dim)``,
    the layout of timm's and mmcv's ViT attention.

    Args:
        embed_dims (int): Token channels ``C``.
        num_heads (int): Attention heads; must divide ``embed_dims``.
        qkv_bias (bool): Bias in the q/k/v projection. Defaults to True.
        attn_drop (float): Dropout on the attention weights. Defaults to 0.
        proj_drop (float): Dropout after the output projection. Defaults
            to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible '
                             f'by num_heads ({num_heads})')
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self,
                x: torch.Tensor,
                num_queries: Optional[int] = None) -> torch.Tensor:
        """Attend among the ``L`` tokens of each of ``N`` sequences.

        Args:
            x (torch.Tensor): Tokens of shape ``(N, L, C)``.
            num_queries (int, optional): Compute the output of the first
                ``num_queries`` tokens only (they still attend to all ``L``).
                Defaults to None (all tokens).

        Returns:
            torch.Tensor: Output of shape ``(N, L, C)``, or
            ``(N, num_queries, C)``.
        """
        n, length, c = x.shape
        h, d = self.num_heads, self.head_dims
        weight, bias = self.qkv.weight, self.qkv.bias
        if num_queries is None:
            # (N, L, 3C) -> (N, L, 3, H, d) -> 3 x (N, H, L, d); split on
            # dim 2 so that autograd stacks the gradients in this layout
            qkv = kernels.linear(x, weight, bias).view(n, length, 3, h, d)
            q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
        else:
            # Queries of the first tokens from the first C rows of the
            # weight; keys and values of all tokens from the other 2C.
            b_q, b_kv = (None, None) if bias is None else (bias[:c], bias[c:])
            length = num_queries
            # 2-D inputs, one GEMM each: with a weight slice that needs no
            # gradient, F.linear on 3-D inputs (a strided slice in eager,
            # any in a frozen compiled graph) broadcasts the weight into a
            # batched matmul. Queries (N, n_q, C) -> (N*n_q, C), keys and
            # values (N, L, C) -> (N*L, C).
            q = kernels.linear(x[:, :length].reshape(n * length, c),
                               weight[:c], b_q)
            # (N, n_q, C) -> (N, H, n_q, d)
            q = q.view(n, length, h, d).transpose(1, 2)
            kv = kernels.linear(x.reshape(-1, c), weight[c:], b_kv)
            kv = kv.view(n, -1, 2, h, d)
            # (N, L, 2, H, d) -> 2 x (N, H, L, d)
            k, v = (t.transpose(1, 2) for t in kv.unbind(2))
        out = kernels.attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        # (N, H, L, d) -> (N, L, H, d) -> (N, L, C)
        out = out.transpose(1, 2).reshape(n, length, c)
        out = kernels.linear(out, self.proj.weight, self.proj.bias)
        return self.proj_drop(out)
