# Copyright (c) OpenMMLab. All rights reserved.
"""The two-convolution residual block of ResNet-18/34."""
from typing import Optional

import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    """ResNet basic block with torchvision's parameter names.

    ``conv1 (3x3, stride) -> bn1 -> relu -> conv2 (3x3) -> bn2``, plus the
    identity or ``downsample`` shortcut, then ReLU.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of ``conv1``. Defaults to 1.
        downsample (nn.Module, optional): Shortcut projection. Defaults to
            None (identity).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the block.

        Args:
            x (torch.Tensor): Input of shape ``(N, C_in, H, W)``.

        Returns:
            torch.Tensor: Output of shape ``(N, C_out, H / s, W / s)``.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)
