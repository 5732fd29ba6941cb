# Copyright (c) OpenMMLab. All rights reserved.
"""Pre-norm multi-head self-attention along one axis of a token grid."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from .token_linear import TokenLinear, check_impl, token_linear

ATTN_AXES = ('spatial', 'temporal')

ATTN_IMPLS = ('auto', 'sdpa', 'matmul')


def sdpa_attention(q: torch.Tensor,
                   k: torch.Tensor,
                   v: torch.Tensor,
                   dropout_p: float = 0.) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d)) v`` through PyTorch's SDPA.

    The SDPA backend is left to PyTorch except in one case measured to be
    slow: on CPU, the fused (flash) kernel's *backward* in bfloat16/float16
    is 2-4x slower than SDPA's math backend for the short sequences of
    factorised attention (49 spatial or 16 temporal tokens), so when a
    gradient is needed for a low-precision CPU input the math backend is
    selected.

    Args:
        q (torch.Tensor): Queries of shape ``(batch, heads, L, d)``; may be
            a strided view.
        k (torch.Tensor): Keys of shape ``(batch, heads, S, d)``.
        v (torch.Tensor): Values of shape ``(batch, heads, S, d)``.
        dropout_p (float): Attention dropout. Defaults to 0.

    Returns:
        torch.Tensor: Output of shape ``(batch, heads, L, d)``.
    """
    if (q.device.type == 'cpu' and q.dtype in (torch.bfloat16, torch.float16)
            and torch.is_grad_enabled() and q.requires_grad):
        with sdpa_kernel(SDPBackend.MATH):
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)


def matmul_attention(q: torch.Tensor,
                     k: torch.Tensor,
                     v: torch.Tensor,
                     dropout_p: float = 0.) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d)) v`` as two batched matmuls.

    The two products run in the inputs' precision (as in
    ``nn.MultiheadAttention`` under autocast), the softmax of bfloat16/float16
    scores in float32; SDPA's math backend would instead upcast the products
    to float32 on CPU, which is what makes it slow there.

    Args:
        q (torch.Tensor): Queries of shape ``(batch, heads, L, d)``.
        k (torch.Tensor): Keys of shape ``(batch, heads, S, d)``.
        v (torch.Tensor): Values of shape ``(batch, heads, S, d)``.
        dropout_p (float): Attention dropout. Defaults to 0.

    Returns:
        torch.Tensor: Output of shape ``(batch, heads, L, d)``.
    """
    # (batch, heads, L, d) @ (batch, heads, d, S) -> (batch, heads, L, S);
    # scaling the scores in place touches L*S instead of L*d elements and
    # allocates nothing (the product's backward does not read its output).
    scores = torch.matmul(q, k.transpose(-2, -1)).mul_(q.shape[-1]**-0.5)
    if scores.dtype in (torch.bfloat16, torch.float16):
        # Softmax in float32: more accurate, and on CPU 2.5-3x faster than
        # the bfloat16 kernel even with the casts (benchmarks/, 2-core Zen 5).
        weights = scores.softmax(dim=-1, dtype=torch.float32).to(q.dtype)
    else:
        weights = scores.softmax(dim=-1)
    if dropout_p > 0:
        weights = F.dropout(weights, p=dropout_p)
    # (batch, heads, L, S) @ (batch, heads, S, d) -> (batch, heads, L, d)
    return torch.matmul(weights, v)


def attention(q: torch.Tensor,
              k: torch.Tensor,
              v: torch.Tensor,
              dropout_p: float = 0.,
              impl: str = 'auto') -> torch.Tensor:
    """Scaled dot-product attention with the faster implementation.

    ``impl='auto'`` uses :func:`sdpa_attention` except for bfloat16/float16
    inputs on CPU, where :func:`matmul_attention` is used: at the neck's
    sequence lengths (49 and 16) it measured ~1.6x faster than SDPA's flash
    kernel forward and ~2x faster than its math backend forward+backward
    (``benchmarks/``, 2-core AMD Zen 5, torch 2.13). float32 on CPU and
    every CUDA input go through SDPA.

    Args:
        q (torch.Tensor): Queries of shape ``(batch, heads, L, d)``.
        k (torch.Tensor): Keys of shape ``(batch, heads, S, d)``.
        v (torch.Tensor): Values of shape ``(batch, heads, S, d)``.
        dropout_p (float): Attention dropout. Defaults to 0.
        impl (str): ``'auto'``, ``'sdpa'`` or ``'matmul'``. Defaults to
            ``'auto'``.

    Returns:
        torch.Tensor: Output of shape ``(batch, heads, L, d)``.
    """
    if impl == 'matmul' or (impl == 'auto' and q.device.type == 'cpu'
                            and q.dtype in (torch.bfloat16, torch.float16)):
        return matmul_attention(q, k, v, dropout_p)
    return sdpa_attention(q, k, v, dropout_p)


class FactorizedAttention(nn.Module):
    """Pre-norm self-attention over one axis of a ``(B, T, S, C)`` grid.

    The tokens of a clip are kept in one contiguous ``(B, T, S, C)`` tensor
    (batch, frames, spatial positions, channels). ``axis='spatial'`` attends
    among the ``S`` tokens of one frame (sequence ``S``, batch ``B*T``);
    ``axis='temporal'`` attends among the ``T`` tokens at one spatial
    position (sequence ``T``, batch ``B*S``). Both are obtained as *views*
    of the same fused q/k/v projection, so neither axis needs a copy or a
    permutation of the token tensor:

    - ``qkv = Linear(LayerNorm(x))`` has shape ``(B, T, S, 3C)``. Its output
      features are grouped per head: feature ``h*3*d + j*d + i`` is element
      ``i`` of head ``h`` of ``q`` (``j=0``), ``k`` (``j=1``) or ``v``
      (``j=2``), with ``d = C / num_heads``.
    - spatial: ``view(B*T, S, H, 3, d)``; ``q, k, v`` of shape
      ``(B*T, H, S, d)`` are strided views.
    - temporal: ``view(B, T, S*H, 3, d)``; ``q, k, v`` of shape
      ``(B, S*H, T, d)`` are strided views (positions and heads together
      form the "head" axis of one attention call).

    :func:`torch.nn.functional.scaled_dot_product_attention` accepts these
    strided views and, on CPU, writes its output in ``(batch, seq, heads,
    d)`` order, which for both axes is the memory order of ``(B, T, S, C)``:
    turning the result back into tokens is again a view.

    Args:
        embed_dims (int): Channels ``C`` of the tokens.
        num_heads (int): Number of attention heads; must divide
            ``embed_dims``.
        axis (str): ``'spatial'`` or ``'temporal'``.
        qkv_bias (bool): Whether the q/k/v projection has a bias.
            Defaults to True.
        attn_drop (float): Dropout on the attention weights (training only).
            Defaults to 0.
        proj_drop (float): Dropout after the output projection. Defaults
            to 0.
        norm_eps (float): Epsilon of the pre-norm LayerNorm. Defaults to
            1e-6.
        attn_impl (str): Attention kernel, ``'auto'``, ``'sdpa'`` or
            ``'matmul'`` (see :func:`attention`). Defaults to ``'auto'``.
        linear_impl (str): Projection kernel, ``'auto'``, ``'conv'`` or
            ``'linear'`` (see :func:`~.token_linear.token_linear`).
            Defaults to ``'auto'``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 axis: str,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 norm_eps: float = 1e-6,
                 attn_impl: str = 'auto',
                 linear_impl: str = 'auto') -> None:
        super().__init__()
        if axis not in ATTN_AXES:
            raise ValueError(f'axis must be one of {ATTN_AXES}, got {axis!r}')
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible '
                             f'by num_heads ({num_heads})')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.axis = axis
        self.attn_drop = attn_drop
        self.attn_impl = check_impl('attn_impl', attn_impl, ATTN_IMPLS)
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.qkv = TokenLinear(
            embed_dims, 3 * embed_dims, bias=qkv_bias, impl=linear_impl)
        self.proj = TokenLinear(embed_dims, embed_dims, impl=linear_impl)
        self.proj_drop = nn.Dropout(proj_drop) if proj_drop > 0 else None

    def _subset_qkv(self, y: torch.Tensor, n: int) -> tuple:
        """Queries of the first ``n`` tokens, keys and values of all.

        Splits the fused projection by rows (the weight is small), so the
        query projection runs on ``n`` tokens per frame instead of all.

        Args:
            y (torch.Tensor): Normalised tokens ``(B, T, S, C)``.
            n (int): Number of leading tokens that need a query.

        Returns:
            tuple[torch.Tensor]: ``q`` of shape ``(B*T, n, H, d)`` and
            ``k``, ``v`` of shape ``(B*T, S, H, d)``.
        """
        b, t, s, c = y.shape
        h, d = self.num_heads, self.head_dims
        # Rows are grouped (head, q/k/v, d).
        weight = self.qkv.weight.view(h, 3, d, c)
        bias = self.qkv.bias.view(h, 3, d) if self.qkv.bias is not None \
            else None
        w_q = weight[:, 0].reshape(c, c)
        w_kv = weight[:, 1:].reshape(2 * c, c)
        b_q = bias[:, 0].reshape(c) if bias is not None else None
        b_kv = bias[:, 1:].reshape(2 * c) if bias is not None else None
        impl = self.qkv.impl
        q = token_linear(y[:, :, :n], w_q, b_q, impl).view(b * t, n, h, d)
        # (B, T, S, 2C) grouped (head, k/v, d) -> 2 x (B*T, S, H, d).
        k, v = token_linear(y, w_kv, b_kv, impl).view(b * t, s, h, 2,
                                                      d).unbind(3)
        return q, k, v

    def forward(self,
                x: torch.Tensor,
                num_queries: Optional[int] = None) -> torch.Tensor:
        """Compute the attention branch (the residual is added by the caller).

        Args:
            x (torch.Tensor): Tokens of shape ``(B, T, S, C)``.
            num_queries (int, optional): Spatial axis only: compute the
                output for the first ``num_queries`` tokens of every frame
                (which still attend to all ``S`` tokens). Used for the class
                token in the last block. Defaults to None (all tokens).

        Returns:
            torch.Tensor: Branch output ``proj(attention(norm(x)))`` of shape
            ``(B, T, S, C)``, or ``(B, T, num_queries, C)``.
        """
        b, t, s, c = x.shape
        h, d = self.num_heads, self.head_dims
        n = s
        if num_queries is not None:
            if self.axis != 'spatial':
                raise ValueError('num_queries is only supported by spatial '
                                 'attention')
            n = num_queries
            q, k, v = self._subset_qkv(self.norm(x), n)
        elif self.axis == 'spatial':
            # (B, T, S, 3C), contiguous.
            qkv = self.qkv(self.norm(x))
            # (B*T, S, H, 3, d) -> 3 x (B*T, S, H, d) strided views.
            q, k, v = qkv.view(b * t, s, h, 3, d).unbind(3)
        else:
            qkv = self.qkv(self.norm(x))
            # (B, T, S*H, 3, d) -> 3 x (B, T, S*H, d) strided views.
            q, k, v = qkv.view(b, t, s * h, 3, d).unbind(3)
        # (batch, seq, heads, d) -> (batch, heads, seq, d), still views.
        out = attention(
            q.transpose(1, 2),
            k.transpose(1, 2),
            v.transpose(1, 2),
            dropout_p=self.attn_drop if self.training else 0.,
            impl=self.attn_impl)
        # (batch, heads, seq, d) -> (batch, seq, heads, d) -> (B, T, n, C);
        # a view when the kernel wrote (batch, seq, heads, d) memory order
        # (SDPA on CPU), else one copy.
        out = out.transpose(1, 2).reshape(b, t, n, c)
        out = self.proj(out)
        if self.proj_drop is not None:
            out = self.proj_drop(out)
        return out
