# Copyright (c) OpenMMLab. All rights reserved.
"""Diagnosis only: a linear layer computed as a 1x1 convolution.

On CPU, PyTorch runs float32 ``nn.Linear`` (``addmm``) with MKL's sgemm
and convolutions with oneDNN. Where the two libraries reach different
fractions of the FMA peak (MKL picks narrower kernels on some non-Intel
CPUs), the same GEMM written as a 1x1 convolution over a channels-last
view runs at oneDNN's rate. :func:`convert_linears` swaps the linear layers
of a module copy for :class:`ConvLinear` (sharing the weights) so the
effect on a whole neck can be measured.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['ConvLinear', 'convert_linears']


class ConvLinear(nn.Module):
    """``nn.Linear`` whose product is computed by ``F.conv2d``.

    Args:
        linear (nn.Linear): The layer to wrap; its parameters are shared.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.weight = linear.weight
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to the last dimension of ``x``.

        Args:
            x (torch.Tensor): Input (..., in_features).

        Returns:
            torch.Tensor: Output (..., out_features), same values as
            ``F.linear(x, weight, bias)`` up to summation order.
        """
        out_features, in_features = self.weight.shape
        lead = x.shape[:-1]
        rows = x.reshape(-1, in_features)
        # (M, K) as a channels-last (1, K, M, 1) image: a view, no copy.
        image = rows.view(1, rows.shape[0], 1, in_features).permute(0, 3, 1, 2)
        out = F.conv2d(image, self.weight.view(out_features, in_features, 1,
                                               1), self.bias)
        # (1, N, M, 1) channels-last -> (M, N): a view.
        return out.permute(0, 2, 3, 1).reshape(*lead, out_features)


def convert_linears(module: nn.Module) -> nn.Module:
    """Replace every ``nn.Linear`` inside ``module`` by :class:`ConvLinear`.

    Args:
        module (nn.Module): Module to change in place (pass a copy).

    Returns:
        nn.Module: ``module``.
    """
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, ConvLinear(child))
    return module
