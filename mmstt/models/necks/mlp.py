# Copyright (c) OpenMMLab. All rights reserved.
"""Two-layer MLP applied to every token."""
import torch
import torch.nn as nn

from ..utils import kernels


class Mlp(nn.Module):
    """``Linear -> GELU -> Dropout -> Linear -> Dropout`` (as timm's).

    Args:
        embed_dims (int): Token channels ``C``.
        hidden_dims (int): Hidden width.
        drop (float): Dropout after the activation and after ``fc2``.
            Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_dims: int,
                 drop: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the MLP.

        Args:
            x (torch.Tensor): Tokens of shape ``(..., C)``.

        Returns:
            torch.Tensor: Output of shape ``(..., C)``.
        """
        x = self.drop(
            self.act(kernels.linear(x, self.fc1.weight, self.fc1.bias)))
        return self.drop(kernels.linear(x, self.fc2.weight, self.fc2.bias))
