# Copyright (c) OpenMMLab. All rights reserved.
"""Linear layers over token channels, with the faster CPU kernel chosen."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

LINEAR_IMPLS = ('auto', 'conv', 'linear')


def conv1x1_linear(x: torch.Tensor,
                   weight: torch.Tensor,
                   bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` computed by a 1x1 convolution.

    The ``M`` rows of ``x`` are viewed as the ``M`` pixels of a
    channels-last ``(1, K, M, 1)`` image, so the product runs through the
    convolution kernels (oneDNN on CPU) instead of the BLAS ``addmm``
    (MKL on CPU). Both views are free when the last dimension of ``x`` is
    contiguous; the output is channels-last, so turning it back into rows is
    again a view. The result equals ``F.linear`` up to summation order.

    Args:
        x (torch.Tensor): Input of shape ``(..., K)``.
        weight (torch.Tensor): Weight of shape ``(N, K)``.
        bias (torch.Tensor, optional): Bias of shape ``(N, )``.

    Returns:
        torch.Tensor: Output of shape ``(..., N)``.
    """
    out_features, in_features = weight.shape
    lead = x.shape[:-1]
    if x.numel() == 0:
        # A convolution rejects an empty image.
        return F.linear(x, weight, bias)
    # (..., K) -> (M, K) -> (1, M, 1, K) -> channels-last (1, K, M, 1)
    rows = x.reshape(-1, in_features)
    image = rows.view(1, rows.shape[0], 1, in_features).permute(0, 3, 1, 2)
    out = F.conv2d(image, weight.reshape(out_features, in_features, 1, 1),
                   bias)
    # (1, N, M, 1) channels-last -> (1, M, 1, N) -> (..., N)
    return out.permute(0, 2, 3, 1).reshape(*lead, out_features)


def prefer_conv(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether :func:`conv1x1_linear` is the faster kernel for this call.

    The rule follows ``benchmarks/`` on a 2-core AMD Zen 5 CPU (torch
    2.13, MKL + oneDNN builds), per GEMM of the neck's shapes
    (1568 x 512 x 1536 and alike):

    - float32 on CPU: oneDNN's convolution runs forward and both
      backward products at ~2.2x the rate of MKL's sgemm (~490 vs ~220
      GFLOP/s), so the convolution is used for inference and training;
    - bfloat16/float16 on CPU (autocast or low-precision weights): the
      forward rates are equal per GEMM (the whole neck's inference was
      ~1.15x faster with the convolution), but the convolution's
      weight-gradient kernel is 1.3-1.8x slower than ``mm``, so the
      convolution is used only when no gradient is needed;
    - other devices: ``F.linear`` (cuBLAS is the fast path on CUDA).

    On CPUs where MKL's sgemm runs at the FMA peak (as expected on Intel)
    the float32 gain should vanish rather than turn into a loss;
    ``make bench`` measures both GEMM peaks, and ``linear_impl='linear'``
    restores ``F.linear`` everywhere.

    Args:
        x (torch.Tensor): Layer input.
        weight (torch.Tensor): Layer weight.

    Returns:
        bool: True to compute the layer with :func:`conv1x1_linear`.
    """
    if x.device.type != 'cpu':
        return False
    low_precision = torch.is_autocast_enabled('cpu') or \
        x.dtype != torch.float32 or weight.dtype != torch.float32
    if not low_precision:
        return True
    needs_grad = torch.is_grad_enabled() and (x.requires_grad
                                              or weight.requires_grad)
    return not needs_grad


def token_linear(x: torch.Tensor,
                 weight: torch.Tensor,
                 bias: Optional[torch.Tensor] = None,
                 impl: str = 'auto') -> torch.Tensor:
    """Apply a linear layer to the last dimension with the chosen kernel.

    Args:
        x (torch.Tensor): Input of shape ``(..., K)``.
        weight (torch.Tensor): Weight of shape ``(N, K)``.
        bias (torch.Tensor, optional): Bias of shape ``(N, )``.
        impl (str): ``'auto'`` (:func:`prefer_conv` decides), ``'conv'``
            (always :func:`conv1x1_linear`) or ``'linear'`` (always
            ``F.linear``). Defaults to ``'auto'``.

    Returns:
        torch.Tensor: Output of shape ``(..., N)``.
    """
    if impl == 'conv' or (impl == 'auto' and prefer_conv(x, weight)):
        return conv1x1_linear(x, weight, bias)
    return F.linear(x, weight, bias)


class TokenLinear(nn.Linear):
    """``nn.Linear`` on token channels whose kernel is picked per call.

    Same parameters, state-dict keys and initialisation as ``nn.Linear``
    (checkpoints are interchangeable); only the kernel differs, see
    :func:`prefer_conv`.

    Args:
        in_features (int): Input channels ``K``.
        out_features (int): Output channels ``N``.
        bias (bool): Whether the layer has a bias. Defaults to True.
        impl (str): ``'auto'``, ``'conv'`` or ``'linear'`` (see
            :func:`token_linear`). Defaults to ``'auto'``.
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 bias: bool = True,
                 impl: str = 'auto') -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.impl = check_impl('linear_impl', impl, LINEAR_IMPLS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x (torch.Tensor): Input of shape ``(..., in_features)``.

        Returns:
            torch.Tensor: Output of shape ``(..., out_features)``.
        """
        return token_linear(x, self.weight, self.bias, self.impl)

    def extra_repr(self) -> str:
        """Add the kernel choice to ``nn.Linear``'s description."""
        return f'{super().extra_repr()}, impl={self.impl}'


def check_impl(option: str, impl: str, choices: Sequence[str]) -> str:
    """Validate a kernel-choice option.

    Args:
        option (str): Option name, used in the error message.
        impl (str): Candidate value.
        choices (Sequence[str]): Allowed values.

    Returns:
        str: ``impl`` unchanged.

    Raises:
        ValueError: If ``impl`` is not one of ``choices``.
    """
    if impl not in choices:
        raise ValueError(
            f'{option} must be one of {tuple(choices)}, got {impl!r}')
    return impl
