# Copyright (c) OpenMMLab. All rights reserved.
"""Every device, precision and kernel decision of the STT model.

The model's modules are written with plain operations and call this module
where the fastest kernel depends on the machine: the memory layout of the
backbone's frames (:func:`frames`) and the linear layers (:func:`linear`).
Attention is always SDPA. The neck's switch ``kernel`` picks the rules for the
duration of its forward, and the recognizer's for the whole model
(:func:`use`):

- ``'reference'``: contiguous frames, ``F.linear`` and SDPA;
- ``'auto'``: the rules below, each measured to be faster on the machine
  kinds it applies to (``docs/benchmarks.md``); they change rounding only.

Outside a neck's forward, and while the model is exported or compiled, the
reference kernels run.

Rules of ``'auto'``, CPU only:

1. float32 linear layers run as a oneDNN 1x1 convolution where a probe at
   first use finds it clearly faster than the BLAS ``F.linear`` calls
   (the probe answers no where the BLAS runs at the machine's FMA rate);
2. the backbone's frames are in channels-last memory order (oneDNN's
   convolutions run faster in it, and the neck then reads its tokens
   without a copy).
"""
import contextlib
import contextvars
import functools
import time
from typing import Iterator, Optional

import torch
import torch.nn.functional as F

KERNELS = ('auto', 'reference')

#: Speed-up the probe of rule 1 must show to pick the convolution.
PROBE_MIN_GAIN = 1.3

_CURRENT = contextvars.ContextVar('mmstt_kernel', default='reference')


@contextlib.contextmanager
def use(kernel: str) -> Iterator[None]:
    """Select the kernel rules (``'auto'`` or ``'reference'``) in a block."""
    token = _CURRENT.set(check(kernel))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check(kernel: str) -> str:
    """Return ``kernel`` if it is one of :data:`KERNELS`, else raise."""
    if kernel not in KERNELS:
        raise ValueError(f'kernel must be one of {KERNELS}, got {kernel!r}')
    return kernel


def tracing() -> bool:
    """Whether the model is being exported or compiled."""
    return (torch.compiler.is_compiling() or torch.compiler.is_exporting()
            or torch.onnx.is_in_onnx_export())


def _auto(x: torch.Tensor) -> bool:
    """Whether the ``'auto'`` rules apply to a call on ``x``."""
    return (x.device.type == 'cpu' and not tracing()
            and _CURRENT.get() == 'auto')


def low_precision(x: torch.Tensor) -> bool:
    """Whether an operation on ``x`` computes in bfloat16/float16 (by its
    dtype or by autocast on its device); the one definition used here."""
    dtype = x.dtype
    if torch.is_autocast_enabled(x.device.type):
        dtype = torch.get_autocast_dtype(x.device.type)
    return dtype in (torch.bfloat16, torch.float16)


def conv1x1_linear(x: torch.Tensor,
                   weight: torch.Tensor,
                   bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` as a channels-last 1x1 convolution.

    The ``M`` rows of ``x`` are the pixels of a ``(1, K, M, 1)`` image in
    channels-last memory order, so both reshapes are views.

    Args:
        x (torch.Tensor): Input of shape ``(..., K)``.
        weight (torch.Tensor): Weight of shape ``(N, K)``.
        bias (torch.Tensor, optional): Bias of shape ``(N, )``. Defaults to
            None.

    Returns:
        torch.Tensor: Output of shape ``(..., N)``.
    """
    out_features, in_features = weight.shape
    if x.numel() == 0:
        return F.linear(x, weight, bias)
    # (..., K) -> (M, K) -> channels-last (1, K, M, 1)
    rows = x.reshape(-1, in_features)
    image = rows.view(1, rows.shape[0], 1, in_features).permute(0, 3, 1, 2)
    out = F.conv2d(image, weight.view(out_features, in_features, 1, 1), bias)
    # (1, N, M, 1) channels-last -> (M, N) -> (..., N)
    return out.permute(0, 2, 3, 1).reshape(*x.shape[:-1], out_features)


@functools.lru_cache(maxsize=None)
def conv_beats_blas() -> bool:
    """Probe rule 1 once: is the 1x1 convolution clearly faster here?

    Times a float32 product of the neck's size with ``F.linear`` and with
    :func:`conv1x1_linear`, interleaved, and compares the best of six. CPU
    time is measured, so that other processes on the machine do not count.

    Returns:
        bool: True if the convolution is at least ``PROBE_MIN_GAIN`` times
        faster.
    """
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 512, generator=gen)
    w = torch.randn(1536, 512, generator=gen)
    best = {F.linear: float('inf'), conv1x1_linear: float('inf')}
    with torch.no_grad():
        for _ in range(6):
            for fn in best:
                start = time.process_time()
                fn(x, w)
                best[fn] = min(best[fn], time.process_time() - start)
    return best[F.linear] >= PROBE_MIN_GAIN * best[conv1x1_linear]


def linear(x: torch.Tensor,
           weight: torch.Tensor,
           bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.linear`` with the selected kernel.

    Args:
        x (torch.Tensor): Input of shape ``(..., K)``.
        weight (torch.Tensor): Weight of shape ``(N, K)``.
        bias (torch.Tensor, optional): Bias of shape ``(N, )``. Defaults to
            None.

    Returns:
        torch.Tensor: Output of shape ``(..., N)``.
    """
    if _auto(x) and not low_precision(x) and conv_beats_blas():
        return conv1x1_linear(x, weight, bias)
    return F.linear(x, weight, bias)


def frames(x: torch.Tensor) -> torch.Tensor:
    """Fold clips ``(B, C, T, H, W)`` into frames ``(B*T, C, H, W)``.

    Rule 2: channels-last memory order under ``'auto'`` on CPU (one copy),
    else a plain transpose and reshape.
    """
    b, c, t, h, w = x.shape
    if _auto(x):
        # (B, C, T, H, W) -> (B*T, H, W, C), seen as (B*T, C, H, W); the
        # explicit copy also holds for B = 1, where reshape is a view.
        x = x.permute(0, 2, 3, 4, 1).contiguous()
        return x.view(b * t, h, w, c).permute(0, 3, 1, 2)
    return x.transpose(1, 2).reshape(b * t, c, h, w)
