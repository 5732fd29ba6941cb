# Copyright (c) OpenMMLab. All rights reserved.
"""One block of the Spatio-Temporal Transformer."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .factorized_attention import ATTN_AXES, FactorizedAttention
from .token_mlp import TokenMLP


def residual_add(x: torch.Tensor,
                 branch: torch.Tensor,
                 drop_prob: float = 0.,
                 training: bool = False,
                 inplace: bool = False) -> torch.Tensor:
    """Add a residual branch, with stochastic depth during training.

    Stochastic depth drops the whole branch of a sample with probability
    ``drop_prob`` and scales kept branches by ``1 / (1 - drop_prob)``; the
    mask and the addition are fused in one ``addcmul``.

    Args:
        x (torch.Tensor): Residual stream of shape ``(B, ...)``.
        branch (torch.Tensor): Branch output, same shape as ``x``.
        drop_prob (float): Stochastic depth rate. Defaults to 0.
        training (bool): Whether stochastic depth is active. Defaults to
            False.
        inplace (bool): Allow writing the sum into ``x`` when autograd does
            not need ``x`` (inference). Defaults to False.

    Returns:
        torch.Tensor: ``x + mask * branch``, shape of ``x``.
    """
    if training and drop_prob > 0.:
        keep = 1. - drop_prob
        shape = (x.shape[0], ) + (1, ) * (x.dim() - 1)
        mask = x.new_empty(shape).bernoulli_(keep).div_(keep)
        return torch.addcmul(x, branch, mask.to(branch.dtype))
    if inplace and not (torch.is_grad_enabled() and
                        (x.requires_grad or branch.requires_grad)) \
            and x.dtype == torch.promote_types(x.dtype, branch.dtype):
        return x.add_(branch)
    return x + branch


class STTBlock(nn.Module):
    """Pre-norm block: factorised spatial and temporal attention, then MLP.

    Each sub-layer is ``x = x + DropPath(sublayer(LayerNorm(x)))`` on a
    token grid of shape ``(B, T, S, C)``; see :class:`FactorizedAttention`
    for how the two attention axes are taken.

    Args:
        embed_dims (int): Channels ``C``.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP hidden width over ``C``. Defaults to 4.
        qkv_bias (bool): Bias in the q/k/v projections. Defaults to True.
        drop (float): Dropout after attention projections and in the MLP.
            Defaults to 0.
        attn_drop (float): Dropout on attention weights. Defaults to 0.
        drop_path (float): Stochastic depth rate of this block. Defaults
            to 0.
        attn_order (Sequence[str]): Attention sub-layers in order, drawn
            from ``'spatial'`` and ``'temporal'``. Defaults to
            ``('spatial', 'temporal')``.
        gelu_approximate (str): GELU variant, ``'none'`` or ``'tanh'``.
            Defaults to ``'none'``.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
        attn_impl (str): Attention kernel, ``'auto'``, ``'sdpa'`` or
            ``'matmul'``. Defaults to ``'auto'``.
        linear_impl (str): Kernel of the linear layers, ``'auto'``,
            ``'conv'`` or ``'linear'``. Defaults to ``'auto'``.
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
                 gelu_approximate: str = 'none',
                 norm_eps: float = 1e-6,
                 attn_impl: str = 'auto',
                 linear_impl: str = 'auto') -> None:
        super().__init__()
        attn_order = tuple(attn_order)
        if not attn_order or any(a not in ATTN_AXES for a in attn_order) \
                or len(set(attn_order)) != len(attn_order):
            raise ValueError('attn_order must be distinct entries of '
                             f'{ATTN_AXES}, got {attn_order}')
        self.attn_order = attn_order
        self.drop_path = drop_path
        for axis in ATTN_AXES:
            attn = FactorizedAttention(
                embed_dims,
                num_heads,
                axis,
                qkv_bias=qkv_bias,
                attn_drop=attn_drop,
                proj_drop=drop,
                norm_eps=norm_eps,
                attn_impl=attn_impl,
                linear_impl=linear_impl) if axis in attn_order else None
            setattr(self, f'{axis}_attn', attn)
        self.mlp = TokenMLP(
            embed_dims,
            int(embed_dims * mlp_ratio),
            drop=drop,
            gelu_approximate=gelu_approximate,
            norm_eps=norm_eps,
            linear_impl=linear_impl)

    def forward(self,
                x: torch.Tensor,
                inplace: bool = False,
                reduce: Optional[str] = None) -> torch.Tensor:
        """Run the block.

        ``reduce`` lets the last block of a neck skip work whose result the
        neck's pooling never reads (the output is the same as running the
        full block and then selecting/pooling):

        - ``'cls'``: only the class token (position 0 of every frame) is
          kept. Spatial attention computes only the class-token queries
          (against all keys); everything after it runs on ``(B, T, 1, C)``.
          Temporal attention placed *before* spatial attention still runs
          on all tokens, since their keys/values feed the class token.
        - ``'mean'``: returns the mean over all tokens of the block output,
          ``(B, C)``; the MLP's second linear layer is applied after the
          mean (it is affine, so ``mean(fc2(h)) = fc2(mean(h))``). With MLP
          dropout active in training the full MLP runs instead.

        Args:
            x (torch.Tensor): Tokens of shape ``(B, T, S, C)``.
            inplace (bool): Whether ``x`` may be overwritten when no
                gradient is needed (the neck passes True for the tensor it
                owns). Defaults to False.
            reduce (str, optional): None, ``'cls'`` or ``'mean'`` (above).
                Defaults to None.

        Returns:
            torch.Tensor: Tokens ``(B, T, S, C)``; ``(B, T, 1, C)`` for
            ``reduce='cls'``; ``(B, C)`` for ``reduce='mean'``.
        """
        if reduce not in (None, 'cls', 'mean'):
            raise ValueError(f'unknown reduce {reduce!r}')
        for axis in self.attn_order:
            attn = getattr(self, f'{axis}_attn')
            if reduce == 'cls' and axis == 'spatial':
                x = residual_add(x[:, :, :1], attn(x, num_queries=1),
                                 self.drop_path, self.training, inplace)
            else:
                x = residual_add(x, attn(x), self.drop_path, self.training,
                                 inplace)
            inplace = True
        if reduce == 'cls' and 'spatial' not in self.attn_order:
            x = x[:, :, :1]
        if reduce == 'mean' and not (self.training
                                     and self.mlp.drop is not None):
            mlp = self.mlp
            hidden = F.gelu(
                mlp.fc1(mlp.norm(x)), approximate=mlp.gelu_approximate)
            # (B, T, S, 4C) -> (B, 4C) -> (B, C)
            branch = mlp.fc2(hidden.mean(dim=(1, 2)))
            return residual_add(
                x.mean(dim=(1, 2)), branch, self.drop_path, self.training)
        x = residual_add(x, self.mlp(x), self.drop_path, self.training,
                         inplace)
        if reduce == 'mean':
            return x.mean(dim=(1, 2))
        return x
