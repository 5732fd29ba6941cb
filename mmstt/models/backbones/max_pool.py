# Copyright (c) OpenMMLab. All rights reserved.
"""The stem's 3x3 stride-2 max-pool, with a faster low-precision CPU path."""
import torch
import torch.nn as nn


def separable_max_pool_3x3_s2(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 3, stride=2, padding=1)`` as two 1-D passes.

    A 3x3 maximum is the maximum over rows of the maximum over columns.
    Along one axis, output ``i`` is ``max(x[2i-1], x[2i], x[2i+1])`` (the
    padding never wins a maximum, so border windows just have fewer
    entries); it is built from the even and odd slices of ``x`` with two
    element-wise maxima, the second written in place. The result equals
    the pooling exactly (a maximum involves no rounding) and keeps the
    memory format of ``x``. No autograd support (the in-place update), so
    it is only for inference.

    Args:
        x (torch.Tensor): Input of shape ``(N, C, H, W)``.

    Returns:
        torch.Tensor: Output of shape ``(N, C, ceil(H / 2), ceil(W / 2))``.
    """
    for dim in (2, 3):
        size = x.shape[dim]
        out_size = (size + 1) // 2
        lead = (slice(None), ) * dim
        even = x[lead + (slice(0, None, 2), )]  # x[2i], out_size entries
        odd = x[lead + (slice(1, None, 2), )]  # x[2i+1], size // 2 entries
        pairs = odd.shape[dim]
        # out[i] = max(x[2i], x[2i+1]); with an odd size the last even
        # entry has no partner.
        out = torch.maximum(even.narrow(dim, 0, pairs), odd)
        if out_size > pairs:
            out = torch.cat([out, even.narrow(dim, pairs, 1)], dim)
        # out[i] = max(out[i], x[2i-1]) for i >= 1, in place.
        if out_size > 1:
            tail = out.narrow(dim, 1, out_size - 1)
            torch.maximum(tail, odd.narrow(dim, 0, out_size - 1), out=tail)
        x = out
    return x


def stem_max_pool(x: torch.Tensor, pool: nn.Module) -> torch.Tensor:
    """Apply the stem's max-pool with the faster kernel for the call.

    :func:`separable_max_pool_3x3_s2` is used for bfloat16/float16 CPU
    inference with ``pool`` a 3x3 stride-2 padding-1 ``nn.MaxPool2d``:
    PyTorch's CPU pooling kernel runs bfloat16 no faster than float32
    (18.1 vs 19.5 ms on the tokenizer's 128x64x56x56 channels-last
    activations, 2-core Zen 5, torch 2.13), the separable version in
    7.2 ms. In float32 it gains nothing (20.9 ms), and it cannot be
    differentiated, so every other call uses ``pool``.

    Args:
        x (torch.Tensor): Input of shape ``(N, C, H, W)``.
        pool (nn.Module): The stem's pooling module.

    Returns:
        torch.Tensor: ``pool(x)``, computed by the faster kernel.
    """
    if (x.device.type == 'cpu' and x.dtype in (torch.bfloat16, torch.float16)
            and not (torch.is_grad_enabled() and x.requires_grad)
            and isinstance(pool, nn.MaxPool2d) and _is_3x3_s2_p1(pool)):
        return separable_max_pool_3x3_s2(x)
    return pool(x)


def _is_3x3_s2_p1(pool: nn.MaxPool2d) -> bool:
    """Whether ``pool`` is the ResNet stem's 3x3/2 pooling with padding 1."""

    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

    return (pair(pool.kernel_size) == (3, 3) and pair(pool.stride) == (2, 2)
            and pair(pool.padding) == (1, 1) and pair(pool.dilation) == (1, 1)
            and not pool.ceil_mode and not pool.return_indices)
