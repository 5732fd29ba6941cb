# Copyright (c) OpenMMLab. All rights reserved.
"""Pre-norm two-layer MLP applied to every token."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .token_linear import TokenLinear


class TokenMLP(nn.Module):
    """``Linear -> GELU -> Linear`` on LayerNorm-ed tokens.

    Args:
        embed_dims (int): Channels ``C`` of the tokens.
        hidden_dims (int): Hidden width (``mlp_ratio * C``).
        drop (float): Dropout after the activation and after the second
            linear layer. Defaults to 0.
        gelu_approximate (str): ``'none'`` (exact erf GELU) or ``'tanh'``.
            Defaults to ``'none'``.
        norm_eps (float): Epsilon of the pre-norm LayerNorm. Defaults to
            1e-6.
        linear_impl (str): Kernel of the two linear layers, ``'auto'``,
            ``'conv'`` or ``'linear'`` (see
            :func:`~.token_linear.token_linear`). Defaults to ``'auto'``.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_dims: int,
                 drop: float = 0.,
                 gelu_approximate: str = 'none',
                 norm_eps: float = 1e-6,
                 linear_impl: str = 'auto') -> None:
        super().__init__()
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.fc1 = TokenLinear(embed_dims, hidden_dims, impl=linear_impl)
        self.fc2 = TokenLinear(hidden_dims, embed_dims, impl=linear_impl)
        self.gelu_approximate = gelu_approximate
        self.drop = nn.Dropout(drop) if drop > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the MLP branch (the residual is added by the caller).

        Args:
            x (torch.Tensor): Tokens of shape ``(..., C)``.

        Returns:
            torch.Tensor: Branch output of shape ``(..., C)``.
        """
        x = F.gelu(self.fc1(self.norm(x)), approximate=self.gelu_approximate)
        if self.drop is not None:
            x = self.drop(x)
        x = self.fc2(x)
        if self.drop is not None:
            x = self.drop(x)
        return x
